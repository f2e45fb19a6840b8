using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;

namespace BridgeHost.Tests
{
    public sealed class EventTests : IDisposable
    {
        private readonly Host _host = new Host();
        private readonly Module _std;
        private readonly Method _ticker;

        public EventTests()
        {
            _std = _host.Open("std");
            _ticker = _std.GetMethod("ticker");
        }

        public void Dispose()
        {
            _host.Dispose();
        }

        private static ulong Seq(byte[] data)
        {
            Check.Equal(8, data.Length, "tick payload length");
            return BitConverter.ToUInt64(data, 0);
        }

        [Case]
        public void TickerEventsArriveInOrder()
        {
            var seen = new List<ulong>();
            var done = new ManualResetEventSlim();
            using (_std.Subscribe("tick", ev =>
            {
                Check.Equal("tick", ev.Topic, "topic");
                lock (seen)
                {
                    seen.Add(Seq(ev.Data));
                    if (seen.Count == 1000)
                    {
                        done.Set();
                    }
                }
            }))
            {
                _ticker.Call(TestEnv.U32(1000));
                Check.True(done.Wait(TimeSpan.FromSeconds(30)), "1000 ticks arrive");
            }
            lock (seen)
            {
                Check.True(seen.SequenceEqual(Enumerable.Range(0, 1000).Select(i => (ulong)i)), "ticks in emit order 0..999");
            }
        }

        /// <summary>Events queued for a subscription when it is disposed are counted in
        /// EventsDiscarded (issue 12, item 4): the handler blocks in its first event while ten more
        /// are queued, then disposes its own subscription.</summary>
        [Case]
        public void DisposeCountsTheQueuedEventsItDiscards()
        {
            var m = _host.Open("std");
            var emit = m.GetMethod("emit");
            var entered = new ManualResetEventSlim();
            var go = new ManualResetEventSlim();
            var subscribed = new ManualResetEventSlim();
            Subscription sub = null;
            sub = m.Subscribe("t", ev =>
            {
                entered.Set();
                go.Wait(TimeSpan.FromSeconds(30));
                subscribed.Wait(TimeSpan.FromSeconds(30));
                sub.Dispose();
            });
            subscribed.Set();
            emit.Call(System.Text.Encoding.ASCII.GetBytes("t\0first"));
            Check.True(entered.Wait(TimeSpan.FromSeconds(30)), "first event delivered");
            for (int i = 0; i < 10; i++)
            {
                emit.Call(System.Text.Encoding.ASCII.GetBytes("t\0queued"));
            }
            go.Set();
            m.Flush(TimeSpan.FromSeconds(30));
            Counters c = m.GetCounters();
            Check.Equal(11L, c.EventsEmitted, "emitted");
            Check.Equal(1L, c.EventsDelivered, "delivered");
            Check.Equal(10L, c.EventsDiscarded, "discarded");
            Check.Equal(0L, c.EventsRefused, "refused");
            Check.Equal(10L, _host.GetCounters().EventsDiscarded, "host sum");
            m.Dispose();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void SubscribeAndForget(Module m, StrongBox<int> counter, ManualResetEventSlim done, int expected)
        {
            // A closure over locals, a delegate the caller never sees, and a Subscription object
            // that is dropped at once: only the library's GCHandle keeps the handler reachable.
            m.Subscribe("tick", ev =>
            {
                if (Interlocked.Increment(ref counter.Value) == expected)
                {
                    done.Set();
                }
            });
        }

        [Case]
        public void EventsAreDeliveredAfterForcedCollections()
        {
            var counter = new StrongBox<int>(0);
            var done = new ManualResetEventSlim();
            SubscribeAndForget(_std, counter, done, 5000);
            for (int i = 0; i < 5; i++)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }
            _ticker.Call(TestEnv.U32(5000));
            Check.True(done.Wait(TimeSpan.FromSeconds(30)), "5000 events delivered to a collected-looking handler, got " + counter.Value);
            _std.Flush(TimeSpan.FromSeconds(60)); // every delivery of what was emitted is over
            Check.Equal(5000, counter.Value, "exactly 5000 deliveries");
        }

        [Case]
        public void NoDeliveryAfterDisposeReturns()
        {
            int running = 0, calls = 0, lateCalls = 0;
            bool disposed = false;
            var sub = _std.Subscribe("tick", ev =>
            {
                Interlocked.Exchange(ref running, 1);
                if (Volatile.Read(ref disposed))
                {
                    Interlocked.Increment(ref lateCalls);
                }
                Interlocked.Increment(ref calls);
                Thread.Sleep(1); // widen the window in which Dispose must wait for us
                Interlocked.Exchange(ref running, 0);
            });
            _ticker.Call(TestEnv.U32x2(2000, 0));
            Check.Eventually(() => Volatile.Read(ref calls) >= 20, 10, "deliveries started");
            sub.Dispose();
            Volatile.Write(ref disposed, true);
            Check.Equal(0, Volatile.Read(ref running), "the handler is not running when Dispose returns");
            int atDispose = Volatile.Read(ref calls);
            _std.Flush(TimeSpan.FromSeconds(60)); // every event emitted so far has been dispatched
            Check.Equal(atDispose, Volatile.Read(ref calls), "no delivery after Dispose returned");
            Check.Equal(0, Volatile.Read(ref lateCalls), "late calls");
            Check.False(sub.IsActive, "IsActive after Dispose");
            sub.Dispose(); // idempotent
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static WeakReference SubscribeTracked(Module m, out Subscription sub)
        {
            var target = new object();
            var weak = new WeakReference(target);
            sub = m.Subscribe("tick", ev => GC.KeepAlive(target));
            return weak;
        }

        [Case]
        public void TheHandlerIsReleasedByDispose()
        {
            Subscription sub;
            WeakReference weak = SubscribeTracked(_std, out sub);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Check.True(weak.IsAlive, "rooted while subscribed");
            sub.Dispose();
            sub = null;
            Check.Eventually(() =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                return !weak.IsAlive;
            }, 5, "the handler's closure is collectable after Dispose (its GCHandle was freed)");
        }

        [Case]
        public void UnsubscribeFromInsideTheHandler()
        {
            int calls = 0;
            Subscription sub = null;
            var first = new ManualResetEventSlim();
            sub = _std.Subscribe("tick", ev =>
            {
                Interlocked.Increment(ref calls);
                Volatile.Read(ref sub).Dispose(); // allowed; returns at once; no later delivery
                first.Set();
            });
            var witnessed = new CountdownEvent(100);
            using (_std.Subscribe("tick", ev => witnessed.Signal()))
            {
                _ticker.Call(TestEnv.U32(100));
                Check.True(first.Wait(TimeSpan.FromSeconds(10)), "first delivery");
                // No sleep decides it: all 100 events reached the witness and Flush returned,
                // so every delivery of them is over.
                Check.True(witnessed.Wait(TimeSpan.FromSeconds(60)), "witness events");
                _std.Flush(TimeSpan.FromSeconds(60));
            }
            Check.Equal(1, Volatile.Read(ref calls), "exactly one delivery");
            Check.False(sub.IsActive, "unsubscribed");
            // The dispatcher keeps working for others.
            var other = new CountdownEvent(10);
            using (_std.Subscribe("tick", ev => other.Signal()))
            {
                _ticker.Call(TestEnv.U32(10));
                Check.True(other.Wait(TimeSpan.FromSeconds(10)), "later subscriber gets its 10 ticks");
            }
        }

        [Case]
        public void HandlerExceptionsAreCaughtCountedAndReported()
        {
            var reported = new ConcurrentQueue<CallbackExceptionEventArgs>();
            _host.CallbackException += (s, e) => reported.Enqueue(e);
            int calls = 0;
            using (_std.Subscribe("tick", ev =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("handler bug " + Seq(ev.Data));
            }))
            {
                _ticker.Call(TestEnv.U32(5));
                Check.Eventually(() => reported.Count == 5, 10, "5 exceptions reported");
            }
            Check.Equal(5, calls, "every event was still delivered");
            var first = reported.First();
            Check.Equal("std", first.ModuleName, "ModuleName");
            Check.True(first.Exception is InvalidOperationException && first.Exception.Message.StartsWith("handler bug"), "the handler's exception");
            Check.True(first.Source.Contains("tick"), "source names the topic: " + first.Source);
            Check.Equal(5L, _std.GetCounters().CallbackErrors, "module counters.CallbackErrors");
            Check.Equal(5L, _host.GetCounters().CallbackErrors, "host counters.CallbackErrors");
            // The process and the dispatcher survive.
            var ok = new ManualResetEventSlim();
            using (_std.Subscribe("tick", ev => ok.Set()))
            {
                _ticker.Call(TestEnv.U32(1));
                Check.True(ok.Wait(TimeSpan.FromSeconds(10)), "delivery after handler exceptions");
            }
        }

        [Case]
        public void SpanHandlerReadsPayloadsInPlaceInOrder()
        {
            // The allocation-free overload: the payload is a span over native memory, valid during
            // the handler only; under the GC-pressure thread a wrong lifetime would read garbage.
            var seen = new List<ulong>();
            var done = new ManualResetEventSlim();
            int n = 20000;
            string badTopic = null;
            using (_std.Subscribe("tick", (string topic, ReadOnlySpan<byte> data) =>
            {
                if (topic != "tick" || data.Length != 8)
                {
                    badTopic = topic + "/" + data.Length;
                }
                seen.Add(BitConverter.ToUInt64(data.ToArray(), 0)); // one dispatcher thread
                if (seen.Count == n)
                {
                    done.Set();
                }
            }))
            {
                _ticker.Call(TestEnv.U32((uint)n));
                Check.True(done.Wait(TimeSpan.FromSeconds(60)), n + " ticks arrive");
            }
            Check.Equal(null, badTopic, "every event is a tick with an 8-byte payload");
            Check.True(seen.SequenceEqual(Enumerable.Range(0, n).Select(i => (ulong)i)), "ticks in emit order");
            // The same subscriber with a bigger payload, and a "*" subscription.
            var emit = _std.GetMethod("emit");
            var payload = TestEnv.Random(1000);
            var got = new BlockingCollection<Tuple<string, byte[]>>();
            using (_std.Subscribe("*", (string topic, ReadOnlySpan<byte> data) => got.Add(Tuple.Create(topic, data.ToArray()))))
            {
                emit.Call(TestEnv.Ascii("span/topic").Concat(new byte[] { 0 }).Concat(payload).ToArray());
                Tuple<string, byte[]> ev;
                Check.True(got.TryTake(out ev, TimeSpan.FromSeconds(10)), "the emitted event");
                Check.Equal("span/topic", ev.Item1, "topic");
                Check.Bytes(payload, ev.Item2, "payload");
            }
        }

        [Case]
        public void SpanHandlerExceptionsAreCaughtAndReported()
        {
            var reported = new ConcurrentQueue<CallbackExceptionEventArgs>();
            _host.CallbackException += (s, e) => reported.Enqueue(e);
            long before = _std.GetCounters().CallbackErrors;
            int calls = 0;
            using (_std.Subscribe("tick", (string topic, ReadOnlySpan<byte> data) =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("span handler bug " + data.Length);
            }))
            {
                _ticker.Call(TestEnv.U32(3));
                Check.Eventually(() => reported.Count == 3, 10, "3 exceptions reported");
            }
            Check.Equal(3, calls, "every event was still delivered");
            Check.True(reported.All(e => e.Exception.Message == "span handler bug 8"), "the handler's exceptions");
            Check.Equal(before + 3, _std.GetCounters().CallbackErrors, "module counters.CallbackErrors");
        }

        [Case]
        public void EmitDeliversTopicAndPayload()
        {
            var got = new BlockingCollection<ModuleEvent>();
            using (_std.Subscribe("*", ev => got.Add(ev)))
            {
                var emit = _std.GetMethod("emit");
                var payload = TestEnv.Random(1000);
                var input = TestEnv.Ascii("custom/topic").Concat(new byte[] { 0 }).Concat(payload).ToArray();
                emit.Call(input);
                emit.Call(TestEnv.Ascii("bare"));
                ModuleEvent a, b;
                Check.True(got.TryTake(out a, TimeSpan.FromSeconds(10)), "first event");
                Check.True(got.TryTake(out b, TimeSpan.FromSeconds(10)), "second event");
                Check.Equal("custom/topic", a.Topic, "topic");
                Check.Bytes(payload, a.Data, "payload");
                Check.Equal("bare", b.Topic, "topic without payload");
                Check.Equal(0, b.Data.Length, "empty payload");
            }
        }

        [Case]
        public void TopicsAreFiltered()
        {
            var ticks = new ConcurrentQueue<string>();
            var clocks = new ConcurrentQueue<string>();
            using (_std.Subscribe("tick", ev => ticks.Enqueue(ev.Topic)))
            using (_std.Subscribe("clock", ev => clocks.Enqueue(ev.Topic)))
            {
                _ticker.Call(TestEnv.U32x2(3, 0).Concat(TestEnv.Ascii("clock")).ToArray());
                _ticker.Call(TestEnv.U32(2));
                Check.Eventually(() => clocks.Count == 3 && ticks.Count == 2, 10, "3 clock and 2 tick events");
                Check.True(clocks.All(t => t == "clock") && ticks.All(t => t == "tick"), "each subscriber saw only its topic");
            }
        }

        [Case]
        public void DisposingTheModuleEndsItsSubscriptions()
        {
            var m = _host.Open("std");
            int calls = 0;
            var sub = m.Subscribe("tick", ev => Interlocked.Increment(ref calls));
            m.GetMethod("ticker").Call(TestEnv.U32x2(1000, 1));
            Check.Eventually(() => Volatile.Read(ref calls) > 0, 10, "deliveries started");
            m.Dispose();
            int atDispose = Volatile.Read(ref calls);
            Check.False(sub.IsActive, "subscription ended with its module");
            // No sleep decides it: a witness event emitted after the Dispose by another module of
            // the same host goes through the same queue and dispatcher thread, behind every event
            // of the disposed module still queued; once it has been delivered, they have all been
            // dealt with.
            int witnessed = 0;
            using (var w = _host.Open("std"))
            using (w.Subscribe("tick", ev => Interlocked.Increment(ref witnessed)))
            {
                w.GetMethod("ticker").Call(TestEnv.U32x2(1, 0));
                Check.Eventually(() => Volatile.Read(ref witnessed) == 1, 30, "the witness event was delivered");
            }
            Check.Equal(atDispose, Volatile.Read(ref calls), "no delivery after the module's Dispose returned");
            Check.Throws<ObjectDisposedException>(() => m.Subscribe("tick", ev => { }), "Subscribe after Dispose");
        }

        [Case]
        public void BadTopicsAreRejected()
        {
            Check.Throws<InvalidArgumentException>(() => _std.Subscribe("", ev => { }), "empty topic");
            Check.Throws<InvalidArgumentException>(() => _std.Subscribe(new string('t', 129), ev => { }), "129-byte topic");
            using (_std.Subscribe(new string('t', 128), ev => { }))
            {
            }
            Check.Throws<ArgumentNullException>(() => _std.Subscribe(null, ev => { }), "null topic");
            Check.Throws<ArgumentNullException>(() => _std.Subscribe("tick", (Action<ModuleEvent>)null), "null handler");
            Check.Throws<ArgumentNullException>(() => _std.Subscribe("tick", (EventSpanHandler)null), "null span handler");
            Check.Throws<InvalidArgumentException>(() => _std.Subscribe("", (string t, ReadOnlySpan<byte> d) => { }), "empty topic, span handler");
        }
    }
}
