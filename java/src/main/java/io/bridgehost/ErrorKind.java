package io.bridgehost;

/**
 * The kind of a bridgehost error ({@link BridgeHostError#kind()}): the same error kinds, with the same stable codes, in
 * every bridgehost runtime (Rust, Java, Python, .NET, C).
 */
public enum ErrorKind {
    /** A caller passed a bad argument (a bad option, a bad name, bad UTF-8...). */
    INVALID_ARGUMENT(1, "invalid_argument"),
    /** A module, method or topic does not exist. */
    NOT_FOUND(2, "not_found"),
    /** A file is not a valid bridgehost module (symbol, magic, version, layout, method table). */
    ABI_MISMATCH(3, "abi_mismatch"),
    /** The module reported an error: see {@link ModuleException#code()}. */
    MODULE(4, "module"),
    /** An isolated worker died from a signal while serving the call. */
    WORKER_CRASHED(5, "worker_crashed"),
    /** The call did not finish before its deadline. */
    TIMEOUT(6, "timeout"),
    /** A size or memory limit was exceeded. */
    RESOURCE_LIMIT(7, "resource_limit"),
    /** The host, module, method or subscription was closed. */
    CLOSED(8, "closed"),
    /** The operation was cancelled. */
    CANCELLED(9, "cancelled"),
    /** A bounded queue is full. */
    OVERLOADED(10, "overloaded"),
    /** A bug caught at a boundary (a panic, a broken invariant). */
    INTERNAL(11, "internal"),
    /** An isolated worker exited on its own while serving the call. */
    WORKER_EXITED(12, "worker_exited"),
    /** An isolated worker broke the transport protocol. */
    PROTOCOL(13, "protocol"),
    /** The module is temporarily unavailable (circuit breaker open, feature not available). */
    UNAVAILABLE(14, "unavailable"),
    /** A caller-provided output buffer is too small: see {@link BufferTooSmallException#required()}. */
    BUFFER_TOO_SMALL(15, "buffer_too_small"),
    /**
     * A stateful module's isolated worker was restarted (crash, timeout, cancel, recycle) since the
     * previous call: its state is gone. Reported once, to the next call, which did not run.
     */
    STATE_LOST(16, "state_lost");

    private final int code;
    private final String id;

    ErrorKind(int code, String id) {
        this.code = code;
        this.id = id;
    }

    /** @return the stable numeric code (1..16), the same in every runtime */
    public int code() {
        return code;
    }

    /** @return the stable snake_case name ({@code "invalid_argument"}, ...) */
    public String id() {
        return id;
    }

    /**
     * @param code a numeric code
     * @return the kind with that code, or {@link #INTERNAL} for an unknown code
     */
    public static ErrorKind fromCode(int code) {
        for (ErrorKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        return INTERNAL;
    }
}
