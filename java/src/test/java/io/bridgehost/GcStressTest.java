package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * Catalog Q7/Q10: a GC that moves or collects what native code uses. System.gc() is hammered from
 * another thread while calls run with fresh (collectable) arrays and direct buffers, submits
 * complete and events arrive.
 */
class GcStressTest {

    @Test
    void hundredThousandCallsWhileTheGcIsHammered() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong gcs = new AtomicLong();
        Thread gc = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
                gcs.incrementAndGet();
                // Back-to-back full collections on 2 vCPUs starve the calling thread
                // entirely; a 1 ms gap keeps hundreds of collections per second
                // interleaved with the calls, which is the point of the test.
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gc-hammer");
        gc.setDaemon(true);
        try (Host host = TestSupport.host()) {
            NativeModule std = host.open("std");
            Method echo = std.method("echo");
            Method checksum = std.method("checksum");
            AtomicLong events = new AtomicLong();
            std.subscribe("tick", data -> {
                byte[] garbage = new byte[64]; // allocate on the event thread too
                events.addAndGet(garbage.length > 0 ? 1 : 0);
            });
            gc.start();
            std.method("ticker").call(TestSupport.ticker(20_000, 0, null));
            Random r = new Random(7);
            CompletableFuture<byte[]> pending = null;
            byte[] pendingInput = null;
            for (int i = 0; i < 100_000; i++) {
                int n = (i % 7 == 0) ? 4096 + r.nextInt(8192) : r.nextInt(600);
                byte[] in = new byte[n];
                r.nextBytes(in);
                switch (i % 4) {
                    case 0:
                        assertArrayEquals(in, echo.call(in), "byte[] call " + i);
                        break;
                    case 1: {
                        ByteBuffer d = ByteBuffer.allocateDirect(n).put(in).flip();
                        assertArrayEquals(in, echo.call(d), "direct call " + i);
                        break;
                    }
                    case 2: {
                        CRC32C c = new CRC32C();
                        c.update(in);
                        long got = ByteBuffer.wrap(checksum.call(in)).getInt() & 0xffffffffL;
                        assertEquals(c.getValue(), got, "checksum " + i);
                        break;
                    }
                    default:
                        if (pending != null) {
                            assertArrayEquals(pendingInput, pending.get(30, TimeUnit.SECONDS), "submit " + i);
                        }
                        pending = echo.submit(in);
                        pendingInput = in;
                        break;
                }
            }
            if (pending != null) {
                assertArrayEquals(pendingInput, pending.get(30, TimeUnit.SECONDS));
            }
            TestSupport.await(() -> events.get() == 20_000, Duration.ofSeconds(120), "events under GC");
        } finally {
            stop.set(true);
            gc.join(10_000);
        }
        assertTrue(gcs.get() > 10, "the GC actually ran (" + gcs.get() + " collections)");
    }
}
