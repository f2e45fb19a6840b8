package io.bridgehost;

import static io.bridgehost.TestSupport.ascii;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CallTest {
    static Host host;
    static NativeModule std;
    static NativeModule zlib;
    static Method echo;
    static Method checksum;

    @BeforeAll
    static void open() {
        host = TestSupport.host();
        std = host.open("std");
        zlib = host.open("zlib");
        echo = std.method("echo");
        checksum = std.method("checksum");
    }

    @AfterAll
    static void close() {
        host.close();
    }

    static long crc32c(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return c.getValue();
    }

    static long be32(byte[] b) {
        assertEquals(4, b.length);
        return ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN).getInt() & 0xffffffffL;
    }

    @Test
    void echoRoundTripsEverySize() {
        Random r = new Random(1);
        for (int n : new int[] {0, 1, 15, 16, 511, 512, 513, 4096, 65_537, 1 << 20}) {
            byte[] in = new byte[n];
            r.nextBytes(in);
            assertArrayEquals(in, echo.call(in), "size " + n);
        }
    }

    @Test
    void offsetAndLengthSelectTheRange() {
        byte[] in = ascii("0123456789");
        assertArrayEquals(ascii("345"), echo.call(in, 3, 3));
        assertArrayEquals(new byte[0], echo.call(in, 10, 0));
        assertArrayEquals(in, echo.call(in, 0, 10));
    }

    @Test
    void checksumMatchesTheJdkThroughEveryInputKind() {
        Random r = new Random(2);
        for (int n : new int[] {0, 1, 4095, 4096, 1 << 20}) {
            byte[] data = new byte[n + 7];
            r.nextBytes(data);
            long want = crc32c(data, 3, n);
            assertEquals(want, be32(checksum.call(data, 3, n)), "byte[] " + n);

            ByteBuffer heap = ByteBuffer.wrap(data, 3, n);
            assertEquals(want, be32(checksum.call(heap)), "heap buffer " + n);
            assertEquals(heap.limit(), heap.position(), "position advanced to the limit");

            ByteBuffer ro = ByteBuffer.wrap(data, 3, n).asReadOnlyBuffer();
            assertEquals(want, be32(checksum.call(ro)), "read-only heap buffer " + n);

            ByteBuffer direct = ByteBuffer.allocateDirect(n + 7);
            direct.put(data).position(3).limit(3 + n);
            assertEquals(want, be32(checksum.call(direct)), "direct buffer " + n);
            assertEquals(3 + n, direct.position());

            ByteBuffer slice = ByteBuffer.allocateDirect(n + 7).put(data).position(3).limit(3 + n).slice();
            assertEquals(want, be32(checksum.call(slice)), "sliced direct buffer " + n);

            ByteBuffer roDirect = ByteBuffer.allocateDirect(n + 7).put(data).position(3).limit(3 + n)
                    .asReadOnlyBuffer();
            assertEquals(want, be32(checksum.call(roDirect)), "read-only direct buffer " + n);
        }
    }

    @Test
    void callIntoWritesEveryCombinationOfBuffers() {
        byte[] data = ascii("zero copy both ways");
        for (boolean inDirect : new boolean[] {false, true}) {
            for (boolean outDirect : new boolean[] {false, true}) {
                ByteBuffer in = inDirect ? ByteBuffer.allocateDirect(data.length + 2) : ByteBuffer.allocate(data.length + 2);
                in.put((byte) 9).put(data).put((byte) 9).position(1).limit(1 + data.length);
                ByteBuffer out = outDirect ? ByteBuffer.allocateDirect(64) : ByteBuffer.allocate(64);
                out.position(5);
                int n = echo.call(in, out);
                String what = "in " + (inDirect ? "direct" : "heap") + ", out " + (outDirect ? "direct" : "heap");
                assertEquals(data.length, n, what);
                assertEquals(1 + data.length, in.position(), what);
                assertEquals(5 + n, out.position(), what);
                byte[] got = new byte[n];
                out.position(5);
                out.get(got);
                assertArrayEquals(data, got, what);
            }
        }
    }

    @Test
    void callIntoReportsTheSizeRequiredAndMovesNothing() {
        for (boolean outDirect : new boolean[] {false, true}) {
            ByteBuffer in = ByteBuffer.wrap(new byte[100]);
            ByteBuffer out = outDirect ? ByteBuffer.allocateDirect(10) : ByteBuffer.allocate(10);
            BufferTooSmallException e = assertThrows(BufferTooSmallException.class, () -> echo.call(in, out));
            assertEquals(100, e.required());
            assertEquals(ErrorKind.BUFFER_TOO_SMALL, e.kind());
            assertEquals(0, in.position());
            assertEquals(0, out.position());
        }
    }

    @Test
    void callIntoRefusesOverlappingDirectRangesAndReadOnlyOutput() {
        ByteBuffer buf = ByteBuffer.allocateDirect(64);
        ByteBuffer in = buf.duplicate().position(0).limit(32);
        ByteBuffer out = buf.duplicate().position(16).limit(64);
        assertThrows(InvalidArgumentException.class, () -> echo.call(in, out));
        ByteBuffer disjoint = buf.duplicate().position(32).limit(64);
        assertEquals(32, echo.call(buf.duplicate().position(0).limit(32), disjoint));
        assertThrows(ReadOnlyBufferException.class,
                () -> echo.call(ByteBuffer.allocate(1), ByteBuffer.allocate(8).asReadOnlyBuffer()));
    }

    @Test
    void zlibRoundTripAndTypedModuleError() {
        byte[] data = "compress me, compress me, compress me".repeat(100).getBytes(UTF_8);
        byte[] packed = zlib.method("compress").call(data);
        assertTrue(packed.length < data.length);
        assertArrayEquals(data, zlib.method("decompress").call(packed));
        ModuleException e = assertThrows(ModuleException.class,
                () -> zlib.method("decompress").call(ascii("this is not a zlib stream")));
        assertEquals(-3, e.code(), "Z_DATA_ERROR");
        assertEquals(ErrorKind.MODULE, e.kind());
    }

    @Test
    void moduleErrorsCarryCodeAndMessage() {
        ModuleException e = assertThrows(ModuleException.class, () -> std.method("fail").call(ascii("boom")));
        assertEquals(42, e.code());
        assertTrue(e.getMessage().contains("boom"), e.getMessage());
        ModuleException p = assertThrows(ModuleException.class, () -> std.method("panic").call(ascii("oops")));
        assertEquals(101, p.code());
        assertTrue(p.getMessage().contains("oops"), p.getMessage());
        assertArrayEquals(ascii("ok"), echo.call(ascii("ok")), "the module keeps working");
    }

    @Test
    void notFoundAbiMismatchAndInvalidNames() {
        assertThrows(NotFoundException.class, () -> std.method("no_such_method"));
        assertThrows(NotFoundException.class, () -> host.open("no_such_module"));
        assertThrows(InvalidArgumentException.class, () -> host.open("bad name!"));
        assertThrows(NotFoundException.class, () -> host.open("/nonexistent/libbridgehost_mod_x.so"));
        AbiMismatchException a = assertThrows(AbiMismatchException.class,
                () -> host.open(TestSupport.dist().resolve("broken/libbroken_wrong_magic.so").toString()));
        assertEquals(ErrorKind.ABI_MISMATCH, a.kind());
        assertThrows(AbiMismatchException.class,
                () -> host.open(TestSupport.dist().resolve("broken/libbroken_duplicate_method_names.so").toString()));
    }

    @Test
    void limitsAreEnforced() {
        try (NativeModule small = host.open("std", ModuleOptions.defaults().withMaxInput(8).withMaxOutput(8))) {
            Method e = small.method("echo");
            assertArrayEquals(ascii("12345678"), e.call(ascii("12345678")));
            assertThrows(ResourceLimitException.class, () -> e.call(ascii("123456789")));
            assertThrows(ResourceLimitException.class, () -> e.call(ByteBuffer.allocateDirect(9)));
        }
        try (NativeModule small = host.open("std", ModuleOptions.defaults().withMaxOutput(3))) {
            assertThrows(ResourceLimitException.class, () -> small.method("echo").call(ascii("four")));
        }
    }

    @Test
    void configReachesInitAndBadOptionsAreTyped() {
        try (NativeModule m = host.open("std", ModuleOptions.defaults().withConfig(ascii("cfg bytes")))) {
            assertArrayEquals(ascii("cfg bytes"), m.method("config").call(new byte[0]));
        }
        assertThrows(InvalidArgumentException.class,
                () -> host.open("std", ModuleOptions.defaults().withCallTimeout(Duration.ofSeconds(1))));
        assertThrows(InvalidArgumentException.class,
                () -> host.open("std", ModuleOptions.defaults().withMemoryLimit(1 << 30)));
        // The zlib module refuses a config that is not a level in its init: a module error (EINVAL).
        ModuleException bad = assertThrows(ModuleException.class, () -> zlib.host().open("zlib",
                ModuleOptions.defaults().withConfig(ascii("not a level"))).close());
        assertEquals(22, bad.code());
    }

    @Test
    void moduleInfoAndFlags() {
        assertEquals("std", std.name());
        assertFalse(std.version().isEmpty());
        assertTrue(std.methodNames().containsAll(Arrays.asList("echo", "checksum", "sleep_ms", "ticker")));
        assertEquals("thread-safe", std.threadModel());
        assertEquals(Isolation.IN_PROCESS, std.isolation());
        assertTrue(std.path().endsWith("libbridgehost_mod_std.so"), std.path());
        assertTrue(echo.isNonBlocking());
        assertFalse(std.method("sleep_ms").isNonBlocking());
        assertEquals("echo", echo.name());
        assertEquals(std, echo.module());
    }

    /**
     * interfaceText is the module's own WIT, whole: std's is the text its generated bindings embed
     * (plugins/std/std.wit verbatim), zlib's is another; a bytes-only module has none; the value is
     * read at open and still answers after close, in-process and isolated alike.
     */
    @Test
    void interfaceTextIsTheEmbeddedWit() throws java.io.IOException {
        String wit = std.interfaceText().orElseThrow();
        assertEquals(io.bridgehost.gen.std.Std.WIT, wit);
        // The repository root, found as SymmetryTest finds docs/SYMMETRY.md.
        java.nio.file.Path root = SymmetryTest.doc().getParent().getParent();
        assertEquals(java.nio.file.Files.readString(root.resolve("plugins/std/std.wit"), UTF_8), wit);
        String zlibWit = zlib.interfaceText().orElseThrow();
        assertTrue(zlibWit.contains("package bridgehost:zlib@"), zlibWit);
        assertFalse(zlibWit.equals(wit));
        NativeModule isolated = host.open("std", ModuleOptions.isolated());
        NativeModule bytesOnly = host.open("serial");
        isolated.close();
        bytesOnly.close();
        assertEquals(java.util.Optional.of(wit), isolated.interfaceText());
        assertEquals(java.util.Optional.empty(), bytesOnly.interfaceText());
    }

    @Test
    void countersCountCallsAndErrors() {
        try (NativeModule m = host.open("std")) {
            Method e = m.method("echo");
            for (int i = 0; i < 10; i++) {
                e.call(new byte[] {(byte) i});
            }
            assertThrows(ModuleException.class, () -> m.method("fail").call(new byte[0]));
            Counters c = m.counters();
            assertEquals(11, c.calls());
            assertEquals(1, c.errors());
            assertEquals(11, c.get("calls"));
            assertEquals(Counters.NAMES, java.util.List.copyOf(c.asMap().keySet()));
            assertThrows(IllegalArgumentException.class, () -> c.get("nope"));
        }
        assertTrue(host.counters().calls() >= 11);
    }
}
