package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12, item 2: a JVM exits promptly with a hung submitted isolated call, whether or not the
 * program closed its host (child JVMs under -Xcheck:jni running probe.ExitProbe).
 */
class ExitTest {
    @ParameterizedTest
    @ValueSource(strings = {"exit", "close"})
    void theJvmExitsWithAHungSubmittedIsolatedCall(String mode) throws Exception {
        assumeTrue(TestSupport.isolationAvailable(), TestSupport.isolationUnavailableReason());
        List<String> cmd = new ArrayList<>();
        cmd.add(TestSupport.jdkJava().toString());
        cmd.add("-Xcheck:jni");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Djava.library.path=" + System.getProperty("java.library.path"));
        cmd.add("-cp");
        cmd.add(LoaderTest.cp(LoaderTest.mainClasses(), LoaderTest.testClasses()));
        cmd.add("io.bridgehost.probe.ExitProbe");
        cmd.add(TestSupport.dist().toString());
        cmd.add(mode);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        // Reading to EOF ends when the JVM (and everything holding its output) exits.
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        long eof = System.currentTimeMillis();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        assertTrue(exited, "child JVM did not exit:\n" + out);
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.contains("in native method"), "JNI warning in child JVM:\n" + out);
        assertTrue(out.contains("hanging 1"), out);
        if (mode.equals("close")) {
            assertTrue(out.contains("closed true"), "the hung call ended (Closed): " + out);
        }
        long returned = Long.parseLong(out.lines().filter(l -> l.startsWith("returning "))
                .findFirst().orElseThrow(() -> new AssertionError(out)).substring("returning ".length()).trim());
        long took = eof - returned;
        // Generous for a loaded machine; a hang would never end (the 60 s wait above fails first).
        assertTrue(took < 10_000, "the JVM took " + took + " ms to exit after main returned:\n" + out);
    }
}
