package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bridgehost.gen.golden.Golden;
import io.bridgehost.gen.std.Std;
import io.bridgehost.gen.values.Values;
import io.bridgehost.typed.Result;
import io.bridgehost.typed.Tuple;
import io.bridgehost.typed.WireReader;
import io.bridgehost.typed.WireWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Generated typed bindings (docs/TYPED.md, "Java"): {@code io.bridgehost.gen.std.Std} and
 * {@code io.bridgehost.gen.golden.Golden} are {@code bridgehost bindgen --lang java} output
 * (interface/tests/bindgen_java.rs fails when they differ from what the generator produces now),
 * and so is {@code io.bridgehost.gen.values.Values}, whose records hold {@code byte[]}.
 */
class TypedTest {
    private static ModuleOptions mode(String isolation) {
        return isolation.equals("process") ? ModuleOptions.isolated() : ModuleOptions.defaults();
    }

    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void typedCallsInBothModes(String isolation) throws Exception {
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std", mode(isolation))) {
            assertEquals(5032704L, std.add(4000000000L, 300000000L)); // u32 arithmetic of the module
            assertEquals(4294967295L, std.add(4294967295L, 0));
            assertArrayEquals(new byte[] {0, (byte) 0xff}, std.echo(new byte[] {0, (byte) 0xff}));
            assertEquals(0, std.echo(new byte[0]).length);
            assertEquals(0xE3069283L, std.crc32c("123456789".getBytes(StandardCharsets.US_ASCII)));
            Std.Summary s = std.stats(List.of(1.5, -2.0, 7.0)).orElseThrow();
            assertEquals(new Std.Summary(3, -2.0, 7.0, s.mean()), s);
            assertEquals(6.5 / 3, s.mean(), 1e-12);
            assertEquals(Optional.empty(), std.stats(List.of()));
            std.sleep(0);
            assertEquals(5L, std.addAsync(2, 3).get(10, TimeUnit.SECONDS));
            assertEquals(Optional.empty(), std.statsAsync(List.of()).get(10, TimeUnit.SECONDS));
            assertEquals(isolation.equals("process") ? Isolation.PROCESS : Isolation.IN_PROCESS,
                    std.module().isolation());
        }
    }

    /**
     * {@code Method.callTyped}, under generated functions that take or return one {@code list<u8>}:
     * the bridge writes the length in front of the input and checks and strips it from the output.
     * The std module's {@code echo} returns its input as it is, so raw input becomes the output the
     * typed side must decode: a lying length or trailing bytes is {@code AbiMismatchException}.
     */
    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void listBytesInAndOutAreEncodedAndCheckedNatively(String isolation) {
        try (Host host = TestSupport.host();
                NativeModule m = host.open("std", mode(isolation).withMaxInput(1004))) {
            io.bridgehost.Method echo = m.method("echo");
            byte[] data = {1, 2, (byte) 0xff};
            assertArrayEquals(data, echo.callTyped(data, true, true));
            assertArrayEquals(new byte[] {3, 0, 0, 0, 1, 2, (byte) 0xff}, echo.callTyped(data, true, false));
            assertArrayEquals(data, echo.callTyped(new byte[] {3, 0, 0, 0, 1, 2, (byte) 0xff}, false, true));
            assertArrayEquals(new byte[0], echo.callTyped(new byte[0], true, true));
            byte[] big = new byte[1000]; // + 4 bytes of length: exactly maxInput
            Arrays.fill(big, (byte) 7);
            assertArrayEquals(big, echo.callTyped(big, true, true));
            ResourceLimitException tooBig = assertThrows(ResourceLimitException.class,
                    () -> echo.callTyped(new byte[1001], true, true));
            assertTrue(tooBig.getMessage().contains("1005"), tooBig.getMessage());
            String[][] lies = {
                {"03000000 6162", "list length 3 needs at least 3 bytes, 2 left"},
                {"01000000 6162", "1 trailing byte"},
                {"0100", "truncated"},
                {"", "truncated"},
            };
            for (String[] lie : lies) {
                byte[] raw = HexFormat.of().parseHex(lie[0].replace(" ", ""));
                AbiMismatchException e = assertThrows(AbiMismatchException.class,
                        () -> echo.callTyped(raw, false, true));
                assertTrue(e.getMessage().contains("output of echo does not match its interface: ")
                        && e.getMessage().contains(lie[1]), e.getMessage());
            }
            assertThrows(NullPointerException.class, () -> echo.callTyped(null, true, true));
            // A flag the declared signature contradicts, or a method no interface declares: the
            // caller's mistake, refused before the module runs.
            long calls = m.counters().calls();
            InvalidArgumentException ia = assertThrows(InvalidArgumentException.class,
                    () -> m.method("echo-string").callTyped(data, false, true));
            assertTrue(ia.getMessage().contains("callTyped: echo-string returns string, not list<u8>"), ia.getMessage());
            ia = assertThrows(InvalidArgumentException.class, () -> m.method("add").callTyped(data, true, false));
            assertTrue(ia.getMessage().contains("callTyped: add takes (a: u32, b: u32), not one list<u8>"), ia.getMessage());
            ia = assertThrows(InvalidArgumentException.class, () -> m.method("checksum").callTyped(data, true, true));
            assertTrue(ia.getMessage().contains("checksum is not a function of the module's typed interface"),
                    ia.getMessage());
            assertEquals(calls, m.counters().calls(), "no call reached the module");
            m.close();
            assertThrows(ClosedException.class, () -> echo.callTyped(data, true, true));
        }
    }

    /**
     * An output that does not decode is worded one way in a generated class, whoever decodes it:
     * the core (a {@code list<u8>} result of a blocking call, through {@code Method.callTyped}) or the
     * generated code (any other result, and every asynchronous result): "ABI mismatch in PATH: output
     * of F does not match its interface: REASON", as Python and the CLI word it, PATH the module's
     * {@code path()}, which is the path the core reports. Likewise "event T does not match its
     * interface". std answers correctly, so the generated decoders are given the hostile bytes
     * directly.
     */
    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void malformedOutputsAreWordedAsTheCoreWordsThem(String isolation) throws Exception {
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std", mode(isolation));
                io.bridgehost.Method echo = std.module().method("echo")) {
            String prefix = "ABI mismatch in " + std.module().path() + ": ";
            byte[][] lies = {
                HexFormat.of().parseHex("030000006162"),
                HexFormat.of().parseHex("010000006162"),
                HexFormat.of().parseHex("0100"),
            };
            for (byte[] lie : lies) {
                // echo: func(data: list<u8>) -> list<u8>, decoded by the core (the blocking echo's
                // call), and by the generated code (echoAsync's decoder): the same message.
                AbiMismatchException core = assertThrows(AbiMismatchException.class, () -> echo.callTyped(lie, false, true));
                assertTrue(core.getMessage().startsWith(prefix + "output of echo does not match its interface: malformed typed payload at byte "),
                        core.getMessage());
                AbiMismatchException generated = decodeError("out_echo", std, lie);
                assertEquals(core.getMessage(), generated.getMessage());
                assertEquals(ErrorKind.ABI_MISMATCH, generated.kind());
            }
            // crc32c: func(data: list<u8>) -> u32, decoded by the generated code only.
            AbiMismatchException u32 = decodeError("out_crc32c", std, new byte[] {1, 0, 0});
            assertEquals(prefix + "output of crc32c does not match its interface: malformed typed payload at byte 0: truncated: 4 bytes needed, 3 left",
                    u32.getMessage());
            assertInstanceOf(AbiMismatchException.class, u32.getCause(), "caused by the reader's error");
            u32 = decodeError("out_add", std, new byte[] {1, 0, 0, 0, 9});
            assertEquals(prefix + "output of add does not match its interface: malformed typed payload at byte 4: 1 trailing byte",
                    u32.getMessage());
            AbiMismatchException event = decodeError("event_onTick", std, new byte[] {1, 2, 3});
            assertEquals(prefix + "event tick does not match its interface: malformed typed payload at byte 0: truncated: 8 bytes needed, 3 left",
                    event.getMessage());
        }
    }

    /** The exception private decoder {@code helper} of the generated {@link Std} throws for {@code bytes}. */
    private static AbiMismatchException decodeError(String helper, Std std, byte[] bytes) throws Exception {
        Method m = Std.class.getDeclaredMethod(helper, Std.class, byte[].class);
        m.setAccessible(true);
        InvocationTargetException e = assertThrows(InvocationTargetException.class, () -> m.invoke(null, std, bytes));
        return assertInstanceOf(AbiMismatchException.class, e.getCause(), helper);
    }

    @Test
    void argumentsAreCheckedBeforeAnythingIsCalled() {
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std")) {
            long calls = std.module().counters().calls();
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> std.add(-1, 2));
            assertTrue(e.getMessage().contains("parameter a: -1 is out of range for u32"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.add(1, 1L << 32));
            assertTrue(e.getMessage().contains("parameter b: 4294967296 is out of range for u32"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.tick(1, 0, null));
            assertTrue(e.getMessage().contains("parameter topic is null"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.tick(1, 0, Optional.of("\ud800")));
            assertTrue(e.getMessage().contains("parameter topic: string has an unpaired surrogate"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.stats(Arrays.asList(1.0, null)));
            assertTrue(e.getMessage().contains("parameter values: element 1 is null"), e.getMessage());
            // A bad element is named by its index, as Python's typed view names it.
            e = assertThrows(InvalidArgumentException.class, () -> std.echoPoints(
                    List.of(new Std.Point(0, 0, "a"), new Std.Point(0, 0, "\ud800"))));
            assertEquals("parameter points: element 1: point.label: string has an unpaired surrogate (not valid UTF-8)",
                    e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.echo(null));
            assertTrue(e.getMessage().contains("parameter data is null"), e.getMessage());
            // The asynchronous form refuses synchronously too: nothing was submitted.
            assertThrows(InvalidArgumentException.class, () -> std.addAsync(-1, 0));
            assertEquals(calls, std.module().counters().calls());
        }
    }

    @Test
    void typedEventsAreDecoded() throws Exception {
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std")) {
            List<Long> seen = new CopyOnWriteArrayList<>();
            CountDownLatch three = new CountDownLatch(3);
            try (Subscription sub = std.onTick(seq -> {
                seen.add(seq);
                three.countDown();
            })) {
                std.tick(3, 0, Optional.empty());
                assertTrue(three.await(30, TimeUnit.SECONDS), "three tick events");
            }
            assertEquals(List.of(0L, 1L, 2L), seen);
        }
    }

    @Test
    void anIncompatibleOrMissingInterfaceIsAbiMismatchNamingTheDifference() {
        try (Host host = TestSupport.host(); NativeModule std = host.open("std")) {
            std.checkBinding(Std.WIT);
            // A binding that sends a string where the module takes a u32.
            String changed = Std.WIT.replace("add: func(a: u32, b: u32) -> u32", "add: func(a: u32, b: string) -> u32");
            assertFalse(changed.equals(Std.WIT));
            AbiMismatchException e = assertThrows(AbiMismatchException.class, () -> std.checkBinding(changed));
            assertTrue(e.getMessage().contains("function add: parameter 2 (b): string here, u32 in the module"), e.getMessage());
            // A binding for a function the module does not have.
            String extra = Std.WIT.replace("/// a + b modulo", "nope: func();\n    /// a + b modulo");
            e = assertThrows(AbiMismatchException.class, () -> std.checkBinding(extra));
            assertTrue(e.getMessage().contains("nope"), e.getMessage());
            InvalidArgumentException bad = assertThrows(InvalidArgumentException.class, () -> std.checkBinding("package x"));
            assertTrue(bad.getMessage().contains("the binding's interface"), bad.getMessage());
            // Binding an open module does not take it over.
            Std.bind(std).close();
            assertFalse(std.isClosed());
        }
        try (Host host = TestSupport.host()) {
            long modules = TestSupport.diag(TestSupport.MODULES);
            AbiMismatchException e = assertThrows(AbiMismatchException.class, () -> Std.open(host, "faulty")); // bytes-only
            assertTrue(e.getMessage().contains("the module has no typed interface"), e.getMessage());
            assertEquals(modules, TestSupport.diag(TestSupport.MODULES), "the module opened for the check was closed");
        }
    }

    @Test
    void closeIsIdempotentAndLaterCallsAreClosed() {
        try (Host host = TestSupport.host()) {
            Std std = Std.open(host, "std");
            NativeModule m = std.module();
            std.close();
            std.close();
            assertTrue(m.isClosed());
            assertThrows(ClosedException.class, () -> std.add(1, 2));
        }
    }

    // ---- the golden vectors (interface/golden/vectors.json), through the generated codecs ----

    private static final Pattern TYPE = Pattern.compile("^\\{\"type\": \"([^\"]*)\"");
    private static final Pattern HEX = Pattern.compile("\"hex\": \"([0-9a-f]*)\"");
    private static final Pattern CANONICAL = Pattern.compile("\"canonical_hex\": \"([0-9a-f]*)\"");
    private static final Pattern ERROR = Pattern.compile("\"error\": \"([^\"\\\\]*)\"");

    private static String group(Pattern p, String line, boolean required) {
        Matcher m = p.matcher(line);
        if (m.find()) {
            return m.group(1);
        }
        assertFalse(required, "no " + p + " in " + line);
        return null;
    }

    /**
     * One vector: its index in its section, type, hex, (decode_only) canonical hex and
     * (invalid_bytes) the exact error message.
     */
    private record Vector(int index, String type, byte[] hex, byte[] canonical, String error) {}

    private static List<Vector> vectors(String section) throws Exception {
        String text = Files.readString(Paths.get("..", "interface", "golden", "vectors.json"));
        int start = text.indexOf("\"" + section + "\": [");
        assertTrue(start >= 0, section);
        int end = text.indexOf("\n  ]", start);
        List<Vector> out = new ArrayList<>();
        int index = 0;
        for (String line : text.substring(start, end).split("\n")) {
            if (!line.trim().startsWith("{\"type\"")) {
                continue;
            }
            String l = line.trim();
            HexFormat hf = HexFormat.of();
            String canonical = group(CANONICAL, l, section.equals("decode_only"));
            out.add(new Vector(index++, group(TYPE, l, true), hf.parseHex(group(HEX, l, true)),
                    canonical == null ? null : hf.parseHex(canonical),
                    group(ERROR, l, section.equals("invalid_bytes"))));
        }
        return out;
    }

    private static String codecName(String section) {
        StringBuilder b = new StringBuilder();
        for (String w : section.split("_")) {
            b.append(Character.toUpperCase(w.charAt(0))).append(w.substring(1));
        }
        return b.toString();
    }

    private static Object call(Method m, Object arg) throws Throwable {
        try {
            return m.invoke(null, arg);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static Method codec(String prefix, String section, int i, Class<?> param) {
        for (Method m : Golden.Codec.class.getMethods()) {
            if (m.getName().equals(prefix + codecName(section) + i) && m.getParameterCount() == 1
                    && (param == null || m.getParameterTypes()[0] == param)) {
                return m;
            }
        }
        throw new AssertionError("no " + prefix + codecName(section) + i);
    }

    private static int goldenCodecs(String section) {
        return (int) Arrays.stream(Golden.Codec.class.getMethods())
                .filter(m -> m.getName().matches("decode" + codecName(section) + "\\d+"))
                .filter(m -> m.getParameterTypes()[0] == byte[].class)
                .count();
    }

    @Test
    void goldenValidVectorsRoundTrip() throws Throwable {
        List<Vector> valid = vectors("valid");
        int checked = 0;
        for (Vector v : valid) {
            if (v.type().contains("blob")) {
                continue; // a decoded own<R> is an object of an open module: ResourcesTest
            }
            Object value = call(codec("decode", "valid", v.index(), byte[].class), v.hex());
            byte[] again = (byte[]) call(codec("encode", "valid", v.index(), null), value);
            assertArrayEquals(v.hex(), again, "vector " + v.index() + " " + v.type());
            checked++;
        }
        assertEquals(goldenCodecs("valid"), checked, "every generated valid-N codec was checked");
        assertTrue(checked >= 45, "checked " + checked);
    }

    @Test
    void goldenDecodeOnlyVectorsCanonicalise() throws Throwable {
        List<Vector> list = vectors("decode_only");
        assertEquals(goldenCodecs("decode_only"), list.size());
        for (Vector v : list) {
            Object value = call(codec("decode", "decode_only", v.index(), byte[].class), v.hex());
            byte[] again = (byte[]) call(codec("encode", "decode_only", v.index(), null), value);
            assertArrayEquals(v.canonical(), again, "vector " + v.index());
        }
    }

    @Test
    void goldenInvalidBytesAreRefused() throws Throwable {
        List<Vector> list = vectors("invalid_bytes");
        int checked = 0;
        for (Vector v : list) {
            if (v.type().contains("blob")) {
                continue;
            }
            Method m = codec("decode", "invalid_bytes", v.index(), byte[].class);
            Throwable t = assertThrows(Throwable.class, () -> call(m, v.hex()), "vector " + v.index() + " " + v.type());
            assertInstanceOf(AbiMismatchException.class, t, "vector " + v.index());
            // The whole message, worded as by the Rust codec and C# (the vector's "error").
            assertEquals(v.error(), t.getMessage(), "vector " + v.index() + " " + v.type());
            checked++;
        }
        assertEquals(goldenCodecs("invalid_bytes"), checked);
    }

    /** A count of one is singular, as in the Rust codec and C# (golden.wit has no such type). */
    @Test
    void decodeErrorsCountInTheSingularAndThePlural() {
        HexFormat hf = HexFormat.of();
        AbiMismatchException e = assertThrows(AbiMismatchException.class,
                () -> new WireReader(hf.parseHex("01")).discriminant(1, "enum", "one"));
        assertEquals("malformed typed payload at byte 0: enum one has 1 case, got discriminant 1", e.getMessage());
        e = assertThrows(AbiMismatchException.class,
                () -> new WireReader(hf.parseHex("02")).discriminant(1, "variant", "v"));
        assertEquals("malformed typed payload at byte 0: variant v has 1 case, got discriminant 2", e.getMessage());
        e = assertThrows(AbiMismatchException.class, () -> new WireReader(hf.parseHex("02")).flags(1, "f"));
        assertEquals("malformed typed payload at byte 0: flags f has 1 flag, got bits 0x2", e.getMessage());
        e = assertThrows(AbiMismatchException.class, () -> new WireReader(hf.parseHex("0200000061")).string());
        assertEquals("malformed typed payload at byte 0: string length 2 needs at least 2 bytes, 1 left", e.getMessage());
        WireReader r = new WireReader(hf.parseHex("000000"));
        r.flags(1, "f");
        e = assertThrows(AbiMismatchException.class, r::end);
        assertEquals("malformed typed payload at byte 1: 2 trailing bytes", e.getMessage());
    }

    // ---- every type at its edges, as Java values ----

    @Test
    void edgesAsJavaValues() {
        HexFormat hf = HexFormat.of();
        // u64 max is the long -1 (its 64 bits); s64 min is Long.MIN_VALUE.
        assertEquals(-1L, Golden.Codec.decodeValid10(hf.parseHex("ffffffffffffffff")));
        assertEquals("18446744073709551615", Long.toUnsignedString(Golden.Codec.decodeValid10(hf.parseHex("ffffffffffffffff"))));
        assertEquals(Long.MIN_VALUE, Golden.Codec.decodeValid8(hf.parseHex("0000000000000080")));
        // u8 is a range-checked short, u32 a range-checked long.
        assertEquals((short) 255, Golden.Codec.decodeValid3(hf.parseHex("ff")));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid3((short) 256));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid3((short) -1));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid7(-1L));
        // NaN is canonical both ways; -0.0 keeps its sign.
        assertArrayEquals(hf.parseHex("000000000000f87f"), Golden.Codec.encodeValid17(Double.longBitsToDouble(0x7ff0_0000_0000_0001L)));
        assertEquals(Long.MIN_VALUE, Double.doubleToRawLongBits(Golden.Codec.decodeValid16(hf.parseHex("0000000000000080"))));
        assertEquals(0x8000_0000, Float.floatToRawIntBits(Golden.Codec.decodeValid12(hf.parseHex("00000080"))));
        // char is a code point: astral and U+10FFFF; surrogates refused both ways.
        assertEquals(0x1F600, Golden.Codec.decodeValid20(hf.parseHex("00f60100")));
        assertEquals(0x10FFFF, Golden.Codec.decodeValid21(hf.parseHex("ffff1000")));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid19(0xD800));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid19(0x110000));
        // Strings: astral characters as surrogate pairs; an unpaired surrogate cannot be UTF-8.
        assertEquals("\ud83d\ude00", Golden.Codec.decodeValid24(hf.parseHex("04000000f09f9880")));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid24("a\udc00b"));
        assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid24("\ud800"));
        // Nested options.
        assertEquals(Optional.of(Optional.empty()), Golden.Codec.decodeValid34(hf.parseHex("0100")));
        assertEquals(Optional.of(Optional.of((short) 5)), Golden.Codec.decodeValid35(hf.parseHex("010105")));
        // result<u32, string> as a value; result without payloads.
        assertEquals(Result.err("no"), Golden.Codec.decodeValid37(hf.parseHex("01020000006e6f")));
        assertArrayEquals(hf.parseHex("0001000000"), Golden.Codec.encodeValid36(Result.ok(1L)));
        assertEquals(Result.ok(null), Golden.Codec.decodeValid38(hf.parseHex("00")));
        assertEquals(Result.err(Golden.Color.BLUE), Golden.Codec.decodeValid39(hf.parseHex("0102")));
        // tuple, record, enum, flags, variant.
        assertEquals(new Tuple.Of3<>((short) 1, (short) -1, true), Golden.Codec.decodeValid40(hf.parseHex("01ffff01")));
        assertEquals(new Golden.Point(1.0, -2.0, "p"), Golden.Codec.decodeValid41(hf.parseHex("000000000000f03f00000000000000c00100000070")));
        assertEquals(Golden.Color.GREEN, Golden.Codec.decodeColor(hf.parseHex("01")));
        assertEquals("green", Golden.Color.GREEN.witName());
        assertEquals(EnumSet.of(Golden.Perms.READ, Golden.Perms.EXEC), Golden.Codec.decodePerms(hf.parseHex("05")));
        assertEquals(Set.of(Golden.Wide.F0, Golden.Wide.F8), Golden.Codec.decodeWide(hf.parseHex("0101")));
        assertEquals(new Golden.Shape.Rect(new Tuple.Of2<>(3L, 4L)), Golden.Codec.decodeShape(hf.parseHex("010300000004000000")));
        assertEquals(new Golden.Shape.None(), Golden.Codec.decodeShape(hf.parseHex("02")));
        // Nulls are refused with the path, never an NPE.
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> Golden.Codec.encodePoint(new Golden.Point(0, 0, null)));
        assertTrue(e.getMessage().contains("value: point.label is null"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid40(new Tuple.Of3<>((short) 1, null, true)));
        assertTrue(e.getMessage().contains("value: element 1 is null"), e.getMessage());
        // Paths inside a value are Python's (bridgehost_interface::dynamic): `element N` of a list
        // or tuple, `record.field`, `variant.case`, `ok` / `err`.
        e = assertThrows(InvalidArgumentException.class,
                () -> Golden.Codec.encodeValid30(List.of(Optional.empty(), Optional.of((short) 300))));
        assertEquals("value: element 1: 300 is out of range for u8", e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> Golden.Codec.encodeValid28(Arrays.asList("a", "b", null)));
        assertEquals("value: element 2 is null", e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> Golden.Codec.encodeValid29(List.of(new Golden.Point(0, 0, "a"), new Golden.Point(0, 0, "b\ud800"))));
        assertEquals("value: element 1: point.label: string has an unpaired surrogate (not valid UTF-8)", e.getMessage());
        e = assertThrows(InvalidArgumentException.class,
                () -> Golden.Codec.encodeShape(new Golden.Shape.Rect(new Tuple.Of2<>(1L, -1L))));
        assertEquals("value: shape.rect: element 1: -1 is out of range for u32", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> Golden.Codec.encodeValid37(Result.err("\udc00")));
        assertEquals("value: err: string has an unpaired surrogate (not valid UTF-8)", e.getMessage());
        // Large lists, and a length that claims more than the bytes hold.
        byte[] big = new byte[1 << 20];
        big[big.length - 1] = 7;
        assertArrayEquals(big, Golden.Codec.decodeValid26(Golden.Codec.encodeValid26(big)));
        AbiMismatchException bad = assertThrows(AbiMismatchException.class,
                () -> Golden.Codec.decodeValid27(hf.parseHex("ffffff7f01000000")));
        assertTrue(bad.getMessage().contains("list length 2147483647 needs at least 8589934588 bytes, 4 left"), bad.getMessage());
        // The writer's checks are the same from hand-written code.
        WireWriter w = new WireWriter();
        assertThrows(InvalidArgumentException.class, () -> w.u8((short) 300, "x"));
        assertEquals(0, w.size());
    }

    /**
     * A {@code Values.Blob} whose arrays are all new; component {@code changed} (1 to 6) differs
     * in its last byte from every other blob's, 0 changes none.
     */
    private static Values.Blob blob(int changed) {
        byte[][] b = new byte[7][];
        for (int k = 0; k < b.length; k++) {
            b[k] = new byte[] {(byte) k, (byte) (k == changed ? 0x80 : 0xff)};
        }
        return new Values.Blob("b", b[1], List.of(new byte[0], b[2]), Optional.of(b[3]),
                List.of(Optional.empty(), Optional.of(b[4])), Result.ok(b[5]), new Tuple.Of2<>((short) 7, b[6]),
                Double.NaN, 1L);
    }

    @Test
    void recordsHoldingBytesCompareHashAndPrintByValue() {
        // byte[] directly and inside List, Optional, Result and Tuple: equal contents are equal
        // records with equal hashes, whatever the arrays' identity.
        Values.Blob a = blob(0);
        Values.Blob b = blob(0);
        assertNotSame(a.data(), b.data());
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertEquals(1, new HashSet<>(List.of(a, b)).size());
        for (int changed = 1; changed <= 6; changed++) {
            assertNotEquals(a, blob(changed), "component " + changed);
        }
        assertNotEquals(a, new Values.Blob("b", a.data(), a.chunks(), a.maybe(), a.nested(), Result.err("x"), a.pair(), a.ratio(), a.java()));
        assertNotEquals(a, new Values.Blob("b", a.data(), a.chunks(), Optional.empty(), a.nested(), a.outcome(), a.pair(), a.ratio(), a.java()));
        assertNotEquals(a, new Values.Blob("b", a.data(), a.chunks(), a.maybe(), a.nested(), a.outcome(), a.pair(), 0.0, a.java()));
        assertNotEquals(a, null);
        assertEquals("Blob[name=b, data=0x01ff, chunks=[0x, 0x02ff], maybe=Optional[0x03ff], "
                + "nested=[Optional.empty, Optional[0x04ff]], outcome=Ok[value=0x05ff], pair=Of2[v0=7, v1=0x06ff], "
                + "ratio=NaN, java=1]", a.toString());
        // Two calls returning the same bytes decode to equal records (std's echo returns its input).
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std")) {
            byte[] encoded = Values.Codec.encodeBlob(a);
            Values.Blob first = Values.Codec.decodeBlob(std.echo(encoded));
            Values.Blob second = Values.Codec.decodeBlob(std.echo(encoded));
            assertNotSame(first.chunks().get(1), second.chunks().get(1));
            assertEquals(a, first);
            assertEquals(first, second);
            assertEquals(first.hashCode(), second.hashCode());
            assertEquals(a.toString(), second.toString());
        }
        // Variant cases holding bytes, and the text of long arrays (the first 64 bytes).
        assertEquals(new Values.Payload.Raw(new byte[] {1, 2}), new Values.Payload.Raw(new byte[] {1, 2}));
        assertEquals(new Values.Payload.Raw(new byte[] {1, 2}).hashCode(), new Values.Payload.Raw(new byte[] {1, 2}).hashCode());
        assertNotEquals(new Values.Payload.Raw(new byte[] {1, 2}), new Values.Payload.Raw(new byte[] {1, 3}));
        assertEquals(new Values.Payload.Many(List.of(new byte[] {9})), new Values.Payload.Many(List.of(new byte[] {9})));
        assertNotEquals(new Values.Payload.Many(List.of(new byte[] {9})), new Values.Payload.Many(List.of(new byte[] {9}, new byte[0])));
        assertEquals("Many[value=[0x09]]", new Values.Payload.Many(List.of(new byte[] {9})).toString());
        assertEquals("Raw[value=0x" + "00".repeat(64) + "...(100 bytes)]", new Values.Payload.Raw(new byte[100]).toString());
        // A record holding such records needs nothing of its own: theirs are used.
        assertEquals(new Values.Holder(a, List.of(b)), new Values.Holder(b, List.of(a)));
        assertEquals(new Values.Holder(a, List.of(b)).hashCode(), new Values.Holder(b, List.of(a)).hashCode());
    }
}
