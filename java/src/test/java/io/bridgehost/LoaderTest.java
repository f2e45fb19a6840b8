package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, in child JVMs (each runs under -Xcheck:jni and must print no JNI warning). */
class LoaderTest {
    record Result(int exit, String out) {}

    static Path mainClasses() {
        return Paths.get("target", "classes").toAbsolutePath();
    }

    static Path testClasses() {
        return Paths.get("target", "test-classes").toAbsolutePath();
    }

    static Result run(List<String> jvmArgs, String classpath, String main, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(TestSupport.jdkJava().toString());
        cmd.add("-Xcheck:jni");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(main);
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("BRIDGEHOST_MODULE_PATH");
        pb.environment().remove("BRIDGEHOST_WORKER");
        pb.environment().remove("LD_LIBRARY_PATH");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out: " + out);
        assertFalse(out.contains("in native method"), "JNI warning in child JVM:\n" + out);
        return new Result(p.exitValue(), out);
    }

    static String cp(Path... parts) {
        return Stream.of(parts).map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
    }

    static List<Path> extractionDirs(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> p.getFileName().toString().startsWith("bridgehost-")).collect(Collectors.toList());
        }
    }

    @Test
    void extractsEveryNativeIntoAPrivateDirectoryAndRemovesIt(@TempDir Path tmp) throws Exception {
        Result r = run(List.of("-Dbridgehost.tmpdir=" + tmp, "-Djava.library.path=/nonexistent"),
                cp(mainClasses(), testClasses()), "io.bridgehost.probe.LoaderProbe");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("probe: ok"), r.out());
        String from = line(r.out(), "loaded-from: ");
        Path lib = Paths.get(from);
        assertEquals(tmp, lib.getParent().getParent(), "extracted under bridgehost.tmpdir: " + from);
        // std was found beside the extracted library, without any module path.
        assertEquals(lib.getParent().resolve("libbridgehost_mod_std.so").toString(), line(r.out(), "module-path: "));
        assertEquals(List.of(), extractionDirs(tmp), "extraction directory removed at exit");
    }

    @Test
    void extractionDirectoryIsPrivateAndComplete(@TempDir Path tmp) throws Exception {
        // A JVM that keeps running while we look: the probe prints and we inspect before it exits.
        List<String> cmd = List.of(TestSupport.jdkJava().toString(), "--enable-native-access=ALL-UNNAMED",
                "-Dbridgehost.tmpdir=" + tmp,
                "-Djava.library.path=/nonexistent", "-cp", cp(mainClasses(), testClasses()),
                "io.bridgehost.probe.HoldProbe");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            java.io.BufferedReader reader = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = reader.readLine();
            assertTrue(first != null && first.startsWith("loaded-from: "), String.valueOf(first));
            Path dir = Paths.get(line(first, "loaded-from: ")).getParent();
            // Others may traverse (a sandboxed worker that dropped root opens its module by name),
            // never list or write.
            assertEquals("rwx--x--x", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            List<String> index = Arrays.asList(Files.readString(mainClasses().resolve(
                    "natives/" + NativeLoader.platform() + "/INDEX")).trim().split("\n"));
            for (String f : index) {
                assertTrue(Files.isRegularFile(dir.resolve(f)), f + " extracted");
                assertEquals("r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(f))));
            }
            assertTrue(index.contains("libbridgehost_jni.so"));
            assertTrue(index.contains("libbridgehost_mod_std.so"));
            assertTrue(index.contains("libbridgehost_mod_zlib.so"));
            assertTrue(index.contains("libbridgehost_mod_sqlite.so"));
            assertFalse(index.contains("libbridgehost_mod_faulty.so"), "the test-only module is not shipped");
        } finally {
            p.getOutputStream().close(); // HoldProbe exits when stdin closes
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        }
        assertEquals(List.of(), extractionDirs(tmp));
    }

    @Test
    void isolatedWorkersOfARootHostDropRootForExtractedModules(@TempDir Path tmp) throws Exception {
        // @TempDir is 0700, which no unprivileged worker could traverse; /tmp (the default
        // extraction root) is 1777.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Result r = run(List.of("-Dbridgehost.tmpdir=" + tmp, "-Djava.library.path=/nonexistent"),
                cp(mainClasses(), testClasses()), "io.bridgehost.probe.LoaderProbe", "--isolated");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("isolated: ok"), r.out());
        // A root host's worker drops to nobody unless it cannot read the module file, which it
        // reports with this warning (the 0700 extraction directory made every such open warn).
        assertFalse(r.out().contains("keeps uid 0"), r.out());
    }

    @Test
    void loadLibraryIsPreferredWhenOnTheLibraryPath() throws Exception {
        Result r = run(List.of("-Djava.library.path=" + TestSupport.dist()), cp(mainClasses(), testClasses()),
                "io.bridgehost.probe.LoaderProbe");
        assertEquals(0, r.exit(), r.out());
        assertEquals("java.library.path", line(r.out(), "loaded-from: "));
        assertEquals(TestSupport.dist().resolve("libbridgehost_mod_std.so").toString(), line(r.out(), "module-path: "),
                "modules found beside the library loaded from java.library.path");
    }

    @Test
    void anExplicitLibraryWins() throws Exception {
        Path lib = TestSupport.dist().resolve("libbridgehost_jni.so");
        Result r = run(List.of("-Dbridgehost.library=" + lib), cp(mainClasses(), testClasses()),
                "io.bridgehost.probe.LoaderProbe");
        assertEquals(0, r.exit(), r.out());
        assertEquals(lib.toString(), line(r.out(), "loaded-from: "));
    }

    @Test
    void failureSaysWhatWasTried(@TempDir Path tmp) throws Exception {
        // The API classes without the natives resources.
        Path classes = tmp.resolve("classes");
        try (Stream<Path> s = Files.walk(mainClasses())) {
            for (Path src : (Iterable<Path>) s::iterator) {
                Path rel = mainClasses().relativize(src);
                if (rel.toString().startsWith("natives")) {
                    continue;
                }
                Path dst = classes.resolve(rel.toString());
                if (Files.isDirectory(src)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(src, dst);
                }
            }
        }
        Result r = run(List.of("-Djava.library.path=/nonexistent"), cp(classes, testClasses()),
                "io.bridgehost.probe.LoaderProbe");
        assertNotEquals(0, r.exit());
        assertTrue(r.out().contains("UnsatisfiedLinkError"), r.out());
        assertTrue(r.out().contains("cannot load the native library libbridgehost_jni.so"), r.out());
        assertTrue(r.out().contains("System.loadLibrary(\"bridgehost_jni\")"), r.out());
        assertTrue(r.out().contains("no natives for platform"), r.out());
        assertTrue(r.out().contains("Fix: this jar carries no natives for " + NativeLoader.platform()
                + ": use a bridgehost jar built for it, or set -Dbridgehost.library="), r.out());
    }

    @Test
    void anUnusableExtractionDirectoryGetsAFixHint(@TempDir Path tmp) throws Exception {
        Path notADirectory = Files.write(tmp.resolve("file"), new byte[0]);
        Result r = run(List.of("-Dbridgehost.tmpdir=" + notADirectory, "-Djava.library.path=/nonexistent"),
                cp(mainClasses(), testClasses()), "io.bridgehost.probe.LoaderProbe");
        assertNotEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("UnsatisfiedLinkError"), r.out());
        assertTrue(r.out().contains("from the jar into " + notADirectory), r.out());
        assertTrue(r.out().contains("Fix: the natives could not be extracted into " + notADirectory
                + "; set -Dbridgehost.tmpdir=DIR to a writable directory that allows executing files"), r.out());
    }

    @Test
    void aLibraryThatLoadsNowhereNamesTheNoexecFix() {
        // The dynamic loader's refusal of an extracted file (a noexec mount says "failed to map
        // segment from shared object"): cannot be staged without mounting a file system.
        String hint = NativeLoader.fixHint(new UnsatisfiedLinkError(
                "/tmp/bridgehost-1/libbridgehost_jni.so: failed to map segment from shared object"), Paths.get("/tmp"));
        assertTrue(hint.startsWith("the natives were extracted into /tmp but could not be loaded from there;"
                + " if that file system is mounted noexec, set -Dbridgehost.tmpdir=DIR"), hint);
    }

    @Test
    void aBadExplicitLibrarySaysWhichPropertyAndHowToFixIt(@TempDir Path tmp) throws Exception {
        Path bogus = Files.write(tmp.resolve("libbridgehost_jni.so"), new byte[] {1, 2, 3});
        Result r = run(List.of("-Dbridgehost.library=" + bogus), cp(mainClasses(), testClasses()),
                "io.bridgehost.probe.LoaderProbe");
        assertNotEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("bridgehost: cannot load -Dbridgehost.library=" + bogus), r.out());
        assertTrue(r.out().contains("Fix: point bridgehost.library at a libbridgehost_jni.so built for "
                + NativeLoader.platform()), r.out());
    }

    @Test
    void staleDirectoriesOfDeadJvmsAreRemovedLiveOnesKept(@TempDir Path tmp) throws Exception {
        Path stale = Files.createDirectory(tmp.resolve("bridgehost-stale1"));
        Files.write(stale.resolve(".lock"), new byte[0]);
        Files.write(stale.resolve("libbridgehost_jni.so"), new byte[] {1});
        Path live = Files.createDirectory(tmp.resolve("bridgehost-live1"));
        Files.write(live.resolve(".lock"), new byte[0]);
        Path unrelated = Files.createDirectory(tmp.resolve("bridgehost-nolock"));
        FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
        for (Path d : List.of(stale, live, unrelated)) {
            Files.setLastModifiedTime(d, old);
        }
        try (FileChannel ch = FileChannel.open(live.resolve(".lock"), StandardOpenOption.WRITE);
             FileLock held = ch.lock()) {
            Result r = run(List.of("-Dbridgehost.tmpdir=" + tmp, "-Djava.library.path=/nonexistent"),
                    cp(mainClasses(), testClasses()), "io.bridgehost.probe.LoaderProbe");
            assertEquals(0, r.exit(), r.out());
            assertTrue(held.isValid());
        }
        assertFalse(Files.exists(stale), "a dead JVM's directory is removed");
        assertTrue(Files.exists(live), "a live JVM's directory is kept");
        assertTrue(Files.exists(unrelated), "a directory without a lock file is not ours to remove");
    }

    @Test
    void callbacksWorkWhenNoContextClassLoaderSeesTheApi() throws Exception {
        Result r = run(List.of("-Djava.library.path=/nonexistent"), testClasses().toString(),
                "io.bridgehost.probe.IsolatedLoaderProbe", mainClasses().toString(), TestSupport.dist().toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("events: 100 (context loader was the API's: 0)"), r.out());
        assertTrue(r.out().contains("completion: 7"), r.out());
        assertTrue(r.out().contains("async-failure: io.bridgehost.ModuleException from the API's loader"), r.out());
        assertTrue(r.out().contains("sync-failure: io.bridgehost.NotFoundException from the API's loader"), r.out());
        assertTrue(r.out().contains("probe: ok"), r.out());
    }

    static String line(String out, String prefix) {
        for (String l : out.split("\n")) {
            if (l.startsWith(prefix)) {
                return l.substring(prefix.length()).trim();
            }
        }
        throw new AssertionError("no line starting with '" + prefix + "' in:\n" + out);
    }
}
