package io.bridgehost.bench;

import io.bridgehost.Host;
import java.util.function.Consumer;

/**
 * Benchmark baselines living in the same native library as bridgehost (see docs/JAVA.md): the
 * floor a JNI binding cannot beat, measured in the same library, jar and JVM as
 * {@code Method.call}.
 */
public final class BareEcho {
    static {
        Host.loadNativeLibrary();
    }

    private BareEcho() {}

    /**
     * A bare native method written against the raw JNI function table (jni-sys, no entry wrapper):
     * copies the input into native memory and returns a new array with the same bytes.
     *
     * @param input the input
     * @return a copy of the input
     */
    public static native byte[] rawEcho(byte[] input);

    /**
     * The same copy-in/copy-out through the jni crate's generic entry ({@code with_env} + an error
     * policy) and its safe array API.
     *
     * @param input the input
     * @return a copy of the input
     */
    public static native byte[] crateEcho(byte[] input);

    /**
     * The floor of a typed {@code add: func(a: u32, b: u32) -> u32} binding, on the raw JNI function
     * table: both arguments range-checked as u32, the sum modulo 2^32.
     *
     * @param a 0..2^32-1
     * @param b 0..2^32-1
     * @return {@code (a + b) mod 2^32}
     * @throws IllegalArgumentException if an argument is out of range for u32
     */
    public static native long rawAdd(long a, long b);

    /**
     * The floor of a typed {@code echo-string: func(s: string) -> string} binding, on the raw JNI
     * function table: copies the string's UTF-16 contents into native memory and returns a new
     * string with them.
     *
     * @param s the string
     * @return an equal string
     */
    public static native String rawEchoString(String s);

    /**
     * The event-delivery baseline: a new native thread delivers {@code count} events to {@code
     * listener}, attaching to the JVM before and detaching after each one (payload: the sequence
     * number, 8 bytes little-endian, as the std module's ticker). Returns when the thread is done.
     *
     * @param listener receives each payload
     * @param count the number of events (not negative)
     * @return the events delivered without the listener throwing
     */
    public static native long attachPerEvent(Consumer<byte[]> listener, int count);

    /**
     * The JNI floor of event delivery: like {@link #attachPerEvent}, but the native thread attaches
     * once for all {@code count} events (each still a new payload array and one call of {@code
     * listener}).
     *
     * @param listener receives each payload
     * @param count the number of events (not negative)
     * @return the events delivered without the listener throwing
     */
    public static native long attachedOnce(Consumer<byte[]> listener, int count);
}
