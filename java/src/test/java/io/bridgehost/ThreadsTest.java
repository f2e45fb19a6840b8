package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThreadsTest {

    @Test
    void concurrentCallsFromPlatformThreads() throws Exception {
        try (Host host = TestSupport.host()) {
            Method echo = host.open("std").method("echo");
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        byte[] b = ascii(id + ":" + i);
                        assertArrayEquals(b, echo.call(b));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }
    }

    /** Java 21+: virtual threads calling in (each call pins its carrier for the native call). */
    @Test
    void virtualThreadsCallIn() throws Exception {
        boolean required = Boolean.getBoolean("bridgehost.requireVirtualThreads");
        boolean available = Runtime.version().feature() >= 21;
        if (required) {
            assertTrue(available, "virtual threads required but running on Java " + Runtime.version());
        }
        assumeTrue(available, "virtual threads need Java 21+");
        ExecutorService vts = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        try (Host host = TestSupport.host()) {
            NativeModule std = host.open("std");
            Method echo = std.method("echo");
            Method sleep = std.method("sleep_ms");
            AtomicLong done = new AtomicLong();
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 10_000; t++) {
                int id = t;
                fs.add(vts.submit(() -> {
                    for (int i = 0; i < 10; i++) {
                        byte[] b = ascii(id + "/" + i);
                        assertArrayEquals(b, echo.call(b));
                    }
                    if (id % 1000 == 0) {
                        sleep.call(ascii("5"));
                        assertArrayEquals(ascii("v"), echo.submit(ascii("v")).get(30, TimeUnit.SECONDS));
                    }
                    done.incrementAndGet();
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
            assertEquals(10_000, done.get());
        } finally {
            vts.shutdown();
        }
    }

    /**
     * Issue 12: a blocking call made on a virtual thread must not pin its carrier for the call's
     * duration. 48 virtual threads each sleep 500 ms in the module on 2 carriers (child JVM): pinned,
     * that is 24 rounds, at least 12000 ms, and the heartbeat starves; handed to platform threads,
     * about 500 ms. The bound (10000 ms) leaves a 20x margin above the unpinned time for a loaded
     * machine and stays below the pinned floor, which no load can lower. (Checked with 16 threads:
     * with the hand-off disabled the probe reports 4000+ ms.)
     */
    @Test
    void blockingCallsOnVirtualThreadsDoNotPinTheirCarriers() throws Exception {
        boolean required = Boolean.getBoolean("bridgehost.requireVirtualThreads");
        boolean available = Runtime.version().feature() >= 21;
        if (required) {
            assertTrue(available, "virtual threads required but running on Java " + Runtime.version());
        }
        assumeTrue(available, "virtual threads need Java 21+");
        LoaderTest.Result r = LoaderTest.run(List.of("-Djava.library.path=" + TestSupport.dist(),
                "-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2"),
                LoaderTest.cp(LoaderTest.mainClasses(), LoaderTest.testClasses()),
                "io.bridgehost.probe.VirtualPinProbe", TestSupport.dist().toString(), "48", "500");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("probe: ok"), r.out());
        long elapsed = Long.parseLong(LoaderTest.line(r.out(), "elapsed-ms: "));
        long heartbeats = Long.parseLong(LoaderTest.line(r.out(), "heartbeats: "));
        assertTrue(elapsed >= 500, "the calls ran: " + r.out());
        assertTrue(elapsed < 10000, "carriers pinned by blocking calls: " + r.out());
        assertTrue(heartbeats > 0, "the heartbeat ran while the calls blocked: " + r.out());
    }

    /** Threads the JVM knows (attached native threads included) whose name starts with prefix. */
    static List<Thread> jvmThreads(String prefix) {
        List<Thread> out = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(prefix)) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void coreThreadsAttachOnceAsDaemonsAndDetachWhenTheyExit() throws Exception {
        Host host = Host.create(TestSupport.options().withSubmitThreads(3).withThreadName("attach-test"));
        NativeModule std = host.open("std");
        AtomicLong events = new AtomicLong();
        std.subscribe("tick", d -> events.incrementAndGet());
        std.method("ticker").call(TestSupport.ticker(1000, 0, null));
        List<CompletableFuture<byte[]>> fs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            fs.add(std.method("sleep_ms").submit(ascii("1")));
        }
        for (CompletableFuture<byte[]> f : fs) {
            f.get(30, TimeUnit.SECONDS);
        }
        TestSupport.await(() -> events.get() == 1000, Duration.ofSeconds(30), "events");
        List<Thread> attached = jvmThreads("attach-test-");
        long eventThreads = attached.stream().filter(t -> t.getName().equals("attach-test-events")).count();
        long poolThreads = attached.stream().filter(t -> t.getName().startsWith("attach-test-pool-")).count();
        // One attachment per thread, however many deliveries (1000 events, 300 completions).
        assertEquals(1, eventThreads, "event thread attached once: " + attached);
        assertTrue(poolThreads >= 1 && poolThreads <= 3, "pool threads attached: " + attached);
        assertEquals(eventThreads + poolThreads, attached.size(), attached.toString());
        for (Thread t : attached) {
            assertTrue(t.isDaemon(), t.getName() + " must be attached as a daemon");
        }
        long nativeBefore = TestSupport.diag(TestSupport.ATTACHED_THREADS);
        assertTrue(nativeBefore >= attached.size());
        host.close(); // joins the threads: each detaches as it exits
        assertEquals(List.of(), jvmThreads("attach-test-"), "every core thread detached");
    }

    static int u32(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    @Test
    void threadModelsAreHonouredForJavaCallers() throws Exception {
        try (Host host = TestSupport.host()) {
            for (String name : new String[] {"serial", "single"}) {
                NativeModule m = host.open(name);
                Method probe = m.method("probe");
                ExecutorService pool = Executors.newFixedThreadPool(6);
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 6; t++) {
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < 200; i++) {
                            probe.call(new byte[0]);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
                pool.shutdown();
                assertEquals(0, u32(m.method("overlaps").call(new byte[0])), name + ": overlapping calls");
                if (name.equals("single")) {
                    assertEquals(u32(m.method("init_tid").call(new byte[0])), u32(m.method("tid").call(new byte[0])),
                            "single-thread module called off its owner thread");
                }
                m.close();
            }
        }
    }
}
