package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Issue 12: every default is readable (items 8) and unsubscribe counts what it discards (item 4). */
class DefaultsTest {
    /** The defaults come from the native library (the core's values) and are the documented ones. */
    @Test
    void defaultsAreTheCoresAndDocumented() {
        HostOptions h = HostOptions.defaults();
        assertEquals(64, h.submitThreads());
        assertEquals(4096, h.submitQueueCapacity());
        assertEquals(65536, h.eventQueueCapacity());
        assertEquals(64L << 20, h.eventQueueBytes());
        assertEquals("bridgehost", h.threadName());
        assertTrue(h.moduleDirs().isEmpty());
        ModuleOptions m = ModuleOptions.defaults();
        assertEquals(Isolation.IN_PROCESS, m.isolation());
        assertEquals(1, m.workers());
        assertNull(m.callTimeout());
        assertEquals(-1, m.memoryLimit());
        assertEquals(256L << 20, m.maxInput());
        assertEquals(256L << 20, m.maxOutput());
        assertEquals(1L << 20, m.maxEvent());
        assertEquals(1, ModuleOptions.isolated().workers());
        assertEquals(256L << 20, ModuleOptions.isolated().maxInput());
        // The defaults are valid options as they are.
        try (Host host = Host.create(h.withModuleDirs(TestSupport.options().moduleDirs()))) {
            NativeModule std = host.open("std", m);
            assertArrayEquals(ascii("abc"), std.method("echo").call(ascii("abc")));
        }
    }

    /** Events queued for a subscription when it is closed are counted in eventsDiscarded. */
    @Test
    void closingASubscriptionCountsTheQueuedEventsItDiscards() throws Exception {
        try (Host host = TestSupport.host()) {
            NativeModule std = host.open("std");
            Method emit = std.method("emit");
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Subscription> sub = new AtomicReference<>();
            CountDownLatch subscribed = new CountDownLatch(1);
            sub.set(std.subscribe("t", data -> {
                entered.countDown();
                try {
                    go.await(30, TimeUnit.SECONDS);
                    subscribed.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                sub.get().close(); // from inside its own listener
            }));
            subscribed.countDown();
            emit.call(ascii("t\0first"));
            assertTrue(entered.await(30, TimeUnit.SECONDS), "first event delivered");
            for (int i = 0; i < 10; i++) {
                emit.call(ascii("t\0queued"));
            }
            go.countDown();
            std.flush(Duration.ofSeconds(30));
            Counters c = std.counters();
            assertEquals(11, c.eventsEmitted());
            assertEquals(1, c.eventsDelivered());
            assertEquals(10, c.eventsDiscarded());
            assertEquals(10, c.get("events_discarded"));
            assertEquals(0, c.eventsRefused());
            assertEquals(10, host.counters().eventsDiscarded());
        }
    }
}
