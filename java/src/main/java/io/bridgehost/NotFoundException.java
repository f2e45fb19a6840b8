package io.bridgehost;

/** A module, method or topic does not exist. Kind {@link ErrorKind#NOT_FOUND}. */
public class NotFoundException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public NotFoundException(String message) {
        super(ErrorKind.NOT_FOUND, message);
    }
}
