// The C# wire codec (BridgeHost.Typed) against the golden vectors of interface/golden/vectors.json,
// through the generated codecs of gen/Golden.cs (`bridgehost bindgen --lang csharp` of golden.wit
// with one alias per vector: Codec.DecodeValid3 is vector valid[3]), and every type at its edges.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using BridgeHost.Gen;
using BridgeHost.Typed;

namespace BridgeHost.Tests
{
    public sealed class TypedCodecTests
    {
        // ---- the golden vectors ----

        private sealed class Vector
        {
            public int Index;
            public string Type;
            public object Json;
            public string Line;
            public byte[] Hex;
            public byte[] Canonical;
            public string Error;
        }

        private static string VectorsPath()
        {
            foreach (var start in new[] { Directory.GetCurrentDirectory(), AppDomain.CurrentDomain.BaseDirectory })
            {
                for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
                {
                    var p = Path.Combine(d.FullName, "interface", "golden", "vectors.json");
                    if (File.Exists(p)) return p;
                }
            }
            throw new CheckFailedException("interface/golden/vectors.json not found above " + Directory.GetCurrentDirectory());
        }

        private static byte[] Unhex(string s)
        {
            var b = new byte[s.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(s.Substring(2 * i, 2), 16);
            return b;
        }

        // One vector per line (the file's layout, which interface/tests/golden.rs keeps).
        private static List<Vector> Vectors(string section)
        {
            var text = File.ReadAllText(VectorsPath());
            int start = text.IndexOf("\"" + section + "\": [", StringComparison.Ordinal);
            Check.True(start >= 0, section);
            int end = text.IndexOf("\n  ]", start, StringComparison.Ordinal);
            var list = new List<Vector>();
            foreach (var raw in text.Substring(start, end - start).Split('\n'))
            {
                var l = raw.Trim();
                if (!l.StartsWith("{\"type\"", StringComparison.Ordinal)) continue;
                var json = Json.Parse(l.TrimEnd(','));
                var o = (Dictionary<string, object>)json;
                list.Add(new Vector
                {
                    Index = list.Count,
                    Type = (string)o["type"],
                    Json = o.ContainsKey("json") ? o["json"] : null,
                    Line = l,
                    Hex = Unhex((string)o["hex"]),
                    Canonical = o.ContainsKey("canonical_hex") ? Unhex((string)o["canonical_hex"]) : null,
                    Error = o.ContainsKey("error") ? (string)o["error"] : null,
                });
            }
            return list;
        }

        private static string Pascal(string section) =>
            string.Concat(section.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w.Substring(1)));

        private static MethodInfo Codec(string prefix, string section, int i, Type param)
        {
            foreach (var m in typeof(Golden.Codec).GetMethods(BindingFlags.Public | BindingFlags.Static))
            {
                var ps = m.GetParameters();
                if (m.Name == prefix + Pascal(section) + i && ps.Length == 1 && (param == null || ps[0].ParameterType == param))
                    return m;
            }
            throw new CheckFailedException("no Golden.Codec." + prefix + Pascal(section) + i);
        }

        private static int CodecCount(string section) =>
            typeof(Golden.Codec).GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Count(m => Regex.IsMatch(m.Name, "^Decode" + Pascal(section) + "[0-9]+$") && m.GetParameters()[0].ParameterType == typeof(byte[]));

        private static object Invoke(MethodInfo m, object arg)
        {
            try
            {
                return m.Invoke(null, new[] { arg });
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException;
            }
        }

        [Case]
        public void ValidVectorsRoundTripAndMatchTheirJson()
        {
            int n = 0;
            foreach (var v in Vectors("valid"))
            {
                if (v.Type.Contains("blob")) continue; // resources are not mapped by the C# generator yet
                var what = "valid[" + v.Index + "] " + v.Type;
                var value = Invoke(Codec("Decode", "valid", v.Index, typeof(byte[])), v.Hex);
                // bytes -> value: the C# value is the vector's JSON value.
                string why = JsonMatch.Explain(v.Json, value, v.Type);
                Check.True(why == null, what + ": decoded " + Structural.Show(value) + " does not match " + v.Line + ": " + why);
                // value -> bytes: encoding it gives the vector's bytes.
                var again = (byte[])Invoke(Codec("Encode", "valid", v.Index, null), value);
                Check.Bytes(v.Hex, again, what);
                // Decoding twice gives equal values (value equality of every generated type).
                var twice = Invoke(Codec("Decode", "valid", v.Index, typeof(byte[])), again);
                Check.True(Structural.Equal(value, twice) && Structural.Hash(value) == Structural.Hash(twice), what + ": equal after a round trip");
                n++;
            }
            Check.Equal(CodecCount("valid"), n, "every generated valid-N codec was checked");
            // The matcher itself tells values apart.
            Check.True(JsonMatch.Explain(Json.Parse("{\"some\": 5}"), Option.Some(Option.Some((byte)6)), null) != null, "5 vs 6");
            Check.True(JsonMatch.Explain(Json.Parse("5"), Option.Some(Option.Some((byte)5)), null) != null, "nested option form");
            Check.True(JsonMatch.Explain(Json.Parse("\"red\""), Golden.Color.Green, null) != null, "enum");
            Check.True(JsonMatch.Explain(Json.Parse("-0.0"), 0.0, null) != null, "sign of zero");
            Check.True(JsonMatch.Explain(Json.Parse("[\"read\"]"), Golden.Perms.Read | Golden.Perms.Write, null) != null, "flags");
            Check.True(JsonMatch.Explain(Json.Parse("{\"x\": 1.0, \"y\": 2.0, \"label\": \"p\"}"), new Golden.Point(1, 2, "q"), null) != null, "record");
            Check.True(JsonMatch.Explain(Json.Parse("\"none\""), new Golden.Shape.Circle(0), null) != null, "variant");
            Check.True(n >= 49, "checked " + n);
        }

        [Case]
        public void DecodeOnlyVectorsCanonicalise()
        {
            var list = Vectors("decode_only");
            Check.Equal(CodecCount("decode_only"), list.Count, "codecs");
            foreach (var v in list)
            {
                var value = Invoke(Codec("Decode", "decode_only", v.Index, typeof(byte[])), v.Hex);
                Check.True(JsonMatch.Explain(v.Json, value, v.Type) == null, "decode_only[" + v.Index + "] is NaN");
                Check.Bytes(v.Canonical, (byte[])Invoke(Codec("Encode", "decode_only", v.Index, null), value), "decode_only[" + v.Index + "]");
            }
        }

        [Case]
        public void InvalidBytesAreAbiMismatch()
        {
            int n = 0;
            foreach (var v in Vectors("invalid_bytes"))
            {
                if (v.Type.Contains("blob")) continue;
                var m = Codec("Decode", "invalid_bytes", v.Index, typeof(byte[]));
                var e = Check.Throws<AbiMismatchException>(() => Invoke(m, v.Hex), "invalid_bytes[" + v.Index + "] " + v.Type);
                // The whole message, worded as by the Rust codec and Java (the vector's "error").
                Check.True(v.Error != null, "invalid_bytes[" + v.Index + "] has an error");
                Check.Equal(v.Error, e.Message, "invalid_bytes[" + v.Index + "] " + v.Type + ": the message");
                Check.Equal(ErrorKind.AbiMismatch, e.Kind, "kind");
                n++;
            }
            Check.Equal(CodecCount("invalid_bytes"), n, "every generated invalid-bytes-N codec was checked");
        }

        // A count of one is singular, as in the Rust codec and Java (golden.wit has no such type).
        [Case]
        public void DecodeErrorsCountInTheSingularAndThePlural()
        {
            var e = Check.Throws<AbiMismatchException>(() => new WireReader(Unhex("01")).Discriminant(1, "enum", "one"), "enum");
            Check.Equal("malformed typed payload at byte 0: enum one has 1 case, got discriminant 1", e.Message, "enum");
            e = Check.Throws<AbiMismatchException>(() => new WireReader(Unhex("02")).Discriminant(1, "variant", "v"), "variant");
            Check.Equal("malformed typed payload at byte 0: variant v has 1 case, got discriminant 2", e.Message, "variant");
            e = Check.Throws<AbiMismatchException>(() => new WireReader(Unhex("02")).Flags(1, "f"), "flags");
            Check.Equal("malformed typed payload at byte 0: flags f has 1 flag, got bits 0x2", e.Message, "flags");
            e = Check.Throws<AbiMismatchException>(() => new WireReader(Unhex("0200000061")).String(), "string");
            Check.Equal("malformed typed payload at byte 0: string length 2 needs at least 2 bytes, 1 left", e.Message, "string");
            var r = new WireReader(Unhex("000000"));
            r.Flags(1, "f");
            e = Check.Throws<AbiMismatchException>(() => r.End(), "trailing");
            Check.Equal("malformed typed payload at byte 1: 2 trailing bytes", e.Message, "trailing");
        }

        // ---- every type at its edges, as C# values ----

        /// <summary>A refused value inside an argument is named by Python's path
        /// (bridgehost_interface::dynamic): <c>element N</c> of a list or tuple,
        /// <c>record.field</c>, <c>variant.case</c>, <c>ok</c> / <c>err</c>.</summary>
        [Case]
        public void ArgumentErrorsNameThePathAsPythonDoes()
        {
            var e = Check.Throws<InvalidArgumentException>(
                () => Golden.Codec.EncodeValid28(new[] { "a", "b", "c\ud800" }), "surrogate in element 2");
            Check.Equal("value: element 2: unpaired surrogate U+D800 at index 1 cannot be UTF-8", e.Message, "list element");
            e = Check.Throws<InvalidArgumentException>(
                () => Golden.Codec.EncodeValid29(new[] { new Golden.Point(0, 0, "a"), new Golden.Point(0, 0, null) }), "null field of element 1");
            Check.Equal("value: element 1: point.label: null is not a value of its WIT type", e.Message, "record field in a list");
            e = Check.Throws<InvalidArgumentException>(
                () => Golden.Codec.EncodeValid37(Result<uint, string>.Err("\udc00")), "surrogate in err");
            Check.Equal("value: err: unpaired surrogate U+DC00 at index 0 cannot be UTF-8", e.Message, "result side");
            e = Check.Throws<InvalidArgumentException>(
                () => Zlib.Codec.EncodeZlibError(new Zlib.ZlibError.Corrupt(null)), "null payload");
            Check.Equal("value: zlib-error.corrupt: null is not a value of its WIT type", e.Message, "variant payload");
        }

        [Case]
        public void EdgesAsCSharpValues()
        {
            Check.Equal(ulong.MaxValue, Golden.Codec.DecodeValid10(Unhex("ffffffffffffffff")), "u64 max");
            Check.Equal(long.MinValue, Golden.Codec.DecodeValid8(Unhex("0000000000000080")), "s64 min");
            Check.Bytes(Unhex("ffffffffffffffff"), Golden.Codec.EncodeValid10(ulong.MaxValue), "u64 max encoded");
            Check.Equal((sbyte)-128, Golden.Codec.DecodeValid2(Unhex("80")), "s8");
            // NaN: any NaN is written canonically, -0.0 keeps its sign.
            Check.Bytes(Unhex("000000000000f87f"), Golden.Codec.EncodeValid17(BitConverter.Int64BitsToDouble(0x7ff0000000000001L)), "f64 NaN");
            Check.Bytes(Unhex("0000c07f"), Golden.Codec.EncodeValid13(BitConverterSingle(0xffc00001u)), "f32 NaN");
            Check.Equal(long.MinValue, BitConverter.DoubleToInt64Bits(Golden.Codec.DecodeValid16(Unhex("0000000000000080"))), "-0.0 f64");
            Check.Bytes(Unhex("00000080"), Golden.Codec.EncodeValid12(-0.0f), "-0.0 f32");
            Check.True(float.IsPositiveInfinity(Golden.Codec.DecodeValid14(Unhex("0000807f"))), "inf");
            // char is an int code point: astral and U+10FFFF; surrogates and beyond refused both ways.
            Check.Equal(0x1F600, Golden.Codec.DecodeValid20(Unhex("00f60100")), "astral char");
            Check.Equal(0x10FFFF, Golden.Codec.DecodeValid21(Unhex("ffff1000")), "U+10FFFF");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid19(0xD800), "surrogate char");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid19(0x110000), "char beyond U+10FFFF");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid19(-1), "negative char");
            // Strings: astral characters are surrogate pairs; an unpaired surrogate is refused, never U+FFFD.
            Check.Equal("\ud83d\ude00", Golden.Codec.DecodeValid24(Unhex("04000000f09f9880")), "astral string");
            Check.Bytes(Unhex("04000000f09f9880"), Golden.Codec.EncodeValid24("\ud83d\ude00"), "astral string encoded");
            foreach (var bad in new[] { "\ud800", "a\udc00b", "\ude00\ud83d", "x\ud83d" })
            {
                var e = Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid24(bad), "unpaired surrogate");
                Check.True(e.Message.Contains("unpaired surrogate"), e.Message);
            }
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid24(null), "null string");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid26(null), "null bytes");
            // Lists: empty and large; list<u8> is byte[].
            Check.Equal(0, Golden.Codec.DecodeValid27(Unhex("00000000")).Count, "empty list");
            var big = Enumerable.Range(0, 100000).Select(i => (uint)i * 7919u).ToArray();
            var enc = Golden.Codec.EncodeValid27(big);
            Check.Equal(4 + 4 * big.Length, enc.Length, "large list size");
            Check.True(Golden.Codec.DecodeValid27(enc).SequenceEqual(big), "large list round trip");
            var bytes = new byte[1 << 20];
            new Random(7).NextBytes(bytes);
            Check.Bytes(bytes, Golden.Codec.DecodeValid26(Golden.Codec.EncodeValid26(bytes)), "1 MiB of bytes");
            var strings = Golden.Codec.DecodeValid28(Unhex("02000000010000006100000000"));
            Check.Throws<NotSupportedException>(() => ((IList<string>)strings).Add("x"), "decoded lists are read-only");
            // Nested options: none, some(none), some(some(5)) are three values.
            var none = Option<Option<byte>>.None;
            var someNone = Option.Some(Option<byte>.None);
            var someFive = Option.Some(Option.Some((byte)5));
            Check.Bytes(Unhex("00"), Golden.Codec.EncodeValid33(none), "none");
            Check.Bytes(Unhex("0100"), Golden.Codec.EncodeValid33(someNone), "some(none)");
            Check.Bytes(Unhex("010105"), Golden.Codec.EncodeValid33(someFive), "some(some(5))");
            Check.Equal(someNone, Golden.Codec.DecodeValid34(Unhex("0100")), "some(none) decoded");
            Check.False(none.Equals(someNone), "none != some(none)");
            Check.Throws<InvalidOperationException>(() => { var x = none.Value; }, "none has no value");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeValid22(null), "null string");
            // Results as values; Unit for no payload.
            Check.Equal(Result<uint, string>.Err("no"), Golden.Codec.DecodeValid37(Unhex("01020000006e6f")), "err");
            Check.Bytes(Unhex("0001000000"), Golden.Codec.EncodeValid36(Result<uint, string>.Ok(1)), "ok");
            Check.Equal(Result<Unit, Unit>.Ok(Unit.Value), Golden.Codec.DecodeValid38(Unhex("00")), "result without payloads");
            Check.Equal(Result<Unit, Golden.Color>.Err(Golden.Color.Blue), Golden.Codec.DecodeValid39(Unhex("0102")), "result<_, color>");
            // Tuple, record, enum, flags, variant.
            Check.Equal(ValueTuple.Create((byte)1, (short)-1, true), Golden.Codec.DecodeValid40(Unhex("01ffff01")), "tuple");
            var p = new Golden.Point(1.0, -2.0, "p");
            Check.Equal(p, Golden.Codec.DecodePoint(Unhex("000000000000f03f00000000000000c00100000070")), "record");
            Check.Equal(p.GetHashCode(), new Golden.Point(1.0, -2.0, "p").GetHashCode(), "record hash");
            Check.False(p.Equals(new Golden.Point(1.0, -2.0, "q")), "record inequality");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodePoint(new Golden.Point(0, 0, null)), "null field");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodePoint(null), "null record");
            Check.Equal(Golden.Color.Green, Golden.Codec.DecodeColor(Unhex("01")), "enum");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeColor((Golden.Color)3), "undefined enum value");
            Check.Equal(Golden.Perms.Read | Golden.Perms.Exec, Golden.Codec.DecodePerms(Unhex("05")), "flags");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodePerms((Golden.Perms)8), "unknown flag bit");
            Check.Bytes(Unhex("0101"), Golden.Codec.EncodeWide(Golden.Wide.F0 | Golden.Wide.F8), "flags over two bytes");
            Check.Equal<Golden.Shape>(new Golden.Shape.Rect(ValueTuple.Create(3u, 4u)), Golden.Codec.DecodeShape(Unhex("010300000004000000")), "variant");
            Check.Equal<Golden.Shape>(new Golden.Shape.None(), Golden.Codec.DecodeShape(Unhex("02")), "variant without payload");
            Check.False(new Golden.Shape.Circle(1.0).Equals(new Golden.Shape.Circle(2.0)), "variant inequality");
            Check.Throws<InvalidArgumentException>(() => Golden.Codec.EncodeShape(null), "null variant");
        }

        private static float BitConverterSingle(uint bits) => BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);

        [Case]
        public void HostileBytesAreTypedErrorsWithoutBigAllocations()
        {
            // A count near 2^32 with few bytes behind it: refused before allocating.
            foreach (var hex in new[] { "ffffffff", "ffffff7f00", "00000080" })
            {
                var e = Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid27(Unhex(hex)), "list count " + hex);
                Check.True(e.Message.Contains("needs at least"), e.Message);
                Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid26(Unhex(hex)), "bytes count " + hex);
                Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid22(Unhex(hex)), "string length " + hex);
            }
            // list<point>: a point is at least 20 bytes, so 2 points need 40.
            Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid29(Unhex("02000000" + new string('0', 60))), "list<point> count");
            // Strict UTF-8: overlong, surrogate, beyond U+10FFFF, truncated, lone continuation.
            foreach (var utf8 in new[] { "c0af", "eda080", "f4908080", "e282", "80", "f880808080", "ff" })
            {
                var hex = (utf8.Length / 2).ToString("x2") + "000000" + utf8;
                var e = Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid22(Unhex(hex)), "UTF-8 " + utf8);
                Check.True(e.Message.EndsWith(": string is not valid UTF-8", StringComparison.Ordinal), e.Message);
            }
            Check.Equal("\u00e9\u20ac\ud83d\ude00", Golden.Codec.DecodeValid22(Unhex("09000000c3a9e282acf09f9880")), "valid 2-, 3- and 4-byte UTF-8");
            Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid0(Unhex("0100")), "trailing byte");
            Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid31(Unhex("02")), "option tag");
            Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeValid33(Unhex("01")), "truncated option");
            Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeShape(Unhex("00")), "truncated variant payload");
            Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodeWide(Unhex("0004")), "flags bit 10 of 9");
            var msg = Check.Throws<AbiMismatchException>(() => Golden.Codec.DecodePoint(Unhex("000000000000f03f00000000000000c0010000007071")), "trailing").Message;
            Check.True(msg.Contains("at byte"), msg);
            // Random bytes never escape as anything but AbiMismatchException.
            var rnd = new Random(16);
            var decoders = typeof(Golden.Codec).GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Where(m => m.Name.StartsWith("Decode", StringComparison.Ordinal) && m.GetParameters()[0].ParameterType == typeof(byte[])).ToArray();
            for (int i = 0; i < 4000; i++)
            {
                var b = new byte[rnd.Next(0, 24)];
                rnd.NextBytes(b);
                var m = decoders[i % decoders.Length];
                try
                {
                    Invoke(m, b);
                }
                catch (AbiMismatchException)
                {
                }
            }
            Check.Throws<ArgumentOutOfRangeException>(() => new WireReader(new byte[4], 3, 2), "reader bounds");
        }

        [Case]
        public void AWriterFullAtToArrayHandsOutItsBufferAndCopiesBeforeWritingAgain()
        {
            var data = new byte[65536];
            new Random(3).NextBytes(data);
            var w = new WireWriter();
            w.Bytes(data, "data");
            var first = w.ToArray();
            Check.Equal(4 + data.Length, first.Length, "exact length");
            Check.Equal(0, first[0], "length byte 0");
            Check.Equal(1, first[2], "length byte 2");
            Check.True(first.Skip(4).SequenceEqual(data), "payload");
            // Writing again must not change the array already handed out.
            var snapshot = (byte[])first.Clone();
            w.U8(0xab);
            w.Bytes(new byte[] { 1, 2, 3 }, "more");
            Check.True(first.SequenceEqual(snapshot), "the first array is unchanged by later writes");
            var second = w.ToArray();
            Check.Equal(first.Length + 1 + 4 + 3, second.Length, "second length");
            Check.True(second.Take(first.Length).SequenceEqual(first), "second starts with the first");
            Check.Equal(0xab, second[first.Length], "the byte written after ToArray");
            // A writer that is not full still returns a copy.
            var small = new WireWriter();
            small.U8(7);
            var a = small.ToArray();
            small.U8(8);
            Check.Equal(1, a.Length, "a copy of one byte");
        }

        [Case]
        public void TypedModuleExceptionIsAModuleException()
        {
            Exception e = new TypedModuleException<string>("open", "no such table");
            Check.True(e is ModuleException, "a ModuleException");
            Check.True(e is TypedModuleException, "a TypedModuleException");
            var t = (TypedModuleException<string>)e;
            Check.Equal("no such table", t.Error, "Error");
            Check.Equal<object>("no such table", t.Value, "Value");
            Check.Equal("open", t.Function, "Function");
            Check.Equal(0, t.Code, "Code");
            Check.Equal(ErrorKind.Module, t.Kind, "Kind");
            Check.Equal("open returned an error: \"no such table\"", t.Message, "Message");
            var u = new TypedModuleException<Unit>("f", Unit.Value);
            Check.Equal<object>(Unit.Value, u.Value, "Unit");
        }
    }

    /// <summary>A minimal JSON reader for the vectors (objects, arrays, strings with escapes,
    /// numbers kept as their text, true/false/null).</summary>
    internal static class Json
    {
        internal sealed class Number
        {
            public string Text;
        }

        public static object Parse(string s)
        {
            int i = 0;
            var v = Value(s, ref i);
            Ws(s, ref i);
            if (i != s.Length) throw new FormatException("trailing JSON at " + i + ": " + s);
            return v;
        }

        private static void Ws(string s, ref int i)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        }

        private static object Value(string s, ref int i)
        {
            Ws(s, ref i);
            char c = s[i];
            if (c == '{')
            {
                var o = new Dictionary<string, object>();
                i++;
                Ws(s, ref i);
                if (s[i] == '}') { i++; return o; }
                while (true)
                {
                    Ws(s, ref i);
                    var k = (string)Value(s, ref i);
                    Ws(s, ref i);
                    i++; // ':'
                    o[k] = Value(s, ref i);
                    Ws(s, ref i);
                    if (s[i++] == '}') return o;
                }
            }
            if (c == '[')
            {
                var a = new List<object>();
                i++;
                Ws(s, ref i);
                if (s[i] == ']') { i++; return a; }
                while (true)
                {
                    a.Add(Value(s, ref i));
                    Ws(s, ref i);
                    if (s[i++] == ']') return a;
                }
            }
            if (c == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (s[i] != '"')
                {
                    if (s[i] == '\\')
                    {
                        char e = s[i + 1];
                        if (e == 'u') { sb.Append((char)Convert.ToInt32(s.Substring(i + 2, 4), 16)); i += 6; continue; }
                        sb.Append(e == 'n' ? '\n' : e == 't' ? '\t' : e);
                        i += 2;
                        continue;
                    }
                    sb.Append(s[i++]);
                }
                i++;
                return sb.ToString();
            }
            foreach (var lit in new[] { "true", "false", "null" })
            {
                if (string.CompareOrdinal(s, i, lit, 0, lit.Length) == 0)
                {
                    i += lit.Length;
                    return lit == "true" ? (object)true : lit == "false" ? (object)false : null;
                }
            }
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) i++;
            if (i == start) throw new FormatException("bad JSON at " + i + ": " + s);
            return new Number { Text = s.Substring(start, i - start) };
        }
    }

    /// <summary>Whether a C# value of the generated bindings is the JSON form of docs/TYPED.md
    /// ("JSON form") of a value, with the names mapped as the C# generator maps them.</summary>
    internal static class JsonMatch
    {
        private static string Pascal(string kebab) =>
            string.Concat(kebab.Split('-').Select(w => char.ToUpperInvariant(w[0]) + w.Substring(1)));

        private static bool IsOption(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Option<>);

        /// <summary>Null when <paramref name="value"/> matches <paramref name="json"/>, else why not.</summary>
        public static string Explain(object json, object value, string witType)
        {
            if (value == null) return "null C# value";
            var t = value.GetType();
            if (IsOption(t))
            {
                bool has = (bool)t.GetProperty("HasValue").GetValue(value);
                if (json == null) return has ? "expected none" : null;
                if (!has) return "expected some";
                var inner = t.GetProperty("Value").GetValue(value);
                if (IsOption(t.GetGenericArguments()[0]))
                {
                    var o = json as Dictionary<string, object>;
                    if (o == null || !o.ContainsKey("some")) return "a nested option is {\"some\": v}";
                    return Explain(o["some"], inner, null);
                }
                return Explain(json, inner, null);
            }
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Result<,>))
            {
                var o = json as Dictionary<string, object>;
                bool ok = (bool)t.GetProperty("IsOk").GetValue(value);
                var key = ok ? "ok" : "err";
                if (o == null || !o.ContainsKey(key)) return "expected {\"" + key + "\": ...}";
                var inner = t.GetProperty(ok ? "Value" : "Error").GetValue(value);
                return Explain(o[key], inner, null);
            }
            if (value is Unit) return json == null ? null : "Unit is null";
            if (value is bool b) return json is bool jb && jb == b ? null : "bool";
            if (value is string s) return json is string js && js == s ? null : "string";
            if (witType == "char" && value is int cp)
            {
                return json is string jc && char.ConvertToUtf32(jc, 0) == cp && jc.Length == char.ConvertFromUtf32(cp).Length ? null : "char";
            }
            if (value is float || value is double)
            {
                double d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (json is string special)
                {
                    return (special == "NaN" && double.IsNaN(d)) || (special == "inf" && double.IsPositiveInfinity(d)) || (special == "-inf" && double.IsNegativeInfinity(d)) ? null : "special float";
                }
                var n = json as Json.Number;
                if (n == null) return "a number";
                double want = double.Parse(n.Text, CultureInfo.InvariantCulture);
                if (want != d) return "float " + d + " != " + n.Text;
                if (want != 0) return null;
                bool wantNegative = n.Text.StartsWith("-", StringComparison.Ordinal);
                return wantNegative == (BitConverter.DoubleToInt64Bits(d) < 0) ? null : "sign of zero";
            }
            if (t.IsEnum)
            {
                if (t.GetCustomAttributes(typeof(FlagsAttribute), false).Length > 0)
                {
                    var names = json as List<object>;
                    if (names == null) return "flags are an array";
                    ulong want = 0;
                    foreach (string f in names) want |= Convert.ToUInt64(Enum.Parse(t, Pascal(f)));
                    return Convert.ToUInt64(value) == want ? null : "flags " + value;
                }
                return json is string c && Pascal(c) == value.ToString() ? null : "enum " + value;
            }
            if (t.IsPrimitive)
            {
                return json is Json.Number num && num.Text == Convert.ToString(value, CultureInfo.InvariantCulture) ? null : "integer " + value;
            }
            if (value is byte[] bytes) return Explain(json, bytes.Cast<object>().ToList(), null);
            if (value is IList list)
            {
                var a = json as List<object>;
                if (a == null || a.Count != list.Count) return "list length";
                for (int i = 0; i < a.Count; i++)
                {
                    var why = Explain(a[i], list[i], null);
                    if (why != null) return "element " + i + ": " + why;
                }
                return null;
            }
            if (t.FullName.StartsWith("System.ValueTuple`", StringComparison.Ordinal))
            {
                var a = json as List<object>;
                var fields = t.GetFields().Where(f => f.Name.StartsWith("Item", StringComparison.Ordinal)).OrderBy(f => f.Name).ToArray();
                if (a == null || a.Count != fields.Length) return "tuple length";
                for (int i = 0; i < a.Count; i++)
                {
                    var why = Explain(a[i], fields[i].GetValue(value), null);
                    if (why != null) return "element " + i + ": " + why;
                }
                return null;
            }
            if (t.DeclaringType != null && t.BaseType != null && t.BaseType.IsAbstract && t.BaseType.DeclaringType != null)
            {
                // A variant case: "case" or {"case": payload}.
                var payload = t.GetProperty("Value");
                if (payload == null) return json is string c && Pascal(c) == t.Name ? null : "case " + t.Name;
                var o = json as Dictionary<string, object>;
                if (o == null || o.Count != 1) return "a case with payload is {\"case\": v}";
                var kv = o.First();
                return Pascal(kv.Key) == t.Name ? Explain(kv.Value, payload.GetValue(value), null) : "case " + t.Name;
            }
            {
                // A record: an object with exactly its fields.
                var o = json as Dictionary<string, object>;
                var props = t.GetProperties(BindingFlags.Public | BindingFlags.Instance);
                if (o == null || o.Count != props.Length) return "record fields";
                foreach (var kv in o)
                {
                    var p = t.GetProperty(Pascal(kv.Key));
                    if (p == null) return "no property " + Pascal(kv.Key);
                    var why = Explain(kv.Value, p.GetValue(value), null);
                    if (why != null) return "field " + kv.Key + ": " + why;
                }
                return null;
            }
        }
    }
}
