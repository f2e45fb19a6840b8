package io.bridgehost.probe;

import io.bridgehost.Host;

/** Loads the library, prints where from, and stays alive until stdin closes. */
public final class HoldProbe {
    private HoldProbe() {}

    public static void main(String[] args) throws Exception {
        System.out.println("loaded-from: " + Host.loadNativeLibrary());
        System.out.flush();
        while (System.in.read() >= 0) {
            // wait for EOF
        }
    }
}
