package io.bridgehost;

/**
 * An isolated worker exited on its own while serving the call; it is replaced. Kind
 * {@link ErrorKind#WORKER_EXITED}.
 */
public class WorkerExitedException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    private final int status;

    /**
     * @param message the message
     * @param status the worker's exit status
     */
    public WorkerExitedException(String message, int status) {
        super(ErrorKind.WORKER_EXITED, message);
        this.status = status;
    }

    /** @return the worker's exit status */
    public int status() {
        return status;
    }
}
