// Counters: a snapshot of the core's counters, plus the callback errors counted on the .NET side.
using System;
using System.Text;

namespace BridgeHost
{
    /// <summary>A point-in-time copy of a host's or module's counters (each value exact; the
    /// snapshot as a whole is not atomic).</summary>
    public sealed class Counters
    {
        internal Counters(ref Native.Counters c, long managedCallbackErrors)
        {
            Calls = Clamp(c.Calls);
            Errors = Clamp(c.Errors);
            Crashes = Clamp(c.Crashes);
            Respawns = Clamp(c.Respawns);
            Timeouts = Clamp(c.Timeouts);
            Submits = Clamp(c.Submits);
            Cancelled = Clamp(c.Cancelled);
            EventsEmitted = Clamp(c.EventsEmitted);
            EventsDelivered = Clamp(c.EventsDelivered);
            EventsDropped = Clamp(c.EventsDropped);
            CallbackErrors = Clamp(c.CallbackErrors) + managedCallbackErrors;
            LatencySamples = Clamp(c.LatencySamples);
            LatencyNsTotal = Clamp(c.LatencyNsTotal);
            LatencyNsMax = Clamp(c.LatencyNsMax);
            StateLost = Clamp(c.StateLost);
            EventsRefused = Clamp(c.EventsRefused);
            EventsDiscarded = Clamp(c.EventsDiscarded);
            WorkerOutputDropped = Clamp(c.WorkerOutputDropped);
            UnblamedViolations = Clamp(c.UnblamedViolations);
        }

        /// <summary>Calls started (sync and async).</summary>
        public long Calls { get; }
        /// <summary>Calls that failed.</summary>
        public long Errors { get; }
        /// <summary>Worker crashes.</summary>
        public long Crashes { get; }
        /// <summary>Worker respawns.</summary>
        public long Respawns { get; }
        /// <summary>Calls that timed out.</summary>
        public long Timeouts { get; }
        /// <summary>Submits accepted.</summary>
        public long Submits { get; }
        /// <summary>Submits cancelled: those that never ran, and running isolated calls a cancel
        /// ended (their worker replaced).</summary>
        public long Cancelled { get; }
        /// <summary>Events the modules emitted and the host accepted.</summary>
        public long EventsEmitted { get; }
        /// <summary>Event deliveries to subscribers.</summary>
        public long EventsDelivered { get; }
        /// <summary>Events lost without the module being told: an isolated worker's event the full
        /// host queue could not take. Refusals the module is told about are <see cref="EventsRefused"/>.</summary>
        public long EventsDropped { get; }
        /// <summary>Callbacks that failed: native ones, plus .NET event handlers that threw.</summary>
        public long CallbackErrors { get; }
        /// <summary>Calls whose latency was sampled.</summary>
        public long LatencySamples { get; }
        /// <summary>Sum of the sampled latencies, in nanoseconds.</summary>
        public long LatencyNsTotal { get; }
        /// <summary>Largest sampled latency, in nanoseconds.</summary>
        public long LatencyNsMax { get; }
        /// <summary>Restarts of a stateful module's isolated worker reported to a caller as
        /// <see cref="StateLostException"/> (each lost state counts once).</summary>
        public long StateLost { get; }
        /// <summary>Emits refused to the module because the event queue was full (the module was
        /// told and may retry, so a refusal is not a lost event).</summary>
        public long EventsRefused { get; }
        /// <summary>Deliveries that never happened because the subscription was disposed, or its
        /// module or host closed, after the event was accepted (one per subscriber, like
        /// <see cref="EventsDelivered"/>). Exact once <c>Flush</c> or the close has returned.</summary>
        public long EventsDiscarded { get; }
        /// <summary>Bytes of isolated workers' stderr the host read but did not log (beyond a few
        /// lines per second per worker; a worker writing faster than about 1 MiB/s waits on its
        /// own write).</summary>
        public long WorkerOutputDropped { get; }

        /// <summary>Protocol violations of isolated workers blamed on no call: committed while the
        /// worker was idle (or before the call in flight); the worker was replaced and no call
        /// failed. Not counted in <see cref="Crashes"/>.</summary>
        public long UnblamedViolations { get; }

        /// <summary>"calls=1 errors=0 ...".</summary>
        public override string ToString()
        {
            var b = new StringBuilder();
            b.Append("calls=").Append(Calls)
             .Append(" errors=").Append(Errors)
             .Append(" crashes=").Append(Crashes)
             .Append(" respawns=").Append(Respawns)
             .Append(" timeouts=").Append(Timeouts)
             .Append(" submits=").Append(Submits)
             .Append(" cancelled=").Append(Cancelled)
             .Append(" events_emitted=").Append(EventsEmitted)
             .Append(" events_delivered=").Append(EventsDelivered)
             .Append(" events_dropped=").Append(EventsDropped)
             .Append(" callback_errors=").Append(CallbackErrors)
             .Append(" state_lost=").Append(StateLost)
             .Append(" events_refused=").Append(EventsRefused)
             .Append(" events_discarded=").Append(EventsDiscarded)
             .Append(" worker_output_dropped=").Append(WorkerOutputDropped)
             .Append(" unblamed_violations=").Append(UnblamedViolations);
            return b.ToString();
        }

        private static long Clamp(ulong v)
        {
            return v > long.MaxValue ? long.MaxValue : (long)v;
        }

        internal static readonly unsafe uint NativeSize = (uint)sizeof(Native.Counters);
    }
}
