package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bridgehost.bench.BareEcho;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The benchmark floors (bench/java) are plain JNI code: they must be correct under -Xcheck:jni like
 * everything else in the library, or the figures compared with them mean nothing.
 */
class BenchBaselinesTest {
    @Test
    void rawAndCrateEchoCopyEverySize() {
        Host.loadNativeLibrary();
        for (int n : new int[] {0, 1, 16, 511, 512, 513, 70_000}) {
            byte[] in = new byte[n];
            for (int i = 0; i < n; i++) {
                in[i] = (byte) (i * 31 + 7);
            }
            assertArrayEquals(in, BareEcho.rawEcho(in), "rawEcho " + n);
            assertArrayEquals(in, BareEcho.crateEcho(in), "crateEcho " + n);
        }
        assertThrows(NullPointerException.class, () -> BareEcho.rawEcho(null));
    }

    @Test
    void rawAddAndRawEchoStringAreTheTypedFloors() {
        Host.loadNativeLibrary();
        assertEquals(5, BareEcho.rawAdd(2, 3));
        assertEquals(5_032_704L, BareEcho.rawAdd(4_000_000_000L, 300_000_000L));
        assertThrows(IllegalArgumentException.class, () -> BareEcho.rawAdd(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> BareEcho.rawAdd(0, 1L << 32));
        for (int n : new int[] {0, 1, 511, 512, 513, 70_000}) {
            String s = "\u00e9\ud83d\ude00x".repeat(n / 4 + 1).substring(0, n);
            assertEquals(s, BareEcho.rawEchoString(s), "rawEchoString " + n);
        }
        assertThrows(NullPointerException.class, () -> BareEcho.rawEchoString(null));
    }

    @Test
    void attachPerEventDeliversEveryEventOnAFreshThreadEachTime() {
        Host.loadNativeLibrary();
        List<Long> seqs = new ArrayList<>();
        List<String> threads = new ArrayList<>();
        long before = TestSupport.diag(TestSupport.ATTACHED_THREADS);
        long n = BareEcho.attachPerEvent(data -> {
            seqs.add(TestSupport.seq(data));
            threads.add(Thread.currentThread().getName());
        }, 50);
        assertEquals(50, n);
        for (int i = 0; i < 50; i++) {
            assertEquals(i, seqs.get(i));
        }
        assertEquals("bh-bench-attach", threads.get(0));
        // It attaches by itself, not through the bridge's attach-once machinery.
        assertEquals(before, TestSupport.diag(TestSupport.ATTACHED_THREADS));
        // A throwing listener is cleared per event and not counted as delivered.
        Consumer<byte[]> throwing = data -> {
            if (TestSupport.seq(data) % 2 == 0) {
                throw new IllegalStateException("listener failure (expected by the test)");
            }
        };
        assertEquals(5, BareEcho.attachPerEvent(throwing, 10));
        assertThrows(IllegalArgumentException.class, () -> BareEcho.attachPerEvent(null, 1));
        assertThrows(IllegalArgumentException.class, () -> BareEcho.attachPerEvent(d -> { }, -1));
    }

    @Test
    void attachedOnceDeliversEveryEventOnOneThread() {
        Host.loadNativeLibrary();
        List<Long> seqs = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        assertEquals(1000, BareEcho.attachedOnce(data -> {
            seqs.add(TestSupport.seq(data));
            threads.add(Thread.currentThread());
        }, 1000));
        for (int i = 0; i < 1000; i++) {
            assertEquals(i, seqs.get(i));
            assertEquals(threads.get(0), threads.get(i));
        }
        assertEquals(0, BareEcho.attachedOnce(d -> { }, 0));
        assertEquals(2, BareEcho.attachedOnce(d -> {
            if (TestSupport.seq(d) == 1) {
                throw new IllegalStateException("listener failure (expected by the test)");
            }
        }, 3));
        assertThrows(IllegalArgumentException.class, () -> BareEcho.attachedOnce(null, 1));
    }
}
