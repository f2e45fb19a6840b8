package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The same semantics in both isolation modes (DESIGN §5: the semantics do not change with isolation). */
class SemanticsTest {
    static NativeModule open(Host host, Isolation mode) {
        if (mode == Isolation.PROCESS) {
            boolean available = TestSupport.isolationAvailable();
            if (Boolean.getBoolean("bridgehost.requireIsolation")) {
                assertTrue(available, "isolation required: " + TestSupport.isolationUnavailableReason());
            }
            assumeTrue(available, "process isolation not available: " + TestSupport.isolationUnavailableReason());
        }
        return host.open("std", ModuleOptions.defaults().withIsolation(mode).withMaxOutput(1 << 20));
    }

    @ParameterizedTest
    @EnumSource(Isolation.class)
    void callsErrorsAndLimits(Isolation mode) {
        try (Host host = TestSupport.host(); NativeModule std = open(host, mode)) {
            assertEquals(mode, std.isolation());
            byte[] in = new byte[100_000];
            new java.util.Random(3).nextBytes(in);
            assertArrayEquals(in, std.method("echo").call(in));
            ByteBuffer d = ByteBuffer.allocateDirect(in.length).put(in).flip();
            CRC32C c = new CRC32C();
            c.update(in);
            assertEquals(c.getValue(), ByteBuffer.wrap(std.method("checksum").call(d)).getInt() & 0xffffffffL);
            ModuleException f = assertThrows(ModuleException.class, () -> std.method("fail").call(ascii("x")));
            assertEquals(42, f.code());
            ModuleException p = assertThrows(ModuleException.class, () -> std.method("panic").call(ascii("y")));
            assertEquals(101, p.code());
            assertThrows(ResourceLimitException.class, () -> std.method("echo").call(new byte[(1 << 20) + 1]));
            assertArrayEquals(ascii("after"), std.method("echo").call(ascii("after")));
        }
    }

    @ParameterizedTest
    @EnumSource(Isolation.class)
    void eventsAndUnsubscribe(Isolation mode) throws Exception {
        try (Host host = TestSupport.host(); NativeModule std = open(host, mode)) {
            AtomicLong n = new AtomicLong();
            Subscription s = std.subscribe("tick", d -> n.incrementAndGet());
            std.method("ticker").call(TestSupport.ticker(500, 0, null));
            TestSupport.await(() -> n.get() == 500, Duration.ofSeconds(60), "events");
            s.close();
            // No sleep decides it: a second listener sees the next 100 events, and once it has
            // all of them and flush() has returned, every delivery of those events is over.
            AtomicLong after = new AtomicLong();
            try (Subscription witness = std.subscribe("tick", d -> after.incrementAndGet())) {
                std.method("ticker").call(TestSupport.ticker(100, 0, null));
                TestSupport.await(() -> after.get() == 100, Duration.ofSeconds(60), "witness events");
                std.flush(Duration.ofSeconds(60));
            }
            assertEquals(500, n.get(), "no delivery after unsubscribe");
        }
    }

    @ParameterizedTest
    @EnumSource(Isolation.class)
    void submitAndCloseInFlight(Isolation mode) throws Exception {
        Host host = Host.create(TestSupport.options().withSubmitThreads(1));
        NativeModule std = open(host, mode);
        assertArrayEquals(ascii("s"), std.method("echo").submit(ascii("s")).get(30, TimeUnit.SECONDS));
        // The "started" signal is std's gate event (it works under isolation too): once it
        // arrives the call is running on the only submit thread, so the echo below is queued.
        CountDownLatch started = TestSupport.onGate(std, "run");
        CompletableFuture<byte[]> running = std.method("gate_wait").submit(TestSupport.gate("run", 300));
        TestSupport.awaitGate(started, "the submitted call started");
        CompletableFuture<byte[]> queued = std.method("echo").submit(ascii("q"));
        host.close();
        assertArrayEquals(new byte[] {0}, running.get(30, TimeUnit.SECONDS), "ran to its own timeout");
        ExecutionException e = assertThrows(ExecutionException.class, () -> queued.get(30, TimeUnit.SECONDS));
        assertInstanceOf(ClosedException.class, e.getCause());
    }
}
