package io.bridgehost;

/** A size or memory limit was exceeded (input or output larger than the module's limits, a worker over its memory limit). Kind {@link ErrorKind#RESOURCE_LIMIT}. */
public class ResourceLimitException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public ResourceLimitException(String message) {
        super(ErrorKind.RESOURCE_LIMIT, message);
    }
}
