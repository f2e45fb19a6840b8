package io.bridgehost;

/**
 * A stateful module's isolated worker was restarted (crash, timeout, cancel, recycle) since the
 * previous call, so the module's state is gone. Thrown once, by the next call, which did not run;
 * later calls run against the fresh instance. Never thrown for an in-process module. Kind {@link
 * ErrorKind#STATE_LOST}.
 */
public class StateLostException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    /** @param message the message */
    public StateLostException(String message) {
        super(ErrorKind.STATE_LOST, message);
    }
}
