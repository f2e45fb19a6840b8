package io.bridgehost;

/**
 * The call did not finish before its deadline (isolated modules; the worker was killed). Kind
 * {@link ErrorKind#TIMEOUT}.
 *
 * <p>Named {@code CallTimeoutException}, not {@code TimeoutException}, so that
 * {@code import io.bridgehost.*;} and {@code import java.util.concurrent.*;} can be used together
 * ({@link java.util.concurrent.TimeoutException} is what {@code Future.get(timeout)} throws; the
 * two are unrelated). The .NET API uses the same name.
 */
public class CallTimeoutException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public CallTimeoutException(String message) {
        super(ErrorKind.TIMEOUT, message);
    }
}
