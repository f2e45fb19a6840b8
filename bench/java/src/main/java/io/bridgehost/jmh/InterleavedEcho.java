package io.bridgehost.jmh;

import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.NativeModule;
import io.bridgehost.bench.BareEcho;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * The 16-byte echo ratios (and the typed add's, {@code java.cpu.typed_add}) measured so that a busy machine does not skew them: the three echoes
 * run in interleaved blocks (round-robin, the order rotating every round), each block timed by the
 * thread's CPU clock, so time the thread spends descheduled (2 shared cores, other jobs) is not
 * counted and load changes hit all three alike. Complements EchoBench (JMH, wall clock, one
 * benchmark after the other). Prints JSON lines (bench/README.md) on stdout.
 *
 * <p>Usage: {@code InterleavedEcho [rounds] [callsPerBlock]}; BENCH_SMOKE=1 shortens it.
 */
public final class InterleavedEcho {
    /** Results of every block go here, so the JIT cannot drop a call. */
    private static volatile int sink;

    private InterleavedEcho() {}

    private interface Echo {
        byte[] echo(byte[] in);
    }

    public static void main(String[] args) {
        boolean smoke = System.getenv("BENCH_SMOKE") != null;
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : (smoke ? 6 : 30);
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : (smoke ? 20_000 : 200_000);
        int warmup = smoke ? 2 : 10;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (!mx.isCurrentThreadCpuTimeSupported()) {
            throw new IllegalStateException("no per-thread CPU clock");
        }
        mx.setThreadCpuTimeEnabled(true);
        try (Host host = Host.create(); NativeModule std = host.open("std")) {
            Method method = std.method("echo");
            byte[] input = new byte[16];
            for (int i = 0; i < input.length; i++) {
                input[i] = (byte) (i * 7 + 1);
            }
            String[] names = {"java.cpu.raw_echo_16B", "java.cpu.crate_echo_16B", "java.cpu.echo_16B"};
            Echo[] echoes = {BareEcho::rawEcho, BareEcho::crateEcho, method::call};
            for (int k = 0; k < echoes.length; k++) {
                if (!Arrays.equals(echoes[k].echo(input), input)) {
                    throw new IllegalStateException(names[k] + " did not echo its input");
                }
            }
            double[][] perCall = new double[echoes.length][rounds];
            for (int r = -warmup; r < rounds; r++) {
                for (int j = 0; j < echoes.length; j++) {
                    int k = Math.floorMod(r + j, echoes.length);
                    long t0 = mx.getCurrentThreadCpuTime();
                    int acc = block(echoes[k], input, calls);
                    long t1 = mx.getCurrentThreadCpuTime();
                    sink += acc;
                    if (r >= 0) {
                        perCall[k][r] = (double) (t1 - t0) / calls;
                    }
                }
            }
            emit(names[0], perCall[0], null, null);
            emit(names[1], perCall[1], names[0], null);
            emit(names[2], perCall[2], names[0], "<= 2x baseline");
            typedAdd(std, mx, rounds, calls, warmup);
        }
        System.err.printf(Locale.ROOT, "interleaved echo: %d rounds of %d calls each (sink %d)%n",
                rounds, calls, sink);
    }

    private interface Add {
        long add(long a, long b);
    }

    /**
     * The typed primitive call the same way: {@code add(u32, u32) -> u32} through the generated
     * binding (a direct call, docs/TYPED.md "Direct calls") against the raw JNI {@code rawAdd},
     * interleaved and on the thread's CPU clock.
     */
    private static void typedAdd(NativeModule module, ThreadMXBean mx, int rounds, int calls, int warmup) {
        io.bridgehost.jmh.gen.Std std = io.bridgehost.jmh.gen.Std.bind(module);
        String[] names = {"java.cpu.raw_add", "java.cpu.typed_add"};
        Add[] adds = {BareEcho::rawAdd, std::add};
        for (int k = 0; k < adds.length; k++) {
            if (adds[k].add(0xffff_ffffL, 2) != 1) {
                throw new IllegalStateException(names[k] + " returned a wrong sum");
            }
        }
        double[][] perCall = new double[adds.length][rounds];
        for (int r = -warmup; r < rounds; r++) {
            for (int j = 0; j < adds.length; j++) {
                int k = Math.floorMod(r + j, adds.length);
                long t0 = mx.getCurrentThreadCpuTime();
                long acc = 0;
                Add a = adds[k];
                for (int i = 0; i < calls; i++) {
                    acc += a.add(i & 0xffff, 3);
                }
                long t1 = mx.getCurrentThreadCpuTime();
                sink += (int) acc;
                if (r >= 0) {
                    perCall[k][r] = (double) (t1 - t0) / calls;
                }
            }
        }
        emit(names[0], perCall[0], null, null);
        emit(names[1], perCall[1], names[0], "<= 2x baseline");
        std.close();
    }

    private static int block(Echo e, byte[] input, int calls) {
        int acc = 0;
        for (int i = 0; i < calls; i++) {
            byte[] out = e.echo(input);
            acc += out[i & 15];
        }
        return acc;
    }

    private static void emit(String name, double[] v, String baseline, String goal) {
        double[] s = v.clone();
        Arrays.sort(s);
        double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT,
                "{\"name\": \"%s\", \"unit\": \"ns/call\", \"value\": %.3f, \"min\": %.3f, \"median\": %.3f, "
                        + "\"max\": %.3f, \"repeats\": %d",
                name, median, s[0], median, s[s.length - 1], s.length));
        if (baseline != null) {
            b.append(", \"baseline\": \"").append(baseline).append('"');
        }
        if (goal != null) {
            b.append(", \"goal\": \"").append(goal).append('"');
        }
        System.out.println(b.append('}'));
    }
}
