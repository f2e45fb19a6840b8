// bridgehost from .NET, in one page.
//
// Opens the bundled modules, compresses and checksums data through them, receives events that a
// module emits from its own native thread, makes typed calls through the classes bindgen
// generates from the modules' WIT interfaces, and shows a crash in an isolated module being
// contained: the call fails with a typed exception, the next call succeeds.
//
// Build and run (scripts/dotnet.sh demo does exactly this):
//   bridgehost bindgen --lang csharp --package DemoGen std -o gen
//   bridgehost bindgen --lang csharp --package DemoGen zlib -o gen
//   mcs -langversion:7.2 -r:BridgeHost.dll Demo.cs gen/Std.cs gen/Zlib.cs
//   dotnet exec --runtimeconfig Demo.runtimeconfig.json Demo.exe     (CoreCLR)
//   mono Demo.exe                                                    (Mono)
// with libbridgehost.so and the libbridgehost_mod_*.so modules beside BridgeHost.dll or on
// LD_LIBRARY_PATH (modules are found beside the native library, or via BRIDGEHOST_MODULE_PATH).
using System;
using System.Linq;
using System.Text;
using System.Threading;
using BridgeHost;

public static class Demo
{
    public static int Main()
    {
        string runtime = Type.GetType("Mono.Runtime") != null ? "Mono" : "CoreCLR";
        Console.WriteLine("bridgehost " + Host.NativeVersion + " on " + runtime + " " + Environment.Version);

        // A Host owns everything opened from it; disposing it closes it all.
        using (var host = new Host())
        {
            // 1. Open two bundled modules by name: a C module over the system zlib, and "std",
            //    a Rust module. Each method is resolved once, then called as often as needed.
            Module zlib = host.Open("zlib");
            Module std = host.Open("std");
            Console.WriteLine("opened " + zlib + " with methods " + string.Join(", ", zlib.Methods));
            Console.WriteLine("opened " + std + " with methods " + string.Join(", ", std.Methods));
            Method compress = zlib.GetMethod("compress");
            Method decompress = zlib.GetMethod("decompress");
            Method checksum = std.GetMethod("checksum");

            // 2. Real work: compress, decompress, and check the round trip with a CRC-32C.
            byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
                "The same native library, called from Java, Python and .NET. ", 200)));
            byte[] packed = compress.Call(text);
            byte[] unpacked = decompress.Call(packed);
            Console.WriteLine("zlib.compress:   " + text.Length + " bytes -> " + packed.Length + " bytes");
            Console.WriteLine("zlib.decompress: " + packed.Length + " bytes -> " + unpacked.Length + " bytes");
            string before = Hex(checksum.Call(text));
            // The same call on bridgehost's pool threads, awaited like any Task.
            string after = Hex(checksum.SubmitAsync(unpacked).GetAwaiter().GetResult());
            Console.WriteLine("std.checksum (CRC-32C): original " + before + ", round-tripped " + after);
            if (before != after || !unpacked.SequenceEqual(text))
            {
                Console.WriteLine("FAILED: the round trip changed the data");
                return 1;
            }
            string vector = Hex(checksum.Call(Encoding.ASCII.GetBytes("123456789")));
            Console.WriteLine("std.checksum(\"123456789\") = " + vector + " (the CRC-32C check value is e3069283)");
            if (vector != "e3069283")
            {
                return 1;
            }

            // 3. Events: std's ticker emits from a thread the module owns; bridgehost delivers them
            //    to this handler on its dispatcher thread. Disposing the subscription guarantees the
            //    handler is not running and never runs again.
            int received = 0;
            var all = new ManualResetEventSlim();
            using (std.Subscribe("tick", ev =>
            {
                ulong seq = BitConverter.ToUInt64(ev.Data, 0);
                Console.WriteLine("  event '" + ev.Topic + "' #" + seq + " on thread " + Thread.CurrentThread.ManagedThreadId);
                if (Interlocked.Increment(ref received) == 5)
                {
                    all.Set();
                }
            }))
            {
                Console.WriteLine("std.ticker: 5 events, 20 ms apart, from the module's own thread:");
                std.GetMethod("ticker").Call(U32x2(5, 20));
                if (!all.Wait(TimeSpan.FromSeconds(10)))
                {
                    Console.WriteLine("FAILED: only " + received + " of 5 events arrived");
                    return 1;
                }
            }
            Console.WriteLine("received " + received + " events; unsubscribed");

            // 4. Typed calls: std and zlib embed WIT interfaces; the generated classes check them at
            //    open and turn arguments and results into C# values, in both isolation modes.
            if (!ShowTyped(host))
            {
                return 1;
            }

            // 5. Isolation: the test-only "faulty" module in a sandboxed worker process. A segfault
            //    there fails only the call in flight; the worker is replaced; we carry on.
            if (!ShowIsolation(host))
            {
                return 1;
            }

            Console.WriteLine("counters: " + host.GetCounters());
        }
        Console.WriteLine("done: host disposed");
        return 0;
    }

    private static bool ShowTyped(Host host)
    {
        foreach (var isolation in new[] { Isolation.InProcess, Isolation.Process })
        {
            DemoGen.Std std;
            try
            {
                std = DemoGen.Std.Open(host, "std", new ModuleOptions { Isolation = isolation });
            }
            catch (UnavailableException e)
            {
                Console.WriteLine("typed (" + isolation + "): isolation not available (" + e.Message + ")");
                continue;
            }
            using (std)
            using (var zlib = DemoGen.Zlib.Open(host, "zlib", new ModuleOptions { Isolation = isolation }))
            {
                uint sum = std.Add(4000000000, 300000000);                        // u32, modulo 2^32
                var stats = std.Stats(new[] { 1.5, -2.0, 7.0 });                   // option<summary>
                Console.WriteLine("typed (" + isolation + "): add = " + sum + ", stats = " + stats.Value);
                byte[] data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("typed zlib. ", 500)));
                byte[] packed = zlib.Deflate(data, BridgeHost.Typed.Option.Some((byte)9));
                try
                {
                    zlib.Inflate(packed, BridgeHost.Typed.Option.Some(100UL));     // result<list<u8>, zlib-error>
                    Console.WriteLine("FAILED: inflate over max-size succeeded");
                    return false;
                }
                catch (TypedModuleException<DemoGen.Zlib.ZlibError> e)
                {
                    Console.WriteLine("typed: " + data.Length + " bytes -> " + packed.Length + "; inflate with max-size 100 -> " + e.Error);
                }
                if (sum != 5032704 || stats.Value.Count != 3 || !zlib.Inflate(packed, default(BridgeHost.Typed.Option<ulong>)).SequenceEqual(data))
                {
                    Console.WriteLine("FAILED: typed results");
                    return false;
                }
            }
        }
        return true;
    }

    private static bool ShowIsolation(Host host)
    {
        Module faulty;
        try
        {
            faulty = host.Open("faulty", new ModuleOptions { Isolation = Isolation.Process });
        }
        catch (UnavailableException e)
        {
            Console.WriteLine("isolation: not available in this build (" + e.Message + "); skipping the crash demo");
            return true;
        }
        catch (NotFoundException e)
        {
            Console.WriteLine("isolation: the test-only faulty module is not installed (" + e.Message + "); skipping the crash demo");
            return true;
        }
        using (faulty)
        {
            Console.WriteLine("opened " + faulty);
            Method ok = faulty.GetMethod("ok");
            Console.WriteLine("faulty.ok -> " + Encoding.ASCII.GetString(ok.Call(Encoding.ASCII.GetBytes("alive"))));
            try
            {
                Console.WriteLine("faulty.segfault: dereferencing NULL inside the worker...");
                faulty.GetMethod("segfault").Call(new byte[0]);
                Console.WriteLine("FAILED: the segfault call returned");
                return false;
            }
            catch (WorkerCrashedException e)
            {
                Console.WriteLine("  caught WorkerCrashedException: signal " + e.Signal + ": " + e.Message);
            }
            string again = Encoding.ASCII.GetString(ok.Call(Encoding.ASCII.GetBytes("still alive")));
            Console.WriteLine("faulty.ok after the crash -> " + again + " (served by a fresh worker; this process never noticed)");
            Console.WriteLine("faulty counters: " + faulty.GetCounters());
            return again == "still alive";
        }
    }

    private static byte[] U32x2(uint a, uint b)
    {
        return BitConverter.GetBytes(a).Concat(BitConverter.GetBytes(b)).ToArray();
    }

    private static string Hex(byte[] b)
    {
        return string.Concat(b.Select(x => x.ToString("x2")));
    }
}
