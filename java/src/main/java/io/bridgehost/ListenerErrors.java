package io.bridgehost;

import java.lang.System.Logger.Level;
import java.util.function.LongSupplier;

/**
 * The log records of one subscription's failing listener, rate-limited: a listener that throws on
 * every event must not flood the log with one record and stack trace per event.
 *
 * <p>The first {@link #FULL_RECORDS} failures are logged at {@code ERROR} with their stack traces.
 * After that, failures are counted, and a summary record (the count and the last exception's class
 * and message, no stack trace) is logged at most once per {@link #SUMMARY_INTERVAL_NANOS}, on the
 * next failure after the interval, and when the subscription is closed with
 * {@link Subscription#close()} or ends with its module's {@link NativeModule#close()}. Every failure is counted natively in
 * {@link Counters#callbackErrors()} regardless. Thread-safe (deliveries run on the event thread,
 * {@code close} on any thread).
 */
final class ListenerErrors {
    /** Failures logged with a stack trace, per subscription. */
    static final int FULL_RECORDS = 10;
    /** At most one summary per subscription per minute. */
    static final long SUMMARY_INTERVAL_NANOS = 60_000_000_000L;

    private final String topic;
    private final int fullRecords;
    private final long intervalNanos;
    private final LongSupplier clock;
    private final System.Logger logger;

    private long failures;
    private long unreported;
    private Throwable lastUnreported;
    private long lastSummaryAt;

    ListenerErrors(String topic) {
        this(topic, FULL_RECORDS, SUMMARY_INTERVAL_NANOS, System::nanoTime, Log.LOGGER);
    }

    ListenerErrors(String topic, int fullRecords, long intervalNanos, LongSupplier clock, System.Logger logger) {
        this.topic = topic;
        this.fullRecords = fullRecords;
        this.intervalNanos = intervalNanos;
        this.clock = clock;
        this.logger = logger;
    }

    /** A delivery threw {@code t}. Never throws. */
    void failed(Throwable t) {
        try {
            String record = null;
            Throwable withTrace = null;
            synchronized (this) {
                failures++;
                if (failures <= fullRecords) {
                    withTrace = t;
                    record = "bridgehost: event listener for topic \"" + topic + "\" threw (failure " + failures
                            + (failures == fullRecords ? "; further failures of this listener are counted and"
                                    + " summarised at most once per " + seconds(intervalNanos) + ")" : ")");
                    if (failures == fullRecords) {
                        lastSummaryAt = clock.getAsLong();
                    }
                } else {
                    unreported++;
                    lastUnreported = t;
                    long now = clock.getAsLong();
                    if (now - lastSummaryAt >= intervalNanos) {
                        record = summary("in the last " + seconds(now - lastSummaryAt));
                        lastSummaryAt = now;
                    }
                }
            }
            if (record != null) {
                if (withTrace != null) {
                    logger.log(Level.ERROR, record, withTrace);
                } else {
                    logger.log(Level.ERROR, record);
                }
            }
        } catch (Throwable ignored) {
            // a logging failure must not escape into native code
        }
    }

    /** The subscription was closed: report what is still unreported. Never throws. */
    void closed() {
        try {
            String record = null;
            synchronized (this) {
                if (unreported > 0) {
                    record = summary("before its subscription ended");
                }
            }
            if (record != null) {
                logger.log(Level.ERROR, record);
            }
        } catch (Throwable ignored) {
            // never throws
        }
    }

    /** Builds a summary of the unreported failures and resets the count; holds the lock. */
    private String summary(String when) {
        String s = "bridgehost: event listener for topic \"" + topic + "\" threw " + unreported + " more time"
                + (unreported == 1 ? "" : "s") + " " + when + " (" + failures + " in all; last: "
                + lastUnreported + ")";
        unreported = 0;
        lastUnreported = null;
        return s;
    }

    private static String seconds(long nanos) {
        return Math.max(1, Math.round(nanos / 1e9)) + " s";
    }

    /** @return failures seen so far (tests) */
    synchronized long failures() {
        return failures;
    }
}
