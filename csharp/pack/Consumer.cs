// A consumer of the packed NuGet package, built against lib/netstandard2.0/BridgeHost.dll only and
// run from the layout a RID-specific app gets (the managed DLL and runtimes/linux-x64/native/*
// side by side), with no LD_LIBRARY_PATH or BRIDGEHOST_MODULE_PATH: the native library is found
// beside BridgeHost.dll, and the bundled modules (and worker) beside the native library.
using System;
using System.Linq;
using System.Text;
using System.Threading;
using BridgeHost;

public static class Consumer
{
    private static int _passed, _failed;

    private static void Expect(bool ok, string what)
    {
        if (ok) { _passed++; Console.WriteLine("ok   " + what); }
        else { _failed++; Console.WriteLine("FAIL " + what); }
    }

    public static int Main()
    {
        string runtime = Type.GetType("Mono.Runtime") != null ? "Mono" : "CoreCLR";
        try
        {
            Expect(Host.NativeVersion.Length > 0, runtime + ": native library loads (version " + Host.NativeVersion + ")");
            using (var host = new Host())
            {
                var std = host.Open("std");
                var zlib = host.Open("zlib");
                byte[] data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("packaged ", 500)));
                Expect(std.GetMethod("echo").Call(data).SequenceEqual(data), "std.echo from the package");
                byte[] packed = zlib.GetMethod("compress").Call(data);
                Expect(packed.Length < data.Length && zlib.GetMethod("decompress").Call(packed).SequenceEqual(data),
                    "zlib round trip from the package (" + data.Length + " -> " + packed.Length + " bytes)");
                byte[] crc = std.GetMethod("checksum").SubmitAsync(Encoding.ASCII.GetBytes("123456789")).Result;
                Expect(BitConverter.ToString(crc) == "E3-06-92-83", "std.checksum via SubmitAsync");
                var got = new CountdownEvent(3);
                using (std.Subscribe("tick", ev => got.Signal()))
                {
                    std.GetMethod("ticker").Call(BitConverter.GetBytes(3u));
                    Expect(got.Wait(TimeSpan.FromSeconds(10)), "3 events delivered");
                }
                try
                {
                    using (var iso = host.Open("std", new ModuleOptions { Isolation = Isolation.Process }))
                    {
                        Expect(iso.GetMethod("echo").Call(data).SequenceEqual(data), "isolated std.echo with the packaged worker");
                    }
                }
                catch (UnavailableException e)
                {
                    Console.WriteLine("skip isolation: " + e.Message);
                }
            }
        }
        catch (Exception e)
        {
            _failed++;
            Console.WriteLine("FAIL unexpected exception: " + e);
        }
        Console.WriteLine(_passed + " passed, " + _failed + " failed");
        return _failed == 0 ? 0 : 1;
    }
}
