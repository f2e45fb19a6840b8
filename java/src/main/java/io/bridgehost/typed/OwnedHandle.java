package io.bridgehost.typed;

import io.bridgehost.AbiMismatchException;
import io.bridgehost.ClosedException;
import io.bridgehost.Method;
import java.lang.ref.Cleaner;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The handle of a WIT resource object that the caller owns (docs/TYPED.md, "Resources (handles)"):
 * what a generated resource class holds. It releases the handle exactly once, by
 * {@link #close()} (which sends {@code [resource-drop]R} and waits for it) or, when its owner
 * becomes unreachable without being closed, by a {@link Cleaner} action that <em>submits</em> the
 * drop to the host's pool and ignores its outcome. The action holds the drop {@link Method}, the
 * handle and the released flag, never the owner.
 *
 * <p>Thread-safe. {@link #get()} refuses a released handle with {@link ClosedException}, so a
 * released object never reaches the module; a call that passed {@link #get()} before another
 * thread's {@link #close()} began may still reach the module with the handle (the module keeps an
 * object alive for a running call, and refuses a dropped handle as stale).
 */
public final class OwnedHandle {
    private static final Cleaner CLEANER = Cleaner.create();

    private final String resource;
    private final long handle;
    private final Method drop;
    private final AtomicBoolean released;
    private final Cleaner.Cleanable cleanable;

    private OwnedHandle(Object owner, Method drop, String resource, long handle) {
        this.resource = resource;
        this.handle = handle;
        this.drop = drop;
        this.released = new AtomicBoolean();
        this.cleanable = CLEANER.register(owner, new Drop(drop, handle, released));
    }

    /**
     * Takes ownership of {@code handle}: from now on it is dropped once, by {@link #close()} or
     * when {@code owner} becomes unreachable.
     *
     * @param owner the object whose reachability keeps the handle (the generated resource object)
     * @param drop the resource's {@code [resource-drop]R} method
     * @param resource the resource's WIT name, for messages
     * @param handle the handle the module returned
     * @return the owned handle
     */
    public static OwnedHandle own(Object owner, Method drop, String resource, long handle) {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(drop, "drop");
        Objects.requireNonNull(resource, "resource");
        return new OwnedHandle(owner, drop, resource, handle);
    }

    /** The cleanup: no reference to the owner, only what a drop needs. */
    private static final class Drop implements Runnable {
        private final Method drop;
        private final long handle;
        private final AtomicBoolean released;

        Drop(Method drop, long handle, AtomicBoolean released) {
            this.drop = drop;
            this.handle = handle;
            this.released = released;
        }

        @Override
        public void run() {
            // close() sets the flag before it runs this (to unregister it): then nothing is sent.
            if (!released.compareAndSet(false, true) || drop.isClosed()) {
                return;
            }
            try {
                // Submitted, never waited for; a refusal (closed, overloaded) completes the future
                // exceptionally and the outcome is ignored: the module may be gone by now.
                drop.submit(encode(handle));
            } catch (RuntimeException ignored) {
                // Nothing to report to: the owner is gone.
            }
        }
    }

    private static byte[] encode(long handle) {
        WireWriter w = new WireWriter(8);
        w.handle(handle);
        return w.toByteArray();
    }

    /**
     * @return the handle, to send in a call
     * @throws ClosedException if the handle was released
     */
    public long get() {
        if (released.get()) {
            throw new ClosedException("closed: " + resource + " " + this + " was closed");
        }
        return handle;
    }

    /** @return the handle's number, without the closed check (for logs and tests; stale once closed) */
    public long value() {
        return handle;
    }

    /** @return true once {@link #close()} began (or the cleanup ran), or once the module is closed (closing it released the object) */
    public boolean isClosed() {
        return released.get() || drop.isClosed();
    }

    /**
     * Releases the handle; idempotent. The first call marks it released, then sends
     * {@code [resource-drop]R} and waits for it: its failure is thrown, once (the handle is released
     * all the same). A drop has no output: the core refuses one that returns bytes, so this throws
     * {@link AbiMismatchException} "ABI mismatch in PATH: output of [resource-drop]R does not match
     * its interface: N bytes, expected none", once too, as C#'s {@code ResourceHandle.Dispose} and
     * Python's {@code Resource.close()} do. When the module is already closed
     * (closing it released every object) nothing is sent and nothing is thrown.
     *
     * @throws AbiMismatchException if the drop returned output
     */
    public void close() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        cleanable.clean(); // unregisters; the action sees the flag and sends nothing
        if (drop.module().isClosed()) {
            return;
        }
        try {
            // A drop that returns output is refused by the core (AbiMismatchException).
            drop.call(encode(handle));
        } catch (ClosedException e) {
            // The module closed while the drop was on its way: it released the object.
            if (!drop.module().isClosed()) {
                throw e;
            }
        }
    }

    /** @return the handle in hex, as the module's messages show it */
    @Override
    public String toString() {
        return "0x" + Long.toHexString(handle);
    }
}
