package io.bridgehost;

/** The module reported an error, with its own error code. Kind {@link ErrorKind#MODULE}. */
public class ModuleException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    private final int code;

    /**
     * @param message the message
     * @param code the module's error code (never 0 for an error the module reported; 0 only from {@link TypedModuleException})
     */
    public ModuleException(String message, int code) {
        super(ErrorKind.MODULE, message);
        this.code = code;
    }

    /** @return the module's own error code (never 0, but 0 for a {@link TypedModuleException}: the module answered with an error value) */
    public int code() {
        return code;
    }
}
