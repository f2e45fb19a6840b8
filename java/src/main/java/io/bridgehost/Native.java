package io.bridgehost;

import java.nio.ByteBuffer;

/**
 * The native methods of {@code libbridgehost_jni.so}, registered by its {@code JNI_OnLoad}.
 *
 * <p>Objects are passed as {@code long} ids from generation-checked tables, never as pointers: a
 * stale or forged id makes the native side throw {@link ClosedException}. Public classes call these
 * with {@code Reference.reachabilityFence(this)} after the call, so an object cannot be cleaned (and
 * its id released) while one of its native calls runs.
 */
final class Native {
    static {
        NativeLoader.load();
        int level = Log.configuredLevel();
        if (level >= 0) {
            try {
                setLogLevel(level);
            } catch (BridgeHostException | InvalidArgumentException e) {
                Log.LOGGER.log(System.Logger.Level.WARNING, "bridgehost: native logging not bridged: " + e.getMessage());
            }
        }
    }

    private Native() {}

    /** Forces the library to load (class initialization runs the static block once). */
    static void ensureLoaded() {
        // nothing: reaching here means the static initializer succeeded
    }

    // Host
    static native long hostCreate(String[] moduleDirs, int submitThreads, int submitQueueCapacity,
            int eventQueueCapacity, String threadName, long eventQueueBytes);
    static native void hostClose(long host);
    static native long[] hostCounters(long host);
    static native void hostAddModuleDir(long host, String dir);

    // Module
    // Values go over as the caller set them; the core checks every range (options::Numeric, Span).
    // supervision: ModuleOptions.supervisionSettings() (a mask of the settings set, then the values).
    // A duration goes over exact, as Duration holds it: whole seconds and nano-of-second.
    static native long moduleOpen(long host, String spec, int isolation, int workers,
            boolean hasCallTimeout, long callTimeoutSeconds, int callTimeoutNano,
            boolean hasMemoryLimit, long memoryLimit,
            long maxInput, long maxOutput, long maxEvent, byte[] config, String workerPath,
            boolean validateInWorker, long[] supervision);
    /**
     * @param hasDeadline false: the default deadline (and the only choice in-process)
     * @param deadlineSeconds the deadline's whole seconds ({@link java.time.Duration#getSeconds()})
     * @param deadlineNano its nano-of-second ({@link java.time.Duration#getNano()}): the exact
     *     value the core's rule for the inspect deadline judges
     * @return the module's description (bridgehost::encode_info), see {@link ModuleInfo}
     */
    static native byte[] hostInspect(long host, String spec, boolean hasDeadline, long deadlineSeconds,
            int deadlineNano, boolean inProcess);
    static native void moduleClose(long module);
    /** @return [name, version, path, thread model, isolation] */
    static native String[] moduleInfo(long module);
    static native String[] moduleMethods(long module);
    /** @return the WIT text of the module's typed interface, as embedded, or null for a bytes-only module */
    static native String moduleInterface(long module);
    static native long[] moduleCounters(long module);

    // Method
    static native long methodResolve(long module, String name);
    /** @return bit 0: non-blocking */
    static native int methodFlags(long method);
    static native void methodClose(long method);
    /** Hot path: copies {@code input[offset, offset+length)}, returns the output. */
    static native byte[] call(long method, byte[] input, int offset, int length);
    /** Hot path: zero-copy input from a direct buffer. */
    static native byte[] callDirect(long method, ByteBuffer input, int position, int length);
    /** Typed hot path: flags bit 0, the input is one list&lt;u8&gt;; bit 1, the output is one. */
    static native byte[] callTyped(long method, byte[] input, int flags);
    /**
     * Scalar hot path (docs/TYPED.md, "Direct calls"): one {@code long} slot per argument, the
     * result's slot returned (0 without a result); no array, nothing allocated.
     */
    static native long callScalar0(long method);
    static native long callScalar1(long method, long a0);
    static native long callScalar2(long method, long a0, long a1);
    static native long callScalar3(long method, long a0, long a1, long a2);
    static native long callScalar4(long method, long a0, long a1, long a2, long a3);
    /** Any count (5..8 under generated bindings); the array is copied. */
    static native long callScalarN(long method, long[] args);
    /**
     * @return the method's scalar signature, e.g. {@code "(u32, u32) -> u32"}, or null when it has
     *     none
     */
    static native String methodScalarSignature(long method);
    /** input/output: each a byte[] or a direct ByteBuffer. @return the output length */
    static native int callInto(long method, Object input, int inputOffset, int inputLength,
            Object output, int outputOffset, int outputLength);
    /** @return the task id (for {@link #cancel}) */
    static native long submit(long method, byte[] input, int offset, int length, NativeFuture future);
    static native long submitDirect(long method, ByteBuffer input, int position, int length,
            NativeFuture future);
    static native boolean cancel(long task);

    // SharedBuffer (ranges are checked in Java first; the native side checks them again)
    static native long sharedBufferNew(long length);
    static native void sharedBufferFree(long buffer);
    /** @return false (nothing written) while a call reads the buffer */
    static native boolean sharedBufferPut(long buffer, long offset, byte[] src, int srcOffset, int length);
    /** @return false (nothing written) while a call reads the buffer */
    static native boolean sharedBufferPutDirect(long buffer, long offset, ByteBuffer src, int position,
            int length);
    static native void sharedBufferGet(long buffer, long offset, byte[] dst, int dstOffset, int length);
    /** The module reads {@code buffer[offset, offset + length)} in place; returns the output. */
    static native byte[] callShared(long method, long buffer, long offset, long length);
    /** Copies {@code buffer[offset, offset + length)}; @return the task id */
    static native long submitShared(long method, long buffer, long offset, long length,
            NativeFuture future);

    // Events
    static native long subscribe(long module, String topic, EventSink sink, boolean wantTopic);
    static native void subscriptionClose(long subscription);
    static native boolean subscriptionActive(long subscription);

    // Diagnostics and constants
    /**
     * @return [live global refs, attached core threads, hosts, modules, methods, subscriptions,
     *     tasks, dropped log records, shared buffers]
     */
    static native long[] diagnostics();
    static native String[] errorKindNames();
    static native String[] counterNames();
    static native String version();
    /**
     * The core's default options: submitThreads, submitQueueCapacity, eventQueueCapacity, workers,
     * callTimeout ns (-1: none), memoryLimit (-1: none), maxInput, maxOutput, maxEvent,
     * eventQueueBytes, then the supervision settings: spareWorkers, breakerFailures, breakerWindow
     * ns, breakerCooldown ns, startupTimeout ns, closeGrace ns, cpuLimit ns (-1: unlimited),
     * openFiles, sandbox (0 or 1).
     */
    static native long[] optionDefaults();
    static native String defaultThreadName();
    /** 0 error .. 4 trace; negative: off. */
    static native void setLogLevel(int level);

    /**
     * Waits until every event emitted so far was delivered; {@code !hasTimeout}: no limit. The
     * timeout crosses exact (whole seconds and nano-of-second) and the core's rule for the flush
     * timeout judges it.
     */
    static native void moduleFlush(long module, boolean hasTimeout, long timeoutSeconds, int timeoutNano);

    /** Checks generated bindings for the WIT text {@code binding} fit the module's interface. */
    static native void moduleCheckBinding(long module, String binding);
}
