package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class EventsTest {
    Host host;
    NativeModule std;

    @BeforeEach
    void open() {
        host = TestSupport.host();
        std = host.open("std");
    }

    @AfterEach
    void close() {
        host.close();
    }

    @Test
    void eventsArriveInOrderOnTheDaemonEventThread() throws Exception {
        List<Long> seqs = Collections.synchronizedList(new ArrayList<>());
        List<String> threads = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch latch = new CountDownLatch(50);
        try (Subscription s = std.subscribe("tick", (topic, data) -> {
            assertEquals("tick", topic);
            Thread t = Thread.currentThread();
            threads.add(t.getName() + (t.isDaemon() ? "/daemon" : "/user"));
            seqs.add(TestSupport.seq(data));
            latch.countDown();
        })) {
            std.method("ticker").call(TestSupport.ticker(50, 0, null));
            assertTrue(latch.await(10, TimeUnit.SECONDS));
            assertTrue(s.isActive());
        }
        for (int i = 0; i < 50; i++) {
            assertEquals(i, seqs.get(i));
        }
        assertEquals(Collections.singleton("bridgehost-events/daemon"), new java.util.HashSet<>(threads));
    }

    @Test
    void wildcardAndPayloadOnlyListeners() throws Exception {
        List<String> all = Collections.synchronizedList(new ArrayList<>());
        List<String> onlyA = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch latch = new CountDownLatch(3);
        try (Subscription any = std.subscribe("*", (topic, data) -> {
                all.add(topic + "=" + new String(data, java.nio.charset.StandardCharsets.UTF_8));
                latch.countDown();
            });
             Subscription a = std.subscribe("a", data -> onlyA.add(new String(data, java.nio.charset.StandardCharsets.UTF_8)))) {
            Method emit = std.method("emit");
            emit.call(ascii("a\0one"));
            emit.call(ascii("b\0two"));
            emit.call(ascii("a\0three"));
            assertTrue(latch.await(10, TimeUnit.SECONDS));
            TestSupport.await(() -> onlyA.size() == 2, Duration.ofSeconds(10), "topic a delivered");
        }
        assertEquals(List.of("a=one", "b=two", "a=three"), all);
        assertEquals(List.of("one", "three"), onlyA);
    }

    /** The delivery thread builds the topic string itself (UTF-16 from the core's UTF-8). */
    @Test
    void topicsAndPayloadsArriveExactly() throws Exception {
        String longest = "é".repeat(64); // 128 bytes of UTF-8, the longest topic
        List<String> topics = List.of("ü€😀", longest, "t");
        List<String> got = Collections.synchronizedList(new ArrayList<>());
        List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch latch = new CountDownLatch(topics.size());
        try (Subscription any = std.subscribe("*", (topic, data) -> {
                got.add(topic);
                sizes.add(data.length);
                latch.countDown();
            })) {
            Method emit = std.method("emit");
            emit.call(("ü€😀\0" + "x".repeat(1000)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            emit.call((longest + "\0p").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            emit.call(ascii("t"));
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        }
        assertEquals(topics, got);
        assertEquals(List.of(1000, 1, 0), sizes);
    }

    /** Catalog Q16: a delivery loop that leaked local references would overflow the table. */
    @Test
    void aMillionEventsWithoutLocalReferenceOverflow() throws Exception {
        int n = 1_000_000;
        AtomicLong received = new AtomicLong();
        AtomicLong outOfOrder = new AtomicLong();
        try (Subscription s = std.subscribe("tick", data -> {
            long seq = TestSupport.seq(data);
            if (seq != received.getAndIncrement()) {
                outOfOrder.incrementAndGet();
            }
        })) {
            std.method("ticker").call(TestSupport.ticker(n, 0, null));
            TestSupport.await(() -> received.get() >= n, Duration.ofSeconds(300), n + " events");
        }
        assertEquals(n, received.get());
        assertEquals(0, outOfOrder.get());
        Counters c = std.counters();
        assertEquals(n, c.eventsDelivered());
        assertEquals(0, c.callbackErrors());
    }

    /** Catalog Q16: every subscription's global reference is deleted when it ends. */
    @Test
    void hundredThousandSubscribeCyclesLeaveNoGlobalReference() {
        long refs = TestSupport.diag(TestSupport.GLOBAL_REFS);
        long subs = TestSupport.diag(TestSupport.SUBSCRIPTIONS);
        for (int i = 0; i < 100_000; i++) {
            Subscription s = std.subscribe("tick", data -> { });
            if (i % 10_000 == 0) {
                assertEquals(refs + 1, TestSupport.diag(TestSupport.GLOBAL_REFS), "one global ref while subscribed");
            }
            s.close();
        }
        assertEquals(refs, TestSupport.diag(TestSupport.GLOBAL_REFS), "global refs after 100k cycles");
        assertEquals(subs, TestSupport.diag(TestSupport.SUBSCRIPTIONS), "subscription ids after 100k cycles");
        // Subscriptions ended by closing the module release theirs too.
        for (int i = 0; i < 100; i++) {
            std.subscribe("tick", data -> { });
        }
        assertEquals(refs + 100, TestSupport.diag(TestSupport.GLOBAL_REFS));
        std.close();
        assertEquals(refs, TestSupport.diag(TestSupport.GLOBAL_REFS), "module close deleted them");
    }

    @Test
    void aThrowingListenerIsCaughtLoggedAndCounted() throws Exception {
        AtomicLong good = new AtomicLong();
        AtomicLong thrown = new AtomicLong();
        try (Subscription bad = std.subscribe("tick", data -> {
                thrown.incrementAndGet();
                if (TestSupport.seq(data) % 2 == 0) {
                    throw new IllegalStateException("listener failure " + TestSupport.seq(data));
                }
                throw new AssertionError("an Error, not an Exception");
            });
             Subscription ok = std.subscribe("tick", data -> good.incrementAndGet())) {
            std.method("ticker").call(TestSupport.ticker(20, 0, null));
            TestSupport.await(() -> good.get() == 20 && thrown.get() == 20, Duration.ofSeconds(10), "deliveries");
            assertTrue(bad.isActive(), "a throwing listener stays subscribed");
            TestSupport.await(() -> std.counters().callbackErrors() == 20, Duration.ofSeconds(10), "errors counted");
        }
        assertEquals(40, std.counters().eventsDelivered());
        assertEquals("still works", new String(std.method("echo").call(ascii("still works")),
                java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Test
    void noDeliveryAfterCloseReturns() throws Exception {
        for (int round = 0; round < 20; round++) {
            AtomicBoolean closed = new AtomicBoolean();
            AtomicLong late = new AtomicLong();
            AtomicLong seen = new AtomicLong();
            Subscription s = std.subscribe("tick", data -> {
                if (closed.get()) {
                    late.incrementAndGet();
                }
                seen.incrementAndGet();
                Thread.onSpinWait();
            });
            std.method("ticker").call(TestSupport.ticker(100_000, 0, null));
            TestSupport.await(() -> seen.get() > 100, Duration.ofSeconds(10), "deliveries started");
            s.close();
            closed.set(true);
            long after = seen.get();
            std.flush(Duration.ofSeconds(60)); // every event emitted so far has been dispatched
            assertEquals(0, late.get(), "a delivery ran after close() returned");
            assertEquals(after, seen.get());
            assertFalse(s.isActive());
        }
    }

    @Test
    void unsubscribeFromInsideTheListener() throws Exception {
        AtomicLong calls = new AtomicLong();
        Subscription[] self = new Subscription[1];
        // The ticker starts after the assignment, so self[0] is set when the listener runs.
        self[0] = std.subscribe("tick", data -> {
            calls.incrementAndGet();
            self[0].close();
        });
        AtomicLong witnessed = new AtomicLong();
        try (Subscription witness = std.subscribe("tick", d -> witnessed.incrementAndGet())) {
            std.method("ticker").call(TestSupport.ticker(100, 0, null));
            TestSupport.await(() -> !self[0].isActive(), Duration.ofSeconds(10), "closed itself");
            // No sleep decides it: all 100 events reached the witness and flush() returned, so
            // every delivery of them is over.
            TestSupport.await(() -> witnessed.get() == 100, Duration.ofSeconds(60), "witness events");
            std.flush(Duration.ofSeconds(60));
        }
        assertEquals(1, calls.get(), "no delivery after the listener closed its own subscription");
    }
}
