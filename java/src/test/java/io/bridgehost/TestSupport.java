package io.bridgehost;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Shared helpers: where the staged natives are, diagnostics, waiting. */
final class TestSupport {
    private TestSupport() {}

    /** target/dist: test-only modules (faulty, serial, single, broken/) and the worker live there. */
    static Path dist() {
        String p = System.getProperty("bridgehost.dist");
        Path d = p != null ? Paths.get(p) : Paths.get("..", "target", "dist");
        return d.toAbsolutePath().normalize();
    }

    static HostOptions options() {
        return HostOptions.defaults().withModuleDirs(List.of(dist()));
    }

    static Host host() {
        return Host.create(options());
    }

    /** Diagnostics indices (see Native.diagnostics). */
    static final int GLOBAL_REFS = 0;
    static final int ATTACHED_THREADS = 1;
    static final int HOSTS = 2;
    static final int MODULES = 3;
    static final int METHODS = 4;
    static final int SUBSCRIPTIONS = 5;
    static final int TASKS = 6;
    static final int SHARED_BUFFERS = 8;

    static long diag(int index) {
        return Native.diagnostics()[index];
    }

    /** ticker input: count, interval ms, optional topic. */
    static byte[] ticker(int count, int intervalMs, String topic) {
        byte[] t = topic == null ? new byte[0] : topic.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + t.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(count).putInt(intervalMs).put(t).array();
    }

    static long seq(byte[] data) {
        return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** std.gate_wait input: the timeout (u32 LE), then the key. */
    static byte[] gate(String key, int timeoutMs) {
        byte[] k = ascii(key);
        return ByteBuffer.allocate(4 + k.length).order(ByteOrder.LITTLE_ENDIAN).putInt(timeoutMs).put(k).array();
    }

    /**
     * A latch released when a call enters std.gate_wait(key): the module's "started" event,
     * which also arrives under isolation and does not count as a call.
     */
    static java.util.concurrent.CountDownLatch onGate(NativeModule std, String key) {
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        byte[] k = ascii(key);
        std.subscribe("gate", d -> {
            if (java.util.Arrays.equals(d, k)) {
                entered.countDown();
            }
        });
        return entered;
    }

    /** Wait for a latch from {@link #onGate}, or fail. */
    static void awaitGate(java.util.concurrent.CountDownLatch entered, String what) throws InterruptedException {
        if (!entered.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new AssertionError("timed out waiting for: " + what);
        }
    }

    /** std.gate_count(key): how many calls wait in std.gate_wait(key) now (in-process only). */
    static int inside(NativeModule std, String key) {
        return ByteBuffer.wrap(std.method("gate_count").call(ascii(key))).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** Wait until n calls wait in std.gate_wait(key) (in-process: each worker has its own gates). */
    static void awaitInside(NativeModule std, String key, int n) throws InterruptedException {
        await(() -> inside(std, key) >= n, Duration.ofSeconds(30), n + " call(s) inside gate " + key);
    }

    /** std.gate_open(key): releases the calls waiting in gate_wait(key); returns how many. */
    static int openGate(NativeModule std, String key) {
        return ByteBuffer.wrap(std.method("gate_open").call(ascii(key))).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** Wait until cond holds (polling), or fail after the timeout. */
    static void await(BooleanSupplier cond, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            }
            Thread.sleep(2);
        }
    }

    /** Run System.gc() until cond holds, or fail. */
    static void gcUntil(BooleanSupplier cond, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " (with System.gc()) waiting for: " + what);
            }
            System.gc();
            Thread.sleep(10);
        }
    }

    /** True when process isolation works in this build (worker present and the feature built). */
    static boolean isolationAvailable() {
        try (Host h = host(); NativeModule m = h.open("std", ModuleOptions.isolated())) {
            return m.method("echo").call(new byte[] {1})[0] == 1;
        } catch (UnavailableException | NotFoundException e) {
            return false;
        }
    }

    static String isolationUnavailableReason() {
        try (Host h = host(); NativeModule m = h.open("std", ModuleOptions.isolated())) {
            return "available (" + m.isolation() + ")";
        } catch (BridgeHostException | InvalidArgumentException e) {
            return e.getMessage();
        }
    }

    static Path jdkJava() {
        return Paths.get(System.getProperty("java.home"), "bin", "java");
    }

    static String read(Path p) throws IOException {
        return Files.readString(p);
    }
}
