package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The isolation fault battery from Java: every fault of the test-only {@code faulty} module, run
 * in a worker process, becomes its typed exception; the JVM survives and the next call succeeds.
 * Skipped when this build has no process isolation, unless {@code -Dbridgehost.requireIsolation=true}
 * (scripts/java.sh sets it when the worker is built).
 */
class IsolationTest {
    static Host host;

    @BeforeAll
    static void requireIsolation() {
        boolean available = TestSupport.isolationAvailable();
        if (Boolean.getBoolean("bridgehost.requireIsolation")) {
            assertTrue(available, "isolation required: " + TestSupport.isolationUnavailableReason());
        }
        assumeTrue(available, "process isolation not available: " + TestSupport.isolationUnavailableReason());
        host = TestSupport.host();
    }

    @AfterAll
    static void close() {
        if (host != null) {
            host.close();
        }
    }

    static NativeModule faulty(ModuleOptions o) {
        return host.open("faulty", o.withIsolation(Isolation.PROCESS));
    }

    static void nextCallSucceeds(NativeModule m) {
        byte[] in = ascii("alive");
        assertArrayEquals(in, m.method("ok").call(in), "the call after the fault");
    }

    @Test
    void segfaultAbortAndStackOverflowAreWorkerCrashes() {
        try (NativeModule m = faulty(ModuleOptions.defaults())) {
            WorkerCrashedException s = assertThrows(WorkerCrashedException.class, () -> m.method("segfault").call(new byte[0]));
            assertEquals(11, s.signal());
            nextCallSucceeds(m);
            WorkerCrashedException a = assertThrows(WorkerCrashedException.class, () -> m.method("abort").call(new byte[0]));
            assertEquals(6, a.signal());
            nextCallSucceeds(m);
            // Documented by the module: SIGSEGV on the guard page, or SIGABRT where a Rust runtime
            // turns the guard-page hit into abort().
            WorkerCrashedException so = assertThrows(WorkerCrashedException.class,
                    () -> m.method("stack_overflow").call(new byte[0]));
            assertTrue(so.signal() == 11 || so.signal() == 6, "signal " + so.signal());
            nextCallSucceeds(m);
            assertTrue(m.counters().crashes() >= 3, m.counters().toString());
        }
    }

    @Test
    void hangTimesOutAndExitIsWorkerExited() {
        try (NativeModule m = faulty(ModuleOptions.defaults().withCallTimeout(Duration.ofMillis(300)))) {
            long t0 = System.nanoTime();
            assertThrows(CallTimeoutException.class, () -> m.method("hang").call(new byte[0]));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 250 && ms < 10_000, "timed out after " + ms + " ms");
            nextCallSucceeds(m);
            WorkerExitedException e = assertThrows(WorkerExitedException.class, () -> m.method("exit").call(new byte[0]));
            assertEquals(3, e.status());
            nextCallSucceeds(m);
        }
    }

    @Test
    void memoryAndOutputLimitsHold() {
        try (NativeModule m = faulty(ModuleOptions.defaults().withMemoryLimit(256L << 20).withMaxOutput(1 << 20))) {
            byte[] mib = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(1024).array();
            try {
                m.method("leak").call(mib);
                fail("leaking 1 GiB under a 256 MiB limit must fail");
            } catch (ResourceLimitException expected) {
                // the worker was killed at the limit
            } catch (ModuleException e) {
                assertEquals(12, e.code(), "the module saw malloc fail with ENOMEM at the limit: " + e.getMessage());
            }
            nextCallSucceeds(m);
            assertThrows(ResourceLimitException.class, () -> m.method("oversized_output").call(new byte[0]));
            nextCallSucceeds(m);
        }
    }

    @Test
    void faultsInterleavedWithGoodCallsFromFourThreads() throws Exception {
        try (NativeModule m = faulty(ModuleOptions.defaults().withWorkers(2))) {
            Method ok = m.method("ok");
            Method segfault = m.method("segfault");
            ExecutorService pool = Executors.newFixedThreadPool(4);
            AtomicLong good = new AtomicLong();
            AtomicLong crashes = new AtomicLong();
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        if ((i + id) % 10 == 0) {
                            assertThrows(WorkerCrashedException.class, () -> segfault.call(new byte[0]));
                            crashes.incrementAndGet();
                        } else {
                            byte[] in = ascii(id + "-" + i);
                            assertArrayEquals(in, ok.call(in));
                            good.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(300, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(180, good.get());
            assertEquals(20, crashes.get());
        }
    }

    @Test
    void eventsFromAnIsolatedModule() throws Exception {
        try (NativeModule std = host.open("std", ModuleOptions.isolated())) {
            AtomicLong n = new AtomicLong();
            AtomicLong bad = new AtomicLong();
            try (Subscription s = std.subscribe("tick", d -> {
                if (TestSupport.seq(d) != n.getAndIncrement()) {
                    bad.incrementAndGet();
                }
            })) {
                std.method("ticker").call(TestSupport.ticker(1000, 0, null));
                TestSupport.await(() -> n.get() == 1000, Duration.ofSeconds(60), "isolated events");
            }
            assertEquals(0, bad.get());
        }
    }

    static long u64(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /**
     * The test-only {@code stateful} module declares BH_MODULE_STATEFUL: more than one worker is
     * refused, and after a worker restart the next call throws {@link StateLostException} once
     * (it did not run), the counter moves, and later calls run against a fresh instance.
     */
    @Test
    void statefulModuleReportsARestartOnceAsStateLost() {
        InvalidArgumentException refused = assertThrows(InvalidArgumentException.class,
                () -> host.open("stateful", ModuleOptions.isolated().withWorkers(2)));
        assertTrue(refused.getMessage().contains("stateful"), refused.getMessage());
        try (NativeModule m = host.open("stateful", ModuleOptions.isolated())) {
            Method insert = m.method("insert");
            for (long i = 1; i <= 3; i++) {
                assertEquals(i, u64(insert.call(new byte[0])));
            }
            assertThrows(WorkerCrashedException.class, () -> m.method("crash").call(new byte[0]));
            StateLostException lost = assertThrows(StateLostException.class, () -> insert.call(new byte[0]));
            assertEquals(ErrorKind.STATE_LOST, lost.kind());
            assertEquals(16, lost.kind().code());
            assertTrue(lost.getMessage().contains("did not run"), lost.getMessage());
            assertEquals(1, m.counters().stateLost());
            assertEquals(1, u64(insert.call(new byte[0])), "fresh state after the one report");
            assertEquals(1, m.counters().stateLost());
        }
        // In-process there is no worker to lose: never StateLost.
        try (NativeModule local = host.open("stateful", ModuleOptions.defaults())) {
            assertEquals(1, u64(local.method("insert").call(new byte[0])));
            assertEquals(2, u64(local.method("insert").call(new byte[0])));
            assertEquals(0, local.counters().stateLost());
        }
    }
}
