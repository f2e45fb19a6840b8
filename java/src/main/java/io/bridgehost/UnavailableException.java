package io.bridgehost;

/** The module is temporarily unavailable (circuit breaker open after repeated worker failures), or a feature is not available in this build. Kind {@link ErrorKind#UNAVAILABLE}. */
public class UnavailableException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public UnavailableException(String message) {
        super(ErrorKind.UNAVAILABLE, message);
    }
}
