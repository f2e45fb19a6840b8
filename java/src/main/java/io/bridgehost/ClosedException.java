package io.bridgehost;

/**
 * The host, module, method or subscription was closed (kind {@link ErrorKind#CLOSED}). Thrown by
 * any use after {@code close()}, and by calls that were queued when their host closed.
 *
 * <p>It extends {@link BridgeHostException}, not {@link IllegalStateException}, so that one catch
 * clause covers every bridgehost error.
 */
public class ClosedException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public ClosedException(String message) {
        super(ErrorKind.CLOSED, message);
    }
}
