package io.bridgehost;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.FutureTask;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Blocking native calls made on virtual threads (Java 21+).
 *
 * <p>A virtual thread that enters native code is pinned to its carrier until the native call
 * returns: a module call that blocks (a sleep, I/O, a wait for an isolated worker) would hold one
 * of the few carriers for its whole duration and starve every other virtual thread. So a call to a
 * method not flagged non-blocking, made on a virtual thread, runs on a platform thread of this
 * class ({@code bridgehost-blocking-N}, daemon, created on demand, ended after 60 s idle), while
 * the virtual thread waits for it unmounted. Calls from platform threads, and calls to methods
 * flagged non-blocking, run directly on the caller's thread as before.
 *
 * <p>The library compiles for Java 17: {@code Thread.isVirtual()} is looked up reflectively once.
 */
final class Blocking {
    private static final MethodHandle IS_VIRTUAL = lookupIsVirtual();

    private static final AtomicInteger THREADS = new AtomicInteger();

    /** Unbounded, like the platform threads the callers would otherwise be. */
    private static final ExecutorService POOL = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "bridgehost-blocking-" + THREADS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });

    private Blocking() {}

    private static MethodHandle lookupIsVirtual() {
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual",
                    MethodType.methodType(boolean.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null; // Java 17..20: no virtual threads
        }
    }

    /** @return true when the current thread is a virtual thread */
    static boolean onVirtualThread() {
        MethodHandle h = IS_VIRTUAL;
        if (h == null) {
            return false;
        }
        try {
            return (boolean) h.invokeExact(Thread.currentThread());
        } catch (Throwable t) {
            return false;
        }
    }

    /**
     * Runs {@code call} on a platform thread and waits for it without holding the carrier. The call
     * cannot be interrupted (a native call on a platform thread cannot either): an interrupt while
     * waiting is kept and re-asserted when the call has returned.
     */
    static <T> T run(Supplier<T> call) {
        FutureTask<T> task = new FutureTask<>(call::get);
        POOL.execute(task);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof RuntimeException) {
                        throw (RuntimeException) cause;
                    }
                    if (cause instanceof Error) {
                        throw (Error) cause;
                    }
                    throw new InternalException("internal error: " + cause);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@link #run(Supplier)} for an int result (no boxing on the caller's side of the API). */
    static int runInt(IntSupplier call) {
        return run(call::getAsInt);
    }

    /** {@link #run(Supplier)} for a long result (the scalar calls). */
    static long runLong(LongSupplier call) {
        return run(call::getAsLong);
    }
}
