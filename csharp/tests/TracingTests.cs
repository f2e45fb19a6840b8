using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Threading;

namespace BridgeHost.Tests
{
    /// <summary>The "BridgeHost" EventSource: log records as events and the counters as
    /// EventCounters, observed by an in-process EventListener (DOTNET.md "Logging").</summary>
    public sealed class TracingTests
    {
        private static bool OnMono => Type.GetType("Mono.Runtime") != null;

        private sealed class Listener : EventListener
        {
            private readonly EventLevel _level;
            internal readonly ConcurrentQueue<EventWrittenEventArgs> Events = new ConcurrentQueue<EventWrittenEventArgs>();
            internal readonly ConcurrentDictionary<string, double> Counters = new ConcurrentDictionary<string, double>();
            private EventSource _source;

            internal Listener(EventLevel level)
            {
                _level = level;
                // The base constructor already reported the existing sources (before _level was
                // set): enable ours now.
                EnableEvents(BridgeHostEventSource.Log, _level, EventKeywords.All,
                    new Dictionary<string, string> { { "EventCounterIntervalSec", "0.2" } });
                _source = BridgeHostEventSource.Log;
            }

            protected override void OnEventWritten(EventWrittenEventArgs e)
            {
                if (e.EventName == "EventCounters" && e.Payload != null && e.Payload.Count > 0)
                {
                    var data = e.Payload[0] as IDictionary<string, object>;
                    object name, value;
                    if (data != null && data.TryGetValue("Name", out name) && (data.TryGetValue("Mean", out value) || data.TryGetValue("Increment", out value)))
                    {
                        Counters[(string)name] = Convert.ToDouble(value);
                    }
                    return;
                }
                Events.Enqueue(e);
            }

            public override void Dispose()
            {
                if (_source != null)
                {
                    DisableEvents(_source);
                }
                base.Dispose();
            }
        }

        [Case]
        public void LogRecordsBecomeEvents()
        {
            string unique = "event source record " + Guid.NewGuid();
            using (var listener = new Listener(EventLevel.Informational))
            using (var host = new Host())
            {
                if (OnMono)
                {
                    // Mono's System.Diagnostics.Tracing dispatches nothing to listeners (documented
                    // in DOTNET.md): the source must still load, stay disabled and not disturb calls.
                    Check.False(BridgeHostEventSource.Log.IsEnabled(), "Mono's EventSource stays disabled");
                    host.Open("std").GetMethod("log").Call(TestEnv.Ascii(unique));
                    Check.Skip("Mono's EventSource is inert; checked on CoreCLR");
                }
                Check.True(BridgeHostEventSource.Log.IsEnabled(), "enabled by the listener");
                // No Logging handler is set: the record reaches the listener only through the route
                // the source installs (checked by removing Logging.Reconfigure: this fails).
                host.Open("std").GetMethod("log").Call(TestEnv.Ascii(unique));   // logged on this thread
                var e = listener.Events.FirstOrDefault(x => x.Payload != null && x.Payload.Count == 2 && ((string)x.Payload[1]).Contains(unique));
                Check.True(e != null, "the module's log record arrived as an event: " + string.Join(" | ", listener.Events.Select(x => x.EventName)));
                Check.Equal("Info", e.EventName, "event name");
                Check.Equal(EventLevel.Informational, e.Level, "event level");
                Check.Equal("BridgeHost", e.EventSource.Name, "source name");
            }
            // The listener is gone: the native route is removed again (the handler-less state).
            var after = new List<string>();
            Check.False(BridgeHostEventSource.Log.IsEnabled(), "disabled once the listener is disposed");
            Logging.SetHandler(LogLevel.Info, (level, target, message) => { lock (after) after.Add(message); });
            try
            {
                using (var host = new Host())
                {
                    host.Open("std").GetMethod("log").Call(TestEnv.Ascii(unique + " handler"));
                }
                lock (after) Check.True(after.Any(m => m.Contains(unique + " handler")), "Logging.SetHandler still works beside the source");
            }
            finally
            {
                Logging.SetHandler(LogLevel.Error, null);
            }
        }

        [Case]
        public void TheHandlerAndTheSourceBothGetEachRecord()
        {
            if (OnMono)
            {
                Check.Skip("Mono's EventSource is inert; checked on CoreCLR");
            }
            string unique = "both " + Guid.NewGuid();
            var handled = new List<string>();
            // The handler asks for warnings only, the listener for informational: the native
            // callback runs at info, and the handler must still see no info record.
            Logging.SetHandler(LogLevel.Warn, (level, target, message) => { lock (handled) handled.Add(level + " " + message); });
            try
            {
                using (var listener = new Listener(EventLevel.Informational))
                using (var host = new Host())
                {
                    host.Open("std").GetMethod("log").Call(TestEnv.Ascii(unique));
                    Check.True(listener.Events.Any(x => x.Payload != null && x.Payload.Count == 2 && ((string)x.Payload[1]).Contains(unique)), "the listener got the info record");
                    lock (handled) Check.False(handled.Any(m => m.Contains(unique)), "the Warn handler did not get an info record");
                }
            }
            finally
            {
                Logging.SetHandler(LogLevel.Error, null);
            }
        }

        [Case]
        public void CountersArePublishedAsEventCounters()
        {
            if (OnMono)
            {
                Check.Skip("Mono's EventSource is inert (no EventCounters); checked on CoreCLR");
            }
            using (var host = new Host())
            using (var listener = new Listener(EventLevel.Informational))
            {
                var echo = host.Open("std").GetMethod("echo");
                for (int i = 0; i < 5; i++)
                {
                    echo.Call(new byte[] { 1 });
                }
                long calls = host.GetCounters().Calls;
                // Counters are sampled every 0.2 s by the runtime's timer: wait for a sample that
                // includes this host's calls (other live hosts can only add to it).
                Check.Eventually(() => listener.Counters.TryGetValue("calls", out double v) && v >= calls, 30,
                    "EventCounter 'calls' >= " + calls);
                Check.True(listener.Counters.ContainsKey("events-dropped"), "events-dropped published");
            }
        }
    }
}
