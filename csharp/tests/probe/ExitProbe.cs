// Run by ExitTests in a child process (Mono or CoreCLR, like its parent): submits an isolated call
// that hangs forever (faulty.hang), waits until the worker runs it, then returns from Main either
// without disposing anything ("exit") or after host.Dispose() ("close"). Prints "returning
// <unix ms>" just before Main returns; the process must then exit promptly.
using System;
using System.Threading;
using BridgeHost;

public static class ExitProbe
{
    public static int Main(string[] args)
    {
        var host = new Host();
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
