package io.bridgehost.typed;

/**
 * WIT {@code result<T, E>} where it is a value (a parameter, a field, an element). A function
 * whose own result is a {@code result} returns {@code T} and throws
 * {@link io.bridgehost.TypedModuleException} instead. A side without a payload is {@code Void}
 * with the value {@code null}.
 *
 * @param <T> the ok type
 * @param <E> the error type
 */
public sealed interface Result<T, E> permits Result.Ok, Result.Err {
    /**
     * The ok case.
     *
     * @param <T> the ok type
     * @param <E> the error type
     * @param value the payload ({@code null} only when {@code T} is {@code Void})
     */
    record Ok<T, E>(T value) implements Result<T, E> {}

    /**
     * The error case.
     *
     * @param <T> the ok type
     * @param <E> the error type
     * @param error the payload ({@code null} only when {@code E} is {@code Void})
     */
    record Err<T, E>(E error) implements Result<T, E> {}

    /**
     * @param <T> the ok type
     * @param <E> the error type
     * @param value the payload
     * @return {@code Ok(value)}
     */
    static <T, E> Result<T, E> ok(T value) {
        return new Ok<>(value);
    }

    /**
     * @param <T> the ok type
     * @param <E> the error type
     * @param error the payload
     * @return {@code Err(error)}
     */
    static <T, E> Result<T, E> err(E error) {
        return new Err<>(error);
    }

    /** @return whether this is the ok case */
    default boolean isOk() {
        return this instanceof Ok;
    }
}
