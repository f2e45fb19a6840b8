package io.bridgehost.bench;

import io.bridgehost.Host;

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
     * A bare native method written against the raw JNI function table: copies the input into native
     * memory and returns a new array with the same bytes.
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
}
