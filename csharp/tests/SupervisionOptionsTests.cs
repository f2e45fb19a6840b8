// The supervision settings of isolated modules (docs/ISOLATION.md, "Supervision settings";
// docs/SYMMETRY.md rows spare_workers .. sandbox) as .NET sets them: each range and message is the
// core's (checked through bh_option_check before a value is narrowed into its C field), a worker's
// setting changed from its default is refused in-process, and three settings at work in an
// isolated module: Sandbox, BreakerFailures/BreakerCooldown and CloseGrace.
using System;
using System.Diagnostics;
using System.Threading;

namespace BridgeHost.Tests
{
    public sealed class SupervisionOptionsTests : IDisposable
    {
        private readonly Host _host = new Host();

        public void Dispose()
        {
            _host.Dispose();
        }

        private void SkipWithoutIsolation()
        {
            // The same probe the other isolated cases use: skip when this build has no worker.
            TestEnv.OpenIsolatedOrSkip(_host, "std").Dispose();
        }

        private static void ExpectMessage(Action open, string message, string what)
        {
            var e = Check.Throws<InvalidArgumentException>(open, what);
            Check.True(e.Message.Contains(message), what + ": the core's message \"" + message + "\", got: " + e.Message);
        }

        [Case]
        public void DefaultsAreTheCores()
        {
            var d = ModuleOptions.Defaults;
            Check.Equal(1, d.SpareWorkers, "SpareWorkers");
            Check.Equal(5, d.BreakerFailures, "BreakerFailures");
            Check.Equal(TimeSpan.FromSeconds(30), d.BreakerWindow, "BreakerWindow");
            Check.Equal(TimeSpan.FromSeconds(1), d.BreakerCooldown, "BreakerCooldown");
            Check.Equal(TimeSpan.FromSeconds(10), d.StartupTimeout, "StartupTimeout");
            Check.Equal(TimeSpan.FromSeconds(5), d.CloseGrace, "CloseGrace");
            Check.Equal(TimeSpan.FromHours(1), d.CpuLimit, "CpuLimit");
            Check.Equal(64, d.OpenFiles, "OpenFiles");
            Check.Equal(true, d.Sandbox, "Sandbox");
            // Null is the default; the defaults spelled out are no change, so an in-process module
            // accepts them as it accepts null.
            var fresh = new ModuleOptions();
            Check.True(fresh.SpareWorkers == null && fresh.CpuLimit == null && fresh.Sandbox == null, "unset: null");
            using (var m = _host.Open("std", d))
            {
                Check.Bytes(TestEnv.Ascii("x"), m.GetMethod("echo").Call(TestEnv.Ascii("x")), "echo");
            }
        }

        [Case]
        public void EverySettingOutOfRangeIsRefusedWithTheCoresMessage()
        {
            var year = TimeSpan.FromDays(365);
            var cases = new[]
            {
                Tuple.Create(new ModuleOptions { SpareWorkers = 9 }, "spare_workers must be in 0..=8, got 9"),
                Tuple.Create(new ModuleOptions { SpareWorkers = -1 }, "spare_workers must be in 0..=8, got -1"),
                Tuple.Create(new ModuleOptions { BreakerFailures = 0 }, "breaker_failures must be in 1..=4294967295, got 0"),
                Tuple.Create(new ModuleOptions { BreakerFailures = -1 }, "breaker_failures must be in 1..=4294967295, got -1"),
                Tuple.Create(new ModuleOptions { BreakerWindow = TimeSpan.Zero }, "breaker_window must be positive and at most one year, got 0 ns"),
                Tuple.Create(new ModuleOptions { BreakerWindow = year + TimeSpan.FromTicks(1) }, "breaker_window must be positive and at most one year, got 31536000000000100 ns"),
                Tuple.Create(new ModuleOptions { BreakerCooldown = TimeSpan.FromMilliseconds(-1) }, "breaker_cooldown must be positive and at most one year, got -1000000 ns"),
                Tuple.Create(new ModuleOptions { StartupTimeout = TimeSpan.Zero }, "startup_timeout must be positive and at most one year, got 0 ns"),
                Tuple.Create(new ModuleOptions { CloseGrace = TimeSpan.FromTicks(-1) }, "close_grace must be at most one year, got -100 ns"),
                Tuple.Create(new ModuleOptions { CloseGrace = TimeSpan.MaxValue }, "close_grace must be at most one year, got 922337203685477580700 ns"),
                Tuple.Create(new ModuleOptions { CpuLimit = TimeSpan.FromMilliseconds(999) }, "cpu_limit must be at least 1 s and at most one year, got 999000000 ns"),
                Tuple.Create(new ModuleOptions { CpuLimit = TimeSpan.Zero }, "cpu_limit must be at least 1 s and at most one year, got 0 ns"),
                Tuple.Create(new ModuleOptions { OpenFiles = 15 }, "open_files must be in 16..=65536, got 15"),
                Tuple.Create(new ModuleOptions { OpenFiles = 65537 }, "open_files must be in 16..=65536, got 65537"),
            };
            foreach (var c in cases)
            {
                // Isolated (where the settings mean something) and in-process: the range is
                // judged first, with the same message.
                foreach (var isolation in new[] { Isolation.Process, Isolation.InProcess })
                {
                    c.Item1.Isolation = isolation;
                    ExpectMessage(() => _host.Open("std", c.Item1), c.Item2, c.Item2 + " (" + isolation + ")");
                }
            }
        }

        [Case]
        public void AWorkersSettingIsRefusedInProcess()
        {
            var workerOnly = new[]
            {
                Tuple.Create(new ModuleOptions { SpareWorkers = 0 }, "spare_workers"),
                Tuple.Create(new ModuleOptions { BreakerFailures = 1 }, "breaker_failures"),
                Tuple.Create(new ModuleOptions { BreakerWindow = TimeSpan.FromSeconds(1) }, "breaker_window"),
                Tuple.Create(new ModuleOptions { BreakerCooldown = TimeSpan.FromSeconds(60) }, "breaker_cooldown"),
                Tuple.Create(new ModuleOptions { CloseGrace = TimeSpan.Zero }, "close_grace"),
                Tuple.Create(new ModuleOptions { CpuLimit = TimeSpan.FromSeconds(10) }, "cpu_limit"),
                Tuple.Create(new ModuleOptions { OpenFiles = 128 }, "open_files"),
            };
            foreach (var c in workerOnly)
            {
                ExpectMessage(() => _host.Open("std", c.Item1), c.Item2 + " requires process isolation", c.Item2 + " in-process");
                // The worker that validates a module ignores them too: ValidateInWorker does not help.
                c.Item1.ValidateInWorker = true;
                ExpectMessage(() => _host.Open("std", c.Item1), c.Item2 + " requires process isolation", c.Item2 + " with ValidateInWorker");
            }
            ExpectMessage(() => _host.Open("std", new ModuleOptions { StartupTimeout = TimeSpan.FromSeconds(5) }),
                "startup_timeout requires process isolation or validate_in_worker", "StartupTimeout in-process");
            ExpectMessage(() => _host.Open("std", new ModuleOptions { Sandbox = false }),
                "sandbox requires process isolation or validate_in_worker", "Sandbox false in-process");
            // A setting equal to its default is no change.
            using (var m = _host.Open("std", new ModuleOptions { Sandbox = true, SpareWorkers = 1, CloseGrace = TimeSpan.FromSeconds(5) }))
            {
                Check.Bytes(TestEnv.Ascii("x"), m.GetMethod("echo").Call(TestEnv.Ascii("x")), "echo");
            }
        }

        [Case]
        public void StartupTimeoutAndSandboxAreAcceptedInProcessWithValidateInWorker()
        {
            SkipWithoutIsolation();
            foreach (var o in new[]
            {
                new ModuleOptions { ValidateInWorker = true, StartupTimeout = TimeSpan.FromSeconds(20) },
                new ModuleOptions { ValidateInWorker = true, Sandbox = false },
            })
            {
                using (var m = _host.Open("std", o))
                {
                    Check.Equal(Isolation.InProcess, m.Isolation, "loaded in-process after the check");
                    Check.Bytes(TestEnv.Ascii("x"), m.GetMethod("echo").Call(TestEnv.Ascii("x")), "echo");
                }
            }
        }

        [Case]
        public void EverySettingChangedOpensAnIsolatedModule()
        {
            var o = new ModuleOptions
            {
                SpareWorkers = 0,
                BreakerFailures = 3,
                BreakerWindow = TimeSpan.FromSeconds(10),
                BreakerCooldown = TimeSpan.FromMilliseconds(1500),
                StartupTimeout = TimeSpan.FromSeconds(20),
                CloseGrace = TimeSpan.Zero,
                CpuLimit = TimeSpan.FromSeconds(30),
                OpenFiles = 32,
                Sandbox = true,
            };
            using (var m = TestEnv.OpenIsolatedOrSkip(_host, "std", o))
            {
                Check.Bytes(TestEnv.Ascii("x"), m.GetMethod("echo").Call(TestEnv.Ascii("x")), "echo");
            }
        }

        [Case]
        public void AnInfiniteCpuLimitIsNoLimit()
        {
            // Timeout.InfiniteTimeSpan (the .NET idiom, as for Thread.Sleep) lifts the CPU limit
            // (Rust's cpu_limit None, C's UINT64_MAX); it was refused as -1 ms, out of range.
            var o = new ModuleOptions { CpuLimit = Timeout.InfiniteTimeSpan };
            Check.Equal(Timeout.InfiniteTimeSpan, o.CpuLimit, "reads back as set");
            // In-process it is a change from the default, refused as every worker-only setting.
            ExpectMessage(() => _host.Open("std", o), "cpu_limit requires process isolation", "no CPU limit in-process");
            Check.Equal(Timeout.InfiniteTimeSpan, o.CpuLimit, "unchanged by the refused open");
            // Another negative TimeSpan is still out of range.
            ExpectMessage(() => _host.Open("std", new ModuleOptions { Isolation = Isolation.Process, CpuLimit = TimeSpan.FromMilliseconds(-2) }),
                "cpu_limit must be at least 1 s and at most one year, got -2000000 ns", "-2 ms");
            using (var m = TestEnv.OpenIsolatedOrSkip(_host, "std", o))
            {
                Check.Bytes(TestEnv.Ascii("x"), m.GetMethod("echo").Call(TestEnv.Ascii("x")), "echo with no CPU limit");
            }
            Check.Equal(Timeout.InfiniteTimeSpan, o.CpuLimit, "reads back as no limit after the open");
        }

        [Case]
        public void SandboxOffLetsTheModuleOpenASocket()
        {
            using (var sandboxed = TestEnv.OpenIsolatedOrSkip(_host, "faulty"))
            {
                var e = Check.Throws<ModuleException>(() => sandboxed.GetMethod("socket").Call(new byte[0]), "socket in the default sandbox");
                Check.Equal(1, e.Code, "EPERM: " + e.Message);
            }
            using (var open = TestEnv.OpenIsolatedOrSkip(_host, "faulty", new ModuleOptions { Sandbox = false }))
            {
                Check.Bytes(TestEnv.Ascii("ok"), open.GetMethod("socket").Call(new byte[0]), "socket with Sandbox false");
            }
        }

        [Case]
        public void OneFailureOpensTheBreakerWhenBreakerFailuresIsOne()
        {
            using (var defaults = TestEnv.OpenIsolatedOrSkip(_host, "faulty"))
            {
                Check.Throws<WorkerCrashedException>(() => defaults.GetMethod("segfault").Call(new byte[0]), "segfault");
                Check.Bytes(TestEnv.Ascii("x"), defaults.GetMethod("ok").Call(TestEnv.Ascii("x")), "the next call, default breaker");
            }
            var o = new ModuleOptions { BreakerFailures = 1, BreakerCooldown = TimeSpan.FromSeconds(60) };
            using (var touchy = TestEnv.OpenIsolatedOrSkip(_host, "faulty", o))
            {
                Check.Throws<WorkerCrashedException>(() => touchy.GetMethod("segfault").Call(new byte[0]), "segfault");
                var e = Check.Throws<UnavailableException>(() => touchy.GetMethod("ok").Call(TestEnv.Ascii("x")), "the next call, BreakerFailures 1");
                Check.True(e.Message.Contains("circuit breaker"), "names the breaker: " + e.Message);
            }
        }

        [Case]
        public void AShortCloseGraceEndsACloseInTime()
        {
            var o = new ModuleOptions { CloseGrace = TimeSpan.FromMilliseconds(100) };
            var std = TestEnv.OpenIsolatedOrSkip(_host, "std", o);
            var sleep = std.GetMethod("sleep_ms");
            Exception failure = null;
            byte[] result = null;
            var t = new Thread(() =>
            {
                try { result = sleep.Call(TestEnv.Ascii("5000")); }
                catch (Exception e) { failure = e; }
            });
            t.Start();
            // The call has started (counted when it is made; it goes to the module's ready worker).
            Check.Eventually(() => std.GetCounters().Calls >= 1, 30, "the sleep_ms call started");
            var sw = Stopwatch.StartNew();
            std.Dispose();
            sw.Stop();
            Check.True(t.Join(TimeSpan.FromSeconds(30)), "the call returned");
            Check.True(sw.Elapsed < TimeSpan.FromSeconds(4),
                "Dispose returned after the 100 ms grace, not after the call's 5 s: " + sw.Elapsed);
            Check.True(result == null, "the call did not finish");
            Check.True(failure is ClosedException, "the call failed with ClosedException: " + failure);
        }
    }
}
