package io.bridgehost;

/**
 * What every exception bridgehost throws for a core error has: its {@link ErrorKind}. Implemented
 * by {@link BridgeHostException} (the base of every kind but one) and by
 * {@link InvalidArgumentException}, which is an {@link IllegalArgumentException} as Java expects
 * of a bad argument.
 *
 * <p>To handle every bridgehost error in one place, catch {@code BridgeHostException} and
 * {@code InvalidArgumentException} (a multi-catch), or catch {@code RuntimeException} and test
 * {@code e instanceof BridgeHostError}.
 */
public interface BridgeHostError {
    /** @return the kind of this error */
    ErrorKind kind();

    /** @return the core's message */
    String getMessage();
}
