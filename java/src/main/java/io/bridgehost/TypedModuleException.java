package io.bridgehost;

/**
 * A typed function whose WIT result is {@code result<T, E>} returned its error case
 * (docs/TYPED.md). Kind {@link ErrorKind#MODULE}, {@link #code()} 0: the module did not fail the
 * call, it answered with an error value, which {@link #value()} carries decoded to its Java type
 * (docs/TYPED.md, "Java"), {@code null} for {@code result<T>} without an error payload.
 */
public class TypedModuleException extends ModuleException {
    private static final long serialVersionUID = 1L;

    private final transient Object value;
    private final String function;

    /**
     * @param function the WIT function that answered with an error
     * @param value the error value, decoded ({@code null} when the type has no error payload)
     */
    public TypedModuleException(String function, Object value) {
        super(function + " returned an error: " + value, 0);
        this.function = function;
        this.value = value;
    }

    /** @return the error value as the generated binding's Java type, or {@code null} */
    public Object value() {
        return value;
    }

    /**
     * The error value as {@code type}.
     *
     * @param <E> the error type
     * @param type the class of the WIT error type's Java mapping (e.g. {@code String.class})
     * @return the value
     * @throws ClassCastException if the value is not a {@code type}
     */
    public <E> E value(Class<E> type) {
        return type.cast(value);
    }

    /** @return the WIT name of the function that answered with an error */
    public String function() {
        return function;
    }
}
