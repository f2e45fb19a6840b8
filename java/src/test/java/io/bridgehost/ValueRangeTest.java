package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Value ranges at the boundary (catalog Q3/Q10/Q25): negative, overflowing and huge offsets and
 * lengths, 0 / 1 / 2^31-1 / 2^31 / 2^32 / Long.MAX_VALUE options, and forged or stale ids. The
 * public API rejects them in Java; the native methods are also called directly, bypassing those
 * checks, to prove the native side validates them on its own.
 */
class ValueRangeTest {
    /** Native.moduleOpen's supervision settings with none set. */
    static final long[] NO_SUPERVISION = new long[ModuleOptions.SUPERVISION_SLOTS];
    static Host host;
    static NativeModule std;
    static Method echo;

    @BeforeAll
    static void open() {
        host = TestSupport.host();
        std = host.open("std");
        echo = std.method("echo");
    }

    @AfterAll
    static void close() {
        host.close();
    }

    /** The id the public object holds (tests are in the package). */
    static long id(Method m) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Method.class.getDeclaredField("handle");
        f.setAccessible(true);
        return f.getLong(m);
    }

    static long id(NativeModule m) throws ReflectiveOperationException {
        java.lang.reflect.Field f = NativeModule.class.getDeclaredField("handle");
        f.setAccessible(true);
        return f.getLong(m);
    }

    @Test
    void publicApiRejectsBadRangesWithIndexOutOfBounds() {
        byte[] a = new byte[10];
        int[][] bad = {
            {-1, 1}, {0, -1}, {-1, -1}, {11, 0}, {5, 6}, {1, Integer.MAX_VALUE}, {Integer.MAX_VALUE, 1},
            {Integer.MAX_VALUE, Integer.MAX_VALUE}, {Integer.MIN_VALUE, 0}, {0, Integer.MIN_VALUE},
        };
        for (int[] r : bad) {
            assertThrows(IndexOutOfBoundsException.class, () -> echo.call(a, r[0], r[1]),
                    "call offset " + r[0] + " length " + r[1]);
            assertThrows(IndexOutOfBoundsException.class, () -> echo.submit(a, r[0], r[1]),
                    "submit offset " + r[0] + " length " + r[1]);
        }
        assertArrayEquals(new byte[0], echo.call(a, 10, 0));
        assertArrayEquals(new byte[0], echo.call(a, 0, 0));
        assertThrows(NullPointerException.class, () -> echo.call((byte[]) null));
        assertThrows(NullPointerException.class, () -> echo.call((ByteBuffer) null));
    }

    @Test
    void nativeSideValidatesRangesOnItsOwn() throws Exception {
        long m = id(echo);
        byte[] a = new byte[10];
        assertThrows(InvalidArgumentException.class, () -> Native.call(m, a, -1, 1));
        assertThrows(InvalidArgumentException.class, () -> Native.call(m, a, 0, -1));
        assertThrows(InvalidArgumentException.class, () -> Native.call(m, a, Integer.MIN_VALUE, Integer.MIN_VALUE));
        // Beyond the array: the JVM's own bounds check in GetByteArrayRegion throws, nothing is read.
        assertThrows(ArrayIndexOutOfBoundsException.class, () -> Native.call(m, a, 5, 6));
        assertThrows(ArrayIndexOutOfBoundsException.class, () -> Native.call(m, a, 1, Integer.MAX_VALUE));
        assertThrows(ArrayIndexOutOfBoundsException.class, () -> Native.call(m, a, Integer.MAX_VALUE, 1));
        assertThrows(InvalidArgumentException.class, () -> Native.call(m, null, 0, 0));

        ByteBuffer d = ByteBuffer.allocateDirect(10);
        assertThrows(InvalidArgumentException.class, () -> Native.callDirect(m, d, 5, 6));
        assertThrows(InvalidArgumentException.class, () -> Native.callDirect(m, d, -1, 1));
        assertThrows(InvalidArgumentException.class, () -> Native.callDirect(m, d, Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertThrows(InvalidArgumentException.class, () -> Native.callDirect(m, ByteBuffer.allocate(10), 0, 1),
                "a heap buffer is not direct");
        assertThrows(InvalidArgumentException.class, () -> Native.callDirect(m, null, 0, 0));
        assertArrayEquals(new byte[0], Native.callDirect(m, d, 10, 0));

        assertThrows(InvalidArgumentException.class, () -> Native.callInto(m, a, 0, 1, "not a buffer", 0, 1));
        assertThrows(InvalidArgumentException.class, () -> Native.callInto(m, a, 0, 1, null, 0, 1));
        assertThrows(InvalidArgumentException.class, () -> Native.callInto(m, a, 0, 1, d, 8, 3));
        assertThrows(InvalidArgumentException.class, () -> Native.callInto(m, a, 0, 1, d, -1, 3));
        assertThrows(ArrayIndexOutOfBoundsException.class, () -> Native.callInto(m, a, 0, 4, new byte[8], 6, 4));
    }

    @Test
    void forgedStaleAndCrossTableIdsAreClosedNotCrashes() throws Exception {
        byte[] a = {1, 2, 3};
        long moduleId = id(std);
        // The method table's tag with generation 1 and an index never issued here: a plausible
        // method id that is no live object (a fixed 0x63000001_00000000 was the live echo method
        // itself when this class ran alone, first in its JVM).
        long plausible = (id(echo) & 0xff00_0000_0000_0000L) | 0x0000_0001_00ff_ffffL;
        long[] forged = {0, -1, 1, Long.MAX_VALUE, Long.MIN_VALUE, plausible, moduleId};
        for (long f : forged) {
            assertThrows(ClosedException.class, () -> Native.call(f, a, 0, 3), "method id " + f);
            assertThrows(ClosedException.class, () -> Native.callDirect(f, ByteBuffer.allocateDirect(1), 0, 1));
            assertThrows(ClosedException.class, () -> Native.methodFlags(f));
            assertThrows(ClosedException.class, () -> Native.moduleCounters(f == moduleId ? id(echo) : f));
            assertFalse(Native.cancel(f));
            assertFalse(Native.subscriptionActive(f));
            Native.methodClose(f); // releasing a bad id (even another table's) is a no-op
            Native.subscriptionClose(f);
        }
        assertArrayEquals(a, echo.call(a), "the module id passed as a method id closed nothing");

        Method m = std.method("echo");
        long stale = id(m);
        m.close();
        assertThrows(ClosedException.class, () -> Native.call(stale, a, 0, 3), "stale id");
        // The slot is reused with a new generation: the stale id still resolves to nothing.
        Method again = std.method("echo");
        assertNotEquals(stale, id(again));
        assertThrows(ClosedException.class, () -> Native.call(stale, a, 0, 3));
        assertArrayEquals(a, again.call(a));
    }

    @Test
    void sizeOptionsAcrossTheIntRange() {
        long[] ok = {0, 1, Integer.MAX_VALUE, 1L << 31, 1L << 32, Long.MAX_VALUE};
        for (long v : ok) {
            try (NativeModule m = host.open("std", ModuleOptions.defaults().withMaxInput(v).withMaxOutput(v))) {
                Method e = m.method("echo");
                if (v == 0) {
                    assertArrayEquals(new byte[0], e.call(new byte[0]));
                    assertThrows(ResourceLimitException.class, () -> e.call(new byte[1]));
                } else {
                    assertArrayEquals(new byte[] {7}, e.call(new byte[] {7}), "limit " + v);
                }
            }
        }
        // The core is the one authority for every range (options::Numeric): the with-methods keep
        // what they are given, and open/create refuse it with the message every runtime shows.
        assertRefused("max_input must be in 0..=9223372036854775807, got -1",
                () -> host.open("std", ModuleOptions.defaults().withMaxInput(-1)));
        assertRefused("workers must be in 1..=64, got 0",
                () -> host.open("std", ModuleOptions.defaults().withWorkers(0)));
        assertRefused("workers must be in 1..=64, got -1",
                () -> host.open("std", ModuleOptions.defaults().withWorkers(-1)));
        assertRefused("workers must be in 1..=64, got 65",
                () -> host.open("std", ModuleOptions.isolated().withWorkers(65)));
        assertRefused("submit_threads must be in 1..=256, got -1",
                () -> Host.create(HostOptions.defaults().withSubmitThreads(-1)));
        // 0 is a value, refused as in Python and C# (it was taken as "the default" here).
        assertRefused("submit_threads must be in 1..=256, got 0",
                () -> Host.create(HostOptions.defaults().withSubmitThreads(0)));
        assertRefused("submit_queue_capacity must be in 1..=4294967295, got 0",
                () -> Host.create(HostOptions.defaults().withSubmitQueueCapacity(0)));
        assertRefused("event_queue_capacity must be in 1..=4294967295, got 0",
                () -> Host.create(HostOptions.defaults().withEventQueueCapacity(0)));
        assertRefused("event_queue_bytes must be in 65536..=18446744073709551615, got 0",
                () -> Host.create(HostOptions.defaults().withEventQueueBytes(0)));
        // -1 is a value here, not "no limit" / "no timeout".
        assertRefused("memory_limit must be in 1..=18446744073709551615, got -1",
                () -> host.open("std", ModuleOptions.isolated().withMemoryLimit(-1)));
        assertRefused("call_timeout must be positive and at most one year, got -1 ns",
                () -> host.open("std", ModuleOptions.isolated().withCallTimeout(Duration.ofNanos(-1))));
        assertRefused("call_timeout must be positive and at most one year, got 0 ns",
                () -> host.open("std", ModuleOptions.isolated().withCallTimeout(Duration.ZERO)));
        assertRefused("call_timeout must be positive and at most one year",
                () -> host.open("std", ModuleOptions.isolated().withCallTimeout(Duration.ofDays(366))));
        // Bypassing the Java API: the native side applies the same rules.
        long h = hostId();
        long max = Long.MAX_VALUE;
        assertThrows(InvalidArgumentException.class, () -> Native.moduleOpen(h, "std", 0, 1, false, 0, 0, false, 0, -5, max, max, null, null, false, NO_SUPERVISION));
        assertThrows(InvalidArgumentException.class, () -> Native.moduleOpen(h, "std", 0, -3, false, 0, 0, false, 0, 1, 1, 1, null, null, false, NO_SUPERVISION));
        assertThrows(InvalidArgumentException.class, () -> Native.moduleOpen(h, "std", 7, 1, false, 0, 0, false, 0, 1, 1, 1, null, null, false, NO_SUPERVISION));
        assertThrows(InvalidArgumentException.class, () -> Native.moduleOpen(h, "std", 1, 1, true, 0, 0, false, 0, 1, 1, 1, null, null, false, NO_SUPERVISION));
        assertThrows(InvalidArgumentException.class, () -> Native.moduleOpen(h, "std", 1, 1, false, 0, 0, true, 0, 1, 1, 1, null, null, false, NO_SUPERVISION));
        assertThrows(InvalidArgumentException.class, () -> Native.moduleOpen(h, null, 0, 1, false, 0, 0, false, 0, 1, 1, 1, null, null, false, NO_SUPERVISION));
        // An in-process inspect takes no deadline; a worker's deadline must be positive.
        assertThrows(InvalidArgumentException.class, () -> Native.hostInspect(h, "std", true, 1, 0, true));
        assertRefused("inspect deadline must be positive and at most one year, got 0 ns",
                () -> Native.hostInspect(h, "std", true, 0, 0, false));
        assertRefused("inspect deadline must be positive and at most one year, got -9223372036854775808000000000 ns",
                () -> Native.hostInspect(h, "std", true, Long.MIN_VALUE, 0, false));
        assertThrows(InvalidArgumentException.class, () -> Native.hostInspect(h, "std", true, 1, -1, false));
        assertThrows(InvalidArgumentException.class, () -> Native.hostInspect(h, null, false, 0, 0, false));
        assertThrows(InvalidArgumentException.class, () -> Native.hostCreate(null, -1, 0, 0, null, 0));
        assertThrows(InvalidArgumentException.class, () -> Native.hostCreate(null, 1, 1, 1, null, -1));
        assertThrows(InvalidArgumentException.class, () -> Native.hostCreate(null, 1, 1, 1, null, 65535));
        assertRefused("event_queue_bytes must be in 65536..=18446744073709551615, got -1",
                () -> Host.create(HostOptions.defaults().withEventQueueBytes(-1)));
        assertThrows(InvalidArgumentException.class,
                () -> Host.create(HostOptions.defaults().withEventQueueBytes(1)));
        try (Host b = Host.create(HostOptions.defaults().withEventQueueBytes(1L << 32))) {
            assertEquals(0, b.counters().workerOutputDropped());
            assertEquals(0, b.counters().unblamedViolations());
        }
        assertThrows(InvalidArgumentException.class,
                () -> Host.create(HostOptions.defaults().withSubmitThreads(257)));
        assertThrows(InvalidArgumentException.class,
                () -> Host.create(HostOptions.defaults().withSubmitThreads(Integer.MAX_VALUE)));
        try (Host big = Host.create(HostOptions.defaults().withSubmitThreads(256).withThreadName("vr"))) {
            assertEquals(0, big.counters().calls());
        }
    }

    @Test
    void topicsAreValidated() {
        Subscription s = std.subscribe("x".repeat(128), d -> { });
        s.close();
        assertThrows(InvalidArgumentException.class, () -> std.subscribe("", d -> { }));
        assertThrows(InvalidArgumentException.class, () -> std.subscribe("x".repeat(129), d -> { }));
        assertThrows(NullPointerException.class, () -> std.subscribe(null, d -> { }));
    }

    static long hostId() {
        try {
            java.lang.reflect.Field f = Host.class.getDeclaredField("handle");
            f.setAccessible(true);
            return f.getLong(host);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void kindNamesAndCounterNamesMatchTheNativeSide() {
        String[] kinds = Native.errorKindNames();
        assertEquals(ErrorKind.values().length, kinds.length);
        for (int i = 0; i < kinds.length; i++) {
            assertEquals(kinds[i], ErrorKind.values()[i].id());
            assertEquals(i + 1, ErrorKind.values()[i].code());
            assertEquals(ErrorKind.values()[i], ErrorKind.fromCode(i + 1));
            assertEquals(ErrorKind.values()[i], ((BridgeHostError) BridgeHostException.fromNative(i + 1, "m", 7)).kind());
        }
        assertEquals(Counters.NAMES, List.of(Native.counterNames()));
        assertEquals(ErrorKind.INTERNAL, ((BridgeHostError) BridgeHostException.fromNative(99, "m", 0)).kind());
        assertTrue(BridgeHostException.fromNative(1, "m", 0) instanceof IllegalArgumentException);
        assertEquals(7, ((ModuleException) BridgeHostException.fromNative(4, "m", 7)).code());
        assertEquals(11, ((WorkerCrashedException) BridgeHostException.fromNative(5, "m", 11)).signal());
        assertEquals(3, ((WorkerExitedException) BridgeHostException.fromNative(12, "m", 3)).status());
        assertEquals(1L << 40, ((BufferTooSmallException) BridgeHostException.fromNative(15, "m", 1L << 40)).required());
        assertFalse(Host.nativeVersion().isEmpty());
    }

    private static void assertRefused(String message, org.junit.jupiter.api.function.Executable open) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, open);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
