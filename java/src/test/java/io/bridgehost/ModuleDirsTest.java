package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14 item 4: modules found by name beyond the bundled ones — a directory added to a live
 * host, and a module another jar ships as a classpath resource
 * ({@code META-INF/bridgehost/modules/<platform>/libbridgehost_mod_NAME.so}). Each module is a copy
 * of std under a name found nowhere else, so the open before the mechanism is NotFound (checked
 * to fail with the classpath fallback removed from {@code Host.open}).
 */
class ModuleDirsTest {
    private static Path std() {
        return TestSupport.dist().resolve("libbridgehost_mod_std.so");
    }

    @Test
    void anAddedDirectoryIsSearchedByName(@TempDir Path tmp) throws IOException {
        Files.copy(std(), tmp.resolve("libbridgehost_mod_java_added_probe.so"));
        try (Host host = TestSupport.host()) {
            assertThrows(NotFoundException.class, () -> host.open("java_added_probe"));
            assertThrows(NotFoundException.class, () -> host.addModuleDirectory(tmp.resolve("missing")));
            assertThrows(InvalidArgumentException.class,
                    () -> host.addModuleDirectory(tmp.resolve("libbridgehost_mod_java_added_probe.so")));
            host.addModuleDirectory(tmp);
            try (NativeModule m = host.open("java_added_probe")) {
                assertArrayEquals(TestSupport.ascii("hi"), m.method("echo").call(TestSupport.ascii("hi")));
            }
            host.close();
            assertThrows(ClosedException.class, () -> host.addModuleDirectory(tmp));
        }
    }

    /**
     * Issue 17: a module directory is checked by the core's one rule wherever it is given — an
     * empty path is refused (it used to become the working directory in {@code addModuleDirectory}
     * and be accepted in {@code withModuleDirs}), a missing one is NotFound at {@code create}.
     */
    @Test
    void everyModuleDirectoryIsCheckedByTheCoresRule(@TempDir Path tmp) {
        InvalidArgumentException empty = assertThrows(InvalidArgumentException.class,
                () -> Host.create(HostOptions.defaults().withModuleDirs(List.of(tmp, Paths.get("")))));
        assertEquals("invalid argument: module_dirs: entry 2 is empty", empty.getMessage());
        NotFoundException missing = assertThrows(NotFoundException.class,
                () -> Host.create(HostOptions.defaults().withModuleDirs(List.of(tmp.resolve("missing")))));
        assertTrue(missing.getMessage().contains("module_dirs: entry 1 " + tmp.resolve("missing")),
                missing.getMessage());
        try (Host host = TestSupport.host()) {
            InvalidArgumentException added = assertThrows(InvalidArgumentException.class,
                    () -> host.addModuleDirectory(Paths.get("")));
            assertEquals("invalid argument: module directory is empty", added.getMessage());
        }
        try (Host host = Host.create(HostOptions.defaults().withModuleDirs(List.of(tmp)))) {
            assertEquals(List.of(tmp), host.options().moduleDirs());
        }
    }

    @Test
    void aClasspathResourceModuleOpensByName(@TempDir Path tmp) throws IOException {
        Path res = tmp.resolve("META-INF/bridgehost/modules/" + NativeLoader.platform());
        Files.createDirectories(res);
        Files.copy(std(), res.resolve("libbridgehost_mod_java_cp_probe.so"));
        Thread t = Thread.currentThread();
        ClassLoader saved = t.getContextClassLoader();
        try (Host host = TestSupport.host();
                URLClassLoader loader = new URLClassLoader(new URL[] {tmp.toUri().toURL()}, saved)) {
            assertThrows(NotFoundException.class, () -> host.open("java_cp_probe"));
            t.setContextClassLoader(loader);
            try (NativeModule m = host.open("java_cp_probe")) {
                assertArrayEquals(TestSupport.ascii("cp"), m.method("echo").call(TestSupport.ascii("cp")));
            }
            // Extracted once: the second open uses the same file.
            try (NativeModule m = host.open("java_cp_probe")) {
                assertArrayEquals(TestSupport.ascii("cp"), m.method("echo").call(TestSupport.ascii("cp")));
            }
            // Not a module name: never looked up as a resource.
            assertThrows(NotFoundException.class, () -> host.open("../java_cp_probe.so"));
        } finally {
            t.setContextClassLoader(saved);
        }
    }
}
