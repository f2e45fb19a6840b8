package io.bridgehost.typed;

import io.bridgehost.AbiMismatchException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Decodes the wire format of docs/TYPED.md from hostile bytes. Every failure (truncation, a
 * length longer than the bytes left, a bad tag, discriminant or flag bit, an invalid {@code char}
 * or UTF-8, trailing bytes) is an {@link AbiMismatchException} "malformed typed payload at byte N:
 * ...", never an {@link IndexOutOfBoundsException}; a list's element count is checked against the
 * bytes left (times the element type's smallest encoding) before anything is allocated. Not
 * thread-safe: one reader per payload.
 */
public final class WireReader {
    /** Decodes one element of a list or option. */
    @FunctionalInterface
    public interface Decoder<T> {
        /**
         * @param r the reader
         * @return the element
         */
        T decode(WireReader r);
    }

    private final byte[] buf;
    private final int base;
    private final int end;
    private int pos;

    /** @param bytes the payload (not copied: do not change it while reading) */
    public WireReader(byte[] bytes) {
        this(bytes, 0, bytes.length);
    }

    /**
     * @param bytes the array holding the payload
     * @param offset where it starts
     * @param length its length
     */
    public WireReader(byte[] bytes, int offset, int length) {
        if (offset < 0 || length < 0 || offset > bytes.length - length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", length " + length);
        }
        this.buf = bytes;
        this.pos = offset;
        this.end = offset + length;
        this.base = offset;
    }

    private AbiMismatchException err(int at, String reason) {
        return new AbiMismatchException("malformed typed payload at byte " + (at - base) + ": " + reason);
    }

    /**
     * The error of a typed call's output that does not decode as function {@code function}'s
     * result, worded exactly as the core words it when it decodes the output itself (a
     * {@code list<u8>} result, a direct call's result slot) and as Python and the CLI report it:
     * "ABI mismatch in PATH: output of F does not match its interface: REASON", PATH being
     * {@link io.bridgehost.NativeModule#path()}. Generated bindings call it; one place words it.
     *
     * @param module the module whose output it is
     * @param function the WIT function's name
     * @param reason the decoding error ({@code "malformed typed payload at byte N: ..."})
     * @return the exception to throw, caused by {@code reason}
     */
    public static AbiMismatchException outputMismatch(io.bridgehost.NativeModule module, String function,
            AbiMismatchException reason) {
        return mismatch(module, "output of " + function, reason);
    }

    /**
     * The error of an event's data that does not decode as event {@code topic}'s payload, worded
     * as the core words it ({@code decode_event}, Python's typed events): "ABI mismatch in PATH:
     * event T does not match its interface: REASON".
     *
     * @param module the module that emitted the event
     * @param topic the event's topic
     * @param reason the decoding error
     * @return the exception to throw, caused by {@code reason}
     */
    public static AbiMismatchException eventMismatch(io.bridgehost.NativeModule module, String topic,
            AbiMismatchException reason) {
        return mismatch(module, "event " + topic, reason);
    }

    private static AbiMismatchException mismatch(io.bridgehost.NativeModule module, String what,
            AbiMismatchException reason) {
        AbiMismatchException e = new AbiMismatchException(
                "ABI mismatch in " + module.path() + ": " + what + " does not match its interface: " + reason.getMessage());
        e.initCause(reason);
        return e;
    }

    /**
     * {@code n} and a noun, singular or plural ("1 byte", "2 bytes"): every reason is worded as the
     * Rust codec words it (bridgehost_interface::wire), checked by the golden vectors' "error".
     */
    private static String count(long n, String noun) {
        return n == 1 ? "1 " + noun : n + " " + noun + "s";
    }

    /** @return the bytes not read yet */
    public int remaining() {
        return end - pos;
    }

    private int take(int n) {
        if (n > remaining()) {
            throw err(pos, "truncated: " + count(n, "byte") + " needed, " + remaining() + " left");
        }
        int at = pos;
        pos += n;
        return at;
    }

    private long le(int n) {
        int at = take(n);
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (buf[at + i] & 0xffL) << (8 * i);
        }
        return v;
    }

    /** Checks every byte was read. */
    public void end() {
        if (pos != end) {
            throw err(pos, count(end - pos, "trailing byte"));
        }
    }

    /** @return a {@code bool} (a byte other than 0 or 1 is refused) */
    public boolean bool() {
        int at = pos;
        int b = (int) le(1);
        if (b > 1) {
            throw err(at, "bool byte " + b + " is neither 0 nor 1");
        }
        return b == 1;
    }

    /** @return an {@code s8} */
    public byte s8() {
        return (byte) le(1);
    }

    /** @return an {@code s16} */
    public short s16() {
        return (short) le(2);
    }

    /** @return an {@code s32} */
    public int s32() {
        return (int) le(4);
    }

    /** @return an {@code s64} */
    public long s64() {
        return le(8);
    }

    /** @return a {@code u8}, 0..255 */
    public short u8() {
        return (short) le(1);
    }

    /** @return a {@code u16}, 0..65535 */
    public int u16() {
        return (int) le(2);
    }

    /** @return a {@code u32}, 0..4294967295 */
    public long u32() {
        return le(4);
    }

    /** @return a {@code u64}: its 64 bits, read as unsigned ({@link Long#toUnsignedString}) */
    public long u64() {
        return le(8);
    }

    /** @return an {@code f32}; every NaN is the canonical quiet NaN */
    public float f32() {
        float v = Float.intBitsToFloat((int) le(4));
        return Float.isNaN(v) ? Float.intBitsToFloat(0x7fc0_0000) : v;
    }

    /** @return an {@code f64}; every NaN is the canonical quiet NaN */
    public double f64() {
        double v = Double.longBitsToDouble(le(8));
        return Double.isNaN(v) ? Double.longBitsToDouble(0x7ff8_0000_0000_0000L) : v;
    }

    /** @return a {@code char} as a code point (a surrogate or a value above U+10FFFF is refused) */
    public int chr() {
        int at = pos;
        long c = le(4);
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            throw err(at, "0x" + Long.toHexString(c) + " is not a Unicode scalar value");
        }
        return (int) c;
    }

    private int length(String what, int minElement) {
        int at = pos;
        long n = le(4);
        long need = n * Math.max(1, minElement);
        if (need > remaining()) {
            throw err(at, what + " length " + n + " needs at least " + count(need, "byte") + ", " + remaining() + " left");
        }
        return (int) n;
    }

    /** @return a {@code string} (invalid UTF-8 is refused) */
    public String string() {
        int n = length("string", 1);
        int at = take(n);
        int bad = invalidUtf8(buf, at, at + n);
        if (bad >= 0) {
            throw err(bad, "string is not valid UTF-8");
        }
        // Valid UTF-8: the JDK's decoder (which would replace what is invalid) is exact.
        return new String(buf, at, n, StandardCharsets.UTF_8);
    }

    /**
     * Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
     *
     * @return the offset of the first byte of the first invalid sequence, or -1 when
     *     {@code b[from, to)} is valid
     */
    static int invalidUtf8(byte[] b, int from, int to) {
        int i = from;
        while (i < to) {
            int c = b[i];
            if (c >= 0) {
                i++;
                continue;
            }
            c &= 0xff;
            int need;
            int min;
            if (c >= 0xc2 && c <= 0xdf) {
                need = 1;
                min = 0x80;
            } else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                min = 0x800;
            } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                min = 0x10000;
            } else {
                return i;
            }
            if (to - i <= need) {
                return i;
            }
            int cp = c & (0x3f >> need);
            for (int k = 1; k <= need; k++) {
                int cont = b[i + k] & 0xff;
                if ((cont & 0xc0) != 0x80) {
                    return i;
                }
                cp = (cp << 6) | (cont & 0x3f);
            }
            if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                return i;
            }
            i += need + 1;
        }
        return -1;
    }

    /** @return a {@code list<u8>} */
    public byte[] bytes() {
        int n = length("list", 1);
        int at = take(n);
        return Arrays.copyOfRange(buf, at, at + n);
    }

    /**
     * @param <T> the element type
     * @param minElement the smallest encoding of one element, in bytes (at least 1)
     * @param element decodes one element
     * @return a {@code list<T>}, unmodifiable
     */
    public <T> List<T> list(int minElement, Decoder<T> element) {
        int n = length("list", minElement);
        List<T> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            items.add(element.decode(this));
        }
        return java.util.Collections.unmodifiableList(items);
    }

    private int tag(String what) {
        int at = pos;
        int b = (int) le(1);
        if (b > 1) {
            throw err(at, what + " tag " + b + " is neither 0 nor 1");
        }
        return b;
    }

    /**
     * @param <T> the payload type
     * @param some decodes the payload
     * @return an {@code option<T>}
     */
    public <T> Optional<T> option(Decoder<T> some) {
        return tag("option") == 0 ? Optional.empty() : Optional.of(some.decode(this));
    }

    /**
     * @param <T> the ok type
     * @param <E> the error type
     * @param ok decodes the ok payload ({@code null} when the type has none)
     * @param err decodes the error payload ({@code null} when the type has none)
     * @return a {@code result<T, E>}
     */
    public <T, E> Result<T, E> result(Decoder<T> ok, Decoder<E> err) {
        if (tag("result") == 0) {
            return Result.ok(ok == null ? null : ok.decode(this));
        }
        return Result.err(err == null ? null : err.decode(this));
    }

    /**
     * A variant's or enum's discriminant, checked against the number of cases.
     *
     * @param cases the number of cases of the type
     * @param kind "variant" or "enum"
     * @param type the WIT type's name, for the message
     * @return the case index
     */
    public int discriminant(int cases, String kind, String type) {
        int at = pos;
        int d = (int) (cases <= 256 ? le(1) : le(2));
        if (d >= cases) {
            throw err(at, kind + " " + type + " has " + count(cases, "case") + ", got discriminant " + d);
        }
        return d;
    }

    /**
     * @param count the number of flags of the type (1..32)
     * @param type the WIT type's name, for the message
     * @return the bits, bit {@code i} for flag {@code i} (unknown bits are refused)
     */
    public long flags(int count, String type) {
        int at = pos;
        long bits = le((count + 7) / 8);
        if (count < 64 && (bits >>> count) != 0) {
            throw err(at, "flags " + type + " has " + count(count, "flag") + ", got bits 0x" + Long.toHexString(bits));
        }
        return bits;
    }

    /** @return an {@code own<R>} or {@code borrow<R>} handle */
    public long handle() {
        return le(8);
    }
}
