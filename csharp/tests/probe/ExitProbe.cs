// Run by ExitTests in a child process (Mono or CoreCLR, like its parent): submits an isolated call
// that hangs forever (faulty.hang), waits until the worker runs it, then returns from Main either
// without disposing anything ("exit") or after host.Dispose() ("close"). Or ("resources") leaves
// objects of the counter module (docs/TYPED.md, "Resources (handles)") undisposed, in-process and
// isolated, reachable at exit, for the runtime's finalizers at exit. Prints "returning
// <unix ms>" just before Main returns; the process must then exit promptly.
using System;
using System.Collections.Generic;
using System.Threading;
using BridgeHost;
using BridgeHost.Typed;

public static class ExitProbe
{
    private static readonly List<ResourceHandle> Kept = new List<ResourceHandle>();

    /// <summary>Makes <paramref name="n"/> counters through the bytes-level methods, each owned by
    /// a ResourceHandle as generated bindings own them, all reachable at exit: whatever the
    /// runtime does with their finalizers then must not hold the exit up.</summary>
    private static void Counters(Module m, int n)
    {
        var make = m.GetMethod("[constructor]counter");
        var drop = m.GetMethod("[resource-drop]counter");
        for (int i = 0; i < n; i++)
        {
            Kept.Add(new ResourceHandle(drop, "counter", BitConverter.ToUInt64(make.Call(new byte[8]), 0)));
        }
    }

    private static int Resources(Host host)
    {
        Counters(host.Open("counter"), 50);
        try
        {
            Counters(host.Open("counter", new ModuleOptions { Isolation = Isolation.Process }), 50);
        }
        catch (UnavailableException e)
        {
            Console.WriteLine("unavailable " + e.Message);
            return 0;
        }
        Console.WriteLine("resources " + Kept.Count);
        Console.WriteLine("returning " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Console.Out.Flush();
        return 0;
    }

    public static int Main(string[] args)
    {
        var host = new Host();
        if (args.Length > 0 && args[0] == "resources")
        {
            return Resources(host);
        }
        if (args.Length > 0 && args[0] == "event")
        {
            // An event delivered: the host's event thread ran managed code and lives as long as
            // the host. Mono waits at exit for it; the library disposes open hosts at ProcessExit.
            var std = host.Open("std");
            var got = new ManualResetEventSlim();
            std.Subscribe("exit-probe", (topic, data) => got.Set());
            std.GetMethod("emit").Call(System.Text.Encoding.ASCII.GetBytes("exit-probe\0x"));
            Console.WriteLine("delivered " + got.Wait(TimeSpan.FromSeconds(30)));
            Console.WriteLine("returning " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Console.Out.Flush();
            return 0;
        }
        if (args.Length > 0 && args[0] == "completed")
        {
            // A submit that completed: its completion ran on a host pool thread, which the runtime
            // attached. Mono waits at exit for such threads; the pool's idle threads all retire.
            var echo = host.Open("std").GetMethod("echo");
            bool ok = echo.SubmitAsync(new byte[] { 1 }).Wait(TimeSpan.FromSeconds(30));
            Console.WriteLine("submitted " + ok);
            Console.WriteLine("returning " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Console.Out.Flush();
            return 0;
        }
        Module m;
        try
        {
            m = host.Open("faulty", new ModuleOptions { Isolation = Isolation.Process });
        }
        catch (UnavailableException e)
        {
            Console.WriteLine("unavailable " + e.Message);
            return 0;
        }
        var task = m.GetMethod("hang").SubmitAsync(new byte[0]);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (m.GetCounters().Calls < 1 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }
        Console.WriteLine("hanging " + m.GetCounters().Calls);
        if (args.Length > 0 && args[0] == "close")
        {
            host.Dispose();
            try
            {
                task.Wait(TimeSpan.FromSeconds(30));
            }
            catch (AggregateException e)
            {
                Console.WriteLine("closed " + (e.InnerException is ClosedException));
            }
        }
        Console.WriteLine("returning " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Console.Out.Flush();
        return 0;
    }
}
