// bridgehost's logs and counters through System.Diagnostics.Tracing, besides Logging.SetHandler.
using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Reflection;
using System.Threading;

namespace BridgeHost
{
    /// <summary>
    /// The <see cref="EventSource"/> named <c>"BridgeHost"</c>: every log record of the core and the
    /// modules as an event (one event per level, payload <c>target</c> and <c>message</c>), and the
    /// counters of the live hosts as EventCounters (<c>calls</c>, <c>errors</c>, <c>crashes</c>, ...),
    /// for <c>dotnet-trace</c>, <c>dotnet-counters</c> or an in-process <see cref="EventListener"/>.
    /// It works next to <see cref="Logging.SetHandler"/>: while a listener has the source enabled,
    /// bridgehost's native log callback is installed at the more verbose of the two levels and each
    /// record goes to both. Mono's EventSource is inert (it dispatches nothing to listeners), so on
    /// Mono use <see cref="Logging.SetHandler"/>; the counters need .NET Core 3.0 or later.
    /// Enabling or disabling the source must not happen inside a bridgehost log handler.
    /// </summary>
    [EventSource(Name = "BridgeHost")]
    public sealed class BridgeHostEventSource : EventSource
    {
        private static readonly string[] CounterNames =
        {
            "calls", "errors", "crashes", "respawns", "timeouts", "submits", "cancelled",
            "events-emitted", "events-delivered", "events-dropped", "callback-errors",
            "state-lost", "events-refused", "events-discarded",
        };

        // Declared after CounterNames: static initializers run in text order, and creating the
        // source may already run OnEventCommand for a listener (which reads CounterNames).
        /// <summary>The process-wide instance.</summary>
        public static readonly BridgeHostEventSource Log = new BridgeHostEventSource();

        private readonly object _gate = new object();
        private List<IDisposable> _counters; // created on the first enable, guarded by _gate

        private BridgeHostEventSource()
        {
        }

        /// <summary>A record at <see cref="LogLevel.Error"/> (EventLevel Error).</summary>
        [Event(1, Level = EventLevel.Error, Message = "{0}: {1}")]
        public void Error(string target, string message) { WriteEvent(1, target, message); }

        /// <summary>A record at <see cref="LogLevel.Warn"/> (EventLevel Warning).</summary>
        [Event(2, Level = EventLevel.Warning, Message = "{0}: {1}")]
        public void Warn(string target, string message) { WriteEvent(2, target, message); }

        /// <summary>A record at <see cref="LogLevel.Info"/> (EventLevel Informational).</summary>
        [Event(3, Level = EventLevel.Informational, Message = "{0}: {1}")]
        public void Info(string target, string message) { WriteEvent(3, target, message); }

        /// <summary>A record at <see cref="LogLevel.Debug"/> (EventLevel Verbose).</summary>
        [Event(4, Level = EventLevel.Verbose, Message = "{0}: {1}")]
        public void Debug(string target, string message) { WriteEvent(4, target, message); }

        /// <summary>A record at <see cref="LogLevel.Trace"/> (EventLevel Verbose).</summary>
        [Event(5, Level = EventLevel.Verbose, Message = "{0}: {1}")]
        public void Trace(string target, string message) { WriteEvent(5, target, message); }

        /// <summary>The most verbose <see cref="LogLevel"/> a listener wants, or -1 for none.</summary>
        internal int MaxLevel
        {
            get
            {
                if (!IsEnabled())
                {
                    return -1;
                }
                if (IsEnabled(EventLevel.Verbose, EventKeywords.All)) return (int)LogLevel.Trace;
                if (IsEnabled(EventLevel.Informational, EventKeywords.All)) return (int)LogLevel.Info;
                if (IsEnabled(EventLevel.Warning, EventKeywords.All)) return (int)LogLevel.Warn;
                if (IsEnabled(EventLevel.Error, EventKeywords.All)) return (int)LogLevel.Error;
                return -1;
            }
        }

        [NonEvent]
        internal void Write(LogLevel level, string target, string message)
        {
            switch (level)
            {
                case LogLevel.Error: if (IsEnabled(EventLevel.Error, EventKeywords.All)) Error(target, message); break;
                case LogLevel.Warn: if (IsEnabled(EventLevel.Warning, EventKeywords.All)) Warn(target, message); break;
                case LogLevel.Info: if (IsEnabled(EventLevel.Informational, EventKeywords.All)) Info(target, message); break;
                case LogLevel.Debug: if (IsEnabled(EventLevel.Verbose, EventKeywords.All)) Debug(target, message); break;
                default: if (IsEnabled(EventLevel.Verbose, EventKeywords.All)) Trace(target, message); break;
            }
        }

        /// <summary>Re-route the native log callback whenever a listener enables or disables the
        /// source; create the counters on the first enable.</summary>
        [NonEvent]
        protected override void OnEventCommand(EventCommandEventArgs command)
        {
            try
            {
                Logging.Reconfigure(this);
                if (command.Command == EventCommand.Enable)
                {
                    EnsureCounters();
                }
            }
            catch (Exception e)
            {
                // Never throw into the listener's EnableEvents; the source keeps working without
                // the native route (Logging.SetHandler still does).
                Logging.ReportUnhandled(null, "BridgeHostEventSource.OnEventCommand", e);
            }
        }

        /// <summary>PollingCounter (.NET Core 3.0+) through reflection, so that this library stays
        /// netstandard2.0 (and loads on Mono, where the type does nothing).</summary>
        private void EnsureCounters()
        {
            lock (_gate)
            {
                if (_counters != null)
                {
                    return;
                }
                _counters = new List<IDisposable>();
                Type polling = typeof(EventSource).Assembly.GetType("System.Diagnostics.Tracing.PollingCounter");
                ConstructorInfo ctor = polling?.GetConstructor(new[] { typeof(string), typeof(EventSource), typeof(Func<double>) });
                if (ctor == null)
                {
                    return;
                }
                for (int i = 0; i < CounterNames.Length; i++)
                {
                    int index = i;
                    Func<double> read = () => HostRegistry.Total(index);
                    _counters.Add((IDisposable)ctor.Invoke(new object[] { CounterNames[i], this, read }));
                }
            }
        }
    }

    /// <summary>The live hosts, for the process-wide EventCounters.</summary>
    internal static class HostRegistry
    {
        private static readonly object Gate = new object();
        private static readonly List<WeakReference<Host>> Hosts = new List<WeakReference<Host>>();

        /// <summary>Running on Mono (decided once).</summary>
        private static readonly bool OnMono = Type.GetType("Mono.Runtime") != null;

        /// <summary>Whether the ProcessExit handler is installed (Mono only).</summary>
        private static bool _exitHook;

        internal static void Add(Host host)
        {
            lock (Gate)
            {
                Hosts.RemoveAll(w => !w.TryGetTarget(out Host h) || h.IsDisposed);
                Hosts.Add(new WeakReference<Host>(host));
                if (OnMono && !_exitHook)
                {
                    _exitHook = true;
                    AppDomain.CurrentDomain.ProcessExit += (sender, e) => DisposeAllAtExit();
                }
            }
        }

        /// <summary>
        /// Mono only, at ProcessExit (which Mono raises when Main returns, before it waits for the
        /// process's threads): dispose every host still open. Mono waits at exit for every native
        /// thread that ever ran managed code, and a host's event thread (which delivered an
        /// event) lives as long as the host, so a program that returned from Main without
        /// disposing a host that had delivered events never exited (found by a docs-only client).
        /// Disposing closes the host's modules as <see cref="Host.Dispose"/> does (a hung call
        /// ends with Closed within the close grace), then its threads end. CoreCLR does not wait
        /// for them, and keeps its documented behaviour (nothing is closed at exit).
        /// </summary>
        private static void DisposeAllAtExit()
        {
            foreach (var h in Live(clear: true))
            {
                try
                {
                    h.Dispose();
                }
                catch
                {
                    // At exit: nothing to report to, and nothing may stop the others.
                }
            }
        }

        /// <summary>The hosts alive and not disposed now (a snapshot taken under the lock);
        /// <paramref name="clear"/>: forget every registration too.</summary>
        private static List<Host> Live(bool clear)
        {
            var live = new List<Host>();
            lock (Gate)
            {
                foreach (var w in Hosts)
                {
                    if (w.TryGetTarget(out Host h) && !h.IsDisposed)
                    {
                        live.Add(h);
                    }
                }
                if (clear)
                {
                    Hosts.Clear();
                }
            }
            return live;
        }

        /// <summary>Counter <paramref name="index"/> (the order of CounterNames) summed over the
        /// hosts alive now (a disposed host no longer counts).</summary>
        internal static double Total(int index)
        {
            double sum = 0;
            foreach (var h in Live(clear: false))
            {
                Counters c;
                try
                {
                    c = h.GetCounters();
                }
                catch (Exception e) when (e is ObjectDisposedException || e is IBridgeHostException)
                {
                    continue; // disposed or closed since the snapshot
                }
                sum += Pick(c, index);
            }
            return sum;
        }

        private static long Pick(Counters c, int index)
        {
            switch (index)
            {
                case 0: return c.Calls;
                case 1: return c.Errors;
                case 2: return c.Crashes;
                case 3: return c.Respawns;
                case 4: return c.Timeouts;
                case 5: return c.Submits;
                case 6: return c.Cancelled;
                case 7: return c.EventsEmitted;
                case 8: return c.EventsDelivered;
                case 9: return c.EventsDropped;
                case 10: return c.CallbackErrors;
                case 11: return c.StateLost;
                case 12: return c.EventsRefused;
                default: return c.EventsDiscarded;
            }
        }
    }
}
