package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Issue 17 item 3: the Java column of docs/SYMMETRY.md (the one table of names across Java,
 * Python, C# and C) matches the public API. Fails when a listed class, method or option is
 * missing or not public, or an error class does not derive from {@link BridgeHostException} (the
 * invalid-argument one: {@link IllegalArgumentException}) or lacks {@link BridgeHostError}.
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
