package io.bridgehost;

/** A bug caught at a boundary: a panic in native code (with its message) or a broken invariant. Kind {@link ErrorKind#INTERNAL}. */
public class InternalException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public InternalException(String message) {
        super(ErrorKind.INTERNAL, message);
    }
}
