package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.bridgehost.gen.std.Std;
import io.bridgehost.typed.Slots;
import io.bridgehost.typed.WireWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Direct calls (docs/TYPED.md, "Direct calls"): {@link Method#callScalar(long...)} and the generated
 * functions whose parameters and result are all scalars (std's {@code add} and {@code sleep}),
 * which call it. Same results, same refusals (kind and message) and same errors as the untyped
 * call of the same method, in-process and isolated.
 */
class DirectCallTest {
    private static final long U32_MAX = 0xffff_ffffL;

    private static ModuleOptions mode(String isolation) {
        return isolation.equals("process") ? ModuleOptions.isolated() : ModuleOptions.defaults();
    }

    /** The untyped call of {@code add}: its wire input by hand, its u32 output decoded by hand. */
    private static long untypedAdd(Method add, long a, long b) {
        byte[] out = add.call(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putInt((int) a).putInt((int) b).array());
        assertEquals(4, out.length);
        return Integer.toUnsignedLong(ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void typedAddEqualsTheUntypedCallOnEdgeValues(String isolation) throws Exception {
        long[][] pairs = {
            {0, 0}, {U32_MAX, 0}, {0, U32_MAX}, {U32_MAX, 1}, {U32_MAX, U32_MAX},
            {4_000_000_000L, 300_000_000L}, {0x8000_0000L, 0x8000_0000L}, {2, 3},
        };
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std", mode(isolation));
                Method add = std.module().method("add")) {
            assertEquals(Optional.of("(u32, u32) -> u32"), add.scalarSignature());
            for (long[] p : pairs) {
                long want = untypedAdd(add, p[0], p[1]);
                assertEquals((p[0] + p[1]) & U32_MAX, want); // the module's u32 arithmetic
                assertEquals(want, std.add(p[0], p[1]), () -> p[0] + " + " + p[1]);
                assertEquals(want, add.callScalar(p[0], p[1]));
                assertEquals(want, add.callScalar(new long[] {p[0], p[1]}));
                assertEquals(want, std.addAsync(p[0], p[1]).get(10, TimeUnit.SECONDS));
            }
            std.sleep(0); // no result: the slot is ignored
            Method sleep = std.module().method("sleep");
            assertEquals(Optional.of("(u32)"), sleep.scalarSignature());
            assertEquals(0L, sleep.callScalar(0));
            sleep.close();
        }
    }

    @Test
    void aMethodWithoutAScalarSignatureIsRefused() {
        try (Host host = TestSupport.host(); NativeModule m = host.open("std");
                Method echo = m.method("echo"); Method raw = m.method("checksum")) {
            assertEquals(Optional.empty(), echo.scalarSignature());
            assertEquals(Optional.empty(), raw.scalarSignature()); // no typed function at all
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> echo.callScalar(1));
            assertTrue(e.getMessage().contains("has no scalar signature"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> raw.callScalar());
        }
    }

    /**
     * The generated function refuses with WireWriter's messages, as before; the scalar call
     * refuses the same values with the core's, which are the same; a wrong count is named. No
     * module code runs.
     */
    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void outOfRangeArgumentsAreRefusedWithTheSameMessages(String isolation) {
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std", mode(isolation));
                Method add = std.module().method("add")) {
            long calls = std.module().counters().calls();
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> std.add(-1, 2));
            assertEquals("parameter a: -1 is out of range for u32", e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.add(1, 1L << 32));
            assertEquals("parameter b: 4294967296 is out of range for u32", e.getMessage());
            // The same refusal as the byte path's encoder gives.
            InvalidArgumentException w = assertThrows(InvalidArgumentException.class,
                    () -> new WireWriter().u32(1L << 32, "parameter b"));
            assertEquals(w.getMessage(), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> std.sleep(-5));
            assertEquals("parameter ms: -5 is out of range for u32", e.getMessage());
            // The core's checks under the scalar call itself: the same messages.
            e = assertThrows(InvalidArgumentException.class, () -> add.callScalar(1, 1L << 32));
            assertTrue(e.getMessage().endsWith("parameter b: 4294967296 is out of range for u32"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> add.callScalar(-1, 0));
            assertTrue(e.getMessage().endsWith("parameter a: -1 is out of range for u32"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> add.callScalar(1));
            assertTrue(e.getMessage().endsWith("add takes 2 argument(s), got 1"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> add.callScalar(1, 2, 3, 4, 5));
            assertTrue(e.getMessage().endsWith("add takes 2 argument(s), got 5"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> add.callScalar(new long[9]));
            assertTrue(e.getMessage().endsWith("add takes 2 argument(s), got 9"), e.getMessage());
            assertThrows(NullPointerException.class, () -> add.callScalar((long[]) null));
            assertEquals(calls, std.module().counters().calls());
        }
    }

    /** A module error of a direct-eligible function: the same exception as the untyped call's. */
    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void aModuleErrorMapsLikeAnyOther(String isolation) {
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std", mode(isolation));
                Method sleep = std.module().method("sleep")) {
            ModuleException typed = assertThrows(ModuleException.class, () -> std.sleep(60_001));
            ModuleException scalar = assertThrows(ModuleException.class, () -> sleep.callScalar(60_001));
            ModuleException untyped = assertThrows(ModuleException.class, () -> sleep.call(
                    ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(60_001).array()));
            assertEquals(22, untyped.code());
            assertTrue(untyped.getMessage().contains("sleep: 60001 ms exceeds 60000 ms"), untyped.getMessage());
            for (ModuleException e : new ModuleException[] {typed, scalar}) {
                assertEquals(untyped.code(), e.code());
                assertEquals(untyped.getMessage(), e.getMessage());
                assertEquals(untyped.kind(), e.kind());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"in-process", "process"})
    void closedMethodsModulesAndHostsAreClosed(String isolation) {
        try (Host host = TestSupport.host()) {
            Std std = Std.open(host, "std", mode(isolation));
            NativeModule m = std.module();
            Method add = m.method("add");
            add.close();
            assertThrows(ClosedException.class, () -> add.callScalar(1, 2));
            assertThrows(ClosedException.class, () -> add.callScalar(1, 2, 3, 4, 5));
            // An immutable value, like name(): it still answers after close, as in every runtime.
            assertEquals(Optional.of("(u32, u32) -> u32"), add.scalarSignature());
            Method other = m.method("add");
            std.close();
            assertEquals(Optional.of("(u32, u32) -> u32"), other.scalarSignature());
            assertThrows(ClosedException.class, () -> std.add(1, 2));
            assertThrows(ClosedException.class, () -> other.callScalar(1, 2));
            assertThrows(ClosedException.class, () -> std.sleep(0));
        }
        Host host = TestSupport.host();
        NativeModule m = host.open("std", mode(isolation));
        Method add = m.method("add");
        assertEquals(3, add.callScalar(1, 2));
        host.close();
        assertThrows(ClosedException.class, () -> add.callScalar(1, 2));
    }

    /**
     * Java 21+: scalar calls on virtual threads; a blocking one ({@code sleep}) is handed to a
     * platform thread as {@link Method#call(byte[])} is, a non-blocking one ({@code add}) runs on
     * the caller; errors cross the hand-off unchanged.
     */
    @Test
    void scalarCallsOnVirtualThreads() throws Exception {
        boolean available = Runtime.version().feature() >= 21;
        if (Boolean.getBoolean("bridgehost.requireVirtualThreads")) {
            assertTrue(available, "virtual threads required but running on Java " + Runtime.version());
        }
        assumeTrue(available, "virtual threads need Java 21+");
        ExecutorService vts = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        try (Host host = TestSupport.host(); Std std = Std.open(host, "std");
                Method sleep = std.module().method("sleep")) {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 200; t++) {
                long id = t;
                fs.add(vts.submit(() -> {
                    assertEquals((id + U32_MAX) & U32_MAX, std.add(id, U32_MAX));
                    std.sleep(1);
                    assertEquals(0L, sleep.callScalar(0));
                    ModuleException e = assertThrows(ModuleException.class, () -> sleep.callScalar(60_001));
                    assertEquals(22, e.code());
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            vts.shutdown();
        }
    }

    /** A stale id at the native entry (no Java-side check in front) is ClosedException too. */
    @Test
    void aStaleIdAtTheNativeEntryIsClosed() throws Exception {
        try (Host host = TestSupport.host(); NativeModule m = host.open("std")) {
            long id = Native.methodResolve(ValueRangeTest.id(m), "add");
            assertEquals(5, Native.callScalar2(id, 2, 3));
            Native.methodClose(id);
            ClosedException e = assertThrows(ClosedException.class, () -> Native.callScalar2(id, 2, 3));
            assertTrue(e.getMessage().contains("method is closed"), e.getMessage());
            assertThrows(ClosedException.class, () -> Native.callScalar0(id));
            assertThrows(ClosedException.class, () -> Native.callScalarN(id, new long[] {2, 3}));
            // The untyped call's refusal of the same id: the same exception and message.
            ClosedException u = assertThrows(ClosedException.class, () -> Native.call(id, new byte[8], 0, 8));
            assertEquals(u.getMessage(), e.getMessage());
        }
    }

    /**
     * The slot of each scalar type, at its edges, is the wire encoding's value (sign-extended for
     * the signed types); floats keep -0.0 and write the canonical NaN, as WireWriter does.
     */
    @Test
    void slotsAreTheWireValuesAtTheEdges() {
        assertEquals(le(w -> w.u32(U32_MAX, "v"), 4), Slots.u32(U32_MAX, "v"));
        assertEquals(0xffL, Slots.u8((short) 255, "v"));
        assertEquals(0xffffL, Slots.u16(0xffff, "v"));
        long s8min = Byte.MIN_VALUE; // what the generated code passes for an s8: the byte widened
        assertEquals(0xffff_ffff_ffff_ff80L, s8min);
        assertEquals((byte) le(w -> w.s8(Byte.MIN_VALUE), 1), s8min);
        assertEquals(1L, Slots.bool(true));
        assertEquals(0L, Slots.bool(false));
        assertEquals(0x1f600L, Slots.chr(0x1f600, "v")); // astral
        assertEquals(le(w -> w.chr(0x10ffff, "v"), 4), Slots.chr(0x10ffff, "v"));
        assertEquals(0x8000_0000L, Slots.f32(-0.0f));
        assertEquals(0x7fc0_0000L, Slots.f32(Float.intBitsToFloat(0x7fc0_1234))); // canonical NaN
        assertEquals(le(w -> w.f32(Float.NaN), 4), Slots.f32(Float.NaN));
        assertEquals(le(w -> w.f32(-1.5f), 4), Slots.f32(-1.5f));
        assertEquals(0x8000_0000_0000_0000L, Slots.f64(-0.0));
        assertEquals(0x7ff8_0000_0000_0000L, Slots.f64(Double.longBitsToDouble(0x7ff0_0000_0000_0001L)));
        assertEquals(le(w -> w.f64(Math.PI), 8), Slots.f64(Math.PI));
        // Results: the canonical NaN, -0.0 kept.
        assertEquals(0x7fc0_0000, Float.floatToRawIntBits(Slots.toF32(0x7fc0_0001L)));
        assertEquals(0x8000_0000, Float.floatToRawIntBits(Slots.toF32(0x8000_0000L)));
        assertEquals(0x7ff8_0000_0000_0000L, Double.doubleToRawLongBits(Slots.toF64(0xfff0_0000_0000_0001L)));
        assertEquals(0x8000_0000_0000_0000L, Double.doubleToRawLongBits(Slots.toF64(0x8000_0000_0000_0000L)));
        assertTrue(Slots.toBool(1));
        // Refusals: WireWriter's messages, for both paths.
        for (Runnable[] r : new Runnable[][] {
            {() -> Slots.u8((short) 256, "parameter b"), () -> new WireWriter().u8((short) 256, "parameter b")},
            {() -> Slots.u16(-1, "parameter b"), () -> new WireWriter().u16(-1, "parameter b")},
            {() -> Slots.u32(-1, "parameter b"), () -> new WireWriter().u32(-1, "parameter b")},
            {() -> Slots.chr(0xd800, "parameter c"), () -> new WireWriter().chr(0xd800, "parameter c")},
            {() -> Slots.chr(0x110000, "parameter c"), () -> new WireWriter().chr(0x110000, "parameter c")},
        }) {
            String a = assertThrows(InvalidArgumentException.class, r[0]::run).getMessage();
            String b = assertThrows(InvalidArgumentException.class, r[1]::run).getMessage();
            assertEquals(b, a);
        }
        assertEquals("parameter b: 256 is out of range for u8",
                assertThrows(InvalidArgumentException.class, () -> Slots.u8((short) 256, "parameter b")).getMessage());
        assertEquals("parameter c: 0xd800 is not a Unicode scalar value",
                assertThrows(InvalidArgumentException.class, () -> Slots.chr(0xd800, "parameter c")).getMessage());
    }

    /** The little-endian value of what {@code enc} writes ({@code n} bytes), zero-extended. */
    private static long le(java.util.function.Consumer<WireWriter> enc, int n) {
        WireWriter w = new WireWriter();
        enc.accept(w);
        byte[] b = w.toByteArray();
        assertEquals(n, b.length);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xff);
        }
        return v;
    }
}
