package io.bridgehost;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Options of a {@link NativeModule}. Immutable; each {@code with...} returns a copy and keeps the
 * value as given. The core validates every value and the combination when the module is opened (one
 * rule per option, shared by every runtime; for example workers 1..64, or a call timeout requires
 * process isolation: an in-process call cannot be interrupted) and throws
 * {@link InvalidArgumentException} naming the option.
 */
public final class ModuleOptions {

    /** The core's defaults, read once from the native library. */
    private static final class Defaults {
        static final long[] V = Native.optionDefaults();
    }

    private final Isolation isolation;
    private final int workers;
    private final Duration callTimeout;
    private final Long memoryLimit; // null: no limit
    private final long maxInput;
    private final long maxOutput;
    private final long maxEvent;
    private final byte[] config;
    private final Path workerPath;
    private final boolean validateInWorker;

    private ModuleOptions(Isolation isolation, int workers, Duration callTimeout, Long memoryLimit,
            long maxInput, long maxOutput, long maxEvent, byte[] config, Path workerPath,
            boolean validateInWorker) {
        this.isolation = isolation;
        this.workers = workers;
        this.callTimeout = callTimeout;
        this.memoryLimit = memoryLimit;
        this.maxInput = maxInput;
        this.maxOutput = maxOutput;
        this.maxEvent = maxEvent;
        this.config = config;
        this.workerPath = workerPath;
        this.validateInWorker = validateInWorker;
    }

    /**
     * The defaults, read from the native library (the core's values): in-process, 1 worker, no
     * call timeout ({@link #callTimeout()} null), no memory limit ({@link #memoryLimit()} -1),
     * {@link #maxInput()} and {@link #maxOutput()} 256 MiB, {@link #maxEvent()} 1 MiB, no config.
     *
     * @return the defaults
     */
    public static ModuleOptions defaults() {
        long[] d = Defaults.V;
        Duration timeout = d[4] < 0 ? null : Duration.ofNanos(d[4]);
        return new ModuleOptions(Isolation.IN_PROCESS, (int) d[3], timeout, d[5] < 0 ? null : Long.valueOf(d[5]), d[6],
                d[7], d[8], new byte[0], null, false);
    }

    /** @return {@link #defaults()} with {@link Isolation#PROCESS} (one worker) */
    public static ModuleOptions isolated() {
        return defaults().withIsolation(Isolation.PROCESS);
    }

    /**
     * @param isolation in-process or worker processes
     * @return a copy
     */
    public ModuleOptions withIsolation(Isolation isolation) {
        return new ModuleOptions(Objects.requireNonNull(isolation, "isolation"), workers, callTimeout,
                memoryLimit, maxInput, maxOutput, maxEvent, config, workerPath, validateInWorker);
    }

    /**
     * @param n worker processes (isolation only; 1..64)
     * @return a copy
     */
    public ModuleOptions withWorkers(int n) {
        return new ModuleOptions(isolation, n, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, workerPath, validateInWorker);
    }

    /**
     * @param timeout per-call deadline (isolation only); the worker serving a late call is killed
     * @return a copy
     */
    public ModuleOptions withCallTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return new ModuleOptions(isolation, workers, timeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, workerPath, validateInWorker);
    }

    /**
     * @param bytes address-space limit of each worker (isolation only)
     * @return a copy
     */
    public ModuleOptions withMemoryLimit(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, bytes, maxInput,
                maxOutput, maxEvent, config, workerPath, validateInWorker);
    }

    /**
     * @param bytes largest input accepted ({@link ResourceLimitException} beyond)
     * @return a copy
     */
    public ModuleOptions withMaxInput(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, bytes,
                maxOutput, maxEvent, config, workerPath, validateInWorker);
    }

    /**
     * @param bytes largest output accepted, enforced while the module writes
     *     ({@link ResourceLimitException} beyond)
     * @return a copy
     */
    public ModuleOptions withMaxOutput(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput,
                bytes, maxEvent, config, workerPath, validateInWorker);
    }

    /**
     * @param bytes largest event payload accepted from the module
     * @return a copy
     */
    public ModuleOptions withMaxEvent(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput,
                bytes, config, workerPath, validateInWorker);
    }

    /**
     * @param config bytes passed to the module's {@code init} (copied)
     * @return a copy
     */
    public ModuleOptions withConfig(byte[] config) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                Objects.requireNonNull(config, "config").clone(), workerPath, validateInWorker);
    }

    /**
     * @param path the {@code bridgehost-worker} executable (isolation only; default: the
     *     {@code BRIDGEHOST_WORKER} environment variable, then beside the native library)
     * @return a copy
     */
    public ModuleOptions withWorkerPath(Path path) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, Objects.requireNonNull(path, "path"), validateInWorker);
    }

    /**
     * In-process only: before the module is loaded into this process, load and validate it in a
     * worker process first ({@link Host#inspect(String)}), so that a module whose constructors or
     * entry function exit, crash or hang fails {@link Host#open(String, ModuleOptions)} with a typed
     * exception ({@link WorkerExitedException}, {@link WorkerCrashedException},
     * {@link CallTimeoutException} after 10 s, {@link AbiMismatchException}) instead of ending or
     * hanging the JVM. It cannot protect against code that behaves differently the second time:
     * untrusted modules must run with {@link Isolation#PROCESS}. Uses {@link #workerPath()}.
     *
     * @param validate true to validate in a worker first
     * @return a copy
     */
    public ModuleOptions withValidateInWorker(boolean validate) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, workerPath, validate);
    }

    /** @return true when the module is validated in a worker before an in-process load */
    public boolean validateInWorker() { return validateInWorker; }

    /** @return the isolation mode */
    public Isolation isolation() { return isolation; }
    /** @return worker count */
    public int workers() { return workers; }
    /** @return the call timeout, or null for none */
    public Duration callTimeout() { return callTimeout; }
    /** @return the memory limit in bytes, or -1 for none */
    public long memoryLimit() { return memoryLimit == null ? -1 : memoryLimit; }

    boolean hasMemoryLimit() { return memoryLimit != null; }
    /** @return max input bytes */
    public long maxInput() { return maxInput; }
    /** @return max output bytes */
    public long maxOutput() { return maxOutput; }
    /** @return max event bytes */
    public long maxEvent() { return maxEvent; }
    /** @return a copy of the config bytes */
    public byte[] config() { return config.clone(); }
    /** @return the worker path, or null for the default */
    public Path workerPath() { return workerPath; }

    long callTimeoutNanos() {
        if (callTimeout == null) {
            return 0; // not read: hasCallTimeout() is false
        }
        try {
            return callTimeout.toNanos();
        } catch (ArithmeticException e) {
            return callTimeout.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    boolean hasCallTimeout() {
        return callTimeout != null;
    }

    byte[] configUnsafe() {
        return config;
    }

}
