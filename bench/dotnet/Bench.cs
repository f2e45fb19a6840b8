// .NET benchmarks for bridgehost: JSON lines on stdout (bench/README.md), progress on stderr.
//
//   Bench.exe <runtime-label>        run by scripts/dotnet.sh bench on CoreCLR ("coreclr") and Mono ("mono")
//
// Figures, each the median of repeats after a warm-up (BENCH_SMOKE=1: a few iterations):
//   dotnet.<rt>.bare_echo_16B          bare DllImport doing the same copies (bench/dotnet/bare_echo.c)
//   dotnet.<rt>.echo_16B               Method.Call(byte[]) on std.echo          vs bare_echo_16B
//   dotnet.<rt>.bare_echo_into_16B     bare DllImport into a caller buffer
//   dotnet.<rt>.echo_into_16B          Method.CallInto(span, span) on std.echo  vs bare_echo_into_16B
//   dotnet.<rt>.native_cabi_echo_into_16B / native_cabi_echo_16B / native_cabi_echo_spill_16B
//                                      the same echoes from C through the C ABI (native_floor.c:
//                                      bh_call_into; bh_call + bh_buffer_data + bh_buffer_free;
//                                      bh_call_spill, what Method.Call uses): the part of the .NET
//                                      figures that is not .NET's
//   dotnet.<rt>.cpu.*_16B              the four echoes above again, interleaved: blocks run round-robin
//                                      (order rotating every round), each timed by the thread's CPU
//                                      clock, so load changes hit baseline and figure alike and time
//                                      spent descheduled (2 shared vCPUs) is not counted
//   dotnet.<rt>.submit_echo_16B        SubmitAsync round trip, one at a time (latency, no baseline)
//   dotnet.<rt>.native_checksum_64MiB  std.checksum from C through the C ABI (native_floor.c)
//   dotnet.<rt>.checksum_64MiB         Method.Call on 64 MiB                     vs native.core_checksum_64MiB
//                                      (the core called from Rust: bench/native, same bench/run.sh run)
//   dotnet.<rt>.bare_native_thread_events  one native thread calling a managed delegate (floor)
//   dotnet.<rt>.attach_per_event_events    a new native thread per event (attach + detach each time)
//   dotnet.<rt>.native_cabi_events     std.ticker events to a C callback through bh_subscribe (the C
//                                      ABI's own delivery floor: module thread + queue + dispatcher)
//   dotnet.<rt>.events                 std.ticker events through Subscribe       vs attach_per_event_events
//                                      (goal on CoreCLR: >= 5M events/s, issue 6)
//   dotnet.<rt>.events_span            the same through Subscribe(topic, EventSpanHandler): the payload
//                                      read in place, nothing allocated per event vs native_cabi_events
//   dotnet.<rt>.*typed*, bare_add, echo_64KiB, hand_echo_points_10k
//                                      typed calls through the generated binding (TypedBench.cs)
// Exits non-zero if any measured call fails or returns wrong bytes.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using BridgeHost;

public static unsafe class Bench
{
    private static readonly bool Smoke = Environment.GetEnvironmentVariable("BENCH_SMOKE") == "1";
    private static readonly int Repeats = Smoke ? 2 : 7;
    private static string _rt = "unknown";

    /// <summary>The runtime label ("coreclr", "mono").</summary>
    internal static string Runtime => _rt;

    [DllImport("bare_echo", CallingConvention = CallingConvention.Cdecl)]
    private static extern int bare_echo(byte* input, UIntPtr len, byte* output, UIntPtr cap, out UIntPtr outLen);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void BareEventFn(IntPtr user, byte* data, UIntPtr len);

    [DllImport("bare_echo", CallingConvention = CallingConvention.Cdecl)]
    private static extern int bare_events_one_thread(IntPtr cb, IntPtr user, ulong n);

    [DllImport("bare_echo", CallingConvention = CallingConvention.Cdecl)]
    private static extern int bare_attach_per_event(IntPtr cb, IntPtr user, ulong n);

    [DllImport("bare_echo", CallingConvention = CallingConvention.Cdecl)]
    private static extern ulong bare_thread_cpu_ns();

    [DllImport("bare_native", CallingConvention = CallingConvention.Cdecl)]
    private static extern int bare_native_checksum(byte* data, UIntPtr len, uint reps, out ulong ns, out uint crc);

    [DllImport("bare_native", CallingConvention = CallingConvention.Cdecl)]
    private static extern int bare_native_echo(uint reps, int viaBuffer, out ulong ns);

    [DllImport("bare_native", CallingConvention = CallingConvention.Cdecl)]
    private static extern int bare_native_events(uint n, out ulong ns);

    private static void Log(string s)
    {
        Console.Error.WriteLine(s);
    }

    private static string F(double v)
    {
        return v.ToString("R", CultureInfo.InvariantCulture);
    }

    internal static double Emit(string name, string unit, List<double> values, string baseline = null, string goal = null)
    {
        var sorted = values.OrderBy(v => v).ToList();
        double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        var b = new StringBuilder();
        b.Append("{\"name\": \"dotnet.").Append(_rt).Append('.').Append(name).Append("\", \"unit\": \"").Append(unit)
         .Append("\", \"value\": ").Append(F(median))
         .Append(", \"min\": ").Append(F(sorted[0]))
         .Append(", \"median\": ").Append(F(median))
         .Append(", \"max\": ").Append(F(sorted[sorted.Count - 1]))
         .Append(", \"repeats\": ").Append(sorted.Count);
        if (baseline != null)
        {
            // A bare name is a figure of this harness and runtime; a dotted one another harness's.
            string full = baseline.Contains(".") ? baseline : "dotnet." + _rt + "." + baseline;
            b.Append(", \"baseline\": \"").Append(full).Append('"');
        }
        if (goal != null)
        {
            b.Append(", \"goal\": \"").Append(goal).Append('"');
        }
        b.Append('}');
        Console.WriteLine(b.ToString());
        Console.Out.Flush();
        return median;
    }

    internal static void Require(bool ok, string what)
    {
        if (!ok)
        {
            Log("bench: FAILED: " + what);
            Environment.Exit(1);
        }
    }

    /// <summary>ns per call of <paramref name="body"/> run <paramref name="n"/> times, per repeat.</summary>
    internal static List<double> NsPerCall(int n, Action body)
    {
        for (int i = 0; i < Math.Min(n, 100000); i++)
        {
            body(); // warm-up: JIT tiers, caches
        }
        var r = new List<double>();
        for (int k = 0; k < Repeats; k++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
            {
                body();
            }
            r.Add(sw.Elapsed.TotalMilliseconds * 1e6 / n);
        }
        return r;
    }

    private static readonly byte[] Scratch = new byte[64];

    // The bare floor of Method.Call(byte[]): input pinned in place, output into a caller buffer,
    // then a new array of the output's size. (A stackalloc'd scratch buffer would be the obvious
    // choice, but on CoreCLR 8 a method that both stackallocs and calls a P/Invoke costs ~150 ns
    // more per call: that would flatter every ratio against this baseline.)
    private static byte[] BareEchoCopy(byte[] input)
    {
        UIntPtr len;
        int st;
        fixed (byte* p = input)
        fixed (byte* o = Scratch)
        {
            st = bare_echo(p, (UIntPtr)(uint)input.Length, o, (UIntPtr)(uint)Scratch.Length, out len);
        }
        if (st != 0)
        {
            throw new InvalidOperationException("bare_echo failed");
        }
        var r = new byte[(int)(ulong)len];
        Buffer.BlockCopy(Scratch, 0, r, 0, r.Length);
        return r;
    }

    private static int BareEchoInto(ReadOnlySpan<byte> input, Span<byte> output)
    {
        UIntPtr len;
        int st;
        fixed (byte* i = &MemoryMarshal.GetReference(input))
        fixed (byte* o = &MemoryMarshal.GetReference(output))
        {
            st = bare_echo(i, (UIntPtr)(uint)input.Length, o, (UIntPtr)(uint)output.Length, out len);
        }
        if (st != 0)
        {
            throw new InvalidOperationException("bare_echo failed");
        }
        return (int)(ulong)len;
    }

    private static void BenchEcho(Module std)
    {
        int n = Smoke ? 20000 : 2000000;
        byte[] data = Encoding.ASCII.GetBytes("0123456789abcdef");
        var echo = std.GetMethod("echo");
        Require(echo.Call(data).SequenceEqual(data), "echo returns its input");
        Require(BareEchoCopy(data).SequenceEqual(data), "bare_echo returns its input");
        string goal = _rt == "mono" ? "<= 1.5x baseline" : "<= 3x baseline";

        Emit("bare_echo_16B", "ns/call", NsPerCall(n, () => BareEchoCopy(data)));
        Emit("echo_16B", "ns/call", NsPerCall(n, () => echo.Call(data)), "bare_echo_16B", goal);

        var output = new byte[64];
        Require(echo.CallInto(data, output) == 16, "CallInto writes 16 bytes");
        Emit("bare_echo_into_16B", "ns/call", NsPerCall(n, () => BareEchoInto(data, output)));
        Emit("echo_into_16B", "ns/call", NsPerCall(n, () => echo.CallInto(data, output)), "bare_echo_into_16B", goal);

        // The C ABI's own floor for the same two calls, from C (no managed runtime).
        var floorNames = new[] { "native_cabi_echo_into_16B", "native_cabi_echo_16B", "native_cabi_echo_spill_16B" };
        for (int viaBuffer = 0; viaBuffer < floorNames.Length; viaBuffer++)
        {
            var floor = new List<double>();
            for (int k = 0; k < Repeats; k++)
            {
                ulong ns;
                Require(bare_native_echo((uint)n, viaBuffer, out ns) == 0, "native echo");
                floor.Add(ns / (double)n);
            }
            Emit(floorNames[viaBuffer], "ns/call", floor);
        }

        BenchEchoInterleaved(echo, data, output, goal);

        int m = Smoke ? 2000 : 50000;
        var us = NsPerCall(m, () => echo.SubmitAsync(data).GetAwaiter().GetResult()).Select(v => v / 1000).ToList();
        Emit("submit_echo_16B", "us/call", us);
    }

    private static int _sink;

    private static void BenchEchoInterleaved(Method echo, byte[] data, byte[] output, string goal)
    {
        int rounds = Smoke ? 3 : 15;
        int block = Smoke ? 5000 : 200000;
        string[] names = { "cpu.bare_echo_16B", "cpu.echo_16B", "cpu.bare_echo_into_16B", "cpu.echo_into_16B" };
        var bodies = new Func<int>[]
        {
            () => BareEchoCopy(data).Length,
            () => echo.Call(data).Length,
            () => BareEchoInto(data, output),
            () => echo.CallInto(data, output),
        };
        Require(bare_thread_cpu_ns() != 0, "a per-thread CPU clock");
        var results = new List<double>[bodies.Length];
        for (int k = 0; k < bodies.Length; k++)
        {
            results[k] = new List<double>();
            for (int i = 0; i < Math.Min(block, 100000); i++)
            {
                _sink += bodies[k](); // warm-up
            }
            Require(bodies[k]() == 16, names[k] + " echoes 16 bytes");
        }
        for (int r = 0; r < rounds; r++)
        {
            for (int j = 0; j < bodies.Length; j++)
            {
                int k = (j + r) % bodies.Length;
                Func<int> body = bodies[k];
                ulong t0 = bare_thread_cpu_ns();
                for (int i = 0; i < block; i++)
                {
                    _sink += body();
                }
                results[k].Add((bare_thread_cpu_ns() - t0) / (double)block);
            }
        }
        // Baselines by full name: these names contain a dot (see Emit).
        string prefix = "dotnet." + _rt + ".";
        Emit(names[0], "ns/call", results[0]);
        Emit(names[1], "ns/call", results[1], prefix + names[0], goal);
        Emit(names[2], "ns/call", results[2]);
        Emit(names[3], "ns/call", results[3], prefix + names[2], goal);
    }

    private static void BenchChecksum(Module std)
    {
        int size = Smoke ? 4 << 20 : 64 << 20;
        uint reps = Smoke ? 2u : 5u;
        var blob = new byte[size];
        new Random(1).NextBytes(blob);
        var checksum = std.GetMethod("checksum");
        byte[] expected = checksum.Call(blob);
        var native = new List<double>();
        var ours = new List<double>();
        for (int k = 0; k < Repeats; k++)
        {
            ulong ns;
            uint crc;
            int st;
            fixed (byte* p = blob)
            {
                st = bare_native_checksum(p, (UIntPtr)(uint)size, reps, out ns, out crc);
            }
            Require(st == 0, "native checksum status " + st);
            Require(crc == ((uint)expected[0] << 24 | (uint)expected[1] << 16 | (uint)expected[2] << 8 | expected[3]), "native checksum agrees");
            native.Add(size * (double)reps / (ns / 1e9) / 1e6);

            var sw = Stopwatch.StartNew();
            for (uint i = 0; i < reps; i++)
            {
                Require(checksum.Call(blob).SequenceEqual(expected), "checksum is stable");
            }
            ours.Add(size * (double)reps / sw.Elapsed.TotalSeconds / 1e6);
        }
        Emit("native_checksum_64MiB", "MB/s", native);
        // Against the same Rust code called natively (bench/native, run first by bench/run.sh).
        Emit("checksum_64MiB", "MB/s", ours, "native.core_checksum_64MiB", ">= 0.9x baseline");
    }

    private static long _bareCount;

    private static void OnBareEvent(IntPtr user, byte* data, UIntPtr len)
    {
        Interlocked.Increment(ref _bareCount);
    }

    // Kept in a static field for the life of the process (native code holds its thunk).
    private static readonly BareEventFn BareEventDelegate = OnBareEvent;

    private static void BenchEvents(Module std)
    {
        int n = Smoke ? 20000 : 1000000;
        int m = Smoke ? 500 : 5000;
        IntPtr fn = Marshal.GetFunctionPointerForDelegate(BareEventDelegate);
        var floor = new List<double>();
        var attach = new List<double>();
        var ours = new List<double>();
        var cabi = new List<double>();
        var spans = new List<double>();
        var ticker = std.GetMethod("ticker");
        for (int k = 0; k < Math.Max(2, Repeats / 2); k++)
        {
            Interlocked.Exchange(ref _bareCount, 0);
            var sw = Stopwatch.StartNew();
            Require(bare_events_one_thread(fn, IntPtr.Zero, (ulong)n) == 0, "bare_events_one_thread");
            floor.Add(n / sw.Elapsed.TotalSeconds);
            Require(Interlocked.Read(ref _bareCount) == n, "every bare event arrived");

            Interlocked.Exchange(ref _bareCount, 0);
            sw = Stopwatch.StartNew();
            Require(bare_attach_per_event(fn, IntPtr.Zero, (ulong)m) == 0, "bare_attach_per_event");
            attach.Add(m / sw.Elapsed.TotalSeconds);
            Require(Interlocked.Read(ref _bareCount) == m, "every attach-per-event event arrived");

            ulong cabiNs;
            Require(bare_native_events((uint)n, out cabiNs) == 0, "bare_native_events");
            cabi.Add(n / (cabiNs / 1e9));

            int got = 0;
            var done = new ManualResetEventSlim();
            using (std.Subscribe("tick", ev =>
            {
                if (++got == n) // one dispatcher thread: deliveries never overlap
                {
                    done.Set();
                }
            }))
            {
                sw = Stopwatch.StartNew();
                ticker.Call(BitConverter.GetBytes((uint)n));
                Require(done.Wait(TimeSpan.FromSeconds(120)), "all " + n + " events arrived (got " + got + ")");
                ours.Add(n / sw.Elapsed.TotalSeconds);
            }

            int gotSpan = 0;
            ulong lastSeq = 0;
            var doneSpan = new ManualResetEventSlim();
            using (std.Subscribe("tick", (string topic, ReadOnlySpan<byte> data) =>
            {
                lastSeq = MemoryMarshal.Read<ulong>(data);
                if (++gotSpan == n)
                {
                    doneSpan.Set();
                }
            }))
            {
                sw = Stopwatch.StartNew();
                ticker.Call(BitConverter.GetBytes((uint)n));
                Require(doneSpan.Wait(TimeSpan.FromSeconds(120)), "all " + n + " span events arrived (got " + gotSpan + ")");
                spans.Add(n / sw.Elapsed.TotalSeconds);
                Require(lastSeq == (ulong)(n - 1), "the last span event carries seq n-1");
            }
        }
        long dropped = std.GetCounters().EventsDropped;
        if (dropped > 0)
        {
            Log("events: " + dropped + " dropped by the bounded queue (drop-newest policy)");
        }
        Emit("bare_native_thread_events", "events/s", floor);
        Emit("attach_per_event_events", "events/s", attach);
        Emit("native_cabi_events", "events/s", cabi);
        // Issue 6: >= 5M events/s on CoreCLR; no absolute goal on Mono.
        Emit("events", "events/s", ours, "attach_per_event_events", _rt == "mono" ? null : ">= 5000000 events/s");
        Emit("events_span", "events/s", spans, "native_cabi_events");
    }

    public static int Main(string[] args)
    {
        _rt = args.Length > 0 ? args[0] : (Type.GetType("Mono.Runtime") != null ? "mono" : "coreclr");
        Log("bench: " + _rt + " " + Environment.Version + ", bridgehost " + Host.NativeVersion + (Smoke ? " (smoke)" : ""));
        using (var host = new Host())
        {
            var std = host.Open("std");
            // BENCH_ONLY=echo,checksum,events runs a subset (for quick comparisons while tuning).
            var only = (Environment.GetEnvironmentVariable("BENCH_ONLY") ?? "echo,checksum,events,typed").Split(',');
            if (Array.IndexOf(only, "echo") >= 0)
            {
                BenchEcho(std);
            }
            if (Array.IndexOf(only, "checksum") >= 0)
            {
                BenchChecksum(std);
            }
            if (Array.IndexOf(only, "events") >= 0)
            {
                BenchEvents(std);
            }
            if (Array.IndexOf(only, "typed") >= 0)
            {
                TypedBench.Run(std, Smoke);
            }
        }
        return 0;
    }
}
