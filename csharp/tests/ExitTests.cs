using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace BridgeHost.Tests
{
    /// <summary>Issue 12, item 2: a process (Mono or CoreCLR, the runtime running these tests) exits
    /// promptly with a hung submitted isolated call, whether or not the program disposed its host.
    /// Runs tests/probe/ExitProbe.exe (built beside the test assembly) in a child process.</summary>
    public sealed class ExitTests
    {
        [Case]
        public void ProcessExitsWithAHungSubmittedIsolatedCallLeftOpen()
        {
            Run("exit");
        }

        [Case]
        public void ProcessExitsWithAHungSubmittedIsolatedCallAfterDispose()
        {
            Run("close");
        }

        /// <summary>A completed submit and no dispose: Mono waits at exit for every native thread
        /// that ran managed code (the completion ran on a host pool thread), and exited only once
        /// the pool's idle threads retire, the last one too (it hung for ever while one stayed;
        /// found by a docs-only client).</summary>
        [Case]
        public void ProcessExitsAfterACompletedSubmitWithoutDispose()
        {
            Run("completed");
        }

        /// <summary>An event delivered and no dispose: the host's event thread ran managed code and
        /// lives as long as the host; Mono waits at exit for it (it hung for ever), so the library
        /// disposes the hosts still open at ProcessExit on Mono.</summary>
        [Case]
        public void ProcessExitsAfterAnEventWithoutDispose()
        {
            Run("event");
        }

        /// <summary>Objects of a WIT resource left undisposed and reachable at exit, in-process and
        /// isolated: the process still exits promptly (docs/TYPED.md, "Resources (handles)").</summary>
        [Case]
        public void ProcessExitsWithUndisposedResourceObjects()
        {
            Run("resources");
        }

        private static void Run(string mode)
        {
            string dir = Path.GetDirectoryName(typeof(ExitTests).Assembly.Location);
            string probe = Path.Combine(dir, "ExitProbe.exe");
            Check.True(File.Exists(probe), probe + " exists (scripts/dotnet.sh builds it)");
            var psi = new ProcessStartInfo { UseShellExecute = false, RedirectStandardOutput = true };
            if (Type.GetType("Mono.Runtime") != null)
            {
                psi.FileName = "mono";
                psi.Arguments = "--debug \"" + probe + "\" " + mode;
            }
            else
            {
                // CoreCLR: the same dotnet host that runs this test runner.
                psi.FileName = Process.GetCurrentProcess().MainModule.FileName;
                psi.Arguments = "exec --runtimeconfig \"" + Path.Combine(dir, "ExitProbe.runtimeconfig.json")
                    + "\" \"" + probe + "\" " + mode;
            }
            using (var p = Process.Start(psi))
            {
                // Reading to EOF ends when the process (and whatever holds its stdout) exits.
                var read = p.StandardOutput.ReadToEndAsync();
                bool eofInTime = read.Wait(TimeSpan.FromSeconds(60));
                long eof = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                bool exited = p.WaitForExit(eofInTime ? 30000 : 0);
                if (!exited)
                {
                    try { p.Kill(); } catch (InvalidOperationException) { }
                    Check.Fail("the child process did not exit (" + mode + ")");
                }
                string output = read.Result;
                if (output.Contains("unavailable "))
                {
                    Check.Skip("process isolation is not available: " + output.Trim());
                }
                Check.Equal(0, p.ExitCode, "exit code; output: " + output);
                if (mode == "resources")
                {
                    Check.True(output.Contains("resources 100"), "the counters were made: " + output);
                }
                else if (mode == "event")
                {
                    Check.True(output.Contains("delivered True"), "the event was delivered: " + output);
                }
                else if (mode == "completed")
                {
                    Check.True(output.Contains("submitted True"), "the submit completed: " + output);
                }
                else
                {
                    Check.True(output.Contains("hanging 1"), "the hang call ran: " + output);
                }
                if (mode == "close")
                {
                    Check.True(output.Contains("closed True"), "the hung call ended with Closed: " + output);
                }
                string line = output.Split('\n').First(l => l.StartsWith("returning ", StringComparison.Ordinal));
                long returned = long.Parse(line.Substring("returning ".Length).Trim());
                long took = eof - returned;
                Check.True(took < 10000, "the process took " + took + " ms to exit after Main returned: " + output);
            }
        }
    }
}
