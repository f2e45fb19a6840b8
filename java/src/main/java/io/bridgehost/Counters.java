package io.bridgehost;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of a module's (or, summed, a host's) counters. Each counter is exact; a snapshot is
 * not atomic as a whole.
 */
public final class Counters {
    /** The counter names, in the order the native side reports them (the same in every runtime). */
    public static final List<String> NAMES = Collections.unmodifiableList(Arrays.asList(
            "calls", "errors", "crashes", "respawns", "timeouts", "submits", "cancelled",
            "events_emitted", "events_delivered", "events_dropped", "callback_errors",
            "latency_samples", "latency_ns_total", "latency_ns_max", "events_refused",
            "state_lost", "events_discarded", "worker_output_dropped", "unblamed_violations"));

    private final long[] v;

    Counters(long[] values) {
        if (values.length != NAMES.size()) {
            throw new InternalException("expected " + NAMES.size() + " counters, got " + values.length);
        }
        this.v = values.clone();
    }

    /** @return calls started (sync and async) */
    public long calls() { return v[0]; }
    /** @return calls that failed */
    public long errors() { return v[1]; }
    /** @return worker crashes (isolation) */
    public long crashes() { return v[2]; }
    /** @return worker respawns (isolation) */
    public long respawns() { return v[3]; }
    /** @return calls that timed out (isolation) */
    public long timeouts() { return v[4]; }
    /** @return submits accepted */
    public long submits() { return v[5]; }
    /**
     * @return submits cancelled: those that never ran, and running isolated calls a cancel ended
     *     (their worker replaced)
     */
    public long cancelled() { return v[6]; }
    /** @return events the module emitted and the host accepted */
    public long eventsEmitted() { return v[7]; }
    /** @return event deliveries to listeners */
    public long eventsDelivered() { return v[8]; }
    /** @return events lost without the module being told (an isolated worker's event the full host queue could not take); refusals are {@link #eventsRefused()} */
    public long eventsDropped() { return v[9]; }
    /** @return listeners that threw, and completions that could not be delivered */
    public long callbackErrors() { return v[10]; }
    /** @return calls whose latency was sampled (one in 16) */
    public long latencySamples() { return v[11]; }
    /** @return sum of sampled latencies, nanoseconds */
    public long latencyNanosTotal() { return v[12]; }
    /** @return largest sampled latency, nanoseconds */
    public long latencyNanosMax() { return v[13]; }
    /**
     * @return emits refused to the module because the event queue was full (the module was told
     *     and may retry, so a refusal is not a lost event; lost events are {@link #eventsDropped()})
     */
    public long eventsRefused() { return v[14]; }
    /**
     * @return deliveries that never happened because the subscription was closed, or its module or
     *     host closed, after the event was accepted (one per listener, like {@link #eventsDelivered()});
     *     exact once {@code flush} or the close has returned
     */
    public long eventsDiscarded() { return v[16]; }

    /**
     * @return restarts of a stateful module's isolated worker reported to a caller as {@link
     *     StateLostException} (each lost state counts once)
     */
    public long stateLost() { return v[15]; }

    /**
     * @return bytes of isolated workers' stderr the host read but did not log (beyond a few lines
     *     per second per worker; a worker writing faster than about 1 MiB/s waits on its own write)
     */
    public long workerOutputDropped() { return v[17]; }
    /**
     * @return protocol violations of isolated workers blamed on no call: committed while the worker
     *     was idle (or before the call in flight); the worker was replaced and no call failed. Not
     *     counted in {@link #crashes()}.
     */
    public long unblamedViolations() { return v[18]; }

    /**
     * @param name a name from {@link #NAMES}
     * @return its value
     * @throws IllegalArgumentException for an unknown name
     */
    public long get(String name) {
        int i = NAMES.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("unknown counter: " + name);
        }
        return v[i];
    }

    /** @return every counter by name, in {@link #NAMES} order */
    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < v.length; i++) {
            m.put(NAMES.get(i), v[i]);
        }
        return Collections.unmodifiableMap(m);
    }

    @Override
    public String toString() {
        return "Counters" + asMap();
    }
}
