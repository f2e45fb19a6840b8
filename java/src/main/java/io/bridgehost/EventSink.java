package io.bridgehost;

/**
 * What the native side holds a global reference to while a subscription is active (and deletes
 * when it ends). It does not reference its {@link Subscription}, module or host (only the listener
 * does, if it captures them): a subscription nobody can reach any more, on a module nobody can
 * reach, does not keep them alive, and the Cleaner closes them (issue 12: forgotten subscriptions
 * kept their host and its threads alive for ever). {@link NativeModule} keeps its active
 * subscriptions reachable instead.
 */
final class EventSink {
    private final ModuleEventListener listener;
    private final ListenerErrors errors;
    /** The subscribing thread's context class loader, set on the event thread for each delivery. */
    private final ClassLoader contextLoader;

    /** Runs on the subscribing thread: captures its context class loader. */
    EventSink(String topic, ModuleEventListener listener) {
        this.listener = listener;
        this.errors = new ListenerErrors(topic);
        this.contextLoader = Thread.currentThread().getContextClassLoader();
    }

    /** Rate-limited log of this listener's failures. */
    ListenerErrors errors() {
        return errors;
    }

    /**
     * Called by the native event thread, inside a local frame. Never lets an exception escape.
     *
     * @return false when the listener threw (the native side counts it)
     */
    boolean deliver(String topic, byte[] data) {
        try {
            // One event thread serves every subscription of the host: each listener runs with the
            // context class loader of the thread that subscribed (a web app's, a plugin's...).
            Thread self = Thread.currentThread();
            if (self.getContextClassLoader() != contextLoader) {
                self.setContextClassLoader(contextLoader);
            }
            listener.onEvent(topic, data);
            return true;
        } catch (Throwable t) {
            errors.failed(t);
            return false;
        }
    }
}
