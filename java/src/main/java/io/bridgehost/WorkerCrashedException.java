package io.bridgehost;

/**
 * An isolated worker died from a signal while serving the call; the worker is replaced and the
 * next call runs normally. Kind {@link ErrorKind#WORKER_CRASHED}.
 */
public class WorkerCrashedException extends BridgeHostException {
    private static final long serialVersionUID = 1L;

    private final int signal;

    /**
     * @param message the message
     * @param signal the signal number (11 for SIGSEGV, 6 for SIGABRT, ...)
     */
    public WorkerCrashedException(String message, int signal) {
        super(ErrorKind.WORKER_CRASHED, message);
        this.signal = signal;
    }

    /** @return the signal that killed the worker */
    public int signal() {
        return signal;
    }
}
