// Package test (scripts/package_test.sh): built against lib/netstandard2.0/BridgeHost.dll of the
// unpacked nupkg and run from an app laid out from the package (the DLL and
// runtimes/linux-x64/native/* side by side) on Mono and on CoreCLR, with no LD_LIBRARY_PATH or
// module path. Checks std and zlib, then prints the median time of a 16-byte echo as
// "echo16_ns=<ns>".
using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using BridgeHost;

public static class EchoConsumer
{
    public static int Main()
    {
        string runtime = Type.GetType("Mono.Runtime") != null ? "Mono" : "CoreCLR";
        using (var host = new Host())
        using (var std = host.Open("std"))
        using (var zlib = host.Open("zlib"))
        {
            byte[] data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("packaged ", 500)));
            if (!std.GetMethod("echo").Call(data).SequenceEqual(data)) { Console.WriteLine("FAIL std.echo"); return 1; }
            byte[] packed = zlib.GetMethod("compress").Call(data);
            if (!zlib.GetMethod("decompress").Call(packed).SequenceEqual(data)) { Console.WriteLine("FAIL zlib"); return 1; }
            Console.WriteLine("ok   std and zlib through the nupkg on " + runtime);
            var echo = std.GetMethod("echo");
            var d16 = new byte[16];
            const int n = 200000;
            for (int i = 0; i < n; i++) echo.Call(d16);   // warm-up: JIT
            var per = new double[7];
            for (int r = 0; r < per.Length; r++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n; i++) echo.Call(d16);
                per[r] = sw.Elapsed.TotalMilliseconds * 1e6 / n;
            }
            Array.Sort(per);
            Console.WriteLine("echo16_ns=" + per[per.Length / 2].ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
        }
        return 0;
    }
}
