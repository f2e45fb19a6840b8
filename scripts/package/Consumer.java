// Package test (scripts/package_test.sh): compiled by a fresh Maven project whose only dependency
// is io.bridgehost:bridgehost, resolved from the file:// repository scripts/package.sh filled.
// Checks the bundled modules and isolation through the jar's own natives, then prints the median
// time (thread CPU clock) of a 16-byte echo as "echo16_ns=<ns>".
package consumer;

import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.Module;
import io.bridgehost.ModuleOptions;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

public final class Consumer {
    private Consumer() {}

    public static void main(String[] args) throws Exception {
        byte[] data = "packaged ".repeat(500).getBytes(StandardCharsets.UTF_8);
        try (Host host = Host.create();
             Module std = host.open("std");
             Module zlib = host.open("zlib")) {
            check(Arrays.equals(std.method("echo").call(data), data), "std.echo");
            byte[] packed = zlib.method("compress").call(data);
            check(packed.length < data.length
                    && Arrays.equals(zlib.method("decompress").call(packed), data), "zlib round trip");
            try (Module iso = host.open("std", ModuleOptions.isolated())) {
                check(Arrays.equals(iso.method("echo").call(data), data), "isolated std.echo");
            }
            System.out.println("ok   std, zlib and isolation through the jar from the Maven repository");
            Method echo = std.method("echo");
            byte[] d16 = new byte[16];
            int n = 200_000;
            for (int i = 0; i < n; i++) {
                echo.call(d16); // warm-up: JIT
            }
            // On the thread's CPU clock, as bench/java's InterleavedEcho measures java.cpu.echo_16B
            // (time descheduled on a busy machine is not counted).
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            mx.setThreadCpuTimeEnabled(true);
            double[] per = new double[7];
            for (int r = 0; r < per.length; r++) {
                long t0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    echo.call(d16);
                }
                per[r] = (mx.getCurrentThreadCpuTime() - t0) / (double) n;
            }
            Arrays.sort(per);
            System.out.printf("echo16_ns=%.1f%n", per[per.length / 2]);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("FAIL " + what);
        }
    }
}
