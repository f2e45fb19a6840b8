package io.bridgehost;

/** A file is not a valid bridgehost module (missing entry symbol, wrong magic, ABI version or layout, bad method table). Kind {@link ErrorKind#ABI_MISMATCH}. */
public class AbiMismatchException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public AbiMismatchException(String message) {
        super(ErrorKind.ABI_MISMATCH, message);
    }
}
