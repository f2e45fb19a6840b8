package io.bridgehost;

/** The operation was cancelled before it ran. Kind {@link ErrorKind#CANCELLED}. */
public class CancelledException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public CancelledException(String message) {
        super(ErrorKind.CANCELLED, message);
    }
}
