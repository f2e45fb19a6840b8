package io.bridgehost.demo;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.bridgehost.BridgeHostException;
import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.ModuleOptions;
import io.bridgehost.NativeModule;
import io.bridgehost.NotFoundException;
import io.bridgehost.Subscription;
import io.bridgehost.UnavailableException;
import io.bridgehost.WorkerCrashedException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The bridgehost Java demo: real work through the bundled modules, events from a native thread,
 * an asynchronous call, and (when isolation and the test-only {@code faulty} module are available) a
 * crash in an isolated module contained and recovered from.
 *
 * <p>Run: {@code java -cp bridgehost.jar io.bridgehost.demo.Demo} (or {@code scripts/java.sh demo}).
 * Exits with status 1 if any step gives a wrong result.
 */
public final class Demo {
    private Demo() {}

    /**
     * @param args ignored
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        System.out.println("bridgehost " + Host.nativeVersion() + ", native library: " + Host.loadNativeLibrary());
        try (Host host = Host.create();
             NativeModule zlib = host.open("zlib", ModuleOptions.defaults());
             NativeModule std = host.open("std")) {
            compressAndChecksum(zlib, std);
            events(std);
            async(std);
            isolation(host);
            System.out.println("counters: zlib " + zlib.counters().calls() + " calls, std "
                    + std.counters().calls() + " calls, " + std.counters().eventsDelivered() + " events delivered");
        }
        System.out.println("demo: OK");
    }

    private static void compressAndChecksum(NativeModule zlib, NativeModule std) {
        byte[] data = "hello, bridgehost! ".repeat(4096).getBytes(UTF_8);
        Method compress = zlib.method("compress");
        Method decompress = zlib.method("decompress");
        byte[] packed = compress.call(data);
        byte[] unpacked = decompress.call(packed);
        check(Arrays.equals(data, unpacked), "zlib round trip");
        System.out.printf("zlib: %d bytes -> %d bytes compressed -> %d bytes, round trip identical%n",
                data.length, packed.length, unpacked.length);

        // CRC-32C through the std module, on a direct buffer (zero-copy), checked against the JDK's.
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
        int crc = ByteBuffer.wrap(std.method("checksum").call(direct)).order(ByteOrder.BIG_ENDIAN).getInt();
        CRC32C jdk = new CRC32C();
        jdk.update(data);
        check((crc & 0xffffffffL) == jdk.getValue(), "CRC-32C matches java.util.zip.CRC32C");
        System.out.printf("std.checksum: CRC-32C %08x (matches java.util.zip.CRC32C)%n", crc);
    }

    private static void events(NativeModule std) throws InterruptedException {
        int count = 5;
        CountDownLatch latch = new CountDownLatch(count);
        long[] seen = new long[count];
        try (Subscription sub = std.subscribe("tick", (topic, data) -> {
            long seq = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong();
            System.out.printf("event %s #%d on thread %s%n", topic, seq, Thread.currentThread().getName());
            seen[(int) (count - latch.getCount())] = seq;
            latch.countDown();
        })) {
            ByteBuffer args = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(count).putInt(20);
            std.method("ticker").call(args.array());
            check(latch.await(10, TimeUnit.SECONDS), "all ticker events delivered");
            check(sub.isActive(), "subscription active");
        }
        for (int i = 0; i < count; i++) {
            check(seen[i] == i, "events in order");
        }
    }

    private static void async(NativeModule std) throws Exception {
        CompletableFuture<byte[]> f = std.method("echo").submit("async hello".getBytes(UTF_8));
        String echoed = new String(f.get(10, TimeUnit.SECONDS), UTF_8);
        check(echoed.equals("async hello"), "submit result");
        System.out.println("submit: \"" + echoed + "\" completed on a bridgehost pool thread");
    }

    private static void isolation(Host host) {
        NativeModule faulty;
        try {
            faulty = host.open("faulty", ModuleOptions.isolated());
        } catch (UnavailableException | NotFoundException e) {
            System.out.println("isolation: skipped (" + e.getMessage() + ")");
            return;
        }
        try (NativeModule m = faulty) {
            try {
                m.method("segfault").call(new byte[0]);
                check(false, "segfault must fail");
            } catch (WorkerCrashedException e) {
                System.out.println("isolation: segfault contained: " + e.getMessage() + " (signal " + e.signal() + ")");
            }
            byte[] ok = m.method("ok").call("still alive".getBytes(UTF_8));
            check("still alive".equals(new String(ok, UTF_8)), "call after crash");
            System.out.println("isolation: next call succeeded on a fresh worker; crashes="
                    + m.counters().crashes() + " respawns=" + m.counters().respawns());
        } catch (BridgeHostException e) {
            System.out.println("isolation: FAILED: " + e);
            throw e;
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("demo: FAILED: " + what);
            System.exit(1);
        }
    }
}
