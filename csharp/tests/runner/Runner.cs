// Self-checking test runner for CoreCLR (NUnit 2.6 does not run there); runs on Mono too.
// Runs every [Case] of BridgeHost.Tests (or those whose name contains an argument) while a thread
// forces compacting collections continuously; prints one line per case and a closing
// "N passed, N failed" line; exits non-zero on any failure.
using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;

namespace BridgeHost.Tests.Runner
{
    public static class Program
    {
        private static readonly TimeSpan CaseTimeout = TimeSpan.FromMinutes(3);

        public static int Main(string[] args)
        {
            string runtime = Type.GetType("Mono.Runtime") != null ? "Mono " : "CoreCLR ";
            Console.WriteLine("bridgehost .NET tests on " + runtime + Environment.Version + ", native " + Host.NativeVersion);
            var cases = Suite.All().Where(c => args.Length == 0 || args.Any(a => c.Name.Contains(a))).ToList();
            int passed = 0, failed = 0, skipped = 0;
            var gc = new GcPressure();
            var total = Stopwatch.StartNew();
            foreach (var c in cases)
            {
                Exception error = null;
                var sw = Stopwatch.StartNew();
                var t = new Thread(() =>
                {
                    try
                    {
                        c.Run();
                    }
                    catch (Exception e)
                    {
                        error = e;
                    }
                }) { IsBackground = true, Name = c.Name };
                t.Start();
                if (!t.Join(CaseTimeout))
                {
                    failed++;
                    Console.WriteLine("FAIL " + c.Name + ": did not finish within " + CaseTimeout.TotalSeconds + " s (aborting the run)");
                    Console.WriteLine(passed + " passed, " + failed + " failed");
                    Console.Out.Flush();
                    Environment.Exit(1);
                }
                string ms = " (" + sw.ElapsedMilliseconds + " ms)";
                if (error == null)
                {
                    passed++;
                    Console.WriteLine("ok   " + c.Name + ms);
                }
                else if (error is SkipException)
                {
                    skipped++;
                    Console.WriteLine("skip " + c.Name + ": " + error.Message);
                }
                else
                {
                    failed++;
                    Console.WriteLine("FAIL " + c.Name + ms + ": " + (error is CheckFailedException ? error.Message : error.ToString()));
                }
            }
            gc.Dispose();
            Console.WriteLine("gc-pressure: " + gc.Collections + " forced collections in " + total.Elapsed.TotalSeconds.ToString("F1") + " s");
            if (skipped > 0)
            {
                Console.WriteLine(skipped + " skipped");
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 && cases.Count > 0 ? 0 : 1;
        }
    }
}
