package io.bridgehost;

/**
 * Receives a module's events. Runs on the host's event thread ({@code bridgehost-events}), one event
 * at a time, in emit order per module; keep it short (hand long work to an executor).
 *
 * <p>A listener that throws does not stop deliveries: the exception is counted in
 * {@link Counters#callbackErrors()} and logged to {@code System.getLogger("io.bridgehost")} at
 * {@code ERROR}, rate-limited per subscription: the first 10 failures with their stack traces, then
 * at most one summary record a minute with the count and the last exception (and one when the
 * subscription is closed).
 *
 * <p>The event thread's context class loader is the one the subscribing thread had when it called
 * {@code subscribe}.
 *
 * <p>Named {@code ModuleEventListener}, not {@code EventListener}, so that {@code import java.util.*;}
 * and {@code import io.bridgehost.*;} can be used together ({@link java.util.EventListener}).
 */
@FunctionalInterface
public interface ModuleEventListener {
    /**
     * @param topic the topic the module emitted on
     * @param data the payload (a new array per event, owned by the listener)
     */
    void onEvent(String topic, byte[] data);
}
