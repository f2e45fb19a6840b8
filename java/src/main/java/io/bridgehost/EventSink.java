package io.bridgehost;

/**
 * What the native side holds a global reference to while a subscription is active (and deletes
 * when it ends). It references its {@link Subscription}, so an active subscription keeps its
 * module and host reachable: they are not cleaned while events can still arrive.
 */
final class EventSink {
    private final Subscription owner;
    private final ModuleEventListener listener;

    EventSink(Subscription owner, ModuleEventListener listener) {
        this.owner = owner;
        this.listener = listener;
    }

    /**
     * Called by the native event thread, inside a local frame. Never lets an exception escape.
     *
     * @return false when the listener threw (the native side counts it)
     */
    boolean deliver(String topic, byte[] data) {
        try {
            listener.onEvent(topic, data);
            return true;
        } catch (Throwable t) {
            Log.listenerFailed(owner.topic(), t);
            return false;
        }
    }
}
