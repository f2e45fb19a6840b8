package io.bridgehost;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * An open module. Resolve its methods once with {@link #method(String)} and call them; subscribe to
 * the events it emits with {@link #subscribe(String, ModuleEventListener)}.
 *
 * <p>{@link #close()} is idempotent and safe while calls are in flight: it unsubscribes every
 * listener (waiting for a delivery in progress), waits for the calls in flight, and destroys the
 * module instance. Later calls on its methods throw {@link ClosedException}. A module that becomes
 * unreachable without being closed is closed by a {@link Cleaner}; its methods, active
 * subscriptions and pending futures keep it reachable. Thread-safe.
 *
 * <p>Named {@code NativeModule}, not {@code Module}, because every Java file implicitly imports
 * {@code java.lang.*}: a class {@code io.bridgehost.Module} would make {@code Module} ambiguous
 * with {@link java.lang.Module} in any file that writes {@code import io.bridgehost.*;}.
 */
public final class NativeModule implements AutoCloseable {
    private final Host host;
    private final long handle;
    private final String name;
    private final String version;
    private final String path;
    private final String threadModel;
    private final Isolation isolation;
    private final List<String> methodNames;
    private final Optional<String> interfaceText;
    private final Cleaner.Cleanable cleanable;
    /** Active subscriptions: reachable while this module is (see {@link Subscription}). */
    private final Set<Subscription> subscriptions = ConcurrentHashMap.newKeySet();
    /**
     * Methods resolved here and not yet collected, held weakly: {@link #close()} releases their
     * native handles at once. An unclosed Method otherwise kept the closed module's native state
     * (~8 KiB) until its Cleaner ran, which a JVM whose heap sees little pressure may never do.
     */
    private final Set<Method> methods = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private volatile boolean closed;

    private NativeModule(Host host, long handle, String[] info, String[] methods, String interfaceText) {
        this.host = host;
        this.handle = handle;
        this.name = info[0];
        this.version = info[1];
        this.path = info[2];
        this.threadModel = info[3];
        this.isolation = "process".equals(info[4]) ? Isolation.PROCESS : Isolation.IN_PROCESS;
        this.methodNames = Collections.unmodifiableList(Arrays.asList(methods));
        this.interfaceText = Optional.ofNullable(interfaceText);
        this.cleanable = Cleaners.CLEANER.register(this, new Release(handle));
    }

    static NativeModule create(Host host, long handle) {
        try {
            return new NativeModule(host, handle, Native.moduleInfo(handle), Native.moduleMethods(handle),
                    Native.moduleInterface(handle));
        } catch (RuntimeException | Error e) {
            Native.moduleClose(handle);
            throw e;
        }
    }

    private static final class Release implements Runnable {
        private final long handle;

        Release(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.moduleClose(handle);
        }
    }

    /**
     * Resolves a method by name, once: calls on the returned {@link Method} pay no name lookup.
     *
     * @param methodName the method's name
     * @return the method
     * @throws NotFoundException if the module has no such method
     * @throws ClosedException if the module is closed
     */
    public Method method(String methodName) {
        Objects.requireNonNull(methodName, "methodName");
        ensureOpen();
        try {
            long m = Native.methodResolve(handle, methodName);
            boolean nonBlocking;
            try {
                nonBlocking = (Native.methodFlags(m) & 1) != 0;
            } catch (RuntimeException | Error e) {
                Native.methodClose(m);
                throw e;
            }
            Method method = new Method(this, methodName, m, nonBlocking);
            methods.add(method);
            return method;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Subscribes to the events the module emits on {@code topic}, payload only.
     *
     * @param topic the topic (1..128 bytes of UTF-8), or {@code "*"} for every topic
     * @param listener receives each event's payload on the host's event thread
     * @return the subscription; close it to stop deliveries
     * @see #subscribe(String, ModuleEventListener)
     */
    public Subscription subscribe(String topic, Consumer<byte[]> listener) {
        Objects.requireNonNull(listener, "listener");
        return subscribe(topic, (t, data) -> listener.accept(data), false);
    }

    /**
     * Subscribes to the events the module emits on {@code topic}, from any of its threads.
     *
     * <p>Events are delivered on the host's event thread, one at a time, in emit order per module,
     * through a bounded queue: when it is full, new events are dropped and counted
     * ({@link Counters#eventsDropped()}). After {@link Subscription#close()} returns, the listener
     * is never invoked again. A listener that throws is counted ({@link Counters#callbackErrors()})
     * and logged, rate-limited (the first failures with their stack traces, then a periodic count);
     * deliveries continue. The listener runs with the context class loader of the thread that
     * called {@code subscribe}.
     *
     * <p>Do not close a subscription (or its module or host) from another thread while holding a
     * lock the listener may be waiting for: {@code close} waits for a delivery in progress.
     * Closing from inside the listener itself is fine.
     *
     * @param topic the topic (1..128 bytes of UTF-8), or {@code "*"} for every topic
     * @param listener receives each event
     * @return the subscription
     * @throws InvalidArgumentException for an empty or too long topic
     * @throws ClosedException if the module is closed
     */
    public Subscription subscribe(String topic, ModuleEventListener listener) {
        Objects.requireNonNull(listener, "listener");
        return subscribe(topic, listener, true);
    }

    private Subscription subscribe(String topic, ModuleEventListener listener, boolean wantTopic) {
        Objects.requireNonNull(topic, "topic");
        ensureOpen();
        Subscription s = new Subscription(this, topic);
        EventSink sink = new EventSink(topic, listener);
        try {
            s.attach(Native.subscribe(handle, topic, sink, wantTopic), sink.errors());
            subscriptions.add(s);
            return s;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** @return this module's counters */
    public Counters counters() {
        ensureOpen();
        try {
            return new Counters(Native.moduleCounters(handle));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** @return the host that opened this module */
    public Host host() {
        return host;
    }

    /** @return the name the module declares */
    public String name() {
        return name;
    }

    /** @return the version the module declares */
    public String version() {
        return version;
    }

    /** @return the file the module was loaded from */
    public String path() {
        return path;
    }

    /** @return the module's thread model ({@code "thread-safe"}, {@code "serialized"}, {@code "single-thread"}) */
    public String threadModel() {
        return threadModel;
    }

    /** @return where the module runs */
    public Isolation isolation() {
        return isolation;
    }

    /** @return the names of the module's methods, in declaration order */
    public List<String> methodNames() {
        return methodNames;
    }

    /**
     * The WIT text of the module's typed interface (docs/TYPED.md), exactly as the module embeds
     * it: what {@link #checkBinding(String)} compares a binding's interface with. Read when the
     * module was opened, so it still answers after {@link #close()}.
     *
     * @return the interface's WIT text, or empty for a bytes-only module (one that embeds no
     *     interface)
     */
    public Optional<String> interfaceText() {
        return interfaceText;
    }

    /** @return true once this module or its host was closed */
    public boolean isClosed() {
        return closed || host.isClosed();
    }

    /** Closes the module; idempotent. See the class documentation. */
    @Override
    public void close() {
        closed = true;
        cleanable.clean();
        // The module's close ended its subscriptions: report what their listeners' rate-limited
        // failure logs still hold.
        for (Subscription s : subscriptions) {
            s.ended();
        }
        subscriptions.clear();
        // Its methods can only throw ClosedException now: release their native handles.
        List<Method> resolved;
        synchronized (methods) {
            resolved = new ArrayList<>(methods);
            methods.clear();
        }
        for (Method m : resolved) {
            m.moduleClosed();
        }
        host.moduleClosed(this);
    }

    /** A subscription was closed: it no longer needs to be kept reachable. */
    void unsubscribed(Subscription s) {
        subscriptions.remove(s);
    }

    void ensureOpen() {
        if (isClosed()) {
            throw new ClosedException("closed: module is closed");
        }
    }

    @Override
    public String toString() {
        return "NativeModule[" + name + " " + version + ", " + isolation + (isClosed() ? ", closed" : "") + "]";
    }

    /**
     * Waits until every event emitted so far has been delivered: when this returns, every listener
     * it was for has returned. Events are delivered asynchronously on the host's dispatcher thread,
     * so call this before unsubscribing or closing when the last events matter.
     *
     * @param timeout how long to wait at most, {@link java.time.Duration#ZERO} (what was delivered
     *     already, without waiting) up to one year ({@code null}: no limit); judged exact by the
     *     core's one rule for it, as in every runtime (docs/SYMMETRY.md, {@code flush_timeout})
     * @throws CallTimeoutException when the timeout passes first
     * @throws ClosedException when the module or host closed (undelivered events were discarded)
     * @throws InvalidArgumentException when called from inside an event listener, or for a
     *     negative timeout or one over a year ("invalid argument: flush timeout must be at most one
     *     year, got -1000000000 ns")
     */
    public void flush(java.time.Duration timeout) {
        // No ensureOpen() here: the native side judges the timeout first and then finds the module
        // closed, the core's order (a closed module still names a bad timeout), as in every runtime.
        try {
            Native.moduleFlush(handle, timeout != null, timeout == null ? 0 : timeout.getSeconds(),
                    timeout == null ? 0 : timeout.getNano());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Checks that bindings generated from the WIT text {@code binding} ({@code bridgehost bindgen
     * --lang java}, docs/TYPED.md) work against this module's embedded interface. Generated
     * classes call it when they open or bind a module; the rule is the core's, the same in every
     * runtime (docs/TYPED.md, "Versioning").
     *
     * @param binding the WIT text the bindings were generated from
     * @throws AbiMismatchException if the module has no typed interface or an incompatible one:
     *     the message names the first difference (e.g. "incompatible interface: function add:
     *     parameter 2 (b): string here, u32 in the module")
     * @throws InvalidArgumentException if {@code binding} is not a valid interface
     * @throws ClosedException if the module is closed
     */
    public void checkBinding(String binding) {
        Objects.requireNonNull(binding, "binding");
        ensureOpen();
        try {
            Native.moduleCheckBinding(handle, binding);
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
