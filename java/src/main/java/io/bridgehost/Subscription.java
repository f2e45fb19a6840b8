package io.bridgehost;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;

/**
 * An active subscription to a module's events ({@link NativeModule#subscribe}). It stays active until
 * {@link #close()} (or the module or host closes) as long as the application can still reach it or
 * its module: the module keeps its active subscriptions reachable, and a subscription keeps its
 * module and host reachable, so keeping either one is enough, and the return value of
 * {@code subscribe} may be ignored while the module is kept. When neither is reachable any more
 * (a forgotten host, module and subscription), the {@link Cleaner} closes them and the host's
 * threads end. A listener that captures its module or host keeps them reachable through the native
 * reference to the listener: close such a subscription explicitly.
 *
 * <p>When {@link #close()} returns, the listener is not running (unless close was called from
 * inside it) and will never be invoked again, and the native side has deleted its reference to the
 * listener. Idempotent and thread-safe.
 */
public final class Subscription implements AutoCloseable {
    private final NativeModule module;
    private final String topic;
    private volatile long handle;
    private volatile Cleaner.Cleanable cleanable;
    private volatile ListenerErrors errors;
    private volatile boolean closed;

    Subscription(NativeModule module, String topic) {
        this.module = module;
        this.topic = topic;
    }

    void attach(long h, ListenerErrors errors) {
        this.handle = h;
        this.errors = errors;
        this.cleanable = Cleaners.CLEANER.register(this, new Release(h));
    }

    private static final class Release implements Runnable {
        private final long handle;

        Release(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.subscriptionClose(handle);
        }
    }

    /** @return the topic ({@code "*"}: every topic) */
    public String topic() {
        return topic;
    }

    /** @return the module */
    public NativeModule module() {
        return module;
    }

    /** @return false once closed (or its module or host closed) */
    public boolean isActive() {
        if (closed) {
            return false;
        }
        try {
            return Native.subscriptionActive(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Same as {@link #close()}. */
    public void unsubscribe() {
        close();
    }

    /** Stops deliveries; see the class documentation. */
    @Override
    public void close() {
        closed = true;
        Cleaner.Cleanable c = cleanable;
        if (c != null) {
            c.clean();
        }
        module.unsubscribed(this);
        // After clean(): no delivery runs any more, so the summary counts every failure.
        ListenerErrors e = errors;
        if (e != null) {
            e.closed();
        }
    }

    /** Its module was closed (which ended it natively): log what is still unreported. */
    void ended() {
        closed = true;
        ListenerErrors e = errors;
        if (e != null) {
            e.closed();
        }
    }

    @Override
    public String toString() {
        return "Subscription[" + module.name() + " \"" + topic + "\"" + (closed ? ", closed" : "") + "]";
    }
}
