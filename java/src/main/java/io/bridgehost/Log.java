package io.bridgehost;

import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Logging: native records and listener failures go to {@code System.getLogger("io.bridgehost")}.
 *
 * <p>Native records at the level set by the system property {@code bridgehost.log.level}
 * ({@code off}, {@code error}, {@code warn} (default), {@code info}, {@code debug}, {@code trace})
 * are forwarded, and only as far as the logger is enabled. They are queued natively and delivered
 * on one daemon thread, {@code bridgehost-log}.
 */
final class Log {
    static final System.Logger LOGGER = System.getLogger("io.bridgehost");

    private static final Level[] LEVELS = {Level.ERROR, Level.WARNING, Level.INFO, Level.DEBUG, Level.TRACE};

    private Log() {}

    /** The native level to forward: the property, capped by what the logger would print. */
    static int configuredLevel() {
        String p = System.getProperty("bridgehost.log.level", "warn").trim().toLowerCase(Locale.ROOT);
        int wanted;
        switch (p) {
            case "off": return -1;
            case "error": wanted = 0; break;
            case "warn": case "warning": wanted = 1; break;
            case "info": wanted = 2; break;
            case "debug": wanted = 3; break;
            case "trace": case "all": wanted = 4; break;
            default: wanted = 1; break;
        }
        for (int l = wanted; l >= 0; l--) {
            if (LOGGER.isLoggable(LEVELS[l])) {
                return l;
            }
        }
        return -1;
    }

    /** Called on the {@code bridgehost-log} thread; never throws. */
    static void fromNative(int level, String target, String message) {
        try {
            Level l = LEVELS[Math.max(0, Math.min(LEVELS.length - 1, level))];
            LOGGER.log(l, "[{0}] {1}", target, message);
        } catch (Throwable ignored) {
            // a logging failure must not escape into native code
        }
    }
}
