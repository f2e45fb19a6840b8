// Direct calls (docs/TYPED.md, "Direct calls"): the 64-bit slot of each scalar WIT type, both
// ways, for generated bindings that call Method.CallScalar. No allocation; the only unsafe code is
// the reinterpretation of an f32's bits.
using System;

namespace BridgeHost.Typed
{
    /// <summary>
    /// The slot encoding of a direct call (<see cref="Method.CallScalar(ReadOnlySpan{ulong})"/>): one
    /// <c>ulong</c> per argument and for the result. <c>bool</c> is 0 or 1; <c>u8</c>, <c>u16</c>,
    /// <c>u32</c> zero-extended; <c>s8</c> .. <c>s64</c> sign-extended; <c>u64</c> as is;
    /// <c>f32</c> its bits in the low 32 bits; <c>f64</c> its bits; <c>char</c> the code point.
    /// Floats follow the wire codec: a NaN is sent and returned as the canonical NaN.
    /// </summary>
    /// <remarks>The result conversions (<c>To...</c>) take a slot the native side has already
    /// checked against the result type (an invalid one is an <see cref="AbiMismatchException"/>
    /// there).</remarks>
    public static class Slot
    {
        /// <summary>A <c>bool</c>: 0 or 1.</summary>
        public static ulong Bool(bool v) => v ? 1UL : 0UL;

        /// <summary>An <c>s8</c>, sign-extended.</summary>
        public static ulong S8(sbyte v) => unchecked((ulong)(long)v);

        /// <summary>An <c>s16</c>, sign-extended.</summary>
        public static ulong S16(short v) => unchecked((ulong)(long)v);

        /// <summary>An <c>s32</c>, sign-extended.</summary>
        public static ulong S32(int v) => unchecked((ulong)(long)v);

        /// <summary>An <c>s64</c>.</summary>
        public static ulong S64(long v) => unchecked((ulong)v);

        /// <summary>A <c>u8</c>.</summary>
        public static ulong U8(byte v) => v;

        /// <summary>A <c>u16</c>.</summary>
        public static ulong U16(ushort v) => v;

        /// <summary>A <c>u32</c>.</summary>
        public static ulong U32(uint v) => v;

        /// <summary>A <c>u64</c>.</summary>
        public static ulong U64(ulong v) => v;

        /// <summary>An <c>f32</c>: its bits (a NaN as the canonical NaN <c>0x7fc00000</c>, as
        /// <see cref="WireWriter.F32"/>).</summary>
        public static unsafe ulong F32(float v) => float.IsNaN(v) ? 0x7fc00000UL : *(uint*)&v;

        /// <summary>An <c>f64</c>: its bits (a NaN as the canonical NaN).</summary>
        public static ulong F64(double v) =>
            double.IsNaN(v) ? 0x7ff8000000000000UL : unchecked((ulong)BitConverter.DoubleToInt64Bits(v));

        /// <summary>A <c>char</c>: <paramref name="codePoint"/> must be a Unicode scalar value
        /// (0..0x10FFFF, not a surrogate); otherwise <see cref="InvalidArgumentException"/> with the
        /// message <see cref="WireWriter.Char"/> gives.</summary>
        public static ulong Char(int codePoint, string what)
        {
            CheckCodePoint(codePoint, what);
            return (uint)codePoint;
        }

        /// <summary>A <c>bool</c> result.</summary>
        public static bool ToBool(ulong slot) => slot != 0;

        /// <summary>An <c>s8</c> result.</summary>
        public static sbyte ToS8(ulong slot) => unchecked((sbyte)slot);

        /// <summary>An <c>s16</c> result.</summary>
        public static short ToS16(ulong slot) => unchecked((short)slot);

        /// <summary>An <c>s32</c> result.</summary>
        public static int ToS32(ulong slot) => unchecked((int)slot);

        /// <summary>An <c>s64</c> result.</summary>
        public static long ToS64(ulong slot) => unchecked((long)slot);

        /// <summary>A <c>u8</c> result.</summary>
        public static byte ToU8(ulong slot) => unchecked((byte)slot);

        /// <summary>A <c>u16</c> result.</summary>
        public static ushort ToU16(ulong slot) => unchecked((ushort)slot);

        /// <summary>A <c>u32</c> result.</summary>
        public static uint ToU32(ulong slot) => unchecked((uint)slot);

        /// <summary>A <c>u64</c> result.</summary>
        public static ulong ToU64(ulong slot) => slot;

        /// <summary>An <c>f32</c> result (a NaN as the canonical NaN, as
        /// <see cref="WireReader.F32"/>).</summary>
        public static unsafe float ToF32(ulong slot)
        {
            uint bits = unchecked((uint)slot);
            float f = *(float*)&bits;
            if (float.IsNaN(f))
            {
                bits = 0x7fc00000u;
                f = *(float*)&bits;
            }
            return f;
        }

        /// <summary>An <c>f64</c> result (a NaN as the canonical NaN).</summary>
        public static double ToF64(ulong slot)
        {
            double d = BitConverter.Int64BitsToDouble(unchecked((long)slot));
            return double.IsNaN(d) ? BitConverter.Int64BitsToDouble(0x7ff8000000000000L) : d;
        }

        /// <summary>A <c>char</c> result, as its code point.</summary>
        public static int ToChar(ulong slot) => unchecked((int)slot);

        /// <summary>The one check of a <c>char</c> argument (this class and
        /// <see cref="WireWriter.Char"/>).</summary>
        internal static void CheckCodePoint(int codePoint, string what)
        {
            if (codePoint < 0 || codePoint > 0x10FFFF || (codePoint >= 0xD800 && codePoint <= 0xDFFF))
            {
                throw new InvalidArgumentException(what + ": U+" + codePoint.ToString("X4") + " is not a Unicode scalar value");
            }
        }
    }
}
