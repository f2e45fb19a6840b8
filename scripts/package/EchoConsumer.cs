// Package test (scripts/package_test.sh): built against lib/netstandard2.0/BridgeHost.dll of the
// unpacked nupkg and run from an app laid out from the package (the DLL and
// runtimes/linux-x64/native/* side by side) on Mono and on CoreCLR, with no LD_LIBRARY_PATH or
// module path. Checks std, zlib and sqlite (the echo figure comes from bench/dotnet's Bench.exe run from
// the same layout). With an argument MODULE it also opens that third-party module by name (shipped
// in its own nupkg under runtimes/linux-x64/native) and expects greet("world") = "hello, world".
using System;
using System.Linq;
using System.Text;
using BridgeHost;

public static class EchoConsumer
{
    public static int Main(string[] args)
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
            // The bundled sqlite module (typed, stateful; docs/SQLITE.md): connection.open(":memory:",
            // create) written by hand on the wire (docs/TYPED.md): a string is its u32 length and its
            // UTF-8, an enum one byte (create = 2); result<connection, error> comes back as 0 and the
            // u64 handle. Disposing the module releases the connection.
            using (var sqlite = host.Open("sqlite"))
            {
                byte[] open = new byte[] { 8, 0, 0, 0 }.Concat(Encoding.ASCII.GetBytes(":memory:")).Concat(new byte[] { 2 }).ToArray();
                byte[] got = sqlite.GetMethod("[static]connection.open").Call(open);
                if (got.Length != 9 || got[0] != 0) { Console.WriteLine("FAIL sqlite connection.open"); return 1; }
                Console.WriteLine("ok   the bundled sqlite module opens a database through the nupkg on " + runtime);
            }
            if (args.Length == 1)
            {
                using (var third = host.Open(args[0]))
                {
                    byte[] got = third.GetMethod("greet").Call(Encoding.UTF8.GetBytes("world"));
                    if (Encoding.UTF8.GetString(got) != "hello, world") { Console.WriteLine("FAIL " + args[0] + ".greet"); return 1; }
                    Console.WriteLine("ok   third-party module '" + args[0] + "' " + third.Version + " opened by name on " + runtime);
                }
            }
        }
        return 0;
    }
}
