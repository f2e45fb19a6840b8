using System;
using System.IO;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;

namespace BridgeHost.Tests
{
    /// <summary>
    /// Host.Inspect runs the module's loading in a worker process: hostile loads (a constructor
    /// that calls _exit(0) or crashes, an entry function that never returns, a lying descriptor)
    /// are typed exceptions, never a description and never the end of this process.
    /// ModuleOptions.ValidateInWorker puts the same step before an in-process open. Without it,
    /// opening hostile/libhostile_ctor_exit.so in-process ends this process (the constructor runs
    /// here).
    /// </summary>
    public sealed class InspectTests : IDisposable
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);
        private readonly Host _host = new Host();

        public void Dispose()
        {
            _host.Dispose();
        }

        private static string Fixture(string dir, string file)
        {
            foreach (var d in (Environment.GetEnvironmentVariable("BRIDGEHOST_MODULE_PATH") ?? "").Split(':'))
            {
                var p = Path.Combine(d, dir, file);
                if (d.Length > 0 && File.Exists(p))
                {
                    return p;
                }
            }
            Check.Fail(dir + "/" + file + " is not under BRIDGEHOST_MODULE_PATH: run scripts/build.sh");
            return null;
        }

        private void SkipWithoutIsolation()
        {
            // The same probe the other isolated cases use: skip when this build has no worker.
            TestEnv.OpenIsolatedOrSkip(_host, "std").Dispose();
        }

        [Case]
        public void InspectDescribesAGoodModuleFromAWorker()
        {
            SkipWithoutIsolation();
            var info = _host.Inspect("std");
            var here = _host.InspectInProcess("std");
            Check.Equal("std", info.Name, "Name");
            Check.Equal(here.Version, info.Version, "Version");
            Check.Equal(here.ThreadModel, info.ThreadModel, "ThreadModel");
            Check.Equal(1, info.AbiVersion, "AbiVersion");
            Check.True(info.IsTyped, "std embeds a typed interface");
            Check.False(info.IsStateful, "std is not stateful");
            Check.True(info.Methods.Select(m => m.Name).SequenceEqual(here.Methods.Select(m => m.Name)), "same methods");
            using (var m = _host.Open("std"))
            {
                Check.True(m.Methods.Select(x => x.Name).SequenceEqual(info.Methods.Select(x => x.Name)), "as Open sees them");
                Check.Equal(m.ThreadModel, info.ThreadModel, "as Open sees it");
                Check.Equal(info.Path, m.Path, "Module.Path is the file Inspect found");
            }
            Check.True(_host.Inspect("stateful", Deadline).IsStateful, "stateful is stateful");
        }

        [Case]
        public void HostileLoadsAreTypedExceptions()
        {
            SkipWithoutIsolation();
            Check.Throws<WorkerExitedException>(() => _host.Inspect(Fixture("hostile", "libhostile_ctor_exit.so"), Deadline), "ctor _exit(0)");
            Check.Throws<WorkerCrashedException>(() => _host.Inspect(Fixture("hostile", "libhostile_ctor_crash.so"), Deadline), "ctor crash");
            var t0 = DateTime.UtcNow;
            Check.Throws<CallTimeoutException>(() => _host.Inspect(Fixture("hostile", "libhostile_entry_hangs.so"), Deadline), "entry hangs");
            Check.True(DateTime.UtcNow - t0 < TimeSpan.FromTicks(Deadline.Ticks * 10), "bounded by the deadline");
            Check.Throws<AbiMismatchException>(() => _host.Inspect(Fixture("broken", "liblying_wild_name.so"), Deadline), "wild name");
            Check.Throws<AbiMismatchException>(() => _host.Inspect(Fixture("broken", "liblying_entry_is_data.so"), Deadline), "entry is data");
            // A lying descriptor is refused in-process too (read without faulting).
            Check.Throws<AbiMismatchException>(() => _host.InspectInProcess(Fixture("broken", "liblying_wild_name.so")), "in-process wild name");
            Check.Throws<NotFoundException>(() => _host.Inspect("no_such_module"), "missing");
            Check.Throws<InvalidArgumentException>(() => _host.Inspect("std", TimeSpan.Zero), "zero deadline");
        }

        [Case]
        public void ValidateInWorkerGuardsAnInProcessOpen()
        {
            SkipWithoutIsolation();
            Check.False(ModuleOptions.Defaults.ValidateInWorker, "off by default");
            var guarded = new ModuleOptions { ValidateInWorker = true };
            Check.Throws<WorkerExitedException>(() => _host.Open(Fixture("hostile", "libhostile_ctor_exit.so"), guarded), "ctor _exit(0)");
            Check.Throws<WorkerCrashedException>(() => _host.Open(Fixture("hostile", "libhostile_ctor_crash.so"), guarded), "ctor crash");
            using (var m = _host.Open("std", guarded))
            {
                Check.Equal(Isolation.InProcess, m.Isolation, "loaded in-process after the check");
                Check.Bytes(TestEnv.Ascii("still here"), m.GetMethod("echo").Call(TestEnv.Ascii("still here")), "echo");
            }
        }

        [Case]
        public void ADisposedHostRefusesInspect()
        {
            var h = new Host();
            h.Dispose();
            Check.Throws<ObjectDisposedException>(() => h.Inspect("std"), "Inspect");
            Check.Throws<ObjectDisposedException>(() => h.InspectInProcess("std"), "InspectInProcess");
        }

        /// <summary>The bridgehost-worker children of this process (pids).</summary>
        private static List<int> WorkerChildren()
        {
            int me = System.Diagnostics.Process.GetCurrentProcess().Id;
            var workers = new List<int>();
            foreach (var dir in Directory.GetDirectories("/proc"))
            {
                int pid;
                if (!int.TryParse(Path.GetFileName(dir), out pid))
                {
                    continue;
                }
                try
                {
                    string stat = File.ReadAllText(dir + "/stat");
                    int close = stat.LastIndexOf(')');
                    var f = stat.Substring(close + 2).Split(' ');
                    if (int.Parse(f[1]) == me && stat.Contains("(bridgehost-work"))
                    {
                        workers.Add(pid);
                    }
                }
                catch (Exception)
                {
                    // gone meanwhile
                }
            }
            return workers;
        }

        /// <summary>True when some bridgehost-worker child of this process has every thread stopped.</summary>
        private static bool AWorkerIsStopped()
        {
            foreach (int pid in WorkerChildren())
            {
                try
                {
                    bool all = true;
                    foreach (var task in Directory.GetDirectories("/proc/" + pid + "/task"))
                    {
                        string t = File.ReadAllText(task + "/stat");
                        all &= t.Substring(t.LastIndexOf(')') + 2)[0] == 'T';
                    }
                    if (all)
                    {
                        return true;
                    }
                }
                catch (Exception)
                {
                    // gone meanwhile
                }
            }
            return false;
        }

        private const int P_PID = 1;
        private const int WNOHANG = 1;
        private const int WSTOPPED = 2;
        private const int WNOWAIT = 0x01000000;
        private const int CLD_STOPPED = 5;

        // int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options); siginfo_t is
        // 128 bytes: si_signo, si_errno, si_code (ints at 0, 4, 8), then on x86_64 and aarch64
        // the 8-byte aligned union, whose SIGCHLD fields begin with si_pid at 16.
        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int waitid(int idtype, uint id, byte[] infop, int options);

        /// <summary>True when the kernel reports the stop of some bridgehost-worker child to this
        /// process: waitid(P_PID, WSTOPPED | WNOHANG | WNOWAIT), the report the host checks before
        /// it hands a call over (WNOWAIT leaves it for the host).</summary>
        private static bool AWorkerStopIsReported()
        {
            foreach (int pid in WorkerChildren())
            {
                var info = new byte[128];
                if (waitid(P_PID, (uint)pid, info, WSTOPPED | WNOHANG | WNOWAIT) == 0
                    && BitConverter.ToInt32(info, 16) == pid
                    && BitConverter.ToInt32(info, 8) == CLD_STOPPED)
                {
                    return true;
                }
            }
            return false;
        }

        /// <summary>A worker that stops itself while idle is replaced before the next call: a
        /// protocol violation blamed on no call, counted in UnblamedViolations, not as a crash.</summary>
        [Case]
        public void AViolationBlamedOnNoCallIsCounted()
        {
            using (var m = TestEnv.OpenIsolatedOrSkip(_host, "faulty", new ModuleOptions { CallTimeout = TimeSpan.FromSeconds(5) }))
            {
                var ok = m.GetMethod("ok");
                Check.Bytes(TestEnv.Ascii("before"), ok.Call(TestEnv.Ascii("before")), "before");
                Check.False(AWorkerStopIsReported(), "no stop reported while the worker runs");
                m.GetMethod("stop_when_idle").Call(new byte[0]);
                // The call returned first: wait (bounded) until every thread of the worker stopped.
                Check.Eventually(AWorkerIsStopped, 20, "the worker stopped");
                // The kernel reports the stop to this process once the last thread stopped; the
                // host checks that report (waitid WSTOPPED) before it hands a call over. Wait for
                // the same report, not a fixed time (this was a 100 ms sleep).
                Check.Eventually(AWorkerStopIsReported, 20, "the stop reported to waitid");
                Check.Bytes(TestEnv.Ascii("innocent"), ok.Call(TestEnv.Ascii("innocent")), "the innocent call");
                Check.Eventually(() => m.GetCounters().UnblamedViolations == 1, 20, "counted when reaped: " + m.GetCounters());
                var c = m.GetCounters();
                Check.Equal(0L, c.Crashes, "not a crash: " + c);
                Check.Equal(0L, c.Errors, "no call failed: " + c);
                Check.True(_host.GetCounters().UnblamedViolations >= 1, "in the host's counters");
            }
        }
    }
}
