package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The supervision settings of an isolated module ({@code ModuleOptions.withSpareWorkers} to
 * {@code withSandbox}; docs/ISOLATION.md, "Supervision settings"): each reaches its own field of the
 * core's {@code Supervision} (a value out of range is refused with the core's message naming that
 * setting), a worker's setting changed in-process is refused rather than ignored, and three of them
 * change what an isolated module does (sandbox, circuit breaker, close grace).
 */
class SupervisionOptionsTest {
    static Host host;

    @BeforeAll
    static void open() {
        host = TestSupport.host();
    }

    @AfterAll
    static void close() {
        if (host != null) {
            host.close();
        }
    }

    static void assumeIsolation() {
        boolean available = TestSupport.isolationAvailable();
        if (Boolean.getBoolean("bridgehost.requireIsolation")) {
            assertTrue(available, "isolation required: " + TestSupport.isolationUnavailableReason());
        }
        assumeTrue(available, "process isolation not available: " + TestSupport.isolationUnavailableReason());
    }

    /** The test-only module lives in the dist directory; a standalone run without it skips. */
    static void assumeFaulty() {
        assumeIsolation();
        assumeTrue(Files.isRegularFile(TestSupport.dist().resolve("libbridgehost_mod_faulty.so")),
                "the test-only module faulty is not in " + TestSupport.dist());
    }

    static long hostId() throws ReflectiveOperationException {
        java.lang.reflect.Field f = Host.class.getDeclaredField("handle");
        f.setAccessible(true);
        return f.getLong(host);
    }

    static InvalidArgumentException refused(ModuleOptions o) {
        return assertThrows(InvalidArgumentException.class, () -> host.open("std", o).close());
    }

    /** Every setting, out of range: the core's message, which names the setting that was set. */
    @Test
    void eachSettingOutOfRangeIsRefusedWithTheCoresMessage() {
        ModuleOptions iso = ModuleOptions.isolated();
        Map<String, ModuleOptions> cases = new LinkedHashMap<>();
        cases.put("spare_workers must be in 0..=8, got 9", iso.withSpareWorkers(9));
        cases.put("spare_workers must be in 0..=8, got -1", iso.withSpareWorkers(-1));
        cases.put("breaker_failures must be in 1..=4294967295, got 0", iso.withBreakerFailures(0));
        cases.put("breaker_failures must be in 1..=4294967295, got 4294967296", iso.withBreakerFailures(1L << 32));
        cases.put("breaker_window must be positive and at most one year, got 0 ns",
                iso.withBreakerWindow(Duration.ZERO));
        cases.put("breaker_cooldown must be positive and at most one year, got -1 ns",
                iso.withBreakerCooldown(Duration.ofNanos(-1)));
        cases.put("startup_timeout must be positive and at most one year, got 31536000000000001 ns",
                iso.withStartupTimeout(Duration.ofDays(365).plusNanos(1)));
        cases.put("close_grace must be at most one year, got -1000000000 ns",
                iso.withCloseGrace(Duration.ofSeconds(-1)));
        cases.put("cpu_limit must be at least 1 s and at most one year, got 999999999 ns",
                iso.withCpuLimit(Duration.ofNanos(999_999_999)));
        cases.put("open_files must be in 16..=65536, got 15", iso.withOpenFiles(15));
        cases.put("open_files must be in 16..=65536, got 65537", iso.withOpenFiles(65537));
        // A Duration too large for a long of nanoseconds goes over exact (seconds and nanos), as a
        // call timeout's does, and is refused with its own value, as in Python.
        cases.put("close_grace must be at most one year, got 9223372036854775807000000000 ns",
                iso.withCloseGrace(Duration.ofSeconds(Long.MAX_VALUE)));
        cases.put("cpu_limit must be at least 1 s and at most one year, got -9223372036854775808000000000 ns",
                iso.withCpuLimit(Duration.ofSeconds(Long.MIN_VALUE)));
        for (Map.Entry<String, ModuleOptions> c : cases.entrySet()) {
            InvalidArgumentException e = refused(c.getValue());
            assertEquals("invalid argument: " + c.getKey(), e.getMessage());
            assertInstanceOf(IllegalArgumentException.class, e);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        }
        // In-process too: the range is judged before the combination.
        assertEquals("invalid argument: open_files must be in 16..=65536, got 0",
                refused(ModuleOptions.defaults().withOpenFiles(0)).getMessage());
    }

    /** The with-methods keep what they are given; the getters read the core's default until set. */
    @Test
    void gettersReadTheCoresDefaultsUntilSet() {
        ModuleOptions d = ModuleOptions.defaults();
        assertEquals(1, d.spareWorkers());
        assertEquals(5, d.breakerFailures());
        assertEquals(Duration.ofSeconds(30), d.breakerWindow());
        assertEquals(Duration.ofSeconds(1), d.breakerCooldown());
        assertEquals(Duration.ofSeconds(10), d.startupTimeout());
        assertEquals(Duration.ofSeconds(5), d.closeGrace());
        assertEquals(Duration.ofHours(1), d.cpuLimit());
        assertEquals(64, d.openFiles());
        assertTrue(d.sandbox());

        Duration huge = Duration.ofSeconds(Long.MAX_VALUE);
        ModuleOptions s = ModuleOptions.isolated().withSpareWorkers(-3).withBreakerFailures(Long.MAX_VALUE)
                .withBreakerWindow(Duration.ofMillis(7)).withBreakerCooldown(Duration.ofMinutes(2))
                .withStartupTimeout(Duration.ofSeconds(-2)).withCloseGrace(Duration.ZERO).withCpuLimit(huge)
                .withOpenFiles(99999).withSandbox(false);
        assertEquals(-3, s.spareWorkers());
        assertEquals(Long.MAX_VALUE, s.breakerFailures());
        assertEquals(Duration.ofMillis(7), s.breakerWindow());
        assertEquals(Duration.ofMinutes(2), s.breakerCooldown());
        assertEquals(Duration.ofSeconds(-2), s.startupTimeout());
        assertEquals(Duration.ZERO, s.closeGrace());
        assertEquals(huge, s.cpuLimit());
        assertEquals(99999, s.openFiles());
        assertFalse(s.sandbox());
        // The other with-methods keep the supervision settings; setting one leaves the others.
        ModuleOptions t = s.withWorkers(3).withMaxInput(5).withIsolation(Isolation.IN_PROCESS)
                .withConfig(new byte[1]).withValidateInWorker(true).withCallTimeout(Duration.ofSeconds(1))
                .withMemoryLimit(1 << 30).withMaxOutput(6).withMaxEvent(7)
                .withWorkerPath(TestSupport.dist().resolve("bridgehost-worker"));
        assertEquals(Duration.ofMillis(7), t.breakerWindow());
        assertEquals(99999, t.openFiles());
        assertFalse(t.sandbox());
        assertEquals(5, ModuleOptions.defaults().withSpareWorkers(0).breakerFailures());
        assertEquals(1, ModuleOptions.defaults().withBreakerFailures(2).spareWorkers(), "the defaults unchanged");

        assertThrows(NullPointerException.class, () -> d.withBreakerWindow(null));
        assertThrows(NullPointerException.class, () -> d.withBreakerCooldown(null));
        assertThrows(NullPointerException.class, () -> d.withStartupTimeout(null));
        assertThrows(NullPointerException.class, () -> d.withCloseGrace(null));
        assertThrows(NullPointerException.class, () -> d.withCpuLimit(null));
    }

    /** A worker's setting changed in-process would be ignored: refused, naming it. */
    @Test
    void aWorkersSettingChangedInProcessIsRefused() {
        Map<String, UnaryOperator<ModuleOptions>> workerOnly = new LinkedHashMap<>();
        workerOnly.put("spare_workers", o -> o.withSpareWorkers(0));
        workerOnly.put("breaker_failures", o -> o.withBreakerFailures(1));
        workerOnly.put("breaker_window", o -> o.withBreakerWindow(Duration.ofSeconds(2)));
        workerOnly.put("breaker_cooldown", o -> o.withBreakerCooldown(Duration.ofSeconds(60)));
        workerOnly.put("close_grace", o -> o.withCloseGrace(Duration.ofMillis(100)));
        workerOnly.put("cpu_limit", o -> o.withCpuLimit(Duration.ofSeconds(10)));
        workerOnly.put("open_files", o -> o.withOpenFiles(128));
        for (Map.Entry<String, UnaryOperator<ModuleOptions>> c : workerOnly.entrySet()) {
            String expect = "invalid argument: " + c.getKey() + " requires process isolation";
            assertEquals(expect, refused(c.getValue().apply(ModuleOptions.defaults())).getMessage());
            // validate_in_worker's worker does not use it either.
            assertEquals(expect, refused(c.getValue().apply(ModuleOptions.defaults().withValidateInWorker(true)))
                    .getMessage());
        }
        assertEquals("invalid argument: startup_timeout requires process isolation or validate_in_worker",
                refused(ModuleOptions.defaults().withStartupTimeout(Duration.ofSeconds(2))).getMessage());
        assertEquals("invalid argument: sandbox requires process isolation or validate_in_worker",
                refused(ModuleOptions.defaults().withSandbox(false)).getMessage());
    }

    /**
     * withoutCpuLimit (Rust's cpu_limit None): cpuLimit() reads null; an isolated module opens with
     * it and its calls run; in-process it is refused as every changed worker-only setting is.
     */
    @Test
    void withoutCpuLimitLiftsTheLimit() {
        ModuleOptions none = ModuleOptions.defaults().withoutCpuLimit();
        assertEquals(null, none.cpuLimit());
        assertEquals(Duration.ofHours(1), ModuleOptions.defaults().cpuLimit());
        // withCpuLimit sets one again, and the reverse.
        assertEquals(Duration.ofSeconds(5), none.withCpuLimit(Duration.ofSeconds(5)).cpuLimit());
        assertEquals(null, none.withCpuLimit(Duration.ofSeconds(5)).withoutCpuLimit().cpuLimit());
        assertEquals("invalid argument: cpu_limit requires process isolation", refused(none).getMessage());
        assertEquals("invalid argument: cpu_limit requires process isolation",
                refused(none.withValidateInWorker(true)).getMessage());
        assumeIsolation();
        try (NativeModule std = host.open("std", none.withIsolation(Isolation.PROCESS))) {
            assertArrayEquals(ascii("x"), std.method("echo").call(ascii("x")));
        }
        // A limit set after it is judged by its range again.
        assertEquals("invalid argument: cpu_limit must be at least 1 s and at most one year, got 0 ns",
                refused(ModuleOptions.isolated().withoutCpuLimit().withCpuLimit(Duration.ZERO)).getMessage());
    }

    /** Every setting set to its default is no change: accepted in-process. */
    @Test
    void theDefaultsSpelledOutAreAcceptedInProcess() {
        ModuleOptions d = ModuleOptions.defaults();
        ModuleOptions same = d.withSpareWorkers(d.spareWorkers()).withBreakerFailures(d.breakerFailures())
                .withBreakerWindow(d.breakerWindow()).withBreakerCooldown(d.breakerCooldown())
                .withStartupTimeout(d.startupTimeout()).withCloseGrace(d.closeGrace()).withCpuLimit(d.cpuLimit())
                .withOpenFiles(d.openFiles()).withSandbox(d.sandbox());
        try (NativeModule std = host.open("std", same)) {
            assertArrayEquals(ascii("x"), std.method("echo").call(ascii("x")));
        }
    }

    /** startup_timeout and sandbox rule validate_in_worker's worker: accepted in-process with it. */
    @Test
    void startupTimeoutAndSandboxAreAcceptedInProcessWithValidateInWorker() {
        assumeIsolation();
        ModuleOptions v = ModuleOptions.defaults().withValidateInWorker(true);
        for (ModuleOptions o : new ModuleOptions[] {v.withStartupTimeout(Duration.ofSeconds(20)), v.withSandbox(false),
            v.withStartupTimeout(Duration.ofSeconds(20)).withSandbox(false)}) {
            try (NativeModule std = host.open("std", o)) {
                assertEquals(Isolation.IN_PROCESS, std.isolation());
                assertArrayEquals(ascii("x"), std.method("echo").call(ascii("x")));
            }
        }
    }

    /** Every setting changed (in range) opens an isolated module that works. */
    @Test
    void everySettingChangedOpensAnIsolatedModule() {
        assumeIsolation();
        ModuleOptions o = ModuleOptions.isolated().withSpareWorkers(0).withBreakerFailures(3)
                .withBreakerWindow(Duration.ofSeconds(2)).withBreakerCooldown(Duration.ofMillis(500))
                .withStartupTimeout(Duration.ofSeconds(20)).withCloseGrace(Duration.ofSeconds(1))
                .withCpuLimit(Duration.ofSeconds(600)).withOpenFiles(128).withSandbox(true);
        try (NativeModule std = host.open("std", o)) {
            assertArrayEquals(ascii("x"), std.method("echo").call(ascii("x")));
        }
    }

    /** sandbox off: the faulty module's socket() succeeds; sandboxed (the default) it is EPERM. */
    @Test
    void sandboxOffLetsTheModuleOpenASocket() {
        assumeFaulty();
        try (NativeModule open = host.open("faulty", ModuleOptions.isolated().withSandbox(false))) {
            assertArrayEquals("ok".getBytes(StandardCharsets.US_ASCII), open.method("socket").call(new byte[0]));
        }
        try (NativeModule sandboxed = host.open("faulty", ModuleOptions.isolated())) {
            ModuleException e = assertThrows(ModuleException.class, () -> sandboxed.method("socket").call(new byte[0]));
            assertEquals(1, e.code(), "EPERM: " + e.getMessage());
        }
    }

    /** breaker_failures 1: the call after one crash is refused while the breaker cools down. */
    @Test
    void oneFailureOpensTheBreakerWhenBreakerFailuresIsOne() {
        assumeFaulty();
        ModuleOptions trip = ModuleOptions.isolated().withBreakerFailures(1).withBreakerCooldown(Duration.ofSeconds(60));
        try (NativeModule m = host.open("faulty", trip)) {
            assertThrows(WorkerCrashedException.class, () -> m.method("segfault").call(new byte[0]));
            UnavailableException e = assertThrows(UnavailableException.class, () -> m.method("ok").call(ascii("x")));
            assertTrue(e.getMessage().contains("circuit breaker"), e.getMessage());
        }
        // The control: with the defaults (5 failures) the next call is served.
        try (NativeModule m = host.open("faulty", ModuleOptions.isolated())) {
            assertThrows(WorkerCrashedException.class, () -> m.method("segfault").call(new byte[0]));
            assertArrayEquals(ascii("x"), m.method("ok").call(ascii("x")));
        }
    }

    /** close_grace 100 ms: a 5 s call in flight is ended (Closed) and close returns long before 5 s. */
    @Test
    void aShortCloseGraceEndsACallInFlight() throws Exception {
        assumeIsolation();
        NativeModule std = host.open("std", ModuleOptions.isolated().withCloseGrace(Duration.ofMillis(100)));
        assertArrayEquals(ascii("x"), std.method("echo").call(ascii("x"))); // the worker is up
        assertEquals(1, std.counters().calls());
        Method sleep = std.method("sleep_ms");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<byte[]> running = pool.submit(() -> sleep.call(ascii("5000")));
            // calls counts a call when it enters the module's call path, before it reaches the worker.
            TestSupport.await(() -> std.counters().calls() == 2, Duration.ofSeconds(30), "the sleep_ms call started");
            long t0 = System.nanoTime();
            std.close();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 4000, "close took " + ms + " ms with a 100 ms grace (the default is 5 s)");
            ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(30, TimeUnit.SECONDS));
            assertInstanceOf(ClosedException.class, e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Bypassing the Java API: the native side translates the settings array by its layout only. */
    @Test
    void theNativeSideRefusesAMalformedSettingsArray() throws ReflectiveOperationException {
        long h = hostId();
        long max = Long.MAX_VALUE;
        String[] expect = {"supervision settings are null", "supervision settings: expected 15 values, got 9",
            "supervision settings: unknown mask bits 0x400", "sandbox must be 0 or 1, got 2",
            "supervision settings: both a CPU limit and no CPU limit"};
        long[] bad = new long[ModuleOptions.SUPERVISION_SLOTS];
        bad[0] = 1L << 10;
        long[] sandbox2 = new long[ModuleOptions.SUPERVISION_SLOTS];
        sandbox2[0] = 1L << 8;
        sandbox2[9] = 2;
        long[] both = new long[ModuleOptions.SUPERVISION_SLOTS];
        both[0] = 1L << 6 | 1L << ModuleOptions.NO_CPU_LIMIT_BIT;
        both[7] = 60;
        long[][] arrays = {null, new long[9], bad, sandbox2, both};
        for (int i = 0; i < arrays.length; i++) {
            long[] a = arrays[i];
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> Native.moduleOpen(h, "std", 0, 1, false, 0, 0, false, 0, max, max, max, null, null, false, a));
            assertEquals("invalid argument: " + expect[i], e.getMessage());
        }
        // A value whose bit is clear is not read: the core's default applies.
        long[] ignored = new long[ModuleOptions.SUPERVISION_SLOTS];
        ignored[1] = 99;
        long m = Native.moduleOpen(h, "std", 0, 1, false, 0, 0, false, 0, max, max, max, null, null, false, ignored);
        assertNotEquals(0, m);
        Native.moduleClose(m);
    }
}
