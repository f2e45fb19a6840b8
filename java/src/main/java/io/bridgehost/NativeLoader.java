package io.bridgehost;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Loads {@code libbridgehost_jni.so}:
 *
 * <ol>
 *   <li>{@code -Dbridgehost.library=/path/libbridgehost_jni.so}, if set: exactly that file;
 *   <li>otherwise {@code System.loadLibrary("bridgehost_jni")} (the library on
 *       {@code java.library.path}; modules and the worker are then found beside it);
 *   <li>otherwise the natives inside the jar ({@code natives/<platform>/}: the bridge library,
 *       {@code bridgehost-worker}, the bundled modules) are all extracted into one new private
 *       directory ({@code 0700}, unique name, under {@code java.io.tmpdir} or
 *       {@code -Dbridgehost.tmpdir}) and the bridge is loaded from there, so the core finds the
 *       modules and the worker beside it.
 * </ol>
 *
 * <p>The extraction directory is deleted at JVM exit; directories left by JVMs that died are
 * removed by the next load (each holds a file lock while its JVM lives). If every step fails the
 * {@link UnsatisfiedLinkError} lists what was tried and ends with a fix hint (for a
 * {@code java.io.tmpdir} mounted {@code noexec}: {@code -Dbridgehost.tmpdir=DIR}).
 * {@code -Dbridgehost.extract=true} skips step 2.
 *
 * <p>Modules shipped by other jars ({@link #classpathModule}): a classpath resource
 * {@code META-INF/bridgehost/modules/<platform>/libbridgehost_mod_NAME.so} is extracted on demand
 * into the same private directory (created then if the bridge was not extracted) and opened from
 * there.
 */
final class NativeLoader {
    static final String LIBRARY = "bridgehost_jni";
    static final String LIBRARY_FILE = "lib" + LIBRARY + ".so";
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final long STALE_AFTER_MILLIS = 60_000;

    private static volatile String loadedFrom;
    /** Held for the life of the JVM: marks the extraction directory as in use. */
    private static FileLock extractionLock;
    /** This JVM's private extraction directory, once created (guarded by the class lock). */
    private static Path privateDir;
    /** Classpath modules already extracted, by name (guarded by the class lock). */
    private static final Map<String, Path> classpathModules = new HashMap<>();
    /** Where third-party jars put their modules: {@code MODULE_RESOURCES + platform() + "/lib...so"}. */
    static final String MODULE_RESOURCES = "META-INF/bridgehost/modules/";
    private static final Pattern MODULE_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private NativeLoader() {}

    /** @return how the library was loaded (for diagnostics) */
    static String loadedFrom() {
        return loadedFrom;
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("windows") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    static synchronized void load() {
        if (loadedFrom != null) {
            return;
        }
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty("bridgehost.library");
        if (explicit != null && !explicit.isEmpty()) {
            String path = Paths.get(explicit).toAbsolutePath().toString();
            try {
                System.load(path); // an explicit choice: its failure is the error
            } catch (UnsatisfiedLinkError e) {
                UnsatisfiedLinkError u = new UnsatisfiedLinkError("bridgehost: cannot load -Dbridgehost.library="
                        + explicit + " (" + path + "): " + e.getMessage() + ". Fix: point bridgehost.library at a "
                        + LIBRARY_FILE + " built for " + platform() + " (next to it: bridgehost-worker and the"
                        + " libbridgehost_mod_*.so modules), or remove the property to load the library from"
                        + " java.library.path or from the jar.");
                u.initCause(e);
                throw u;
            }
            loadedFrom = path;
            return;
        }
        if (!Boolean.getBoolean("bridgehost.extract")) {
            try {
                System.loadLibrary(LIBRARY);
                loadedFrom = "java.library.path";
                return;
            } catch (UnsatisfiedLinkError e) {
                tried.add("System.loadLibrary(\"" + LIBRARY + "\") with java.library.path="
                        + System.getProperty("java.library.path") + ": " + e.getMessage());
            }
        }
        String resources = "natives/" + platform() + "/";
        Path root = extractionRoot();
        Throwable extraction;
        try {
            Path dir = extract(resources, root);
            Path lib = dir.resolve(LIBRARY_FILE);
            System.load(lib.toString());
            loadedFrom = lib.toString();
            return;
        } catch (IOException | UncheckedIOException | UnsatisfiedLinkError | SecurityException e) {
            tried.add("extracting " + resources + " from the jar into " + root + ": " + e);
            extraction = e;
        }
        throw new UnsatisfiedLinkError("bridgehost: cannot load the native library " + LIBRARY_FILE
                + " for platform " + platform() + ". Tried: " + String.join("; ", tried) + ". Fix: "
                + fixHint(extraction, root));
    }

    /** Where extraction directories are created: {@code bridgehost.tmpdir}, else {@code java.io.tmpdir}. */
    static Path extractionRoot() {
        String dir = System.getProperty("bridgehost.tmpdir");
        if (dir == null || dir.isEmpty()) {
            dir = System.getProperty("java.io.tmpdir");
        }
        return Paths.get(dir).toAbsolutePath();
    }

    /** What to do about a failed load, judged from why the extraction fallback failed. */
    static String fixHint(Throwable extraction, Path root) {
        String why = String.valueOf(extraction);
        String ways = "-Dbridgehost.library=/path/to/" + LIBRARY_FILE + ", or its directory on"
                + " -Djava.library.path (the worker and the modules beside it)";
        if (why.contains("no natives for platform")) {
            return "this jar carries no natives for " + platform() + ": use a bridgehost jar built for it, or"
                    + " set " + ways + ".";
        }
        if (extraction instanceof UnsatisfiedLinkError) {
            // Extracted, but the dynamic loader refused it: typically a noexec mount
            // ("failed to map segment from shared object") or a missing system library.
            return "the natives were extracted into " + root + " but could not be loaded from there; if that"
                    + " file system is mounted noexec, set -Dbridgehost.tmpdir=DIR to a writable directory"
                    + " that allows executing files (each JVM extracts into a private subdirectory of it);"
                    + " otherwise set " + ways + ".";
        }
        return "the natives could not be extracted into " + root + "; set -Dbridgehost.tmpdir=DIR to a"
                + " writable directory that allows executing files (each JVM extracts into a private"
                + " subdirectory of it), or set " + ways + ".";
    }

    /**
     * A new directory under root, locked for this JVM's life and deleted at exit. Mode {@code 0711}: only
     * this user can create, replace or list files in it, while a sandboxed isolated worker of a root host,
     * which drops to uid {@code nobody} before it loads its module, can still open the module file by name
     * (the files are the jar's own content, mode {@code 0555}). With {@code 0700} such a worker had to keep
     * uid 0.
     */
    private static Path createPrivateDir(Path root, List<String> files) throws IOException {
        removeStale(root);
        Path dir = Files.createTempDirectory(root, "bridgehost-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        // Made 0700 (mkdir applies the umask), then opened for traversal explicitly (chmod does not).
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        // Lock first, so that no other JVM's cleanup takes this directory for a dead one.
        FileChannel lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
        extractionLock = lockChannel.lock();
        deleteOnExit(dir, files);
        privateDir = dir;
        return dir;
    }

    /**
     * The file of module {@code name} shipped as a classpath resource
     * ({@code META-INF/bridgehost/modules/<platform>/libbridgehost_mod_NAME.so}, looked up with the
     * thread's context class loader, then this library's), extracted into this JVM's private
     * directory (once per name); null if no such resource exists or {@code name} is not a module name.
     *
     * @throws IOException if the resource exists but cannot be extracted
     */
    static synchronized Path classpathModule(String name) throws IOException {
        if (!MODULE_NAME.matcher(name).matches()) {
            return null;
        }
        Path done = classpathModules.get(name);
        if (done != null) {
            return done;
        }
        String file = "libbridgehost_mod_" + name + ".so";
        String resource = MODULE_RESOURCES + platform() + "/" + file;
        URL url = null;
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null) {
            url = context.getResource(resource);
        }
        if (url == null && NativeLoader.class.getClassLoader() != null) {
            url = NativeLoader.class.getClassLoader().getResource(resource);
        }
        if (url == null) {
            return null;
        }
        Path dir = privateDir != null ? privateDir : createPrivateDir(extractionRoot(), List.of());
        Path target = dir.resolve(file);
        if (!Files.exists(target)) {
            Path tmp = dir.resolve("." + file + ".tmp");
            tmp.toFile().deleteOnExit();
            target.toFile().deleteOnExit();
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp);
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            Files.move(tmp, target);
        }
        classpathModules.put(name, target);
        return target;
    }

    private static Path extract(String resources, Path root) throws IOException {
        List<String> files = index(resources);
        Path dir = createPrivateDir(root, files);
        for (String name : files) {
            Path target = dir.resolve(name);
            try (InputStream in = NativeLoader.class.getResourceAsStream("/" + resources + name)) {
                if (in == null) {
                    throw new IOException("resource " + resources + name + " listed in INDEX is missing");
                }
                Files.copy(in, target);
            }
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("r-xr-xr-x"));
        }
        return dir;
    }

    private static List<String> index(String resources) throws IOException {
        try (InputStream in = NativeLoader.class.getResourceAsStream("/" + resources + "INDEX")) {
            if (in == null) {
                throw new IOException("the jar has no natives for platform " + platform()
                        + " (no resource " + resources + "INDEX)");
            }
            List<String> files = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String name = line.trim();
                if (name.isEmpty()) {
                    continue;
                }
                if (!SAFE_NAME.matcher(name).matches()) {
                    throw new IOException("bad file name in " + resources + "INDEX: " + name);
                }
                files.add(name);
            }
            if (!files.contains(LIBRARY_FILE)) {
                throw new IOException(resources + "INDEX does not list " + LIBRARY_FILE);
            }
            return files;
        }
    }

    private static void deleteOnExit(Path dir, List<String> files) {
        // deleteOnExit runs in reverse order of registration: the files first, the directory last.
        dir.toFile().deleteOnExit();
        dir.resolve(".lock").toFile().deleteOnExit();
        for (String f : files) {
            dir.resolve(f).toFile().deleteOnExit();
        }
    }

    /** Remove extraction directories of JVMs that are gone (their lock is free). Best effort. */
    private static void removeStale(Path root) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, "bridgehost-*")) {
            long now = System.currentTimeMillis();
            for (Path d : ds) {
                Path lock = d.resolve(".lock");
                if (!Files.isDirectory(d) || !Files.isRegularFile(lock)
                        || now - Files.getLastModifiedTime(d).toMillis() < STALE_AFTER_MILLIS) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE)) {
                    FileLock l = ch.tryLock();
                    if (l == null) {
                        continue; // alive
                    }
                    try {
                        deleteTree(d);
                    } finally {
                        if (l.isValid()) {
                            l.release();
                        }
                    }
                } catch (IOException | java.nio.channels.OverlappingFileLockException e) {
                    // not ours, or in use: leave it
                }
            }
        } catch (IOException | SecurityException e) {
            // best effort
        }
    }

    private static void deleteTree(Path d) throws IOException {
        Files.walkFileTree(d, new SimpleFileVisitor<Path>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
