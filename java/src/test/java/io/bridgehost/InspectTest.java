package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Host#inspect(String, Duration)} runs the module's loading in a worker process: hostile
 * loads (a constructor that calls {@code _exit(0)} or crashes, an entry function that never
 * returns, a lying descriptor) are typed exceptions, never a description and never the JVM's
 * end. {@link ModuleOptions#withValidateInWorker(boolean)} puts the same step before an
 * in-process open. Without it, opening {@code hostile/libhostile_ctor_exit.so} in-process ends
 * this JVM (the constructor runs here).
 */
class InspectTest {
    static Host host;
    static final Duration DEADLINE = Duration.ofSeconds(2);

    @BeforeAll
    static void requireIsolation() {
        boolean available = TestSupport.isolationAvailable();
        if (Boolean.getBoolean("bridgehost.requireIsolation")) {
            assertTrue(available, "isolation required: " + TestSupport.isolationUnavailableReason());
        }
        assumeTrue(available, "process isolation not available: " + TestSupport.isolationUnavailableReason());
        host = TestSupport.host();
    }

    @AfterAll
    static void close() {
        if (host != null) {
            host.close();
        }
    }

    static String fixture(String dir, String file) {
        Path p = TestSupport.dist().resolve(dir).resolve(file);
        assertTrue(Files.isRegularFile(p), p + " missing: run scripts/build.sh");
        return p.toString();
    }

    @Test
    void inspectDescribesAGoodModuleFromAWorker() {
        ModuleInfo info = host.inspect("std");
        ModuleInfo here = host.inspectInProcess("std");
        assertEquals("std", info.name());
        assertEquals(here.version(), info.version());
        assertEquals(here.methodNames(), info.methodNames());
        assertEquals(here.threadModel(), info.threadModel());
        assertEquals(1, info.abiVersion());
        assertTrue(info.methodNames().contains("echo"), info.toString());
        assertTrue(info.isTyped(), "std embeds a typed interface");
        assertFalse(info.isStateful());
        try (NativeModule m = host.open("std")) {
            assertEquals(m.methodNames(), info.methodNames());
            assertEquals(m.threadModel(), info.threadModel());
            assertEquals(m.path(), info.path());
        }
        assertTrue(host.inspect("stateful", DEADLINE).isStateful());
    }

    @Test
    void hostileLoadsAreTypedExceptions() {
        assertThrows(WorkerExitedException.class,
                () -> host.inspect(fixture("hostile", "libhostile_ctor_exit.so"), DEADLINE));
        assertThrows(WorkerCrashedException.class,
                () -> host.inspect(fixture("hostile", "libhostile_ctor_crash.so"), DEADLINE));
        long t0 = System.nanoTime();
        assertThrows(CallTimeoutException.class,
                () -> host.inspect(fixture("hostile", "libhostile_entry_hangs.so"), DEADLINE));
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(DEADLINE.multipliedBy(10)) < 0);
        assertThrows(AbiMismatchException.class,
                () -> host.inspect(fixture("broken", "liblying_wild_name.so"), DEADLINE));
        assertThrows(AbiMismatchException.class,
                () -> host.inspect(fixture("broken", "liblying_entry_is_data.so"), DEADLINE));
        // A lying descriptor is refused in-process too (read without faulting).
        assertThrows(AbiMismatchException.class,
                () -> host.inspectInProcess(fixture("broken", "liblying_wild_name.so")));
        assertThrows(NotFoundException.class, () -> host.inspect("no_such_module"));
        assertThrows(IllegalArgumentException.class, () -> host.inspect("std", Duration.ZERO));
    }

    @Test
    void validateInWorkerGuardsAnInProcessOpen() {
        ModuleOptions guarded = ModuleOptions.defaults().withValidateInWorker(true);
        assertTrue(guarded.validateInWorker());
        assertFalse(ModuleOptions.defaults().validateInWorker());
        assertThrows(WorkerExitedException.class,
                () -> host.open(fixture("hostile", "libhostile_ctor_exit.so"), guarded));
        assertThrows(WorkerCrashedException.class,
                () -> host.open(fixture("hostile", "libhostile_ctor_crash.so"), guarded));
        try (NativeModule m = host.open("std", guarded)) {
            assertEquals(Isolation.IN_PROCESS, m.isolation());
            assertArrayEquals(ascii("still here"), m.method("echo").call(ascii("still here")));
        }
    }

    @Test
    void aClosedHostRefusesInspect() {
        Host h = TestSupport.host();
        h.close();
        assertThrows(ClosedException.class, () -> h.inspect("std"));
        assertThrows(ClosedException.class, () -> h.inspectInProcess("std"));
    }

    /** True when some {@code bridgehost-worker} child has every thread stopped (state T). */
    static boolean aWorkerIsStopped() {
        return ProcessHandle.current().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("bridgehost-worker")).orElse(false))
                .anyMatch(p -> {
                    File[] tasks = new File("/proc/" + p.pid() + "/task").listFiles();
                    if (tasks == null || tasks.length == 0) {
                        return false;
                    }
                    for (File t : tasks) {
                        try {
                            String stat = new String(Files.readAllBytes(t.toPath().resolve("stat")));
                            String rest = stat.substring(stat.lastIndexOf(')') + 2);
                            if (rest.charAt(0) != 'T') {
                                return false;
                            }
                        } catch (IOException | RuntimeException e) {
                            return false;
                        }
                    }
                    return true;
                });
    }

    /**
     * A worker that stops itself while idle is replaced before the next call: a protocol violation
     * blamed on no call, counted in {@link Counters#unblamedViolations()}, not as a crash.
     */
    @Test
    void aViolationBlamedOnNoCallIsCounted() throws InterruptedException {
        try (NativeModule m = host.open("faulty",
                ModuleOptions.isolated().withCallTimeout(Duration.ofSeconds(5)))) {
            Method ok = m.method("ok");
            assertArrayEquals(ascii("before"), ok.call(ascii("before")));
            m.method("stop_when_idle").call(new byte[0]);
            // The call returned first: wait (bounded) until every thread of the worker has stopped.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!aWorkerIsStopped()) {
                assertTrue(System.nanoTime() < deadline, "the worker never stopped");
                Thread.sleep(5);
            }
            // No sleep for the stop's report: the host checks waitid(WSTOPPED) before it hands a
            // call over, and the kernel makes the stop waitable (SIGNAL_STOP_STOPPED, set in
            // do_signal_stop) when the last thread joins the group stop, before that thread's own
            // state becomes 'T' (both under the siglock). So once every thread reads 'T' above, the
            // report is there. Java 17 cannot call waitid without JNI; Python and C# poll waitid
            // itself (this was a 100 ms sleep).
            assertArrayEquals(ascii("innocent"), ok.call(ascii("innocent")));
            while (m.counters().unblamedViolations() == 0) { // counted when the worker is reaped
                assertTrue(System.nanoTime() < deadline, "never counted: " + m.counters());
                Thread.sleep(5);
            }
            Counters c = m.counters();
            assertEquals(1, c.unblamedViolations(), c.toString());
            assertEquals(0, c.crashes(), c.toString());
            assertEquals(0, c.errors(), c.toString());
            assertTrue(host.counters().unblamedViolations() >= 1);
        }
    }
}
