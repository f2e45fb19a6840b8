package io.bridgehost;

/** An isolated worker broke the transport protocol; it was killed. Kind {@link ErrorKind#PROTOCOL}. */
public class ProtocolException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public ProtocolException(String message) {
        super(ErrorKind.PROTOCOL, message);
    }
}
