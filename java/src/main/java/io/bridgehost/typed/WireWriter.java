package io.bridgehost.typed;

import io.bridgehost.InvalidArgumentException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.Optional;

/**
 * Encodes values in the wire format of docs/TYPED.md ("Wire format"): little-endian, no padding,
 * {@code u32} lengths. Every method that takes a {@code what} checks its value first and throws
 * {@link InvalidArgumentException} naming {@code what} (e.g. "parameter b: 256 is out of range
 * for u8") for a value the WIT type cannot hold, or {@code null}. Not thread-safe: one writer per
 * call.
 */
public final class WireWriter {
    /** Encodes one element of a list or option. */
    @FunctionalInterface
    public interface Encoder<T> {
        /**
         * @param w the writer
         * @param value the element
         */
        void encode(WireWriter w, T value);
    }

    /**
     * Encodes one element of a list, given its path for error messages (the list's path and
     * {@code ": element N"}, as Python's typed view names it).
     */
    @FunctionalInterface
    public interface PathEncoder<T> {
        /**
         * @param w the writer
         * @param value the element
         * @param what the element's path, for the message
         */
        void encode(WireWriter w, T value, String what);
    }

    private static final int MAX_LENGTH = Integer.MAX_VALUE - 8;

    private byte[] buf;
    private int len;

    /** A writer with a small initial buffer. */
    public WireWriter() {
        this(64);
    }

    /** @param capacity the initial capacity in bytes */
    public WireWriter(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    /** @return the bytes written so far, a copy of exactly their length */
    public byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    /** @return the number of bytes written so far */
    public int size() {
        return len;
    }

    private void room(int n) {
        if (n > MAX_LENGTH - len) {
            throw new InvalidArgumentException("typed value too large to encode: more than 2 GiB");
        }
        if (len + n > buf.length) {
            long grown = Math.max((long) buf.length * 2, (long) len + n);
            buf = Arrays.copyOf(buf, (int) Math.min(grown, MAX_LENGTH));
        }
    }

    private static <T> T nonNull(T v, String what) {
        if (v == null) {
            throw new InvalidArgumentException(what + " is null");
        }
        return v;
    }

    /** @param v a {@code bool} */
    public void bool(boolean v) {
        u8raw(v ? 1 : 0);
    }

    private void u8raw(int v) {
        room(1);
        buf[len++] = (byte) v;
    }

    private void le(long v, int n) {
        room(n);
        for (int i = 0; i < n; i++) {
            buf[len++] = (byte) (v >>> (8 * i));
        }
    }

    /** @param v an {@code s8} */
    public void s8(byte v) {
        u8raw(v);
    }

    /** @param v an {@code s16} */
    public void s16(short v) {
        le(v, 2);
    }

    /** @param v an {@code s32} */
    public void s32(int v) {
        le(v, 4);
    }

    /** @param v an {@code s64} */
    public void s64(long v) {
        le(v, 8);
    }

    /**
     * @param v a {@code u8}, 0..255
     * @param what the value's path, for the message
     */
    public void u8(short v, String what) {
        u8raw((int) Slots.u8(v, what));
    }

    /**
     * @param v a {@code u16}, 0..65535
     * @param what the value's path, for the message
     */
    public void u16(int v, String what) {
        le(Slots.u16(v, what), 2);
    }

    /**
     * @param v a {@code u32}, 0..4294967295
     * @param what the value's path, for the message
     */
    public void u32(long v, String what) {
        le(Slots.u32(v, what), 4);
    }

    /** @param v a {@code u64}: the 64 bits, read as unsigned ({@link Long#toUnsignedString}) */
    public void u64(long v) {
        le(v, 8);
    }

    /** @param v an {@code f32}; every NaN is written as the canonical quiet NaN */
    public void f32(float v) {
        le(Float.isNaN(v) ? 0x7fc0_0000 : Float.floatToRawIntBits(v), 4);
    }

    /** @param v an {@code f64}; every NaN is written as the canonical quiet NaN */
    public void f64(double v) {
        le(Double.isNaN(v) ? 0x7ff8_0000_0000_0000L : Double.doubleToRawLongBits(v), 8);
    }

    /**
     * @param codePoint a {@code char}: a Unicode scalar value (not a surrogate, at most U+10FFFF)
     * @param what the value's path, for the message
     */
    public void chr(int codePoint, String what) {
        le(Slots.chr(codePoint, what), 4);
    }

    /**
     * @param s a {@code string}; an unpaired surrogate cannot be UTF-8 and is refused
     * @param what the value's path, for the message
     */
    public void string(String s, String what) {
        nonNull(s, what);
        // String.getBytes(UTF_8) is exact for every string without an unpaired surrogate (it
        // would replace one with '?'), so check that first; ASCII and Latin-1 strings have no
        // surrogates at all.
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    throw new InvalidArgumentException(
                            what + ": string has an unpaired surrogate (not valid UTF-8)");
                }
            }
        }
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        int n = utf8.length;
        le(n, 4);
        room(n);
        System.arraycopy(utf8, 0, buf, len, n);
        len += n;
    }

    /**
     * @param b a {@code list<u8>}
     * @param what the value's path, for the message
     */
    public void bytes(byte[] b, String what) {
        nonNull(b, what);
        le(b.length, 4);
        room(b.length);
        System.arraycopy(b, 0, buf, len, b.length);
        len += b.length;
    }

    /**
     * @param <T> the element type
     * @param list a {@code list<T>}
     * @param what the value's path, for the message
     * @param element encodes one element
     */
    public <T> void list(Collection<T> list, String what, Encoder<T> element) {
        nonNull(list, what);
        le(list.size(), 4);
        int i = 0;
        for (T e : list) {
            if (e == null) {
                throw new InvalidArgumentException(what + ": element " + i + " is null");
            }
            element.encode(this, e);
            i++;
        }
    }

    /**
     * A list whose element encoder names the element: {@code what + ": element N"} (N from 0),
     * the path Python's typed view gives it ({@code parameter l: element 1: ...}).
     *
     * @param <T> the element type
     * @param list a {@code list<T>}
     * @param what the value's path, for the message
     * @param element encodes one element, given its path
     */
    public <T> void list(Collection<T> list, String what, PathEncoder<T> element) {
        nonNull(list, what);
        le(list.size(), 4);
        int i = 0;
        for (T e : list) {
            String at = what + ": element " + i++;
            element.encode(this, nonNull(e, at), at);
        }
    }

    /**
     * @param <T> the payload type
     * @param opt an {@code option<T>} ({@code null} is refused: use {@link Optional#empty()})
     * @param what the value's path, for the message
     * @param some encodes the payload
     */
    public <T> void option(Optional<T> opt, String what, Encoder<T> some) {
        nonNull(opt, what);
        if (opt.isPresent()) {
            u8raw(1);
            some.encode(this, opt.get());
        } else {
            u8raw(0);
        }
    }

    /**
     * @param <T> the ok type
     * @param <E> the error type
     * @param r a {@code result<T, E>}
     * @param what the value's path, for the message
     * @param ok encodes the ok payload ({@code null} when the type has none)
     * @param err encodes the error payload ({@code null} when the type has none)
     */
    public <T, E> void result(Result<T, E> r, String what, Encoder<T> ok, Encoder<E> err) {
        nonNull(r, what);
        if (r instanceof Result.Ok<T, E> o) {
            u8raw(0);
            if (ok != null) {
                ok.encode(this, nonNull(o.value(), what + ": ok"));
            }
        } else {
            Result.Err<T, E> e = (Result.Err<T, E>) r;
            u8raw(1);
            if (err != null) {
                err.encode(this, nonNull(e.error(), what + ": err"));
            }
        }
    }

    /**
     * A variant's or enum's discriminant: 1 byte for up to 256 cases, 2 above.
     *
     * @param index the case index
     * @param cases the number of cases of the type
     */
    public void discriminant(int index, int cases) {
        if (cases <= 256) {
            u8raw(index);
        } else {
            le(index, 2);
        }
    }

    /**
     * {@code flags}: {@code ceil(count / 8)} bytes, flag {@code i} is bit {@code i % 8} of byte
     * {@code i / 8}.
     *
     * @param bits the set flags, bit {@code i} for flag {@code i}
     * @param count the number of flags of the type (1..32)
     */
    public void flags(long bits, int count) {
        le(bits, (count + 7) / 8);
    }

    /** @param handle an {@code own<R>} or {@code borrow<R>}: the {@code u64} handle */
    public void handle(long handle) {
        le(handle, 8);
    }

    /**
     * Checks a reference is present.
     *
     * @param <T> its type
     * @param v the value
     * @param what the value's path, for the message
     * @return {@code v}
     * @throws InvalidArgumentException if {@code v} is {@code null}
     */
    public static <T> T require(T v, String what) {
        return nonNull(v, what);
    }
}
