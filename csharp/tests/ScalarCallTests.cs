// Direct calls (docs/TYPED.md, "Direct calls"): Method.CallScalar and the generated bindings that
// use it for functions whose parameters and result are scalars (gen/Std.cs: Add, Sleep), in-process
// and isolated, against the untyped call of the same method.
using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using BridgeHost.Gen;
using BridgeHost.Typed;

namespace BridgeHost.Tests
{
    public sealed class ScalarCallTests : IDisposable
    {
        private readonly Host _host = new Host();

        public void Dispose()
        {
            _host.Dispose();
        }

        private static readonly uint[] Edges = { 0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, uint.MaxValue, 4000000000, 300000000 };

        private static uint UntypedAdd(Method add, uint a, uint b)
        {
            var w = new WireWriter();
            w.U32(a);
            w.U32(b);
            var r = new WireReader(add.Call(w.ToArray()));
            uint v = r.U32();
            r.End();
            return v;
        }

        private static void Exercise(Module m)
        {
            var std = Std.Bind(m);
            var add = m.GetMethod("add");
            foreach (uint a in Edges)
            {
                foreach (uint b in Edges)
                {
                    uint want = UntypedAdd(add, a, b);
                    Check.Equal(unchecked(a + b), want, "untyped add " + a + " + " + b);
                    Check.Equal(want, std.Add(a, b), "typed add " + a + " + " + b);
                    Check.Equal((ulong)want, add.CallScalar(a, b), "CallScalar " + a + " + " + b);
                    Check.Equal((ulong)want, add.CallScalar(new ulong[] { a, b }), "CallScalar(span) " + a + " + " + b);
                }
            }
            Check.Equal(42u, std.AddAsync(40, 2).Result, "the Task form (the encoded call) agrees");
            // Refused before any module code runs, with the core's messages.
            var e = Check.Throws<InvalidArgumentException>(() => add.CallScalar(1, 2, 3), "three slots");
            Check.True(e.Message.Contains("add takes 2 argument(s), got 3"), e.Message);
            e = Check.Throws<InvalidArgumentException>(() => add.CallScalar(), "no slots");
            Check.True(e.Message.Contains("add takes 2 argument(s), got 0"), e.Message);
            e = Check.Throws<InvalidArgumentException>(() => add.CallScalar(1, 1UL << 32), "b out of range");
            Check.True(e.Message.Contains("parameter b: 4294967296 is out of range for u32"), e.Message);
            e = Check.Throws<InvalidArgumentException>(() => add.CallScalar(ulong.MaxValue, 1), "a = -1");
            Check.True(e.Message.Contains("parameter a: -1 is out of range for u32"), e.Message);
            e = Check.Throws<InvalidArgumentException>(() => add.CallScalar(new ulong[5]), "five slots");
            Check.True(e.Message.Contains("add takes 2 argument(s), got 5"), e.Message);
            Check.Equal("(u32, u32) -> u32", add.GetScalarSignature(), "add's scalar signature");
            using (var echo = m.GetMethod("echo"))
            {
                Check.True(echo.GetScalarSignature() == null, "echo has no scalar signature");
                e = Check.Throws<InvalidArgumentException>(() => echo.CallScalar(1), "echo is not direct-eligible");
                Check.True(e.Message.Contains("has no scalar signature"), e.Message);
            }
            using (var checksum = m.GetMethod("checksum"))
            {
                e = Check.Throws<InvalidArgumentException>(() => checksum.CallScalar(1), "checksum is bytes-only");
                Check.True(e.Message.Contains("has no scalar signature"), e.Message);
            }
            // A function without a result, and a module error with its message.
            std.Sleep(0);
            using (var sleep = m.GetMethod("sleep"))
            {
                Check.Equal("(u32)", sleep.GetScalarSignature(), "sleep's scalar signature (no result)");
                Check.Equal(0UL, sleep.CallScalar(0), "no result: slot 0");
                var me = Check.Throws<ModuleException>(() => sleep.CallScalar(60001), "sleep over the limit");
                Check.True(me.Message.Contains("sleep: 60001 ms exceeds 60000 ms"), me.Message);
            }
            var typed = Check.Throws<ModuleException>(() => std.Sleep(60001), "typed sleep over the limit");
            Check.True(typed.Message.Contains("sleep: 60001 ms exceeds 60000 ms"), typed.Message);
            add.Dispose();
            Check.Throws<ObjectDisposedException>(() => add.CallScalar(1, 2), "a disposed method");
        }

        [Case]
        public void TypedAddInProcessIsTheUntypedCall()
        {
            using (var m = _host.Open("std"))
            {
                Exercise(m);
            }
        }

        [Case]
        public void TypedAddIsolatedIsTheUntypedCall()
        {
            using (var m = TestEnv.OpenIsolatedOrSkip(_host, "std"))
            {
                Exercise(m);
            }
        }

        [Case]
        public void ClosedAndDisposedAsTheOtherCalls()
        {
            var m = _host.Open("std");
            var std = Std.Bind(m);
            var add = m.GetMethod("add");
            Check.Equal(3u, std.Add(1, 2), "bound");
            m.Dispose();
            Check.Throws<ClosedException>(() => std.Add(1, 2), "typed add after the module's Dispose");
            Check.Throws<ClosedException>(() => add.CallScalar(1, 2), "CallScalar after the module's Dispose");
            add.Dispose();
            Check.Throws<ObjectDisposedException>(() => add.CallScalar(1, 2), "after the method's own Dispose");
            std.Dispose();
            Check.Throws<ObjectDisposedException>(() => std.Add(1, 2), "after the binding's own Dispose");
        }

        /// <summary>A Dispose racing calls on other threads: every call returns the right sum or
        /// is refused exactly as the bytes calls are (the method's Dispose: ObjectDisposedException;
        /// the module's: ClosedException).</summary>
        [Case]
        public void DisposeWhileOtherThreadsCallScalar()
        {
            foreach (string what in new[] { "method", "module" })
            {
                var host = new Host();
                var std = host.Open("std");
                var add = std.GetMethod("add");
                var unexpected = new ConcurrentQueue<Exception>();
                int ok = 0, refused = 0;
                var stop = new ManualResetEventSlim();
                var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
                {
                    for (uint k = 0; !stop.IsSet; k++)
                    {
                        try
                        {
                            if (add.CallScalar(k, (uint)t) == (ulong)unchecked(k + (uint)t))
                            {
                                Interlocked.Increment(ref ok);
                            }
                            else
                            {
                                unexpected.Enqueue(new Exception("a wrong sum"));
                            }
                        }
                        catch (ObjectDisposedException) when (what == "method")
                        {
                            Interlocked.Increment(ref refused);
                        }
                        catch (ClosedException) when (what == "module")
                        {
                            Interlocked.Increment(ref refused);
                        }
                        catch (Exception e)
                        {
                            unexpected.Enqueue(e);
                        }
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                Check.Eventually(() => Volatile.Read(ref ok) > 1000, 10, "calls running (" + what + ")");
                if (what == "method") add.Dispose();
                else std.Dispose();
                Check.Eventually(() => Volatile.Read(ref refused) > 100, 10, "calls refused after dispose of the " + what);
                stop.Set();
                threads.ForEach(t => t.Join());
                host.Dispose();
                Check.Equal(0, unexpected.Count, "unexpected exceptions after disposing the " + what + ": "
                    + string.Join("; ", unexpected.Take(3).Select(e => e.GetType().Name + ": " + e.Message)));
            }
        }

        /// <summary>The slots of every scalar type: what the wire codec writes and reads, as one
        /// 64-bit value (signed types sign-extended, floats canonicalising NaN, char checked with the
        /// encoder's message).</summary>
        [Case]
        public void SlotsAreTheWireValues()
        {
            Check.Equal(1UL, Slot.Bool(true), "true");
            Check.Equal(0UL, Slot.Bool(false), "false");
            Check.True(Slot.ToBool(1) && !Slot.ToBool(0), "bool results");
            Check.Equal(ulong.MaxValue, Slot.S8(-1), "s8 -1 sign-extended");
            Check.Equal(0xffffffffffff8000UL, Slot.S16(short.MinValue), "s16 min");
            Check.Equal(0xffffffff80000000UL, Slot.S32(int.MinValue), "s32 min");
            Check.Equal(0x8000000000000000UL, Slot.S64(long.MinValue), "s64 min");
            Check.Equal(255UL, Slot.U8(255), "u8 max");
            Check.Equal(65535UL, Slot.U16(65535), "u16 max");
            Check.Equal(0xffffffffUL, Slot.U32(uint.MaxValue), "u32 max zero-extended");
            Check.Equal(ulong.MaxValue, Slot.U64(ulong.MaxValue), "u64 max");
            Check.Equal((sbyte)-128, Slot.ToS8(Slot.S8(-128)), "s8 round trip");
            Check.Equal((short)-2, Slot.ToS16(Slot.S16(-2)), "s16 round trip");
            Check.Equal(int.MinValue, Slot.ToS32(Slot.S32(int.MinValue)), "s32 round trip");
            Check.Equal(long.MinValue, Slot.ToS64(Slot.S64(long.MinValue)), "s64 round trip");
            Check.Equal((byte)200, Slot.ToU8(200), "u8");
            Check.Equal((ushort)60000, Slot.ToU16(60000), "u16");
            Check.Equal(uint.MaxValue, Slot.ToU32(0xffffffffUL), "u32");
            Check.Equal(ulong.MaxValue, Slot.ToU64(ulong.MaxValue), "u64");
            foreach (float f in new[] { 0f, -0f, 1.5f, float.MaxValue, float.Epsilon, float.NegativeInfinity, float.NaN })
            {
                var w = new WireWriter();
                w.F32(f);
                var b = w.ToArray();
                ulong bits = BitConverter.ToUInt32(b, 0);
                Check.Equal(bits, Slot.F32(f), "f32 slot of " + f);
                Check.Equal(BitConverter.GetBytes(new WireReader(b).F32()).Aggregate("", (s, x) => s + x),
                    BitConverter.GetBytes(Slot.ToF32(bits)).Aggregate("", (s, x) => s + x), "f32 of slot " + bits);
            }
            Check.Equal(0x7fc00000UL, Slot.F32(BitConverter.ToSingle(new byte[] { 1, 0, 0x80, 0x7f }, 0)), "a NaN payload is canonical");
            Check.True(float.IsNaN(Slot.ToF32(0x7f800001UL)), "a NaN result");
            Check.Equal(0x80000000UL, Slot.F32(-0f), "-0.0 kept");
            Check.Equal(0x8000000000000000UL, Slot.F64(-0.0), "f64 -0.0 kept");
            Check.Equal(0x7ff8000000000000UL, Slot.F64(double.NaN), "f64 NaN canonical");
            Check.Equal(2.5, Slot.ToF64(Slot.F64(2.5)), "f64 round trip");
            Check.Equal((ulong)0x1F600, Slot.Char(0x1F600, "parameter c"), "char");
            Check.Equal(0x10FFFF, Slot.ToChar(0x10FFFF), "char result");
            foreach (int bad in new[] { -1, 0xD800, 0xDFFF, 0x110000 })
            {
                var viaSlot = Check.Throws<InvalidArgumentException>(() => Slot.Char(bad, "parameter c"), "char " + bad);
                var viaWire = Check.Throws<InvalidArgumentException>(() => new WireWriter().Char(bad, "parameter c"), "wire char " + bad);
                Check.Equal(viaWire.Message, viaSlot.Message, "the encoder's message");
            }
        }
    }
}
