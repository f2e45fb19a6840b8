package io.bridgehost;

/** A bounded queue (submit queue, event queue) is full; retry later. Kind {@link ErrorKind#OVERLOADED}. */
public class OverloadedException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public OverloadedException(String message) {
        super(ErrorKind.OVERLOADED, message);
    }
}
