package io.bridgehost;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * A bridgehost host: opens modules and owns the threads that run submitted calls and deliver
 * events.
 *
 * <pre>{@code
 * try (Host host = Host.create();
 *      NativeModule zlib = host.open("zlib", ModuleOptions.defaults())) {
 *     Method compress = zlib.method("compress");
 *     byte[] packed = compress.call("hello hello hello".getBytes(UTF_8));
 * }
 * }</pre>
 *
 * <p><b>Lifecycle.</b> {@link #close()} is idempotent and safe while calls are in flight: queued
 * submits complete with {@link ClosedException}, calls in flight finish, every module is closed,
 * and no listener runs after it returns (unless called from inside a listener). Any later use of
 * the host, its modules or methods throws {@link ClosedException}. A host that becomes unreachable
 * without being closed is closed by a {@link Cleaner}; its modules, methods, active subscriptions
 * and pending futures keep it reachable.
 *
 * <p><b>Threads.</b> All methods are thread-safe. Submitted calls run on the host's pool threads
 * ({@code bridgehost-pool-N}), events are delivered on its event thread ({@code bridgehost-events});
 * both are daemon threads as far as the JVM is concerned and never delay JVM exit.
 */
public final class Host implements AutoCloseable {
    private final long handle;
    private final HostOptions options;
    private final Cleaner.Cleanable cleanable;
    /**
     * Modules opened here and not yet collected, held weakly: {@link #close()} closes them, which
     * releases their methods' and subscriptions' native handles at once instead of when a GC runs
     * their Cleaners.
     */
    private final Set<NativeModule> modules = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private volatile boolean closed;

    private Host(long handle, HostOptions options) {
        this.handle = handle;
        this.options = options;
        this.cleanable = Cleaners.CLEANER.register(this, new Release(handle));
    }

    /** Cleaning action: must not reference the Host. */
    private static final class Release implements Runnable {
        private final long handle;

        Release(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.hostClose(handle);
        }
    }

    /**
     * Loads the native library now (it is otherwise loaded by the first use) so that a missing or
     * broken installation fails early.
     *
     * @return where the library was loaded from
     * @throws UnsatisfiedLinkError with the list of what was tried
     */
    public static String loadNativeLibrary() {
        Native.ensureLoaded();
        return NativeLoader.loadedFrom();
    }

    /** @return the version of the native library */
    public static String nativeVersion() {
        return Native.version();
    }

    /** @return a host with {@link HostOptions#defaults()} */
    public static Host create() {
        return create(HostOptions.defaults());
    }

    /**
     * @param options the options
     * @return a new host
     * @throws InvalidArgumentException for an option out of range, or a module directory that is
     *     empty or not a directory
     * @throws NotFoundException for a module directory that does not exist
     */
    public static Host create(HostOptions options) {
        Objects.requireNonNull(options, "options");
        String[] dirs = options.moduleDirs().stream().map(Path::toString).toArray(String[]::new);
        long h = Native.hostCreate(dirs, options.submitThreads(), options.submitQueueCapacity(),
                options.eventQueueCapacity(), options.threadName(), options.eventQueueBytes());
        return new Host(h, options);
    }

    /** @return the options this host was created with */
    public HostOptions options() {
        return options;
    }

    /**
     * Opens a module with {@link ModuleOptions#defaults()}.
     *
     * @param nameOrPath a bundled module name ({@code "std"}, {@code "zlib"}, ...) or a path to a
     *     module file
     * @return the module
     * @see #open(String, ModuleOptions)
     */
    public NativeModule open(String nameOrPath) {
        return open(nameOrPath, ModuleOptions.defaults());
    }

    /**
     * Opens a module: by bundled name ({@code "zlib"} → {@code libbridgehost_mod_zlib.so}, searched in
     * {@link HostOptions#moduleDirs()} and the {@linkplain #addModuleDirectory added directories}, then
     * {@code BRIDGEHOST_MODULE_PATH}, then beside the native library, then as a classpath resource
     * {@code META-INF/bridgehost/modules/<platform>/libbridgehost_mod_NAME.so} another jar ships,
     * extracted into the natives' private directory; see docs/MODULES.md) or by path.
     *
     * @param nameOrPath a bundled module name or a path
     * @param options the module's options
     * @return the open module
     * @throws NotFoundException if no such module exists
     * @throws AbiMismatchException if the file is not a valid bridgehost module
     * @throws InvalidArgumentException for bad options
     * @throws ClosedException if this host is closed
     */
    public NativeModule open(String nameOrPath, ModuleOptions options) {
        Objects.requireNonNull(nameOrPath, "nameOrPath");
        Objects.requireNonNull(options, "options");
        ensureOpen();
        try {
            long m;
            try {
                m = nativeOpen(nameOrPath, options);
            } catch (NotFoundException notFound) {
                // Not in any module directory: a module another jar ships as a classpath resource.
                Path shipped;
                try {
                    Native.ensureLoaded(); // the natives' extraction directory comes first
                    shipped = NativeLoader.classpathModule(nameOrPath);
                } catch (IOException e) {
                    NotFoundException x = new NotFoundException("module \"" + nameOrPath
                            + "\": its classpath resource could not be extracted: " + e);
                    x.initCause(e);
                    throw x;
                }
                if (shipped == null) {
                    throw notFound;
                }
                m = nativeOpen(shipped.toString(), options);
            }
            NativeModule module = NativeModule.create(this, m);
            modules.add(module);
            return module;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private long nativeOpen(String spec, ModuleOptions options) {
        return Native.moduleOpen(handle, spec, options.isolation().ordinal(), options.workers(),
                options.hasCallTimeout(), options.callTimeoutSeconds(), options.callTimeoutNano(),
                options.hasMemoryLimit(),
                options.memoryLimit(), options.maxInput(),
                options.maxOutput(), options.maxEvent(), options.configUnsafe(),
                options.workerPath() == null ? null : options.workerPath().toString(),
                options.validateInWorker(), options.supervisionSettings());
    }

    /**
     * Inspects a module without opening it, in a worker process, with the default deadline (10 s).
     *
     * @param nameOrPath a bundled module name or a path, found as {@link #open(String, ModuleOptions)}
     *     finds it
     * @return what the module declares
     * @see #inspect(String, Duration)
     */
    public ModuleInfo inspect(String nameOrPath) {
        return inspect(nameOrPath, null);
    }

    /**
     * Inspects a module without opening it: it is loaded and its descriptor validated in a worker
     * process (its constructors and entry function run there; its {@code init} never runs), never in
     * this JVM. Only a validated descriptor is success: a constructor that exits (with status 0
     * too) is {@link WorkerExitedException}, one that crashes {@link WorkerCrashedException},
     * silence past {@code deadline} {@link CallTimeoutException}, a descriptor that lies
     * {@link AbiMismatchException}.
     *
     * @param nameOrPath a bundled module name or a path
     * @param deadline how long the worker gets to load the module and answer, positive and at most
     *     one year (null: 10 s); judged exact by the core's one rule for it, as in every runtime
     *     (docs/SYMMETRY.md, {@code inspect_deadline})
     * @return what the module declares
     * @throws NotFoundException if no such module exists
     * @throws ClosedException if this host is closed
     * @throws InvalidArgumentException for a deadline not positive or over a year ("invalid
     *     argument: inspect deadline must be positive and at most one year, got 0 ns")
     */
    public ModuleInfo inspect(String nameOrPath, Duration deadline) {
        return describe(nameOrPath, deadline, false);
    }

    /**
     * Inspects a module in this process: its file is loaded here (its constructors and entry
     * function run in this JVM, which nothing can protect against), its descriptor is read
     * fault-tolerantly and validated, no instance is created. Prefer {@link #inspect(String)}.
     *
     * @param nameOrPath a bundled module name or a path
     * @return what the module declares
     */
    public ModuleInfo inspectInProcess(String nameOrPath) {
        return describe(nameOrPath, null, true);
    }

    private ModuleInfo describe(String nameOrPath, Duration deadline, boolean inProcess) {
        boolean has = deadline != null;
        long seconds = has ? deadline.getSeconds() : 0;
        int nano = has ? deadline.getNano() : 0;
        Objects.requireNonNull(nameOrPath, "nameOrPath");
        ensureOpen();
        try {
            byte[] d;
            try {
                d = Native.hostInspect(handle, nameOrPath, has, seconds, nano, inProcess);
            } catch (NotFoundException notFound) {
                // As open: a module another jar ships as a classpath resource.
                Path shipped;
                try {
                    Native.ensureLoaded();
                    shipped = NativeLoader.classpathModule(nameOrPath);
                } catch (IOException e) {
                    NotFoundException x = new NotFoundException("module \"" + nameOrPath
                            + "\": its classpath resource could not be extracted: " + e);
                    x.initCause(e);
                    throw x;
                }
                if (shipped == null) {
                    throw notFound;
                }
                d = Native.hostInspect(handle, shipped.toString(), has, seconds, nano, inProcess);
            }
            return ModuleInfo.decode(d);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Adds a directory searched for modules by name, after {@link HostOptions#moduleDirs()} and the
     * directories added before it (and before {@code BRIDGEHOST_MODULE_PATH}); it takes effect for
     * the next {@link #open(String, ModuleOptions)}.
     *
     * @param dir an existing directory (a relative path is resolved against the process's working
     *     directory now)
     * @throws NotFoundException if it does not exist
     * @throws InvalidArgumentException if it is empty or not a directory
     * @throws ClosedException if this host is closed
     */
    public void addModuleDirectory(Path dir) {
        Objects.requireNonNull(dir, "dir");
        ensureOpen();
        try {
            Native.hostAddModuleDir(handle, dir.toString());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** @return the counters summed over every module this host opened (closed ones included) */
    public Counters counters() {
        ensureOpen();
        try {
            return new Counters(Native.hostCounters(handle));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** @return true once {@link #close()} was called */
    public boolean isClosed() {
        return closed;
    }

    /** Closes the host and everything it opened; idempotent. See the class documentation. */
    @Override
    public void close() {
        closed = true;
        cleanable.clean();
        // The native close closed every module; release the Java side's handles too.
        List<NativeModule> opened;
        synchronized (modules) {
            opened = new ArrayList<>(modules);
            modules.clear();
        }
        for (NativeModule m : opened) {
            m.close();
        }
    }

    /** A module was closed: the host's close no longer needs to reach it. */
    void moduleClosed(NativeModule m) {
        modules.remove(m);
    }

    void ensureOpen() {
        if (closed) {
            throw new ClosedException("closed: host is closed");
        }
    }

    @Override
    public String toString() {
        return "Host[" + (closed ? "closed" : "open") + "]";
    }
}
