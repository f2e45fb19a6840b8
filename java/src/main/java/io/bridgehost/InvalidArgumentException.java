package io.bridgehost;

/**
 * A bad argument: a bad option value, name, path or input length. Kind
 * {@link ErrorKind#INVALID_ARGUMENT}.
 *
 * <p>It is an {@link IllegalArgumentException}, as Java expects of a bad argument (and as Python's
 * {@code InvalidArgumentError} is a {@code ValueError} and .NET's {@code InvalidArgumentException}
 * an {@code ArgumentException}), so it is the one bridgehost error that is not a
 * {@link BridgeHostException}; both implement {@link BridgeHostError}.
 */
public class InvalidArgumentException extends IllegalArgumentException implements BridgeHostError {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public InvalidArgumentException(String message) {
        super(message);
    }

    /** @return {@link ErrorKind#INVALID_ARGUMENT} */
    @Override
    public ErrorKind kind() {
        return ErrorKind.INVALID_ARGUMENT;
    }
}
