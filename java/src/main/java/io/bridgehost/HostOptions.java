package io.bridgehost;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Options of a {@link Host}. Immutable; each {@code with...} returns a copy. Zero means "the
 * default" for the numeric options; the native side rejects out-of-range values with
 * {@link InvalidArgumentException} when the host is created.
 */
public final class HostOptions {
    private final List<Path> moduleDirs;
    private final int submitThreads;
    private final int submitQueueCapacity;
    private final int eventQueueCapacity;
    private final String threadName;
    private final long eventQueueBytes;

    private HostOptions(List<Path> moduleDirs, int submitThreads, int submitQueueCapacity,
            int eventQueueCapacity, String threadName, long eventQueueBytes) {
        this.moduleDirs = Collections.unmodifiableList(new ArrayList<>(moduleDirs));
        this.submitThreads = submitThreads;
        this.submitQueueCapacity = submitQueueCapacity;
        this.eventQueueCapacity = eventQueueCapacity;
        this.threadName = threadName;
        this.eventQueueBytes = eventQueueBytes;
    }

    /** The core's defaults, read once from the native library. */
    private static final class Defaults {
        static final long[] V = Native.optionDefaults();
        static final String THREAD_NAME = Native.defaultThreadName();
    }

    /**
     * The defaults, read from the native library (the core's values): {@link #submitThreads()} 64
     * (threads start on demand and exit after 10 s idle: submitted calls are blocking native work,
     * so the pool is sized by how many calls may wait at once, not by cores), {@link
     * #submitQueueCapacity()} 4096, {@link #eventQueueCapacity()} 65536, {@link #threadName()}
     * {@code "bridgehost"}, {@link #eventQueueBytes()} 64 MiB, no extra module directory.
     *
     * @return the defaults
     */
    public static HostOptions defaults() {
        long[] d = Defaults.V;
        return new HostOptions(List.of(), (int) d[0], (int) d[1], (int) d[2], Defaults.THREAD_NAME, d[9]);
    }

    /**
     * @param dirs directories searched for bundled modules (by name), before
     *     {@code BRIDGEHOST_MODULE_PATH} and the native library's own directory; each must be an
     *     existing directory when {@link Host#create(HostOptions)} runs, which throws
     *     {@link NotFoundException} for a missing one and {@link InvalidArgumentException} for an
     *     empty path or one that is not a directory
     * @return a copy with these directories
     */
    public HostOptions withModuleDirs(List<Path> dirs) {
        List<Path> copy = new ArrayList<>();
        for (Path p : Objects.requireNonNull(dirs, "dirs")) {
            copy.add(Objects.requireNonNull(p, "module directory"));
        }
        return new HostOptions(copy, submitThreads, submitQueueCapacity, eventQueueCapacity, threadName,
                eventQueueBytes);
    }

    /**
     * @param n threads that run submitted calls (1..256; 0: default)
     * @return a copy
     */
    public HostOptions withSubmitThreads(int n) {
        return new HostOptions(moduleDirs, n, submitQueueCapacity,
                eventQueueCapacity, threadName, eventQueueBytes);
    }

    /**
     * @param n submitted calls queued at most before {@code submit} throws {@link OverloadedException}
     * @return a copy
     */
    public HostOptions withSubmitQueueCapacity(int n) {
        return new HostOptions(moduleDirs, submitThreads, n,
                eventQueueCapacity, threadName, eventQueueBytes);
    }

    /**
     * @param n events queued at most; beyond it new events are dropped and counted
     *     ({@link Counters#eventsDropped()})
     * @return a copy
     */
    public HostOptions withEventQueueCapacity(int n) {
        return new HostOptions(moduleDirs, submitThreads, submitQueueCapacity,
                n, threadName, eventQueueBytes);
    }

    /**
     * @param prefix prefix of the names of the host's threads (default {@code "bridgehost"})
     * @return a copy
     */
    public HostOptions withThreadName(String prefix) {
        return new HostOptions(moduleDirs, submitThreads, submitQueueCapacity, eventQueueCapacity,
                Objects.requireNonNull(prefix, "prefix"), eventQueueBytes);
    }

    /**
     * @param n bytes of queued events (payloads, plus a slot each, counting the batch being
     *     delivered) at most; beyond it new events are dropped and counted like
     *     {@link #withEventQueueCapacity(int)}'s (0: default, 64 MiB; at least 65536)
     * @return a copy
     */
    public HostOptions withEventQueueBytes(long n) {
        return new HostOptions(moduleDirs, submitThreads, submitQueueCapacity, eventQueueCapacity,
                threadName, n);
    }

    /** @return the module directories */
    public List<Path> moduleDirs() { return moduleDirs; }
    /** @return most submit threads at once (0: default) */
    public int submitThreads() { return submitThreads; }
    /** @return submit queue capacity (0: default) */
    public int submitQueueCapacity() { return submitQueueCapacity; }
    /** @return event queue capacity (0: default) */
    public int eventQueueCapacity() { return eventQueueCapacity; }
    /** @return the thread name prefix (null: default) */
    public String threadName() { return threadName; }
    /** @return event queue bound in bytes (0: default) */
    public long eventQueueBytes() { return eventQueueBytes; }

}
