package io.bridgehost;

import java.lang.ref.Cleaner;

/** The one {@link Cleaner} (and its daemon thread) of the library. */
final class Cleaners {
    static final Cleaner CLEANER = Cleaner.create();

    private Cleaners() {}
}
