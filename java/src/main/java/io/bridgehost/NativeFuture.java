package io.bridgehost;

import java.util.concurrent.CompletableFuture;

/**
 * The future {@link Method#submit} returns. Completed by the native side on a bridgehost pool
 * thread; {@link #cancel} also cancels the call in the core (see {@link #cancel}).
 */
final class NativeFuture extends CompletableFuture<byte[]> {
    /** Keeps the method (and its module and host) reachable until the native side completes us. */
    private volatile Method method;
    private volatile long task;

    NativeFuture(Method method) {
        this.method = method;
    }

    void setTask(long task) {
        this.task = task;
        if (isCancelled()) {
            Native.cancel(task);
        }
    }

    /** Called by the native side with the output. */
    void succeed(byte[] output) {
        method = null;
        complete(output);
    }

    /** The call was never queued: the rejection is the outcome. */
    void rejected(RuntimeException e) {
        method = null;
        completeExceptionally(e);
    }

    /** Called by the native side with the error. */
    void fail(int kind, String message, long detail) {
        method = null;
        completeExceptionally(BridgeHostException.fromNative(kind, message, detail));
    }

    /**
     * Cancels this future and the call in the core: a call that has not started never runs, a
     * running isolated call is ended (its worker is killed and replaced); the module's
     * {@code cancelled} counter counts both. A running in-process call cannot be interrupted: it
     * finishes in the background and its output is discarded (this future is cancelled all the
     * same).
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        long t = task;
        if (cancelled && t != 0) {
            Native.cancel(t);
        }
        return cancelled;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>();
    }
}
