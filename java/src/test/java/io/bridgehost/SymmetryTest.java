package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Issue 17 item 3: the Java column of docs/SYMMETRY.md (the one table of names across Java,
 * Python, C# and C) matches the public API. Fails when a listed class, method or option is
 * missing or not public, or an error class does not derive from {@link BridgeHostException} (the
 * invalid-argument one: {@link IllegalArgumentException}) or lacks {@link BridgeHostError}. And
 * the reverse ({@link #everyPublicMemberIsListed}): every public class and member of package
 * io.bridgehost is listed in the table (its Java column) or in the table of members one runtime has
 * for its own idiom, so Java cannot grow API the other runtimes lack without anyone noticing.
 */
class SymmetryTest {
    private static final Pattern NAME = Pattern.compile("`([^`]+)`");

    static Path doc() {
        Path dir = Paths.get(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path p = d.resolve("docs/SYMMETRY.md");
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new AssertionError("docs/SYMMETRY.md not found above " + dir);
    }

    /** Rows between the markers: {kind, item, java} with java null for a gap ("—"). */
    static List<String[]> rows() throws IOException {
        String text = new String(Files.readAllBytes(doc()), java.nio.charset.StandardCharsets.UTF_8);
        String body = text.substring(text.lastIndexOf("<!-- symmetry:begin -->"));
        body = body.substring(0, body.indexOf("<!-- symmetry:end -->"));
        List<String[]> out = new ArrayList<>();
        String[] lines = body.trim().split("\n");
        for (int i = 3; i < lines.length; i++) { // marker, header, separator
            String[] cells = lines[i].trim().replaceAll("^\\|", "").split("\\|", -1);
            Matcher m = NAME.matcher(cells[2].trim());
            out.add(new String[] {cells[0].trim(), cells[1].trim(), m.matches() ? m.group(1) : null});
        }
        return out;
    }

    static Class<?> publicClass(String where, String simple) {
        try {
            Class<?> c = Class.forName("io.bridgehost." + simple);
            assertTrue(Modifier.isPublic(c.getModifiers()), where + ": " + simple + " is not public");
            return c;
        } catch (ClassNotFoundException e) {
            throw new AssertionError(where + ": no class io.bridgehost." + simple);
        }
    }

    static void check(String kind, String item, String name) {
        String where = kind + " " + item + ": Java name `" + name + "`";
        switch (kind) {
            case "noun":
                publicClass(where, name);
                break;
            case "operation":
            case "property": // Java: an accessor method
            case "host_option":
            case "module_option": {
                int dot = name.indexOf('.');
                Class<?> c = publicClass(where, dot < 0 ? name : name.substring(0, dot));
                if (dot >= 0) {
                    String member = name.substring(dot + 1);
                    boolean found = Arrays.stream(c.getMethods())
                            .map(Method::getName)
                            .anyMatch(member::equals);
                    assertTrue(found, where + " is not a public method of " + c.getSimpleName());
                }
                break;
            }
            case "error": {
                Class<?> c = publicClass(where, name);
                assertTrue(RuntimeException.class.isAssignableFrom(c) && BridgeHostError.class.isAssignableFrom(c),
                        where + " is not a RuntimeException implementing BridgeHostError");
                // One base for every kind but invalid_argument, which is the JDK's own exception
                // for a bad argument (as Python's is a ValueError, .NET's an ArgumentException).
                Class<?> base = item.equals("invalid_argument") ? IllegalArgumentException.class : BridgeHostException.class;
                assertTrue(base.isAssignableFrom(c), where + " does not derive from " + base.getSimpleName());
                ErrorKind k = ErrorKind.valueOf(item.toUpperCase(Locale.ROOT));
                assertEquals(item, k.id(), where);
                break;
            }
            case "wait": {
                // A public method taking a Duration (javac keeps no parameter names, so the
                // row's parameter is not checked here), and the core's rule behind it: a negative
                // duration is refused with the core's message, whose subject is the item in words.
                int dot = name.indexOf('.');
                int paren = name.indexOf('(');
                assertTrue(dot > 0 && paren > dot && name.endsWith(")"), where + " is not Type.member(param)");
                Class<?> c = publicClass(where, name.substring(0, dot));
                String member = name.substring(dot + 1, paren);
                boolean found = Arrays.stream(c.getMethods())
                        .filter(m -> m.getName().equals(member))
                        .anyMatch(m -> Arrays.asList(m.getParameterTypes()).contains(java.time.Duration.class));
                assertTrue(found, where + ": " + c.getSimpleName() + " has no public " + member + " taking a Duration");
                Executable mistake = negativeWait(item);
                assertTrue(mistake != null, where + ": this test cannot pass a negative " + item);
                InvalidArgumentException e = assertThrows(InvalidArgumentException.class, mistake, where);
                String subject = "invalid argument: " + item.replace('_', ' ') + " must be ";
                assertTrue(e.getMessage().startsWith(subject), where + ": " + e.getMessage());
                break;
            }
            case "idiom": {
                // The platform's own exception (java.lang), and the mistake really throws it.
                Class<?> c;
                try {
                    c = Class.forName("java.lang." + name);
                } catch (ClassNotFoundException e) {
                    throw new AssertionError(where + ": no class java.lang." + name);
                }
                assertTrue(RuntimeException.class.isAssignableFrom(c), where + " is not a RuntimeException");
                List<Executable> mistakes = idiom(item);
                assertTrue(mistakes != null, where + ": this test cannot make the " + item + " mistake");
                for (Executable m : mistakes) {
                    Throwable t = assertThrows(Throwable.class, m, where);
                    assertTrue(c.isInstance(t), where + ": got " + t);
                }
                break;
            }
            default:
                fail("unknown row kind " + kind);
        }
    }

    /** Each {@code wait} row's argument passed negative through the public API (null: unknown). */
    static Executable negativeWait(String item) {
        java.time.Duration negative = java.time.Duration.ofSeconds(-1);
        switch (item) {
            case "flush_timeout":
                return () -> {
                    try (Host host = Host.create(); NativeModule std = host.open("std")) {
                        std.flush(negative);
                    }
                };
            case "inspect_deadline":
                return () -> {
                    try (Host host = Host.create()) {
                        host.inspect("std", negative);
                    }
                };
            default:
                return null;
        }
    }

    /** The mistake behind each {@code idiom} row, made through the public API (null: unknown). */
    static List<Executable> idiom(String item) {
        if (!item.equals("out_of_range")) {
            return null;
        }
        SharedBuffer buf = new SharedBuffer(16);
        return Arrays.asList(
                () -> buf.get(10, 7),
                () -> buf.put(10, new byte[7]),
                () -> buf.put(-1, new byte[1]),
                () -> {
                    try (Host host = Host.create(); NativeModule std = host.open("std")) {
                        std.method("echo").call(buf, 10, 7);
                    }
                }); // buf is freed by the Cleaner
    }

    @Test
    void javaMatchesTheSymmetryTable() throws IOException {
        List<String[]> rows = rows();
        assertTrue(rows.size() > 40, "docs/SYMMETRY.md table has " + rows.size() + " rows");
        List<String> problems = new ArrayList<>();
        for (String[] r : rows) {
            if (r[2] == null) {
                continue;
            }
            try {
                check(r[0], r[1], r[2]);
            } catch (AssertionError e) {
                problems.add(e.getMessage());
            }
        }
        assertTrue(problems.isEmpty(), "Java drifted from docs/SYMMETRY.md:\n" + String.join("\n", problems));
    }

    /** The idiom table's Java names (backticked; {@code *} a wildcard) as regexes. */
    static List<Pattern> idiomPatterns() throws IOException {
        String text = new String(Files.readAllBytes(doc()), java.nio.charset.StandardCharsets.UTF_8);
        String body = text.substring(text.lastIndexOf("<!-- idioms:begin -->"));
        body = body.substring(0, body.indexOf("<!-- idioms:end -->"));
        List<Pattern> out = new ArrayList<>();
        String[] lines = body.trim().split("\n");
        for (int i = 3; i < lines.length; i++) { // marker, header, separator
            String[] cells = lines[i].trim().replaceAll("^\\|", "").split("\\|", -1);
            assertTrue(cells.length >= 3 && !cells[2].trim().isEmpty(), "idiom table: a row needs a name and a reason: " + lines[i]);
            if (!cells[0].trim().equals("Java")) {
                continue;
            }
            Matcher m = NAME.matcher(cells[1]);
            while (m.find()) {
                out.add(Pattern.compile(Pattern.quote(m.group(1)).replace("*", "\\E.*\\Q")));
            }
        }
        return out;
    }

    static final String PACKAGE = "io.bridgehost";

    /** The classes of package io.bridgehost in the main classes (a directory or the jar). */
    static List<Class<?>> mainClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        Path where = Paths.get(Host.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> files = new ArrayList<>();
        if (Files.isDirectory(where)) {
            try (Stream<Path> s = Files.list(where.resolve(PACKAGE.replace('.', '/')))) {
                s.forEach(f -> files.add(f.getFileName().toString()));
            }
        } else {
            try (JarFile jar = new JarFile(where.toFile())) {
                String prefix = PACKAGE.replace('.', '/') + "/";
                for (Enumeration<java.util.jar.JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                    String n = e.nextElement().getName();
                    if (n.startsWith(prefix) && n.indexOf('/', prefix.length()) < 0) {
                        files.add(n.substring(prefix.length()));
                    }
                }
            }
        }
        List<Class<?>> out = new ArrayList<>();
        for (String f : files) {
            if (f.endsWith(".class") && !f.equals("package-info.class") && !f.equals("module-info.class")) {
                out.add(Class.forName(PACKAGE + "." + f.substring(0, f.length() - 6), false, Host.class.getClassLoader()));
            }
        }
        return out;
    }

    /** Public, and so is every class it is nested in; named (not anonymous or local). */
    static boolean exported(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass() || k.isSynthetic()) {
                return false;
            }
        }
        return c.getPackage().getName().equals(PACKAGE);
    }

    /** {@code Outer.Inner} for a nested class. */
    static String typeName(Class<?> c) {
        return c.getEnclosingClass() == null ? c.getSimpleName() : typeName(c.getEnclosingClass()) + "." + c.getSimpleName();
    }

    /** JDK classes whose members (and overrides of them) are not counted. */
    static final List<Class<?>> JDK_BASES = Arrays.asList(Object.class, Throwable.class, Exception.class,
            RuntimeException.class, Enum.class, Record.class);

    static boolean jdkMember(Method m) {
        for (Class<?> base : JDK_BASES) {
            if (!base.isAssignableFrom(m.getDeclaringClass())) {
                continue;
            }
            try {
                base.getMethod(m.getName(), m.getParameterTypes());
                return true;
            } catch (NoSuchMethodException e) {
                // not base's
            }
        }
        return m.getDeclaringClass().isEnum() && (m.getName().equals("values") || m.getName().equals("valueOf"));
    }

    /** The base-most public io.bridgehost supertype of {@code c} (or c) with the method. */
    static Class<?> owner(Class<?> c, Method m) {
        List<Class<?>> supers = new ArrayList<>();
        if (c.getSuperclass() != null) {
            supers.add(c.getSuperclass());
        }
        supers.addAll(Arrays.asList(c.getInterfaces()));
        for (Class<?> s : supers) {
            if (!exported(s)) {
                continue;
            }
            try {
                Method sm = s.getMethod(m.getName(), m.getParameterTypes());
                if (exported(sm.getDeclaringClass())) {
                    return owner(s, sm);
                }
            } catch (NoSuchMethodException e) {
                // not s's
            }
        }
        return c;
    }

    /**
     * The public surface of package io.bridgehost as docs/SYMMETRY.md spells it: {@code Class} for
     * each public class ({@code Outer.Inner} nested), {@code Class.member} for each public method
     * (overloads once) and field. Not counted: io.bridgehost.typed (the support of generated
     * bindings), bench and demo; synthetic and bridge methods; enum constants and an enum's
     * values/valueOf; members of Object, Throwable, Enum and Record and overrides of them. A member
     * a public io.bridgehost supertype has is counted once, on the base-most one.
     */
    static Set<String> publicSurface() throws Exception {
        Set<String> surface = new TreeSet<>();
        for (Class<?> c : mainClasses()) {
            if (!exported(c)) {
                continue;
            }
            surface.add(typeName(c));
            for (Method m : c.getMethods()) {
                if (m.isSynthetic() || m.isBridge() || !exported(m.getDeclaringClass()) || jdkMember(m)) {
                    continue;
                }
                surface.add(typeName(owner(m.getDeclaringClass(), m)) + "." + m.getName());
            }
            for (Field f : c.getFields()) {
                if (f.isEnumConstant() || f.isSynthetic() || !exported(f.getDeclaringClass())) {
                    continue;
                }
                surface.add(typeName(f.getDeclaringClass()) + "." + f.getName());
            }
        }
        return surface;
    }

    static List<String> unlisted(Set<String> surface) throws IOException {
        Set<String> names = new HashSet<>();
        for (String[] r : rows()) {
            if (r[2] != null) {
                names.add(r[2].split("\\(", 2)[0]);
            }
        }
        List<Pattern> patterns = idiomPatterns();
        List<String> out = new ArrayList<>();
        for (String m : surface) {
            if (!names.contains(m) && patterns.stream().noneMatch(p -> p.matcher(m).matches())) {
                out.add(m);
            }
        }
        return out;
    }

    @Test
    void everyPublicMemberIsListed() throws Exception {
        Set<String> surface = publicSurface();
        assertTrue(surface.contains("Host") && surface.contains("Method.call") && surface.size() > 40,
                "the Java public surface was not enumerated: " + surface);
        List<String> missing = unlisted(surface);
        assertTrue(missing.isEmpty(), "public members of io.bridgehost listed in neither table of docs/SYMMETRY.md "
                + "(a row's Java column, or the idiom table with runtime Java): " + String.join(", ", missing));
        // An idiom entry that matches nothing is stale (the member was removed or renamed).
        List<String> stale = new ArrayList<>();
        for (Pattern p : idiomPatterns()) {
            if (surface.stream().noneMatch(m -> p.matcher(m).matches())) {
                stale.add(p.pattern());
            }
        }
        assertTrue(stale.isEmpty(), "idiom table entries for Java that name no public member: " + stale);
    }

    @Test
    void everyErrorKindHasARow() throws IOException {
        List<String> kinds = new ArrayList<>();
        for (String[] r : rows()) {
            if (r[0].equals("error")) {
                kinds.add(r[1].toUpperCase(Locale.ROOT));
            }
        }
        for (ErrorKind k : ErrorKind.values()) {
            assertTrue(kinds.contains(k.name()), "docs/SYMMETRY.md has no error row for " + k);
        }
    }
}
