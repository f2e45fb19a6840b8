package io.bridgehost;

/**
 * The output buffer given to {@link Method#call(java.nio.ByteBuffer, java.nio.ByteBuffer)} is too
 * small. The method did run; its output was discarded. Kind {@link ErrorKind#BUFFER_TOO_SMALL}.
 */
public class BufferTooSmallException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    private final long required;

    /**
     * @param message the message
     * @param required the output size in bytes
     */
    public BufferTooSmallException(String message, long required) {
        super(ErrorKind.BUFFER_TOO_SMALL, message);
        this.required = required;
    }

    /** @return the number of bytes the output needed */
    public long required() {
        return required;
    }
}
