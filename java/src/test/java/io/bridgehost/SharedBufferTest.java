package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link SharedBuffer}: memory an isolated worker reads in place (docs/JAVA.md, "Large inputs to
 * an isolated module without a copy"). Calls see exactly its bytes in both modes; Java cannot
 * write it while a call reads it ({@link IllegalStateException}), so no call sees a torn content;
 * a worker cannot write it either; close and the Cleaner release it.
 */
class SharedBufferTest {
    static Host host;
    static boolean isolation;

    @BeforeAll
    static void open() {
        isolation = TestSupport.isolationAvailable();
        if (Boolean.getBoolean("bridgehost.requireIsolation")) {
            assertTrue(isolation, "isolation required: " + TestSupport.isolationUnavailableReason());
        }
        host = TestSupport.host();
    }

    @AfterAll
    static void close() {
        if (host != null) {
            host.close();
        }
    }

    static NativeModule isolated(String name) {
        assumeTrue(isolation, "process isolation not available: " + TestSupport.isolationUnavailableReason());
        return host.open(name, ModuleOptions.isolated());
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 131 + seed);
        }
        return b;
    }

    static SharedBuffer filled(byte[] data) {
        SharedBuffer buf = new SharedBuffer(data.length);
        buf.put(0, data);
        return buf;
    }

    @Test
    void creationRefusesBadLengthsWithTheCoresMessages() {
        InvalidArgumentException zero = assertThrows(InvalidArgumentException.class, () -> new SharedBuffer(0));
        assertTrue(zero.getMessage().contains("0 bytes") && zero.getMessage().contains("at least 1"), zero.getMessage());
        assertInstanceOf(IllegalArgumentException.class, zero);
        InvalidArgumentException neg = assertThrows(InvalidArgumentException.class, () -> new SharedBuffer(-5));
        assertTrue(neg.getMessage().contains("-5 bytes"), neg.getMessage());
        assertThrows(InvalidArgumentException.class, () -> new SharedBuffer(Long.MIN_VALUE));
        for (long huge : new long[] {1L << 60, Long.MAX_VALUE}) {
            ResourceLimitException e = assertThrows(ResourceLimitException.class, () -> new SharedBuffer(huge));
            assertTrue(e.getMessage().contains("this machine's memory"), e.getMessage());
        }
        try (SharedBuffer one = new SharedBuffer(1); SharedBuffer buf = new SharedBuffer(4097)) {
            assertEquals(1, one.length());
            assertEquals(4097, buf.length());
            assertArrayEquals(new byte[4097], buf.get(0, 4097), "a new buffer reads as zeroes");
            assertEquals("SharedBuffer(4097 bytes)", buf.toString());
        }
    }

    @Test
    void putAndGetRoundTripAtTheEdgesAndRefuseEverythingOutside() {
        try (SharedBuffer buf = new SharedBuffer(100)) {
            byte[] data = pattern(100, 3);
            buf.put(0, data);
            assertArrayEquals(data, buf.get(0, 100));
            buf.put(97, new byte[] {7, 8, 9}); // up to the end
            assertArrayEquals(new byte[] {7, 8, 9}, buf.get(97, 3));
            buf.put(100, new byte[0]); // an empty range at the end
            assertArrayEquals(new byte[0], buf.get(100, 0));
            buf.put(10, new byte[] {1, 2, 3, 4, 5}, 1, 3); // a window of the source
            assertArrayEquals(new byte[] {2, 3, 4}, buf.get(10, 3));
            byte[] dst = new byte[6];
            buf.get(10, dst, 2, 3);
            assertArrayEquals(new byte[] {0, 0, 2, 3, 4, 0}, dst);
            buf.get(97, dst, 0, 3);
            assertArrayEquals(new byte[] {7, 8, 9, 3, 4, 0}, dst, "the tail of dst is unchanged");
            byte[] before = buf.get(0, 100);

            // Out of the buffer, each way, and offsets whose sum overflows a long.
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(98, new byte[3]));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(-1, new byte[1]));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(101, new byte[0]));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(Long.MAX_VALUE, new byte[2]));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(Long.MIN_VALUE, new byte[2]));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(98, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(-1, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(0, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(Long.MAX_VALUE, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(Long.MAX_VALUE - 1, new byte[10]));
            // Out of the array.
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(0, new byte[10], 5, 6));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(0, new byte[10], -1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(0, new byte[10], 2, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.put(0, new byte[10], Integer.MAX_VALUE, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(0, new byte[10], 8, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> buf.get(0, new byte[10], -1, 1));
            // Null arrays and buffers.
            assertThrows(NullPointerException.class, () -> buf.put(0, (byte[]) null));
            assertThrows(NullPointerException.class, () -> buf.put(0, null, 0, 0));
            assertThrows(NullPointerException.class, () -> buf.put(0, (ByteBuffer) null));
            assertThrows(NullPointerException.class, () -> buf.get(0, (byte[]) null));
            assertThrows(NullPointerException.class, () -> buf.get(0, null, 0, 0));
            assertArrayEquals(before, buf.get(0, 100), "a refused put wrote nothing");
        }
    }

    @Test
    void putTakesHeapDirectAndReadOnlyByteBuffersAndAdvancesTheirPosition() {
        try (SharedBuffer buf = new SharedBuffer(64)) {
            byte[] data = pattern(20, 5);
            List<ByteBuffer> sources = new ArrayList<>();
            sources.add(ByteBuffer.wrap(data));
            sources.add(ByteBuffer.wrap(data).asReadOnlyBuffer());
            ByteBuffer direct = ByteBuffer.allocateDirect(20).put(data).flip();
            sources.add(direct);
            sources.add(direct.duplicate().asReadOnlyBuffer());
            sources.add(ByteBuffer.wrap(new byte[30], 5, 20).slice().put(data).flip()); // arrayOffset 5
            int at = 0;
            for (ByteBuffer src : sources) {
                ByteBuffer s = src.duplicate().position(4).limit(14);
                buf.put(at, s);
                assertEquals(14, s.position(), "position advanced to the limit: " + src);
                assertArrayEquals(Arrays.copyOfRange(data, 4, 14), buf.get(at, 10), "bytes of " + src);
                // Does not fit: refused, the position does not move.
                ByteBuffer whole = src.duplicate();
                assertThrows(IndexOutOfBoundsException.class, () -> buf.put(50, whole));
                assertEquals(0, whole.position());
                at += 10;
            }
        }
    }

    /** std echo and checksum read the buffer exactly as the same bytes in a byte[], both modes. */
    @Test
    void callsSeeTheBuffersBytesInBothModes() throws Exception {
        List<NativeModule> modules = new ArrayList<>();
        modules.add(host.open("std"));
        if (isolation) {
            modules.add(host.open("std", ModuleOptions.isolated()));
        }
        byte[] data = pattern((1 << 20) + 3, 1);
        byte[] crc = modules.get(0).method("checksum").call(data);
        try (SharedBuffer buf = filled(data)) {
            for (NativeModule m : modules) {
                Method echo = m.method("echo");
                Method checksum = m.method("checksum");
                String mode = m.isolation().toString();
                assertArrayEquals(data, echo.call(buf), mode);
                assertArrayEquals(crc, checksum.call(buf), mode);
                assertArrayEquals(Arrays.copyOfRange(data, 1000, 300_000), echo.call(buf, 1000, 299_000), mode);
                assertArrayEquals(checksum.call(Arrays.copyOfRange(data, 7, data.length)),
                        checksum.call(buf, 7, data.length - 7), mode);
                assertArrayEquals(new byte[0], echo.call(buf, buf.length(), 0), mode);
                assertArrayEquals(data, echo.submit(buf).get(30, TimeUnit.SECONDS), mode);
                assertArrayEquals(Arrays.copyOfRange(data, 5, 105), echo.submit(buf, 5, 100).get(30, TimeUnit.SECONDS), mode);
                assertThrows(IndexOutOfBoundsException.class, () -> echo.call(buf, 1, buf.length()));
                assertThrows(IndexOutOfBoundsException.class, () -> echo.call(buf, -1, 1));
                assertThrows(IndexOutOfBoundsException.class, () -> echo.submit(buf, Long.MAX_VALUE, 2));
                assertThrows(NullPointerException.class, () -> echo.call((SharedBuffer) null));
            }
        } finally {
            for (NativeModule m : modules) {
                m.close();
            }
        }
    }

    @Test
    void a64MiBBufferIsChecksummedByAnIsolatedWorker() {
        NativeModule iso = isolated("std");
        try (NativeModule inproc = host.open("std"); SharedBuffer buf = new SharedBuffer(64 << 20)) {
            byte[] chunk = pattern(1 << 20, 11);
            for (long at = 0; at < buf.length(); at += chunk.length) {
                chunk[0] = (byte) (at >>> 20);
                buf.put(at, chunk);
            }
            assertArrayEquals(inproc.method("checksum").call(buf), iso.method("checksum").call(buf));
            byte[] whole = buf.get(0, (int) buf.length());
            assertArrayEquals(inproc.method("checksum").call(whole), iso.method("checksum").call(buf));
        } finally {
            iso.close();
        }
    }

    /**
     * A thread puts whole patterns while calls with the buffer as input run (isolated): every put
     * during a call is refused with IllegalStateException, every output is one whole pattern.
     */
    @Test
    void aPutWhileACallReadsTheBufferIsRefusedAndNoCallSeesATornContent() throws Exception {
        NativeModule iso = isolated("std");
        int n = 4 << 20;
        byte[][] patterns = new byte[4][];
        for (int k = 0; k < 4; k++) {
            patterns[k] = new byte[n];
            Arrays.fill(patterns[k], (byte) k);
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong refused = new AtomicLong();
        AtomicLong written = new AtomicLong();
        AtomicReference<Throwable> other = new AtomicReference<>();
        try (SharedBuffer buf = filled(patterns[0])) {
            Method echo = iso.method("echo");
            Thread writer = new Thread(() -> {
                int k = 0;
                while (!stop.get()) {
                    k = (k + 1) % 4;
                    try {
                        buf.put(0, patterns[k]);
                        written.incrementAndGet();
                    } catch (IllegalStateException e) {
                        refused.incrementAndGet();
                    } catch (Throwable t) {
                        other.compareAndSet(null, t);
                        return;
                    }
                }
            });
            writer.start();
            try {
                for (int i = 0; i < 60; i++) {
                    byte[] out = echo.call(buf);
                    assertEquals(n, out.length);
                    byte first = out[0];
                    for (int j = 0; j < n; j++) {
                        if (out[j] != first) {
                            throw new AssertionError("call " + i + " saw a buffer changed under it at byte " + j);
                        }
                    }
                }
            } finally {
                stop.set(true);
                writer.join();
            }
        } finally {
            iso.close();
        }
        if (other.get() != null) {
            throw new AssertionError("the writer failed otherwise", other.get());
        }
        assertTrue(refused.get() > 0, "no put was ever attempted during a call (" + written.get() + " written)");
    }

    /**
     * Deterministic (a gate holds the call): during the call put is refused, get is not, close
     * returns at once and the call still finishes with the bytes it was given; afterwards every use
     * is ClosedException.
     */
    @Test
    void duringACallPutIsRefusedGetWorksAndCloseDoesNotFreeTheMemoryUnderIt() throws Exception {
        try (NativeModule std = host.open("std")) {
            String key = "shared-buffer-close";
            byte[] input = TestSupport.gate(key, 60_000);
            SharedBuffer buf = filled(input);
            long live = TestSupport.diag(TestSupport.SHARED_BUFFERS);
            CompletableFuture<byte[]> call = CompletableFuture.supplyAsync(() -> std.method("gate_wait").call(buf));
            TestSupport.awaitInside(std, key, 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> buf.put(0, new byte[1]));
            assertTrue(e.getMessage().contains("a call is reading this SharedBuffer"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> buf.put(0, ByteBuffer.allocateDirect(1)));
            assertArrayEquals(input, buf.get(0, input.length), "get runs beside the call");
            buf.close(); // returns at once: the call holds the memory
            assertTrue(buf.isClosed());
            assertTrue(TestSupport.diag(TestSupport.SHARED_BUFFERS) < live, "the id was retired");
            assertThrows(ClosedException.class, () -> buf.put(0, new byte[1]));
            assertFalse(call.isDone());
            assertEquals(1, TestSupport.openGate(std, key));
            assertArrayEquals(new byte[] {1}, call.get(30, TimeUnit.SECONDS), "released by the gate");
            ClosedException c = assertThrows(ClosedException.class, () -> std.method("echo").call(buf));
            assertTrue(c.getMessage().contains("shared buffer is closed"), c.getMessage());
        }
        try (NativeModule std = host.open("std"); SharedBuffer buf = filled(TestSupport.gate("after", 60_000))) {
            CountDownLatch entered = TestSupport.onGate(std, "after");
            CompletableFuture<byte[]> call = CompletableFuture.supplyAsync(() -> std.method("gate_wait").call(buf));
            TestSupport.awaitGate(entered, "gate_wait(after)");
            TestSupport.awaitInside(std, "after", 1);
            assertThrows(IllegalStateException.class, () -> buf.put(0, new byte[1]));
            TestSupport.openGate(std, "after");
            call.get(30, TimeUnit.SECONDS);
            buf.put(0, new byte[1]); // the call returned: writable again
        }
    }

    @Test
    void aModuleThatWritesItsInputCrashesItsWorkerAndTheBytesStay() {
        assumeTrue(Files.isRegularFile(TestSupport.dist().resolve("libbridgehost_mod_faulty.so")),
                "the test-only module faulty is not in " + TestSupport.dist());
        NativeModule faulty = isolated("faulty");
        byte[] data = pattern(1 << 20, 9);
        try (SharedBuffer buf = filled(data)) {
            Method scribble = faulty.method("scribble_input");
            assertThrows(WorkerCrashedException.class, () -> scribble.call(buf));
            assertArrayEquals(data, buf.get(0, data.length));
            // A copied input is the worker's own: it may write it, the caller's bytes stay.
            byte[] copy = data.clone();
            assertArrayEquals(ascii("scribbled"), scribble.call(copy));
            assertArrayEquals(data, copy);
        } finally {
            faulty.close();
        }
    }

    @Test
    void closeIsIdempotentAndEveryUseAfterItIsClosed() throws Exception {
        long live = TestSupport.diag(TestSupport.SHARED_BUFFERS);
        SharedBuffer buf = new SharedBuffer(10);
        assertTrue(TestSupport.diag(TestSupport.SHARED_BUFFERS) >= live + 1);
        buf.close();
        buf.close();
        assertTrue(buf.isClosed());
        assertEquals(10, buf.length());
        assertEquals("SharedBuffer(10 bytes, closed)", buf.toString());
        assertTrue(TestSupport.diag(TestSupport.SHARED_BUFFERS) <= live, "released by close");
        assertThrows(ClosedException.class, () -> buf.put(0, new byte[1]));
        assertThrows(ClosedException.class, () -> buf.put(0, ByteBuffer.allocateDirect(1)));
        assertThrows(ClosedException.class, () -> buf.get(0, 1));
        assertThrows(ClosedException.class, () -> buf.get(0, new byte[1]));
        try (NativeModule std = host.open("std")) {
            Method echo = std.method("echo");
            ClosedException e = assertThrows(ClosedException.class, () -> echo.call(buf));
            assertTrue(e.getMessage().contains("shared buffer is closed"), e.getMessage());
            ExecutionException sub = assertThrows(ExecutionException.class,
                    () -> echo.submit(buf).get(10, TimeUnit.SECONDS));
            assertInstanceOf(ClosedException.class, sub.getCause());
        }
        // Bounds are still checked first (argument errors before state).
        assertThrows(IndexOutOfBoundsException.class, () -> buf.put(11, new byte[0]));
    }

    @Test
    void submitRefusesAnInputOverMaxInputBeforeCopyingIt() throws Exception {
        try (NativeModule std = host.open("std", ModuleOptions.defaults().withMaxInput(16 << 20));
                SharedBuffer big = new SharedBuffer(300 << 20)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> std.method("echo").submit(big).get(30, TimeUnit.SECONDS));
            assertInstanceOf(ResourceLimitException.class, e.getCause());
            assertThrows(ResourceLimitException.class, () -> std.method("echo").call(big));
        }
    }

    @Test
    void aBufferNobodyClosedIsReleasedByTheCleaner() throws Exception {
        long live = TestSupport.diag(TestSupport.SHARED_BUFFERS);
        for (int i = 0; i < 20; i++) {
            new SharedBuffer(1 << 16).put(0, new byte[] {1});
        }
        assertTrue(TestSupport.diag(TestSupport.SHARED_BUFFERS) > live, "buffers were created");
        // <= : a buffer an earlier test dropped may be cleaned meanwhile.
        TestSupport.gcUntil(() -> TestSupport.diag(TestSupport.SHARED_BUFFERS) <= live,
                Duration.ofSeconds(60), "Cleaner released every shared buffer");
    }
}
