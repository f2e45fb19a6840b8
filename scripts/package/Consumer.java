// Package test (scripts/package_test.sh): compiled by a fresh Maven project whose only dependency
// is io.bridgehost:bridgehost, resolved from the file:// repository scripts/package.sh filled.
// Checks the bundled modules and isolation through the jar's own natives, then prints the median
// time (thread CPU clock) of a 16-byte echo as "echo16_ns=<ns>". With an argument MODULE it also
// opens that third-party module by name, shipped in a jar of its own as a classpath resource
// (META-INF/bridgehost/modules/linux-x86_64/libbridgehost_mod_MODULE.so), and calls its greet.
package consumer;

import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.NativeModule;
import io.bridgehost.ModuleOptions;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

public final class Consumer {
    private Consumer() {}

    public static void main(String[] args) throws Exception {
        byte[] data = "packaged ".repeat(500).getBytes(StandardCharsets.UTF_8);
        try (Host host = Host.create();
             NativeModule std = host.open("std");
             NativeModule zlib = host.open("zlib")) {
            check(Arrays.equals(std.method("echo").call(data), data), "std.echo");
            byte[] packed = zlib.method("compress").call(data);
            check(packed.length < data.length
                    && Arrays.equals(zlib.method("decompress").call(packed), data), "zlib round trip");
            try (NativeModule iso = host.open("std", ModuleOptions.isolated())) {
                check(Arrays.equals(iso.method("echo").call(data), data), "isolated std.echo");
            }
            System.out.println("ok   std, zlib and isolation through the jar from the Maven repository");
            // The bundled sqlite module (typed, stateful; docs/SQLITE.md): connection.open(":memory:",
            // create) written by hand on the wire (docs/TYPED.md): a string is its u32 length and its
            // UTF-8, an enum one byte (create = 2); result<connection, error> comes back as 0 and the
            // u64 handle. Closing the module releases the connection.
            try (NativeModule sqlite = host.open("sqlite")) {
                byte[] open = ByteBuffer.allocate(13).order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(8).put(":memory:".getBytes(StandardCharsets.US_ASCII)).put((byte) 2).array();
                byte[] got = sqlite.method("[static]connection.open").call(open);
                check(got.length == 9 && got[0] == 0, "sqlite connection.open");
                System.out.println("ok   the bundled sqlite module opens a database through the jar");
            }
            if (args.length == 1) {
                try (NativeModule third = host.open(args[0])) {
                    byte[] got = third.method("greet").call("world".getBytes(StandardCharsets.UTF_8));
                    check(new String(got, StandardCharsets.UTF_8).equals("hello, world"), args[0] + ".greet");
                    System.out.println("ok   third-party module '" + args[0] + "' opened by name from its jar on the classpath");
                }
            }
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
