package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15: {@code import io.bridgehost.*;} must compile next to the JDK's usual wildcard imports,
 * so no public bridgehost type may share a simple name with a public type of those packages
 * ({@code Module} clashed with {@code java.lang.Module}, {@code TimeoutException} with
 * {@code java.util.concurrent.TimeoutException}, {@code EventListener} with
 * {@code java.util.EventListener}).
 */
class NamingTest {
    /** Packages a client commonly imports with a wildcard next to io.bridgehost (java.lang: always). */
    static final List<String> JDK_PACKAGES = List.of("java.lang", "java.util", "java.util.concurrent",
            "java.util.function", "java.io", "java.nio", "java.nio.file", "java.time");

    /** The directory or jar the main classes were loaded from. */
    static Path mainClasses() throws URISyntaxException {
        return Paths.get(NativeModule.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** Every public top-level type of io.bridgehost, by simple name. */
    static List<String> publicTypes() throws Exception {
        Path root = mainClasses();
        List<String> names = new ArrayList<>();
        if (Files.isDirectory(root)) {
            try (Stream<Path> s = Files.list(root.resolve("io/bridgehost"))) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class") && !n.contains("$"))
                        .forEach(n -> names.add(n.substring(0, n.length() - ".class".length())));
            }
        } else {
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(root.toFile())) {
                jar.stream().map(e -> e.getName()).filter(n -> n.matches("io/bridgehost/[A-Za-z0-9_]+\\.class"))
                        .forEach(n -> names.add(n.substring("io/bridgehost/".length(), n.length() - 6)));
            }
        }
        List<String> pub = new ArrayList<>();
        for (String n : names) {
            if (Modifier.isPublic(Class.forName("io.bridgehost." + n, false, NamingTest.class.getClassLoader())
                    .getModifiers())) {
                pub.add(n);
            }
        }
        pub.sort(null);
        return pub;
    }

    @Test
    void noPublicTypeSharesANameWithACommonJdkPackage() throws Exception {
        List<String> types = publicTypes();
        assertTrue(types.contains("Host") && types.contains("NativeModule") && types.size() > 20,
                "found the package's public types: " + types);
        List<String> clashes = new ArrayList<>();
        for (String n : types) {
            for (String pkg : JDK_PACKAGES) {
                try {
                    Class<?> c = Class.forName(pkg + "." + n, false, ClassLoader.getSystemClassLoader());
                    if (Modifier.isPublic(c.getModifiers())) {
                        clashes.add("io.bridgehost." + n + " vs " + c.getName());
                    }
                } catch (ClassNotFoundException none) {
                    // no clash in this package
                }
            }
        }
        assertEquals(List.of(), clashes);
    }

    /** Compiles {@code sources} against the main classes; returns the error messages. */
    static List<String> compile(Path dir, String... sources) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertTrue(javac != null, "the tests need a JDK (javax.tools compiler)");
        List<Path> files = new ArrayList<>();
        for (String src : sources) {
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("(?m)^package ([\\w.]+);").matcher(src);
            String pkgDir = m.find() ? m.group(1).replace('.', '/') : "";
            java.util.regex.Matcher c = java.util.regex.Pattern
                    .compile("(?m)^public (?:final )?(?:class|interface) (\\w+)").matcher(src);
            assertTrue(c.find(), "snippet needs a public class");
            Path f = dir.resolve("src").resolve(pkgDir).resolve(c.group(1) + ".java");
            Files.createDirectories(f.getParent());
            Files.writeString(f, src);
            files.add(f);
        }
        Path out = Files.createDirectories(dir.resolve("out"));
        DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diags, Locale.ROOT, null)) {
            boolean ok = javac.getTask(null, fm, diags,
                    List.of("--release", "17", "-Xlint:all", "-Werror", "-classpath", mainClasses().toString(),
                            "-d", out.toString()),
                    null, fm.getJavaFileObjectsFromPaths(files)).call();
            List<String> errors = diags.getDiagnostics().stream()
                    .filter(d -> d.getKind() == Diagnostic.Kind.ERROR || d.getKind() == Diagnostic.Kind.WARNING)
                    .map(d -> d.getMessage(Locale.ROOT)).collect(Collectors.toList());
            if (!ok && errors.isEmpty()) {
                errors.add("javac failed without a diagnostic");
            }
            return errors;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A client written the way the docs suggest, every type unqualified, next to the JDK's wildcards. */
    static final String CLIENT = String.join("\n",
            "import io.bridgehost.*;",
            "import java.util.*;",
            "import java.util.concurrent.*;",
            "import java.util.function.*;",
            "",
            "public final class Client {",
            "    public static void main(String[] args) throws Exception {",
            "        try (Host host = Host.create(HostOptions.defaults());",
            "             NativeModule std = host.open(\"std\", ModuleOptions.defaults())) {",
            "            Method echo = std.method(\"echo\");",
            "            CompletableFuture<byte[]> f = echo.submit(new byte[] {1});",
            "            try {",
            "                f.get(1, TimeUnit.SECONDS);",
            "            } catch (TimeoutException e) {            // java.util.concurrent's",
            "                f.cancel(true);",
            "            } catch (ExecutionException e) {",
            "                if (e.getCause() instanceof CallTimeoutException) { throw e; }",
            "            }",
            "            ModuleEventListener l = (topic, data) -> { };",
            "            Consumer<byte[]> c = data -> { };",
            "            try (Subscription s = std.subscribe(\"tick\", l); Subscription t = std.subscribe(\"*\", c)) {",
            "                Counters n = std.counters();",
            "                System.out.println(n + \" \" + s.isActive() + \" \" + t.topic());",
            "            }",
            "            Module jdk = Object.class.getModule();    // java.lang.Module",
            "            EventListener marker = new EventListener() { };  // java.util.EventListener",
            "            List<Class<?>> errors = List.of(BridgeHostException.class, CallTimeoutException.class,",
            "                    ClosedException.class, CancelledException.class, OverloadedException.class,",
            "                    ModuleException.class, WorkerCrashedException.class, ResourceLimitException.class);",
            "            ErrorKind k = ErrorKind.TIMEOUT;",
            "            Isolation i = Isolation.PROCESS;",
            "            System.out.println(jdk + \" \" + marker + \" \" + errors + \" \" + k + \" \" + i);",
            "        }",
            "    }",
            "}",
            "");

    @Test
    void wildcardImportsCompileWithEveryTypeUnqualified(@TempDir Path dir) throws Exception {
        assertEquals(List.of(), compile(dir, CLIENT));
    }

    /**
     * Negative control: the same client with a public {@code io.bridgehost.Module} added (the old
     * name) must fail to compile as ambiguous, or the check above proves nothing.
     */
    @Test
    void theCheckSeesAClash(@TempDir Path dir) throws Exception {
        List<String> errors = compile(dir, CLIENT, "package io.bridgehost;\npublic final class Module { }\n");
        assertFalse(errors.isEmpty(), "a public io.bridgehost.Module must make the client fail to compile");
        assertTrue(errors.stream().anyMatch(e -> e.contains("reference to Module is ambiguous")), errors.toString());
    }
}
