package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 17 item 3: the same mistake reads the same in every runtime, with the core's message
 * (python/tests/test_front_end_messages.py and csharp/tests/FrontEndMessagesTests.cs make the
 * same mistakes and expect the same text).
 */
class FrontEndMessagesTest {
    static Host host;

    @BeforeAll
    static void open() {
        host = TestSupport.host();
    }

    @AfterAll
    static void close() {
        host.close();
    }

    /** A negative length: the core's message for a length it refuses, with its prefix. */
    @Test
    void aNegativeSharedBufferLengthIsTheCoresMessage() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> new SharedBuffer(-1));
        assertEquals("invalid argument: a shared buffer of -1 bytes: give it a length of at least 1", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> new SharedBuffer(0));
        assertEquals("invalid argument: a shared buffer of 0 bytes: give it a length of at least 1", e.getMessage());
    }

    /**
     * A duration too large for a long of nanoseconds is judged and shown as set (it went over as
     * Long.MAX_VALUE ns: "got 9223372036854775807 ns", where Python said the value set).
     */
    @Test
    void aHugeDurationIsRefusedWithItsOwnValue() {
        Map<String, Function<Duration, ModuleOptions>> options = new LinkedHashMap<>();
        options.put("call_timeout", d -> ModuleOptions.isolated().withCallTimeout(d));
        options.put("breaker_window", d -> ModuleOptions.isolated().withBreakerWindow(d));
        options.put("breaker_cooldown", d -> ModuleOptions.isolated().withBreakerCooldown(d));
        options.put("startup_timeout", d -> ModuleOptions.isolated().withStartupTimeout(d));
        options.put("close_grace", d -> ModuleOptions.isolated().withCloseGrace(d));
        options.put("cpu_limit", d -> ModuleOptions.isolated().withCpuLimit(d));
        Map<String, String> rules = Map.of(
                "close_grace", "at most one year",
                "cpu_limit", "at least 1 s and at most one year");
        for (Map.Entry<String, Function<Duration, ModuleOptions>> o : options.entrySet()) {
            String name = o.getKey();
            String rule = rules.getOrDefault(name, "positive and at most one year");
            Object[][] cases = {
                {Duration.ofSeconds(31_536_000_000L), "31536000000000000000"}, // 1000 years
                {Duration.ofSeconds(Long.MAX_VALUE, 999_999_999), "9223372036854775807999999999"},
                {Duration.ofSeconds(Long.MIN_VALUE), "-9223372036854775808000000000"},
                {Duration.ofSeconds(-31_536_000_000L, 1), "-31535999999999999999"},
            };
            for (Object[] c : cases) {
                ModuleOptions opts = o.getValue().apply((Duration) c[0]);
                InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                        () -> host.open("std", opts).close(), name + " " + c[0]);
                assertEquals("invalid argument: " + name + " must be " + rule + ", got " + c[1] + " ns",
                        e.getMessage());
            }
        }
    }

    /**
     * The duration arguments of the two waits (docs/SYMMETRY.md's {@code wait} rows) cross exact
     * and are judged by the core's one rule for each, with the message every runtime shows: the
     * flush timeout 0 (no wait) up to one year, null for no limit; the inspect deadline positive
     * up to one year, null for the default. A Duration over a year used to be no limit for flush
     * (it saturated), a negative one Java's own message.
     */
    @Test
    void waitArgumentsAreJudgedByTheCoresRule() {
        try (NativeModule m = host.open("std", ModuleOptions.defaults())) {
            m.flush(Duration.ZERO);
            m.flush(null);
            m.flush(Duration.ofDays(365));
            String flush = "invalid argument: flush timeout must be at most one year, got ";
            assertRefused(flush + "-1000000000 ns", () -> m.flush(Duration.ofSeconds(-1)));
            assertRefused(flush + "-1 ns", () -> m.flush(Duration.ofNanos(-1)));
            assertRefused(flush + "31536000000000001 ns", () -> m.flush(Duration.ofDays(365).plusNanos(1)));
            assertRefused(flush + "9223372036854775807999999999 ns",
                    () -> m.flush(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)));
            // Judged before the module's state, by the core: a closed module still names the bad
            // value; a good one finds it closed.
            m.close();
            assertRefused(flush + "-1000000000 ns", () -> m.flush(Duration.ofSeconds(-1)));
            assertThrows(ClosedException.class, () -> m.flush(Duration.ZERO));
            assertThrows(ClosedException.class, () -> m.flush(null));
        }
        String inspect = "invalid argument: inspect deadline must be positive and at most one year, got ";
        assertRefused(inspect + "0 ns", () -> host.inspect("std", Duration.ZERO));
        assertRefused(inspect + "-1 ns", () -> host.inspect("std", Duration.ofNanos(-1)));
        assertRefused(inspect + "31536000000000000000 ns", () -> host.inspect("std", Duration.ofSeconds(31_536_000_000L)));
        assertEquals("std", host.inspect("std", null).name());
        assertEquals("std", host.inspect("std", Duration.ofDays(365)).name());
    }

    private static void assertRefused(String message, org.junit.jupiter.api.function.Executable mistake) {
        assertEquals(message, assertThrows(InvalidArgumentException.class, mistake).getMessage());
    }

    /** The native side refuses a nano-of-second no Duration has. */
    @Test
    void theNativeSideRefusesABadNanoOfSecond() throws ReflectiveOperationException {
        java.lang.reflect.Field f = Host.class.getDeclaredField("handle");
        f.setAccessible(true);
        long h = f.getLong(host);
        long max = Long.MAX_VALUE;
        long[] none = new long[ModuleOptions.SUPERVISION_SLOTS];
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Native.moduleOpen(h, "std", 1, 1, true, 1, 1_000_000_000, false, 0, max, max, max, null, null, false, none));
        assertEquals("invalid argument: a duration's nano-of-second must be in 0..1000000000, got 1000000000",
                e.getMessage());
        long[] window = new long[ModuleOptions.SUPERVISION_SLOTS];
        window[0] = 1L << 2; // breaker_window
        window[3] = 1;
        window[10] = -1;
        e = assertThrows(InvalidArgumentException.class,
                () -> Native.moduleOpen(h, "std", 1, 1, false, 0, 0, false, 0, max, max, max, null, null, false, window));
        assertEquals("invalid argument: a duration's nano-of-second must be in 0..1000000000, got -1", e.getMessage());
        try (NativeModule m = host.open("std", ModuleOptions.defaults())) {
            java.lang.reflect.Field mf = NativeModule.class.getDeclaredField("handle");
            mf.setAccessible(true);
            long mh = mf.getLong(m);
            assertRefused("invalid argument: a duration's nano-of-second must be in 0..1000000000, got 1000000000",
                    () -> Native.moduleFlush(mh, true, 0, 1_000_000_000));
        }
        assertRefused("invalid argument: a duration's nano-of-second must be in 0..1000000000, got -1",
                () -> Native.hostInspect(h, "std", true, 1, -1, false));
    }
}
