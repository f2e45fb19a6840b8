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
 *
 * <p>The supervision settings of an isolated module ({@link #withSpareWorkers(int)} to
 * {@link #withSandbox(boolean)}; docs/ISOLATION.md, "Supervision settings") keep the core's default
 * until set. Set to anything but its default on an in-process module, a setting that only a
 * module's workers use is refused when the module is opened ("cpu_limit requires process
 * isolation"); {@link #withStartupTimeout(Duration)} and {@link #withSandbox(boolean)} also rule the
 * worker of {@link #withValidateInWorker(boolean)}, so in-process they need it ("sandbox requires
 * process isolation or validate_in_worker").
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
    private final Supervision supervision;

    /**
     * The supervision settings as the caller set them; null: not set (the core's default). Copied
     * by each {@code with...} that sets one, never changed once a {@code ModuleOptions} holds it.
     */
    private static final class Supervision {
        static final Supervision NONE = new Supervision();

        Integer spareWorkers;
        Long breakerFailures;
        Duration breakerWindow;
        Duration breakerCooldown;
        Duration startupTimeout;
        Duration closeGrace;
        Duration cpuLimit;
        /** {@link #withoutCpuLimit()}: no CPU limit ({@code cpuLimit} is then null). */
        boolean noCpuLimit;
        Integer openFiles;
        Boolean sandbox;

        Supervision copy() {
            Supervision c = new Supervision();
            c.spareWorkers = spareWorkers;
            c.breakerFailures = breakerFailures;
            c.breakerWindow = breakerWindow;
            c.breakerCooldown = breakerCooldown;
            c.startupTimeout = startupTimeout;
            c.closeGrace = closeGrace;
            c.cpuLimit = cpuLimit;
            c.noCpuLimit = noCpuLimit;
            c.openFiles = openFiles;
            c.sandbox = sandbox;
            return c;
        }
    }

    private ModuleOptions(Isolation isolation, int workers, Duration callTimeout, Long memoryLimit,
            long maxInput, long maxOutput, long maxEvent, byte[] config, Path workerPath,
            boolean validateInWorker, Supervision supervision) {
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
        this.supervision = supervision;
    }

    /** This copy with other supervision settings. */
    private ModuleOptions with(Supervision s) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, workerPath, validateInWorker, s);
    }

    /**
     * The defaults, read from the native library (the core's values): in-process, 1 worker, no
     * call timeout ({@link #callTimeout()} null), no memory limit ({@link #memoryLimit()} -1),
     * {@link #maxInput()} and {@link #maxOutput()} 256 MiB, {@link #maxEvent()} 1 MiB, no config,
     * and no supervision setting set (each getter, {@link #spareWorkers()} to {@link #sandbox()},
     * then reads the core's default).
     *
     * @return the defaults
     */
    public static ModuleOptions defaults() {
        long[] d = Defaults.V;
        Duration timeout = d[4] < 0 ? null : Duration.ofNanos(d[4]);
        return new ModuleOptions(Isolation.IN_PROCESS, (int) d[3], timeout, d[5] < 0 ? null : Long.valueOf(d[5]), d[6],
                d[7], d[8], new byte[0], null, false, Supervision.NONE);
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
                memoryLimit, maxInput, maxOutput, maxEvent, config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param n worker processes (isolation only; 1..64)
     * @return a copy
     */
    public ModuleOptions withWorkers(int n) {
        return new ModuleOptions(isolation, n, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param timeout per-call deadline (isolation only); the worker serving a late call is killed
     * @return a copy
     */
    public ModuleOptions withCallTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return new ModuleOptions(isolation, workers, timeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param bytes address-space limit of each worker (isolation only)
     * @return a copy
     */
    public ModuleOptions withMemoryLimit(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, bytes, maxInput,
                maxOutput, maxEvent, config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param bytes largest input accepted ({@link ResourceLimitException} beyond)
     * @return a copy
     */
    public ModuleOptions withMaxInput(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, bytes,
                maxOutput, maxEvent, config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param bytes largest output accepted, enforced while the module writes
     *     ({@link ResourceLimitException} beyond)
     * @return a copy
     */
    public ModuleOptions withMaxOutput(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput,
                bytes, maxEvent, config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param bytes largest event payload accepted from the module
     * @return a copy
     */
    public ModuleOptions withMaxEvent(long bytes) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput,
                bytes, config, workerPath, validateInWorker, supervision);
    }

    /**
     * @param config bytes passed to the module's {@code init} (copied)
     * @return a copy
     */
    public ModuleOptions withConfig(byte[] config) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                Objects.requireNonNull(config, "config").clone(), workerPath, validateInWorker, supervision);
    }

    /**
     * @param path the {@code bridgehost-worker} executable (isolation only; default: the
     *     {@code BRIDGEHOST_WORKER} environment variable, then beside the native library)
     * @return a copy
     */
    public ModuleOptions withWorkerPath(Path path) {
        return new ModuleOptions(isolation, workers, callTimeout, memoryLimit, maxInput, maxOutput, maxEvent,
                config, Objects.requireNonNull(path, "path"), validateInWorker, supervision);
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
                config, workerPath, validate, supervision);
    }

    /**
     * @param n ready workers kept warm beside the pool, to replace a crashed one at once (isolation
     *     only; 0..8; default 1; none for a stateful module)
     * @return a copy
     */
    public ModuleOptions withSpareWorkers(int n) {
        Supervision s = supervision.copy();
        s.spareWorkers = n;
        return with(s);
    }

    /**
     * @param n worker failures (crash, exit, timeout, protocol violation, failed start) within
     *     {@link #withBreakerWindow(Duration) the breaker window}, with no successful call in
     *     between, that open the circuit breaker: calls then fail at once with
     *     {@link UnavailableException} (isolation only; 1..2^32-1; default 5)
     * @return a copy
     */
    public ModuleOptions withBreakerFailures(long n) {
        Supervision s = supervision.copy();
        s.breakerFailures = n;
        return with(s);
    }

    /**
     * @param window the window the {@link #withBreakerFailures(long) breaker's failures} must fall in
     *     (isolation only; positive, at most one year; default 30 s)
     * @return a copy
     */
    public ModuleOptions withBreakerWindow(Duration window) {
        Objects.requireNonNull(window, "window");
        Supervision s = supervision.copy();
        s.breakerWindow = window;
        return with(s);
    }

    /**
     * @param cooldown how long an open breaker refuses calls, doubling on each re-trip up to 60 s (or
     *     this, if longer) (isolation only; positive, at most one year; default 1 s)
     * @return a copy
     */
    public ModuleOptions withBreakerCooldown(Duration cooldown) {
        Objects.requireNonNull(cooldown, "cooldown");
        Supervision s = supervision.copy();
        s.breakerCooldown = cooldown;
        return with(s);
    }

    /**
     * @param timeout longest a worker may take to load the module and run its {@code init}; also the
     *     deadline of {@link #withValidateInWorker(boolean)} (isolation, or in-process with
     *     validateInWorker; positive, at most one year; default 10 s)
     * @return a copy
     */
    public ModuleOptions withStartupTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        Supervision s = supervision.copy();
        s.startupTimeout = timeout;
        return with(s);
    }

    /**
     * @param grace at close, how long calls in flight may still finish before their workers are
     *     killed (they then fail with {@link ClosedException}) (isolation only; 0 (at once) up to one
     *     year; default 5 s)
     * @return a copy
     */
    public ModuleOptions withCloseGrace(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        Supervision s = supervision.copy();
        s.closeGrace = grace;
        return with(s);
    }

    /**
     * CPU time each worker may use (RLIMIT_CPU, whole seconds: a fraction is dropped). A worker that
     * reaches it finishes its call and is replaced; a call still running 5 s later is killed
     * ({@link ResourceLimitException}). Not set, it is the core's default, one hour per worker;
     * {@link #withoutCpuLimit()} lifts it.
     *
     * @param limit the CPU time (isolation only; 1 s up to one year; default 1 hour)
     * @return a copy
     */
    public ModuleOptions withCpuLimit(Duration limit) {
        Objects.requireNonNull(limit, "limit");
        Supervision s = supervision.copy();
        s.cpuLimit = limit;
        s.noCpuLimit = false;
        return with(s);
    }

    /**
     * No CPU limit for the workers (Rust's {@code Supervision::cpu_limit = None}): a worker keeps
     * the hard RLIMIT_CPU it inherits from this process, if any. {@link #cpuLimit()} then returns
     * null (as {@link #callTimeout()} does for no timeout); {@link #withCpuLimit(Duration)} sets a
     * limit again. Isolation only: in-process it is a change from the default, refused when the
     * module is opened ("cpu_limit requires process isolation").
     *
     * @return a copy
     */
    public ModuleOptions withoutCpuLimit() {
        Supervision s = supervision.copy();
        s.cpuLimit = null;
        s.noCpuLimit = true;
        return with(s);
    }

    /**
     * @param n descriptors each worker may have open (RLIMIT_NOFILE) (isolation only; 16..65536;
     *     default 64)
     * @return a copy
     */
    public ModuleOptions withOpenFiles(int n) {
        Supervision s = supervision.copy();
        s.openFiles = n;
        return with(s);
    }

    /**
     * @param sandbox false to run the workers without the seccomp filter, Landlock and
     *     no_new_privs, only to debug a module that needs a forbidden system call (isolation, or
     *     in-process with validateInWorker; default true)
     * @return a copy
     */
    public ModuleOptions withSandbox(boolean sandbox) {
        Supervision s = supervision.copy();
        s.sandbox = sandbox;
        return with(s);
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

    /** @return spare workers (the core's default, 1, unless set) */
    public int spareWorkers() {
        return supervision.spareWorkers != null ? supervision.spareWorkers : (int) Defaults.V[10];
    }
    /** @return failures that open the circuit breaker (the core's default, 5, unless set) */
    public long breakerFailures() {
        return supervision.breakerFailures != null ? supervision.breakerFailures : Defaults.V[11];
    }
    /** @return the circuit breaker's window (the core's default, 30 s, unless set) */
    public Duration breakerWindow() { return orDefault(supervision.breakerWindow, 12); }
    /** @return the circuit breaker's cool-down (the core's default, 1 s, unless set) */
    public Duration breakerCooldown() { return orDefault(supervision.breakerCooldown, 13); }
    /** @return the workers' start-up deadline (the core's default, 10 s, unless set) */
    public Duration startupTimeout() { return orDefault(supervision.startupTimeout, 14); }
    /** @return the close grace (the core's default, 5 s, unless set) */
    public Duration closeGrace() { return orDefault(supervision.closeGrace, 15); }
    /**
     * @return each worker's CPU time limit (the core's default, 1 hour, unless set), or null for
     *     none ({@link #withoutCpuLimit()})
     */
    public Duration cpuLimit() { return supervision.noCpuLimit ? null : orDefault(supervision.cpuLimit, 16); }
    /** @return descriptors per worker (the core's default, 64, unless set) */
    public int openFiles() {
        return supervision.openFiles != null ? supervision.openFiles : (int) Defaults.V[17];
    }
    /** @return true when the workers are sandboxed (the core's default, true, unless set) */
    public boolean sandbox() {
        return supervision.sandbox != null ? supervision.sandbox : Defaults.V[18] != 0;
    }

    /** A duration as set, else the core's default at {@code index} of the defaults (-1: none). */
    private static Duration orDefault(Duration set, int index) {
        if (set != null) {
            return set;
        }
        long d = Defaults.V[index];
        return d < 0 ? null : Duration.ofNanos(d);
    }

    /** Entries of {@link #supervisionSettings()}: a mask, 9 settings, 5 nano-of-second parts. */
    static final int SUPERVISION_SLOTS = 15;

    /** The mask bit of {@link #supervisionSettings()} for no CPU limit (the CPU limit's bit, 6, clear). */
    static final int NO_CPU_LIMIT_BIT = 9;

    /**
     * The supervision settings as {@code Native.moduleOpen} takes them: a mask of those set (bit
     * {@code i} for entry {@code i + 1}; bit {@link #NO_CPU_LIMIT_BIT}, with no entry of its own:
     * no CPU limit, {@link #withoutCpuLimit()}), then spare workers, breaker failures, breaker window,
     * breaker cooldown, startup timeout, close grace, CPU limit, open files, sandbox (0 or 1); a
     * duration (entries 3 to 7) as its whole seconds ({@link Duration#getSeconds()}) there and its
     * nano-of-second ({@link Duration#getNano()}) at entry {@code i + 7} (10 to 14), so the native
     * side sees the exact value, however large. The native side keeps the core's default for a
     * setting not set and applies the core's rule to each one set.
     */
    long[] supervisionSettings() {
        Supervision s = supervision;
        long[] v = new long[SUPERVISION_SLOTS];
        Object[] set = {s.spareWorkers, s.breakerFailures, s.breakerWindow, s.breakerCooldown,
            s.startupTimeout, s.closeGrace, s.cpuLimit, s.openFiles, s.sandbox};
        for (int i = 0; i < set.length; i++) {
            Object x = set[i];
            if (x == null) {
                continue;
            }
            v[0] |= 1L << i;
            if (x instanceof Duration) {
                v[i + 1] = ((Duration) x).getSeconds();
                v[i + 8] = ((Duration) x).getNano();
            } else if (x instanceof Boolean) {
                v[i + 1] = (Boolean) x ? 1 : 0;
            } else {
                v[i + 1] = ((Number) x).longValue();
            }
        }
        if (s.noCpuLimit) {
            v[0] |= 1L << NO_CPU_LIMIT_BIT;
        }
        return v;
    }

    /**
     * The call timeout's whole seconds ({@link Duration#getSeconds()}); with
     * {@link #callTimeoutNano()}, the exact value the core's rule judges (a duration too large for
     * a {@code long} of nanoseconds is refused with its own value in the message, as in Python).
     */
    long callTimeoutSeconds() {
        return callTimeout == null ? 0 : callTimeout.getSeconds(); // not read when unset
    }

    /** The call timeout's nano-of-second ({@link Duration#getNano()}). */
    int callTimeoutNano() {
        return callTimeout == null ? 0 : callTimeout.getNano();
    }

    boolean hasCallTimeout() {
        return callTimeout != null;
    }

    byte[] configUnsafe() {
        return config;
    }

}
