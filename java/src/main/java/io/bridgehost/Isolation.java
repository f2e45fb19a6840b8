package io.bridgehost;

/** Where a module's code runs. */
public enum Isolation {
    /** In this process, on the caller's thread (fastest; the module is trusted). */
    IN_PROCESS,
    /**
     * In sandboxed, supervised worker processes: a crash, hang or memory blow-up fails only the
     * call it was serving ({@link WorkerCrashedException}, {@link CallTimeoutException},
     * {@link ResourceLimitException}) and the worker is replaced.
     */
    PROCESS
}
