package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: a listener that throws on every event is logged rate-limited (20,000 failing events
 * used to give 20,000 ERROR records with stack traces), and listeners run with the subscriber's
 * context class loader.
 */
class ListenerLogTest {
    /** A System.Logger that keeps what it is given. */
    static final class Recorder implements System.Logger {
        record Entry(Level level, String message, Throwable thrown) {}

        final List<Entry> entries = Collections.synchronizedList(new ArrayList<>());

        @Override
        public String getName() {
            return "recorder";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            entries.add(new Entry(level, msg, thrown));
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            entries.add(new Entry(level, format, null));
        }
    }

    static final Pattern MORE = Pattern.compile("threw (\\d+) more times?");

    /** Failures reported by summary records. */
    static long summarised(List<String> messages) {
        long n = 0;
        for (String m : messages) {
            Matcher x = MORE.matcher(m);
            if (x.find()) {
                n += Long.parseLong(x.group(1));
            }
        }
        return n;
    }

    @Test
    void firstFailuresWithTracesThenPeriodicCountsThenTheRestAtClose() {
        Recorder log = new Recorder();
        long[] now = {1_000};
        ListenerErrors e = new ListenerErrors("tick", 3, 1_000, () -> now[0], log);
        for (int i = 0; i < 3; i++) {
            e.failed(new IllegalStateException("boom " + i));
        }
        assertEquals(3, log.entries.size());
        for (int i = 0; i < 3; i++) {
            assertNotNull(log.entries.get(i).thrown(), "the first failures carry their stack trace");
            assertEquals("boom " + i, log.entries.get(i).thrown().getMessage());
            assertEquals(System.Logger.Level.ERROR, log.entries.get(i).level());
        }
        assertTrue(log.entries.get(2).message().contains("further failures of this listener are counted"),
                log.entries.get(2).message());
        for (int i = 0; i < 500; i++) { // within the interval: counted, not logged
            now[0] += 1;
            e.failed(new IllegalStateException("quiet " + i));
        }
        assertEquals(3, log.entries.size(), "no record per failure after the first ones");
        now[0] += 1_000;
        e.failed(new IllegalArgumentException("after the interval"));
        assertEquals(4, log.entries.size(), "one summary once the interval has passed");
        Recorder.Entry summary = log.entries.get(3);
        assertNull(summary.thrown(), "a summary carries no stack trace");
        assertTrue(summary.message().contains("threw 501 more times"), summary.message());
        assertTrue(summary.message().contains("504 in all"), summary.message());
        assertTrue(summary.message().contains("IllegalArgumentException: after the interval"), summary.message());
        e.failed(new IllegalStateException("one more"));
        e.failed(new IllegalStateException("two more"));
        assertEquals(4, log.entries.size());
        e.closed();
        assertEquals(5, log.entries.size(), "close reports what is still unreported");
        assertTrue(log.entries.get(4).message().contains("threw 2 more times before its subscription ended"),
                log.entries.get(4).message());
        e.closed();
        assertEquals(5, log.entries.size(), "nothing left to report");
        assertEquals(506, e.failures());
        List<String> messages = new ArrayList<>();
        log.entries.forEach(x -> messages.add(x.message()));
        assertEquals(506 - 3, summarised(messages), "every failure is in a record or a count");
    }

    /** Collects the records of the JUL logger behind System.getLogger("io.bridgehost"). */
    static final class Capture extends Handler implements AutoCloseable {
        final Logger jul = Logger.getLogger("io.bridgehost");
        final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        final boolean parents;

        Capture() {
            parents = jul.getUseParentHandlers();
            jul.addHandler(this);
            jul.setUseParentHandlers(false); // keep 20,000 failures off the console if the limit broke
        }

        @Override
        public void publish(LogRecord r) {
            if (r.getMessage() != null && r.getMessage().contains("event listener")) {
                records.add(r);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {
            jul.removeHandler(this);
            jul.setUseParentHandlers(parents);
        }
    }

    @Test
    void twentyThousandFailingEventsGiveAFewRecords() throws Exception {
        failingEvents(false);
    }

    /** The same, the subscription ended by closing its module: the summary is logged then. */
    @Test
    void closingTheModuleReportsWhatIsLeft() throws Exception {
        failingEvents(true);
    }

    static void failingEvents(boolean closeModule) throws Exception {
        int events = 20_000;
        try (Capture capture = new Capture(); Host host = TestSupport.host()) {
            NativeModule std = host.open("std");
            AtomicLong seen = new AtomicLong();
            Subscription bad = std.subscribe("tick", data -> {
                seen.incrementAndGet();
                throw new IllegalStateException("listener failure " + TestSupport.seq(data));
            });
            std.method("ticker").call(TestSupport.ticker(events, 0, null));
            // The ticker retries an emit the full queue refuses: every event is delivered.
            TestSupport.await(() -> std.counters().callbackErrors() == events, Duration.ofSeconds(120),
                    "every event delivered and counted (" + seen + " seen)");
            Counters before = std.counters();
            if (closeModule) {
                std.close();
                assertFalse(bad.isActive());
            } else {
                bad.close();
            }
            long failed = before.callbackErrors();
            assertEquals(seen.get(), failed, "every delivery threw and was counted");
            List<LogRecord> records = new ArrayList<>(capture.records);
            long withTrace = records.stream().filter(r -> r.getThrown() != null).count();
            assertEquals(ListenerErrors.FULL_RECORDS, withTrace, "stack traces for the first failures only");
            // The test runs well within one summary interval: the first records plus the close summary
            // (a loaded machine may add one periodic summary).
            assertTrue(records.size() <= ListenerErrors.FULL_RECORDS + 2, records.size() + " records");
            List<String> messages = new ArrayList<>();
            records.forEach(r -> messages.add(r.getMessage()));
            assertEquals(failed - ListenerErrors.FULL_RECORDS, summarised(messages),
                    "the summaries count every other failure: " + messages.get(messages.size() - 1));
        }
    }

    @Test
    void listenersRunWithTheSubscribersContextClassLoader() throws Exception {
        try (Host host = TestSupport.host();
             URLClassLoader a = new URLClassLoader(new URL[0], getClass().getClassLoader());
             URLClassLoader b = new URLClassLoader(new URL[0], getClass().getClassLoader())) {
            NativeModule std = host.open("std");
            AtomicReference<ClassLoader> seenA = new AtomicReference<>();
            AtomicReference<ClassLoader> seenB = new AtomicReference<>();
            AtomicReference<ClassLoader> seenOwn = new AtomicReference<>();
            CountDownLatch all = new CountDownLatch(3);
            List<Subscription> subs = Collections.synchronizedList(new ArrayList<>());
            // Subscribe from two threads with different context loaders, and from this one.
            for (Object[] x : new Object[][] {{a, seenA}, {b, seenB}}) {
                Thread t = new Thread(() -> subs.add(std.subscribe("tick", d -> {
                    @SuppressWarnings("unchecked")
                    AtomicReference<ClassLoader> r = (AtomicReference<ClassLoader>) x[1];
                    if (r.compareAndSet(null, Thread.currentThread().getContextClassLoader())) {
                        all.countDown();
                    }
                })));
                t.setContextClassLoader((ClassLoader) x[0]);
                t.start();
                t.join();
            }
            ClassLoader own = Thread.currentThread().getContextClassLoader();
            subs.add(std.subscribe("tick", d -> {
                if (seenOwn.compareAndSet(null, Thread.currentThread().getContextClassLoader())) {
                    all.countDown();
                }
            }));
            assertEquals(3, subs.size());
            std.method("ticker").call(TestSupport.ticker(2, 0, null));
            assertTrue(all.await(10, TimeUnit.SECONDS), "every listener ran");
            assertSame(a, seenA.get());
            assertSame(b, seenB.get());
            assertSame(own, seenOwn.get());
            for (Subscription s : subs) {
                s.close();
            }
        }
    }
}
