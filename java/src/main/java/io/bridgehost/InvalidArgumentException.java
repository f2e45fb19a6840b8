package io.bridgehost;

/** A bad argument: a bad option value, name or path. Kind {@link ErrorKind#INVALID_ARGUMENT}. */
public class InvalidArgumentException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public InvalidArgumentException(String message) {
        super(ErrorKind.INVALID_ARGUMENT, message);
    }
}
