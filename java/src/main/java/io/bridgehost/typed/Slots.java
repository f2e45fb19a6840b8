package io.bridgehost.typed;

import io.bridgehost.InvalidArgumentException;

/**
 * The slots of direct calls (docs/TYPED.md, "Direct calls"): a function whose parameters and
 * result are all scalars is called through {@link io.bridgehost.Method#callScalar(long...)} with
 * one 64-bit slot per argument, no byte encoding. Generated bindings convert each argument here
 * (the types that need a check or a conversion; the signed types and {@code u64} widen as they
 * are) and the result's slot back.
 *
 * <p>The checks are {@link WireWriter}'s, with its messages (e.g. "parameter b: 256 is out of range
 * for u8"): a value is refused the same way whichever path the call takes. Floats keep
 * {@code -0.0} and write every NaN as the canonical quiet NaN, as {@link WireWriter} does; a NaN
 * result is the canonical one, as {@link WireReader} yields.
 */
public final class Slots {
    private Slots() {}

    private static InvalidArgumentException range(String what, long v, String type) {
        return new InvalidArgumentException(what + ": " + v + " is out of range for " + type);
    }

    /**
     * @param v a {@code bool}
     * @return its slot: 1 or 0
     */
    public static long bool(boolean v) {
        return v ? 1L : 0L;
    }

    /**
     * @param v a {@code u8}, 0..255
     * @param what the value's path, for the message
     * @return its slot
     * @throws InvalidArgumentException if {@code v} is out of range
     */
    public static long u8(short v, String what) {
        if (v < 0 || v > 0xff) {
            throw range(what, v, "u8");
        }
        return v;
    }

    /**
     * @param v a {@code u16}, 0..65535
     * @param what the value's path, for the message
     * @return its slot
     * @throws InvalidArgumentException if {@code v} is out of range
     */
    public static long u16(int v, String what) {
        if (v < 0 || v > 0xffff) {
            throw range(what, v, "u16");
        }
        return v;
    }

    /**
     * @param v a {@code u32}, 0..4294967295
     * @param what the value's path, for the message
     * @return its slot
     * @throws InvalidArgumentException if {@code v} is out of range
     */
    public static long u32(long v, String what) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw range(what, v, "u32");
        }
        return v;
    }

    /**
     * @param codePoint a {@code char}: a Unicode scalar value (not a surrogate, at most U+10FFFF)
     * @param what the value's path, for the message
     * @return its slot
     * @throws InvalidArgumentException if {@code codePoint} is not a Unicode scalar value
     */
    public static long chr(int codePoint, String what) {
        if (codePoint < 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
            throw new InvalidArgumentException(
                    what + ": 0x" + Integer.toHexString(codePoint) + " is not a Unicode scalar value");
        }
        return codePoint;
    }

    /**
     * @param v an {@code f32}
     * @return its slot: the IEEE-754 bits in the low 32 bits (every NaN canonical, {@code -0.0}
     *     kept)
     */
    public static long f32(float v) {
        return Float.floatToIntBits(v) & 0xffff_ffffL;
    }

    /**
     * @param v an {@code f64}
     * @return its slot: the IEEE-754 bits (every NaN canonical, {@code -0.0} kept)
     */
    public static long f64(double v) {
        return Double.doubleToLongBits(v);
    }

    /**
     * @param slot an {@code f32} result's slot (checked by the host: the high 32 bits are zero)
     * @return the value; every NaN is the canonical quiet NaN
     */
    public static float toF32(long slot) {
        float v = Float.intBitsToFloat((int) slot);
        return Float.isNaN(v) ? Float.NaN : v;
    }

    /**
     * @param slot an {@code f64} result's slot
     * @return the value; every NaN is the canonical quiet NaN
     */
    public static double toF64(long slot) {
        double v = Double.longBitsToDouble(slot);
        return Double.isNaN(v) ? Double.NaN : v;
    }

    /**
     * @param slot a {@code bool} result's slot (checked by the host: 0 or 1)
     * @return the value
     */
    public static boolean toBool(long slot) {
        return slot != 0;
    }
}
