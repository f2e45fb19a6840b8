package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SubmitTest {

    @Test
    void submitCompletesOnAPoolThread() throws Exception {
        try (Host host = TestSupport.host()) {
            Method echo = host.open("std").method("echo");
            AtomicReference<String> thread = new AtomicReference<>();
            CompletableFuture<byte[]> f = echo.module().method("sleep_ms").submit(ascii("20"))
                    .thenCompose(x -> {
                        thread.set(Thread.currentThread().getName());
                        return echo.submit(ascii("hi"));
                    });
            assertArrayEquals(ascii("hi"), f.get(10, TimeUnit.SECONDS));
            assertTrue(thread.get().startsWith("bridgehost-pool-"), thread.get());

            ByteBuffer direct = ByteBuffer.allocateDirect(3).put(ascii("abc")).flip();
            CompletableFuture<byte[]> d = echo.submit(direct);
            assertEquals(3, direct.position(), "input consumed (copied) at submit");
            direct.clear().put(ascii("xyz")); // overwriting it now does not change the call
            assertArrayEquals(ascii("abc"), d.get(10, TimeUnit.SECONDS));
            assertArrayEquals(ascii("bc"), echo.submit(ByteBuffer.wrap(ascii("abc"), 1, 2)).get(10, TimeUnit.SECONDS));
            assertArrayEquals(ascii("bc"), echo.submit(ascii("abc"), 1, 2).get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void manyConcurrentSubmitsAllCorrect() throws Exception {
        long refs = TestSupport.diag(TestSupport.GLOBAL_REFS);
        try (Host host = TestSupport.host()) {
            Method echo = host.open("std").method("echo");
            for (int round = 0; round < 10; round++) {
                List<CompletableFuture<byte[]>> fs = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    fs.add(echo.submit(ascii("n" + i)));
                }
                for (int i = 0; i < fs.size(); i++) {
                    assertArrayEquals(ascii("n" + i), fs.get(i).get(30, TimeUnit.SECONDS));
                }
            }
        }
        assertEquals(refs, TestSupport.diag(TestSupport.GLOBAL_REFS), "every future's global ref deleted");
        assertEquals(0, TestSupport.diag(TestSupport.TASKS), "every task id released");
    }

    @Test
    void failuresCompleteExceptionallyWithTypedExceptions() throws Exception {
        try (Host host = TestSupport.host()) {
            NativeModule std = host.open("std");
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> std.method("fail").submit(ascii("async boom")).get(10, TimeUnit.SECONDS));
            ModuleException m = assertInstanceOf(ModuleException.class, e.getCause());
            assertEquals(42, m.code());
            assertTrue(m.getMessage().contains("async boom"));
        }
    }

    @Test
    void cancelReachesTheCore() throws Exception {
        try (Host host = Host.create(TestSupport.options().withSubmitThreads(1))) {
            NativeModule std = host.open("std");
            java.util.concurrent.CountDownLatch started = TestSupport.onGate(std, "blk");
            CompletableFuture<byte[]> blocker = std.method("gate_wait").submit(TestSupport.gate("blk", 300));
            TestSupport.awaitGate(started, "the blocker runs on the only submit thread");
            CompletableFuture<byte[]> victim = std.method("echo").submit(ascii("never"));
            assertTrue(victim.cancel(true));
            assertTrue(victim.isCancelled());
            assertThrows(CancellationException.class, victim::join);
            blocker.get(10, TimeUnit.SECONDS);
            TestSupport.await(() -> std.counters().cancelled() == 1, Duration.ofSeconds(10),
                    "the core counted the cancellation");
            assertEquals(1, std.counters().calls(), "the cancelled call never ran");
            assertEquals(2, std.counters().submits());
        }
    }

    @Test
    void aFullQueueIsOverloaded() throws Exception {
        try (Host host = Host.create(TestSupport.options().withSubmitThreads(1).withSubmitQueueCapacity(2))) {
            NativeModule std = host.open("std");
            Method sleep = std.method("sleep_ms");
            List<CompletableFuture<byte[]>> fs = new ArrayList<>();
            java.util.concurrent.CountDownLatch started = TestSupport.onGate(std, "full");
            fs.add(std.method("gate_wait").submit(TestSupport.gate("full", 200)));
            TestSupport.awaitGate(started, "the first call runs on the only submit thread");
            fs.add(sleep.submit(ascii("1")));
            fs.add(sleep.submit(ascii("1")));
            // A rejection is a failed future (issue 12: one place to read every outcome).
            CompletableFuture<byte[]> rejected = sleep.submit(ascii("1"));
            assertTrue(rejected.isCompletedExceptionally(), "rejected at once");
            ExecutionException e = assertThrows(ExecutionException.class, () -> rejected.get(10, TimeUnit.SECONDS));
            assertInstanceOf(OverloadedException.class, e.getCause());
            for (CompletableFuture<byte[]> f : fs) {
                f.get(10, TimeUnit.SECONDS);
            }
            sleep.submit(ascii("1")).get(10, TimeUnit.SECONDS);
        }
    }

    /** JAVA.md "Cancelling": {@code cancel(true)} of a running in-process call. */
    @Test
    void cancellingARunningInProcessCallCancelsOnlyTheFuture() throws Exception {
        try (Host host = TestSupport.host()) {
            NativeModule std = host.open("std");
            CompletableFuture<byte[]> running = std.method("gate_wait").submit(TestSupport.gate("inproc", 30_000));
            TestSupport.awaitInside(std, "inproc", 1);
            assertTrue(running.cancel(true), "the future is cancelled");
            assertTrue(running.isCancelled());
            assertThrows(CancellationException.class, running::join);
            Thread.sleep(50);
            assertEquals(1, TestSupport.inside(std, "inproc"), "the native call keeps running");
            assertEquals(1, TestSupport.openGate(std, "inproc"), "released by gate_open, not by the cancel");
            TestSupport.await(() -> TestSupport.inside(std, "inproc") == 0, Duration.ofSeconds(10),
                    "the native call ran to its end");
            assertEquals(0, std.counters().cancelled(), "the core cancelled nothing");
        }
    }

    /** JAVA.md "Cancelling": a running isolated call is ended (its worker is killed and replaced). */
    @Test
    void cancellingARunningIsolatedCallEndsIt() throws Exception {
        boolean available = TestSupport.isolationAvailable();
        if (Boolean.getBoolean("bridgehost.requireIsolation")) {
            assertTrue(available, "isolation required: " + TestSupport.isolationUnavailableReason());
        }
        assumeTrue(available, "process isolation not available");
        try (Host host = TestSupport.host(); NativeModule std = host.open("std", ModuleOptions.isolated())) {
            java.util.concurrent.CountDownLatch started = TestSupport.onGate(std, "iso");
            CompletableFuture<byte[]> running = std.method("gate_wait").submit(TestSupport.gate("iso", 60_000));
            TestSupport.awaitGate(started, "the call runs in the worker");
            long t0 = System.nanoTime();
            assertTrue(running.cancel(true));
            assertTrue(running.isCancelled());
            TestSupport.await(() -> std.counters().cancelled() == 1, Duration.ofSeconds(10),
                    "the core ended the running call");
            assertArrayEquals(ascii("alive"), std.method("echo").call(ascii("alive")), "a replaced worker answers");
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30), "not the call's own 60 s timeout");
            assertFalse(std.isClosed());
        }
    }
}
