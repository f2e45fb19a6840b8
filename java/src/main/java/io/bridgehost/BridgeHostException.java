package io.bridgehost;

/**
 * Base class of every error bridgehost reports but one. There is one subclass per
 * {@link ErrorKind}; catch this class for all of them or a subclass for one. The exception is
 * {@link InvalidArgumentException}, an {@link IllegalArgumentException} as Java expects of a bad
 * argument; both implement {@link BridgeHostError} (its {@code kind()}).
 *
 * <p>It is unchecked ({@link RuntimeException}): native calls can fail in many ways that a caller
 * usually handles in one place. Because every bridgehost error shares this one base,
 * {@link ClosedException} extends it rather than {@link IllegalStateException}.
 *
 * <p>Argument checks done in Java before any native call use the JDK's exceptions:
 * {@link NullPointerException} for a null argument and {@link IndexOutOfBoundsException} for an
 * offset/length outside an array. Everything the native side rejects as a bad argument is an
 * {@link InvalidArgumentException}; everything else it reports is a subclass of this one.
 */
public class BridgeHostException extends RuntimeException implements BridgeHostError {
    private static final long serialVersionUID = 1L;

    private final ErrorKind kind;

    /**
     * @param kind the error kind
     * @param message the message
     */
    protected BridgeHostException(ErrorKind kind, String message) {
        super(message);
        this.kind = kind;
    }

    /** @return the kind of this error */
    @Override
    public ErrorKind kind() {
        return kind;
    }

    /**
     * Called by the native library (and by completions) to build the exception for a core error.
     *
     * @param code the kind's numeric code
     * @param message the core's message
     * @param detail module error code, signal, exit status or required size, depending on the kind
     * @return the exception of the right class: a {@link BridgeHostException} subclass, or an
     *     {@link InvalidArgumentException}
     */
    static RuntimeException fromNative(int code, String message, long detail) {
        ErrorKind kind = ErrorKind.fromCode(code);
        switch (kind) {
            case INVALID_ARGUMENT: return new InvalidArgumentException(message);
            case NOT_FOUND: return new NotFoundException(message);
            case ABI_MISMATCH: return new AbiMismatchException(message);
            case MODULE: return new ModuleException(message, (int) detail);
            case WORKER_CRASHED: return new WorkerCrashedException(message, (int) detail);
            case TIMEOUT: return new CallTimeoutException(message);
            case RESOURCE_LIMIT: return new ResourceLimitException(message);
            case CLOSED: return new ClosedException(message);
            case CANCELLED: return new CancelledException(message);
            case OVERLOADED: return new OverloadedException(message);
            case WORKER_EXITED: return new WorkerExitedException(message, (int) detail);
            case PROTOCOL: return new ProtocolException(message);
            case UNAVAILABLE: return new UnavailableException(message);
            case BUFFER_TOO_SMALL: return new BufferTooSmallException(message, detail);
            case STATE_LOST: return new StateLostException(message);
            case INTERNAL:
            default:
                return new InternalException(code == ErrorKind.INTERNAL.code()
                        ? message : "unknown error kind " + code + ": " + message);
        }
    }
}
