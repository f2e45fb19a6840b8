// The run-time half of generated C# bindings (docs/TYPED.md, "C#: generated bindings"): the wire
// codec of docs/TYPED.md ("Wire format") and the value types the generated code uses. Safe code
// only: the reader treats its bytes as hostile and reports every problem as AbiMismatchException.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Text;

namespace BridgeHost.Typed
{
    /// <summary>The value of a WIT <c>result</c> side without a payload (<c>result&lt;_, E&gt;</c>'s
    /// ok side, <c>result&lt;T&gt;</c>'s error side). There is one value, <see cref="Value"/>.</summary>
    public struct Unit : IEquatable<Unit>
    {
        /// <summary>The one value.</summary>
        public static readonly Unit Value = default(Unit);

        /// <summary>Always true: there is one value.</summary>
        public bool Equals(Unit other) => true;

        /// <summary>True for a boxed <see cref="Unit"/>.</summary>
        public override bool Equals(object obj) => obj is Unit;

        /// <summary>Always 0.</summary>
        public override int GetHashCode() => 0;

        /// <summary><c>()</c>.</summary>
        public override string ToString() => "()";
    }

    /// <summary>Creates <see cref="Option{T}"/> values with the type argument inferred.</summary>
    public static class Option
    {
        /// <summary>An option holding <paramref name="value"/>.</summary>
        public static Option<T> Some<T>(T value) => new Option<T>(value);
    }

    /// <summary>A WIT <c>option&lt;T&gt;</c>: none (<c>default</c>, <see cref="None"/>) or some
    /// value. Options nest (<c>option&lt;option&lt;u8&gt;&gt;</c> is
    /// <c>Option&lt;Option&lt;byte&gt;&gt;</c>: none, some(none) and some(some(5)) are three
    /// different values). Equality is structural (see <see cref="Structural"/>).</summary>
    public struct Option<T> : IEquatable<Option<T>>
    {
        private readonly T _value;

        /// <summary>An option holding <paramref name="value"/> (which may itself be null or none).</summary>
        public Option(T value)
        {
            _value = value;
            HasValue = true;
        }

        /// <summary>The empty option.</summary>
        public static Option<T> None => default(Option<T>);

        /// <summary>Whether the option holds a value.</summary>
        public bool HasValue { get; }

        /// <summary>The value.</summary>
        /// <exception cref="InvalidOperationException">The option is none.</exception>
        public T Value
        {
            get
            {
                if (!HasValue) throw new InvalidOperationException("the option is none");
                return _value;
            }
        }

        /// <summary>The value, or <paramref name="fallback"/> when the option is none.</summary>
        public T GetValueOrDefault(T fallback) => HasValue ? _value : fallback;

        /// <summary>Structural equality: both none, or both some with equal values.</summary>
        public bool Equals(Option<T> other) =>
            HasValue == other.HasValue && (!HasValue || Structural.Equal(_value, other._value));

        /// <summary>See <see cref="Equals(Option{T})"/>.</summary>
        public override bool Equals(object obj) => obj is Option<T> o && Equals(o);

        /// <summary>A hash consistent with <see cref="Equals(Option{T})"/>.</summary>
        public override int GetHashCode() => HasValue ? 31 + Structural.Hash(_value) : 0;

        /// <summary><c>None</c> or <c>Some(value)</c>.</summary>
        public override string ToString() => HasValue ? "Some(" + Structural.Show(_value) + ")" : "None";
    }

    /// <summary>A WIT <c>result&lt;T, E&gt;</c> used as a value (a parameter, a field, an element).
    /// <see cref="Unit"/> stands for a side without a payload. (A function whose result is a
    /// <c>result</c> returns <typeparamref name="T"/> and throws
    /// <see cref="TypedModuleException{E}"/> instead.)</summary>
    public struct Result<T, E> : IEquatable<Result<T, E>>
    {
        private readonly T _value;
        private readonly E _error;
        private readonly bool _isErr;

        private Result(T value, E error, bool isErr)
        {
            _value = value;
            _error = error;
            _isErr = isErr;
        }

        /// <summary>The ok case holding <paramref name="value"/>.</summary>
        public static Result<T, E> Ok(T value) => new Result<T, E>(value, default(E), false);

        /// <summary>The error case holding <paramref name="error"/>.</summary>
        public static Result<T, E> Err(E error) => new Result<T, E>(default(T), error, true);

        /// <summary>Whether this is the ok case (<c>default(Result)</c> is ok with a default value).</summary>
        public bool IsOk => !_isErr;

        /// <summary>The ok value.</summary>
        /// <exception cref="InvalidOperationException">This is the error case.</exception>
        public T Value
        {
            get
            {
                if (_isErr) throw new InvalidOperationException("the result is an error: " + Structural.Show(_error));
                return _value;
            }
        }

        /// <summary>The error value.</summary>
        /// <exception cref="InvalidOperationException">This is the ok case.</exception>
        public E Error
        {
            get
            {
                if (!_isErr) throw new InvalidOperationException("the result is ok");
                return _error;
            }
        }

        /// <summary>Structural equality: the same case with equal payloads.</summary>
        public bool Equals(Result<T, E> other) =>
            _isErr == other._isErr
            && (_isErr ? Structural.Equal(_error, other._error) : Structural.Equal(_value, other._value));

        /// <summary>See <see cref="Equals(Result{T, E})"/>.</summary>
        public override bool Equals(object obj) => obj is Result<T, E> r && Equals(r);

        /// <summary>A hash consistent with <see cref="Equals(Result{T, E})"/>.</summary>
        public override int GetHashCode() => _isErr ? 17 + Structural.Hash(_error) : Structural.Hash(_value);

        /// <summary><c>Ok(value)</c> or <c>Err(error)</c>.</summary>
        public override string ToString() => _isErr ? "Err(" + Structural.Show(_error) + ")" : "Ok(" + Structural.Show(_value) + ")";
    }

    /// <summary>The equality generated records, variants, options and results use: byte arrays
    /// and lists compare element by element (recursively), everything else with
    /// <see cref="object.Equals(object, object)"/> (so NaN equals NaN and 0.0 equals -0.0, as
    /// <see cref="double.Equals(double)"/> says). Tuples are <see cref="ValueTuple"/>s and compare
    /// their elements with their own equality (a <c>byte[]</c> element by reference).</summary>
    public static class Structural
    {
        /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are structurally equal.</summary>
        public static bool Equal(object a, object b)
        {
            if (ReferenceEquals(a, b)) return true;
            if (a == null || b == null) return false;
            if (a is byte[] x && b is byte[] y)
            {
                if (x.Length != y.Length) return false;
                for (int i = 0; i < x.Length; i++)
                {
                    if (x[i] != y[i]) return false;
                }
                return true;
            }
            if (a is IList la && b is IList lb && !(a is string))
            {
                if (la.Count != lb.Count) return false;
                for (int i = 0; i < la.Count; i++)
                {
                    if (!Equal(la[i], lb[i])) return false;
                }
                return true;
            }
            return a.Equals(b);
        }

        /// <summary>A hash consistent with <see cref="Equal"/>.</summary>
        public static int Hash(object o)
        {
            if (o == null) return 0;
            if (o is IList l && !(o is string))
            {
                int h = 19;
                foreach (var e in l)
                {
                    h = unchecked(h * 31 + Hash(e));
                }
                return h;
            }
            return o.GetHashCode();
        }

        /// <summary>A short text for messages and <c>ToString</c>: lists as <c>[a, b]</c>, strings quoted.</summary>
        public static string Show(object o)
        {
            if (o == null) return "null";
            if (o is string s) return "\"" + s + "\"";
            if (o is byte[] b) return "bytes[" + b.Length + "]";
            if (o is IList l)
            {
                var sb = new StringBuilder("[");
                for (int i = 0; i < l.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    if (i == 16)
                    {
                        sb.Append("... (").Append(l.Count).Append(" elements)");
                        break;
                    }
                    sb.Append(Show(l[i]));
                }
                return sb.Append(']').ToString();
            }
            return o.ToString();
        }
    }

    /// <summary>Encodes values in the wire format of docs/TYPED.md ("Wire format"). Values that
    /// do not fit their WIT type (a null, a <c>char</c> that is not a Unicode scalar value, a
    /// string with an unpaired surrogate, an undefined enum value or flag bit) are
    /// <see cref="InvalidArgumentException"/>s naming the value (<c>what</c>). Not thread-safe:
    /// one writer per payload.</summary>
    public sealed class WireWriter
    {
        private byte[] _buf = new byte[64];
        private int _len;
        // True once ToArray handed out _buf itself: the next write copies it first.
        private bool _shared;

        /// <summary>The number of bytes written.</summary>
        public int Length => _len;

        /// <summary>The bytes written, as an array of their exact length that later writes do not
        /// change. When the buffer is exactly full (as after one large <c>list&lt;u8&gt;</c>), that
        /// array is the buffer itself, not a copy.</summary>
        public byte[] ToArray()
        {
            if (_len == _buf.Length)
            {
                _shared = true;
                return _buf;
            }
            var o = new byte[_len];
            Buffer.BlockCopy(_buf, 0, o, 0, _len);
            return o;
        }

        /// <summary>Returns <paramref name="value"/>, or throws <see cref="InvalidArgumentException"/>
        /// naming <paramref name="what"/> when it is null.</summary>
        public static T Require<T>(T value, string what) where T : class
        {
            if (value == null) throw new InvalidArgumentException(what + ": null is not a value of its WIT type");
            return value;
        }

        private void Room(int n)
        {
            if (_shared)
            {
                _buf = (byte[])_buf.Clone();
                _shared = false;
            }
            if (_buf.Length - _len >= n) return;
            long want = Math.Max((long)_buf.Length * 2, (long)_len + n);
            if (want > int.MaxValue - 64)
            {
                if ((long)_len + n > int.MaxValue - 64) throw new ResourceLimitException("typed payload larger than 2 GiB");
                want = int.MaxValue - 64;
            }
            Array.Resize(ref _buf, (int)want);
        }

        private void Le(ulong v, int n)
        {
            Room(n);
            for (int i = 0; i < n; i++)
            {
                _buf[_len++] = (byte)(v >> (8 * i));
            }
        }

        /// <summary>A <c>bool</c>.</summary>
        public void Bool(bool v) => Le(v ? 1UL : 0UL, 1);

        /// <summary>An <c>s8</c>.</summary>
        public void S8(sbyte v) => Le(unchecked((ulong)v), 1);

        /// <summary>A <c>u8</c>.</summary>
        public void U8(byte v) => Le(v, 1);

        /// <summary>An <c>s16</c>.</summary>
        public void S16(short v) => Le(unchecked((ulong)v), 2);

        /// <summary>A <c>u16</c>.</summary>
        public void U16(ushort v) => Le(v, 2);

        /// <summary>An <c>s32</c>.</summary>
        public void S32(int v) => Le(unchecked((ulong)v), 4);

        /// <summary>A <c>u32</c>.</summary>
        public void U32(uint v) => Le(v, 4);

        /// <summary>An <c>s64</c>.</summary>
        public void S64(long v) => Le(unchecked((ulong)v), 8);

        /// <summary>A <c>u64</c>.</summary>
        public void U64(ulong v) => Le(v, 8);

        /// <summary>An <c>f32</c>; every NaN is written as the canonical NaN <c>0x7fc00000</c>.</summary>
        public void F32(float v)
        {
            uint bits = float.IsNaN(v) ? 0x7fc00000u : Bits.Of(v);
            Le(bits, 4);
        }

        /// <summary>An <c>f64</c>; every NaN is written as the canonical NaN <c>0x7ff8000000000000</c>.</summary>
        public void F64(double v)
        {
            ulong bits = double.IsNaN(v) ? 0x7ff8000000000000UL : unchecked((ulong)BitConverter.DoubleToInt64Bits(v));
            Le(bits, 8);
        }

        /// <summary>A <c>char</c>: <paramref name="codePoint"/> must be a Unicode scalar value
        /// (0..0x10FFFF, not a surrogate).</summary>
        public void Char(int codePoint, string what)
        {
            Slot.CheckCodePoint(codePoint, what);
            Le((uint)codePoint, 4);
        }

        /// <summary>A <c>string</c> as UTF-8; an unpaired surrogate is refused.</summary>
        public void String(string v, string what)
        {
            Require(v, what);
            for (int i = 0; i < v.Length; i++)
            {
                char c = v[i];
                if (char.IsHighSurrogate(c) && i + 1 < v.Length && char.IsLowSurrogate(v[i + 1]))
                {
                    i++;
                }
                else if (char.IsSurrogate(c))
                {
                    throw new InvalidArgumentException(what + ": unpaired surrogate U+" + ((int)c).ToString("X4") + " at index " + i + " cannot be UTF-8");
                }
            }
            int n = Encoding.UTF8.GetByteCount(v);
            Le((uint)n, 4);
            Room(n);
            _len += Encoding.UTF8.GetBytes(v, 0, v.Length, _buf, _len);
        }

        /// <summary>A <c>list&lt;u8&gt;</c>.</summary>
        public void Bytes(byte[] v, string what)
        {
            Require(v, what);
            Segment(new ArraySegment<byte>(v));
        }

        /// <summary>A <c>list&lt;u8&gt;</c> from part of an array; a default segment (no array) is
        /// refused like a null array.</summary>
        public void Bytes(ArraySegment<byte> v, string what)
        {
            Require(v.Array, what);
            Segment(v);
        }

        private void Segment(ArraySegment<byte> v)
        {
            Le((uint)v.Count, 4);
            Room(v.Count);
            if (v.Count > 0) Buffer.BlockCopy(v.Array, v.Offset, _buf, _len, v.Count);
            _len += v.Count;
        }

        /// <summary>A <c>list&lt;T&gt;</c>: the count, then each element with <paramref name="element"/>.</summary>
        public void List<T>(IReadOnlyList<T> v, string what, Action<WireWriter, T> element)
        {
            Require(v, what);
            int n = v.Count;
            Le((uint)n, 4);
            for (int i = 0; i < n; i++)
            {
                element(this, v[i]);
            }
        }

        /// <summary>A <c>list&lt;T&gt;</c> whose element encoder names the element: it is given
        /// <c>what + ": element N"</c> (N from 0), the path Python's typed view gives it
        /// (<c>parameter l: element 1: ...</c>).</summary>
        public void List<T>(IReadOnlyList<T> v, string what, Action<WireWriter, T, string> element)
        {
            Require(v, what);
            int n = v.Count;
            Le((uint)n, 4);
            for (int i = 0; i < n; i++)
            {
                element(this, v[i], what + ": element " + i);
            }
        }

        /// <summary>An <c>option&lt;T&gt;</c>.</summary>
        public void Option<T>(Option<T> v, Action<WireWriter, T> some)
        {
            if (v.HasValue)
            {
                Le(1, 1);
                some(this, v.Value);
            }
            else
            {
                Le(0, 1);
            }
        }

        /// <summary>A <c>result&lt;T, E&gt;</c>; a null encoder stands for a side without payload.</summary>
        public void Result<T, E>(Result<T, E> v, Action<WireWriter, T> ok, Action<WireWriter, E> err)
        {
            if (v.IsOk)
            {
                Le(0, 1);
                ok?.Invoke(this, v.Value);
            }
            else
            {
                Le(1, 1);
                err?.Invoke(this, v.Error);
            }
        }

        /// <summary>The discriminant <paramref name="index"/> of a type with <paramref name="cases"/>
        /// cases (1 byte up to 256 cases, 2 above).</summary>
        public void Discriminant(int index, int cases, string what)
        {
            if (index < 0 || index >= cases)
            {
                throw new InvalidArgumentException(what + ": " + index + " is not one of the type's " + cases + " cases");
            }
            Le((uint)index, cases <= 256 ? 1 : 2);
        }

        /// <summary>The bits of a <c>flags</c> type with <paramref name="count"/> flags
        /// (<c>ceil(count / 8)</c> bytes); a bit at or above <paramref name="count"/> is refused.</summary>
        public void Flags(ulong bits, int count, string what)
        {
            if (count < 64 && (bits >> count) != 0)
            {
                throw new InvalidArgumentException(what + ": 0x" + bits.ToString("x") + " sets a bit the type's " + count + " flags do not have");
            }
            Le(bits, (count + 7) / 8);
        }
    }

    /// <summary>Decodes the wire format of docs/TYPED.md from hostile bytes. Every failure
    /// (truncation, a length longer than the bytes left, a bad bool, tag, discriminant or flag
    /// bit, a <c>char</c> that is not a Unicode scalar value, invalid UTF-8, trailing bytes) is an
    /// <see cref="AbiMismatchException"/> "malformed typed payload at byte N: ...", never an
    /// index or overflow exception; a list's element count is checked against the bytes left
    /// (times the element type's smallest encoding) before anything is allocated. Not
    /// thread-safe: one reader per payload.</summary>
    public sealed class WireReader
    {
        private readonly byte[] _buf;
        private readonly int _base;
        private readonly int _end;
        private int _pos;

        /// <summary>Reads <paramref name="bytes"/> (not copied: do not change it while reading).</summary>
        public WireReader(byte[] bytes) : this(bytes, 0, bytes == null ? 0 : bytes.Length) { }

        /// <summary>Reads <paramref name="length"/> bytes of <paramref name="bytes"/> from <paramref name="offset"/>.</summary>
        public WireReader(byte[] bytes, int offset, int length)
        {
            if (bytes == null) throw new ArgumentNullException(nameof(bytes));
            if (offset < 0 || length < 0 || offset > bytes.Length - length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), "offset " + offset + ", length " + length + " outside " + bytes.Length + " bytes");
            }
            _buf = bytes;
            _pos = offset;
            _base = offset;
            _end = offset + length;
        }

        /// <summary>The bytes not read yet.</summary>
        public int Remaining => _end - _pos;

        private AbiMismatchException Err(int at, string reason) =>
            new AbiMismatchException("malformed typed payload at byte " + (at - _base) + ": " + reason);

        /// <summary>The error of a typed call's output that does not decode as function
        /// <paramref name="function"/>'s result, worded exactly as the core words it when it
        /// decodes the output itself (a <c>list&lt;u8&gt;</c> result, a direct call's result slot)
        /// and as Python and the CLI report it: "ABI mismatch in PATH: output of F does not match
        /// its interface: REASON", PATH being <see cref="BridgeHost.Module.Path"/>.
        /// Generated bindings call it; one place words it.</summary>
        /// <param name="module">The module whose output it is.</param>
        /// <param name="function">The WIT function's name.</param>
        /// <param name="reason">The decoding error ("malformed typed payload at byte N: ...").</param>
        /// <returns>The exception to throw, caused by <paramref name="reason"/>.</returns>
        public static AbiMismatchException OutputMismatch(global::BridgeHost.Module module, string function, AbiMismatchException reason) =>
            Mismatch(module, "output of " + function, reason);

        /// <summary>The error of an event's data that does not decode as event
        /// <paramref name="topic"/>'s payload, worded as the core words it (<c>decode_event</c>,
        /// Python's typed events): "ABI mismatch in PATH: event T does not match its interface:
        /// REASON".</summary>
        /// <param name="module">The module that emitted the event.</param>
        /// <param name="topic">The event's topic.</param>
        /// <param name="reason">The decoding error.</param>
        /// <returns>The exception to throw, caused by <paramref name="reason"/>.</returns>
        public static AbiMismatchException EventMismatch(global::BridgeHost.Module module, string topic, AbiMismatchException reason) =>
            Mismatch(module, "event " + topic, reason);

        private static AbiMismatchException Mismatch(global::BridgeHost.Module module, string what, AbiMismatchException reason)
        {
            if (module == null) throw new ArgumentNullException(nameof(module));
            if (reason == null) throw new ArgumentNullException(nameof(reason));
            return new AbiMismatchException("ABI mismatch in " + module.Path + ": " + what + " does not match its interface: " + reason.Message, reason);
        }

        // n and a noun, singular or plural ("1 byte", "2 bytes"): every reason is worded as the
        // Rust codec words it (bridgehost_interface::wire), checked by the golden vectors' "error".
        private static string Count(ulong n, string noun) => n == 1 ? "1 " + noun : n + " " + noun + "s";

        private int Take(int n)
        {
            if (n > Remaining) throw Err(_pos, "truncated: " + Count((ulong)n, "byte") + " needed, " + Remaining + " left");
            int at = _pos;
            _pos += n;
            return at;
        }

        private ulong Le(int n)
        {
            int at = Take(n);
            ulong v = 0;
            for (int i = 0; i < n; i++)
            {
                v |= (ulong)_buf[at + i] << (8 * i);
            }
            return v;
        }

        /// <summary>Checks every byte was read.</summary>
        public void End()
        {
            if (_pos != _end) throw Err(_pos, Count((ulong)(_end - _pos), "trailing byte"));
        }

        /// <summary>A <c>bool</c> (a byte other than 0 or 1 is refused).</summary>
        public bool Bool()
        {
            int at = _pos;
            ulong b = Le(1);
            if (b > 1) throw Err(at, "bool byte " + b + " is neither 0 nor 1");
            return b == 1;
        }

        /// <summary>An <c>s8</c>.</summary>
        public sbyte S8() => unchecked((sbyte)Le(1));

        /// <summary>A <c>u8</c>.</summary>
        public byte U8() => (byte)Le(1);

        /// <summary>An <c>s16</c>.</summary>
        public short S16() => unchecked((short)Le(2));

        /// <summary>A <c>u16</c>.</summary>
        public ushort U16() => (ushort)Le(2);

        /// <summary>An <c>s32</c>.</summary>
        public int S32() => unchecked((int)Le(4));

        /// <summary>A <c>u32</c>.</summary>
        public uint U32() => (uint)Le(4);

        /// <summary>An <c>s64</c>.</summary>
        public long S64() => unchecked((long)Le(8));

        /// <summary>A <c>u64</c>.</summary>
        public ulong U64() => Le(8);

        /// <summary>An <c>f32</c> (any NaN yields the canonical NaN; -0.0 is kept).</summary>
        public float F32()
        {
            float f = Bits.ToSingle((uint)Le(4));
            return float.IsNaN(f) ? Bits.ToSingle(0x7fc00000u) : f;
        }

        /// <summary>An <c>f64</c> (any NaN yields the canonical NaN; -0.0 is kept).</summary>
        public double F64()
        {
            double d = BitConverter.Int64BitsToDouble(unchecked((long)Le(8)));
            return double.IsNaN(d) ? BitConverter.Int64BitsToDouble(0x7ff8000000000000L) : d;
        }

        /// <summary>A <c>char</c>, as its code point (a surrogate or a value above 0x10FFFF is refused).</summary>
        public int Char()
        {
            int at = _pos;
            ulong c = Le(4);
            if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            {
                throw Err(at, "0x" + c.ToString("x") + " is not a Unicode scalar value");
            }
            return (int)c;
        }

        private int ReadLength(int minSize, string what)
        {
            int at = _pos;
            ulong n = Le(4);
            ulong need = n * (ulong)Math.Max(1, minSize);
            if (need > (ulong)Remaining)
            {
                throw Err(at, what + " length " + n + " needs at least " + Count(need, "byte") + ", " + Remaining + " left");
            }
            return (int)n;
        }

        /// <summary>A <c>string</c> (strict UTF-8: overlong forms, surrogates, code points above
        /// 0x10FFFF and truncated sequences are refused).</summary>
        public string String()
        {
            int n = ReadLength(1, "string");
            int at = Take(n);
            int bad = Utf8Check.FirstInvalid(_buf, at, n);
            if (bad >= 0) throw Err(bad, "string is not valid UTF-8");
            return Encoding.UTF8.GetString(_buf, at, n);
        }

        /// <summary>A <c>list&lt;u8&gt;</c>.</summary>
        public byte[] Bytes()
        {
            int n = ReadLength(1, "list");
            int at = Take(n);
            var o = new byte[n];
            Buffer.BlockCopy(_buf, at, o, 0, n);
            return o;
        }

        /// <summary>A <c>list&lt;T&gt;</c> whose element encodes to at least
        /// <paramref name="minSize"/> bytes; the list is read-only.</summary>
        public IReadOnlyList<T> List<T>(int minSize, Func<WireReader, T> element)
        {
            int n = ReadLength(minSize, "list");
            var a = new T[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = element(this);
            }
            return new ReadOnlyCollection<T>(a);
        }

        private int Tag(string what)
        {
            int at = _pos;
            ulong t = Le(1);
            if (t > 1) throw Err(at, what + " tag " + t + " is neither 0 nor 1");
            return (int)t;
        }

        /// <summary>An <c>option&lt;T&gt;</c>.</summary>
        public Option<T> Option<T>(Func<WireReader, T> some) =>
            Tag("option") == 1 ? new Option<T>(some(this)) : default(Option<T>);

        /// <summary>A <c>result&lt;T, E&gt;</c>; a null decoder stands for a side without payload
        /// (decoded as <c>default</c>, e.g. <see cref="Unit.Value"/>).</summary>
        public Result<T, E> Result<T, E>(Func<WireReader, T> ok, Func<WireReader, E> err)
        {
            if (Tag("result") == 0)
            {
                return global::BridgeHost.Typed.Result<T, E>.Ok(ok == null ? default(T) : ok(this));
            }
            return global::BridgeHost.Typed.Result<T, E>.Err(err == null ? default(E) : err(this));
        }

        /// <summary>The discriminant of a type with <paramref name="cases"/> cases (1 byte up to
        /// 256 cases, 2 above); <paramref name="kind"/> and <paramref name="name"/> name the type
        /// in the error.</summary>
        public int Discriminant(int cases, string kind, string name)
        {
            int at = _pos;
            int d = (int)Le(cases <= 256 ? 1 : 2);
            if (d >= cases) throw Err(at, kind + " " + name + " has " + Count((ulong)cases, "case") + ", got discriminant " + d);
            return d;
        }

        /// <summary>The bits of a <c>flags</c> type with <paramref name="count"/> flags; a set bit
        /// at or above <paramref name="count"/> is refused.</summary>
        public ulong Flags(int count, string name)
        {
            int at = _pos;
            ulong bits = Le((count + 7) / 8);
            if (count < 64 && (bits >> count) != 0)
            {
                throw Err(at, "flags " + name + " has " + Count((ulong)count, "flag") + ", got bits 0x" + bits.ToString("x"));
            }
            return bits;
        }
    }

    /// <summary>Float bit patterns without unsafe code (netstandard2.0 has no SingleToInt32Bits).</summary>
    internal static class Bits
    {
        internal static uint Of(float f)
        {
            var b = BitConverter.GetBytes(f);
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            return (uint)(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24);
        }

        internal static float ToSingle(uint bits)
        {
            var b = new[] { (byte)bits, (byte)(bits >> 8), (byte)(bits >> 16), (byte)(bits >> 24) };
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            return BitConverter.ToSingle(b, 0);
        }
    }

    /// <summary>Strict UTF-8 validation (RFC 3629): the decoder of the platform replaces bad
    /// sequences with U+FFFD (and Mono's and CoreCLR's differ in details), so bytes are checked
    /// first.</summary>
    internal static class Utf8Check
    {
        /// <summary>The index of the first byte of the first invalid sequence, or -1.</summary>
        internal static int FirstInvalid(byte[] b, int offset, int count)
        {
            int i = offset, end = offset + count;
            while (i < end)
            {
                int c = b[i];
                if (c < 0x80)
                {
                    i++;
                    continue;
                }
                int n;
                int lo = 0x80, hi = 0xBF;
                if (c >= 0xC2 && c <= 0xDF) n = 1;
                else if (c == 0xE0) { n = 2; lo = 0xA0; }
                else if (c >= 0xE1 && c <= 0xEC) n = 2;
                else if (c == 0xED) { n = 2; hi = 0x9F; }
                else if (c >= 0xEE && c <= 0xEF) n = 2;
                else if (c == 0xF0) { n = 3; lo = 0x90; }
                else if (c >= 0xF1 && c <= 0xF3) n = 3;
                else if (c == 0xF4) { n = 3; hi = 0x8F; }
                else return i;
                if (end - i - 1 < n) return i;
                int b1 = b[i + 1];
                if (b1 < lo || b1 > hi) return i;
                for (int k = 2; k <= n; k++)
                {
                    if ((b[i + k] & 0xC0) != 0x80) return i;
                }
                i += n + 1;
            }
            return -1;
        }
    }
}
