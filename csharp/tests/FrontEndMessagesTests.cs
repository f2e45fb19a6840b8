// Issue 17 item 3: the same mistake reads the same in every runtime, with the core's message
// (java/.../FrontEndMessagesTest.java and python/tests/test_front_end_messages.py make the same
// mistakes and expect the same text).
using System;

namespace BridgeHost.Tests
{
    public sealed class FrontEndMessagesTests : IDisposable
    {
        private readonly Host _host = new Host();

        public void Dispose()
        {
            _host.Dispose();
        }

        [Case]
        public void ANegativeSharedBufferLengthIsTheCoresMessage()
        {
            // The core's message for a length it refuses, "invalid argument: " prefix included
            // (it lacked the prefix here and in Python).
            var e = Check.Throws<InvalidArgumentException>(() => new SharedBuffer(-1), "a negative length");
            Check.Equal("invalid argument: a shared buffer of -1 bytes: give it a length of at least 1", e.Message, "the message");
            e = Check.Throws<InvalidArgumentException>(() => new SharedBuffer(0), "a length of 0");
            Check.Equal("invalid argument: a shared buffer of 0 bytes: give it a length of at least 1", e.Message, "the core's own");
        }

        [Case]
        public void AHugeDurationIsRefusedWithItsOwnValue()
        {
            // A TimeSpan over 2^63 - 1 ns went to the core as 2^63 - 1 ns, so the message named
            // 9223372036854775807 ns where Java and Python named the value set.
            var options = new Tuple<string, string, Func<TimeSpan, ModuleOptions>>[]
            {
                Tuple.Create<string, string, Func<TimeSpan, ModuleOptions>>("call_timeout", "positive and at most one year", t => new ModuleOptions { CallTimeout = t }),
                Tuple.Create<string, string, Func<TimeSpan, ModuleOptions>>("breaker_window", "positive and at most one year", t => new ModuleOptions { BreakerWindow = t }),
                Tuple.Create<string, string, Func<TimeSpan, ModuleOptions>>("breaker_cooldown", "positive and at most one year", t => new ModuleOptions { BreakerCooldown = t }),
                Tuple.Create<string, string, Func<TimeSpan, ModuleOptions>>("startup_timeout", "positive and at most one year", t => new ModuleOptions { StartupTimeout = t }),
                Tuple.Create<string, string, Func<TimeSpan, ModuleOptions>>("close_grace", "at most one year", t => new ModuleOptions { CloseGrace = t }),
                Tuple.Create<string, string, Func<TimeSpan, ModuleOptions>>("cpu_limit", "at least 1 s and at most one year", t => new ModuleOptions { CpuLimit = t }),
            };
            var values = new[]
            {
                Tuple.Create(TimeSpan.FromSeconds(31536000000), "31536000000000000000"), // 1000 years
                Tuple.Create(TimeSpan.MaxValue, "922337203685477580700"),
                Tuple.Create(TimeSpan.MinValue, "-922337203685477580800"),
                Tuple.Create(TimeSpan.FromSeconds(-31536000000) + TimeSpan.FromTicks(1), "-31535999999999999900"),
            };
            foreach (var o in options)
            {
                foreach (var v in values)
                {
                    var opts = o.Item3(v.Item1);
                    opts.Isolation = Isolation.Process;
                    var e = Check.Throws<InvalidArgumentException>(() => _host.Open("std", opts), o.Item1 + " " + v.Item1);
                    Check.Equal("invalid argument: " + o.Item1 + " must be " + o.Item2 + ", got " + v.Item2 + " ns", e.Message, o.Item1 + " " + v.Item1);
                }
            }
        }

        [Case]
        public void WaitArgumentsAreJudgedByTheCoresRule()
        {
            // docs/SYMMETRY.md's wait rows: the TimeSpan is judged exact by the core's one rule
            // (bh_wait_check), with the message every runtime shows. The flush timeout takes 0
            // (no wait) up to one year, null for no limit; the inspect deadline a positive value
            // up to one year, null for the default. A negative flush timeout had .NET's own
            // message, a TimeSpan over a year was accepted, and Inspect's message lacked the
            // "invalid argument: " prefix.
            using (var m = _host.Open("std"))
            {
                m.Flush(TimeSpan.Zero);
                m.Flush(null);
                m.Flush(TimeSpan.FromDays(365));
                const string flush = "invalid argument: flush timeout must be at most one year, got ";
                Refused(flush + "-100 ns", () => m.Flush(TimeSpan.FromTicks(-1)));
                Refused(flush + "-1000000000 ns", () => m.Flush(TimeSpan.FromSeconds(-1)));
                Refused(flush + "31536000000000100 ns", () => m.Flush(TimeSpan.FromDays(365) + TimeSpan.FromTicks(1)));
                Refused(flush + "922337203685477580700 ns", () => m.Flush(TimeSpan.MaxValue));
                // Judged before the module's state, by the core's rule: a disposed module still
                // names the bad value, a good one finds it disposed.
                m.Dispose();
                Refused(flush + "-1000000000 ns", () => m.Flush(TimeSpan.FromSeconds(-1)));
                Check.Throws<ObjectDisposedException>(() => m.Flush(TimeSpan.Zero), "disposed");
                Check.Throws<ObjectDisposedException>(() => m.Flush(null), "disposed, no limit");
            }
            const string inspect = "invalid argument: inspect deadline must be positive and at most one year, got ";
            Refused(inspect + "0 ns", () => _host.Inspect("std", TimeSpan.Zero));
            Refused(inspect + "-100 ns", () => _host.Inspect("std", TimeSpan.FromTicks(-1)));
            Refused(inspect + "-922337203685477580800 ns", () => _host.Inspect("std", TimeSpan.MinValue));
            Refused(inspect + "31536000000000000000 ns", () => _host.Inspect("std", TimeSpan.FromSeconds(31536000000)));
            Check.Equal("std", _host.Inspect("std").Name, "the default deadline");
            Check.Equal("std", _host.Inspect("std", TimeSpan.FromDays(365)).Name, "a year");
        }

        private static void Refused(string message, Action mistake)
        {
            var e = Check.Throws<InvalidArgumentException>(mistake, message);
            Check.Equal(message, e.Message, "the core's message");
        }
    }
}
