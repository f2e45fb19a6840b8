package io.bridgehost;

/** The call did not finish before its deadline (isolated modules; the worker was killed). Not to be confused with {@code java.util.concurrent.TimeoutException}. Kind {@link ErrorKind#TIMEOUT}. */
public class TimeoutException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public TimeoutException(String message) {
        super(ErrorKind.TIMEOUT, message);
    }
}
