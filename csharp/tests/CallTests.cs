using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;

namespace BridgeHost.Tests
{
    public sealed class CallTests : IDisposable
    {
        private readonly Host _host = new Host();
        private readonly Module _std;
        private readonly Method _echo;

        public CallTests()
        {
            _std = _host.Open("std");
            _echo = _std.GetMethod("echo");
        }

        public void Dispose()
        {
            _host.Dispose();
        }

        [Case]
        public void EchoReturnsTheInputForEverySize()
        {
            foreach (int n in new[] { 0, 1, 15, 16, 17, 4095, 4096, 65536, 1 << 20, 16 << 20 })
            {
                byte[] data = TestEnv.Random(n);
                Check.Bytes(data, _echo.Call(data), "echo of " + n + " bytes");
            }
        }

        [Case]
        public void OutputsLargerThanTheScratchBufferSpillWhole()
        {
            // Call(byte[]) gets small outputs in one native call through a per-thread scratch
            // buffer and larger ones through a spill buffer: zlib's decompress writes 32 KiB chunks,
            // so a large output spills after its first chunk already landed in the scratch.
            var zlib = _host.Open("zlib");
            var compress = zlib.GetMethod("compress");
            var decompress = zlib.GetMethod("decompress");
            // Nothing else creates handles while this runs; finalizers of earlier tests' garbage can
            // only lower the count. Each spill is a buffer handle: a leaked one would raise it.
            ulong liveBefore = Native.bh_debug_live_handles();
            foreach (int n in new[] { 4095, 4096, 4097, 32768, 32769, 200 * 1024 + 3 })
            {
                byte[] data = new byte[n];
                for (int i = 0; i < n; i++)
                {
                    data[i] = (byte)((i * 2654435761u) >> 13);
                }
                Check.Bytes(data, decompress.Call(compress.Call(data)), "zlib round trip of " + n + " bytes");
                Check.Bytes(data, _echo.Call(data), "echo of " + n + " bytes");
            }
            ulong liveAfter = Native.bh_debug_live_handles();
            Check.True(liveAfter <= liveBefore, "every spill buffer was freed (live handles " + liveBefore + " -> " + liveAfter + ")");
            zlib.Dispose();
        }

        [Case]
        public void CallFromALogHandlerOnTheCallingThreadGetsItsOwnOutput()
        {
            // The std module's "log" method logs on the calling thread, inside the call: a handler
            // that calls Call(byte[]) there nests a call in the outer one on the same thread.
            int outerThread = Thread.CurrentThread.ManagedThreadId;
            byte[] inner = TestEnv.Random(100);
            byte[] innerOut = null;
            int nestedOnSameThread = 0;
            Logging.SetHandler(LogLevel.Info, (level, target, message) =>
            {
                if (message.Contains("nested-call-probe") && Thread.CurrentThread.ManagedThreadId == outerThread)
                {
                    nestedOnSameThread++;
                    innerOut = _echo.Call(inner);
                }
            });
            try
            {
                byte[] outer = _std.GetMethod("log").Call(TestEnv.Ascii("nested-call-probe"));
                Check.Equal(0, outer.Length, "log returns an empty output");
            }
            finally
            {
                Logging.SetHandler(LogLevel.Error, null);
            }
            Check.Equal(1, nestedOnSameThread, "the log record was delivered on the calling thread");
            Check.Bytes(inner, innerOut, "the nested call's output");
            Check.Bytes(inner, _echo.Call(inner), "a call after the nested one");
        }

        [Case]
        public void ChecksumMatchesTheCrc32cCheckValue()
        {
            var checksum = _std.GetMethod("checksum");
            byte[] got = checksum.Call(TestEnv.Ascii("123456789"));
            Check.Equal(0xE3069283u, TestEnv.BigEndianU32(got), "CRC-32C(\"123456789\")");
        }

        [Case]
        public void ChecksumMatchesAnIndependentImplementation()
        {
            var checksum = _std.GetMethod("checksum");
            foreach (int n in new[] { 0, 1, 7, 8, 9, 1000, 65537, 1 << 20 })
            {
                byte[] data = TestEnv.Random(n);
                Check.Equal(TestEnv.Crc32C(data), TestEnv.BigEndianU32(checksum.Call(data)), "CRC-32C of " + n + " bytes");
            }
        }

        [Case]
        public void HundredThousandCallsUnderGcPressure()
        {
            // Fresh, movable arrays every call while the pressure thread compacts the heap: any
            // pointer used outside its pin window would read moved or freed memory.
            var rng = new Random(7);
            for (int i = 0; i < 100000; i++)
            {
                var data = new byte[1 + (i % 64)];
                rng.NextBytes(data);
                byte[] output = (i & 1) == 0 ? _echo.Call(data) : _echo.Call(new ReadOnlySpan<byte>(data));
                if (output.Length != data.Length || !output.SequenceEqual(data))
                {
                    Check.Fail("call " + i + " returned different bytes");
                }
            }
            Check.True(_std.GetCounters().Calls >= 100000, "the core counted every call");
        }

        [Case]
        public void SpanInputIsReadAtItsOffset()
        {
            byte[] big = TestEnv.Random(1000);
            var slice = new ReadOnlySpan<byte>(big, 123, 456);
            Check.Bytes(slice.ToArray(), _echo.Call(slice), "echo of a slice");

            Span<byte> stack = stackalloc byte[32];
            for (int i = 0; i < stack.Length; i++)
            {
                stack[i] = (byte)(i * 7);
            }
            Check.Bytes(stack.ToArray(), _echo.Call(stack), "echo of stack memory");

            Check.Equal(0, _echo.Call(ReadOnlySpan<byte>.Empty).Length, "echo of an empty span");
            Check.Equal(0, _echo.Call(default(ReadOnlySpan<byte>)).Length, "echo of a default span");
        }

        [Case]
        public void CallIntoWritesTheCallerBuffer()
        {
            byte[] data = TestEnv.Random(100);
            var output = new byte[300];
            for (int i = 0; i < output.Length; i++)
            {
                output[i] = 0xAA;
            }
            int n = _echo.CallInto(data, new Span<byte>(output, 50, 200));
            Check.Equal(100, n, "bytes written");
            Check.Bytes(data, output.Skip(50).Take(100).ToArray(), "output at the span's offset");
            Check.True(output.Take(50).All(b => b == 0xAA), "nothing written before the span");
            Check.True(output.Skip(150).All(b => b == 0xAA), "nothing written past the output");

            var exact = new byte[100];
            Check.Equal(100, _echo.CallInto(data, exact), "exact-size buffer");
            Check.Bytes(data, exact, "exact-size output");
        }

        [Case]
        public void CallIntoReportsTheRequiredSize()
        {
            byte[] data = TestEnv.Random(16);
            var small = new byte[15];
            var e = Check.Throws<BufferTooSmallException>(() => _echo.CallInto(data, small), "15-byte buffer");
            Check.Equal(16L, e.Required, "Required");
            Check.Equal(ErrorKind.BufferTooSmall, e.Kind, "Kind");

            long size;
            Check.False(_echo.TryCallInto(data, small, out size), "TryCallInto into 15 bytes");
            Check.Equal(16L, size, "size required");
            Check.False(_echo.TryCallInto(data, Span<byte>.Empty, out size), "TryCallInto into an empty span");
            Check.Equal(16L, size, "size required for an empty span");

            // The two-call pattern: size, then call again into an exact buffer.
            var exact = new byte[size];
            Check.True(_echo.TryCallInto(data, exact, out size), "second call");
            Check.Equal(16L, size, "bytes written");
            Check.Bytes(data, exact, "output of the second call");

            // A large required size crosses as a 64-bit value.
            var big = TestEnv.Random(3 << 20);
            var e2 = Check.Throws<BufferTooSmallException>(() => _echo.CallInto(big, new byte[1]), "1-byte buffer");
            Check.Equal((long)big.Length, e2.Required, "Required for 3 MiB");
        }

        [Case]
        public void ZlibRoundTripsAndItsCrcMatches()
        {
            using (var zlib = _host.Open("zlib"))
            {
                var compress = zlib.GetMethod("compress");
                var decompress = zlib.GetMethod("decompress");
                var crc32 = zlib.GetMethod("crc32");
                byte[] text = TestEnv.Ascii(string.Concat(Enumerable.Repeat("bridgehost compresses this line. ", 4000)));
                byte[] packed = compress.Call(text);
                Check.True(packed.Length < text.Length / 10, "repetitive text compresses (" + packed.Length + " of " + text.Length + ")");
                Check.Equal(0x78, (int)packed[0], "zlib header byte (RFC 1950)");
                Check.Bytes(text, decompress.Call(packed), "decompress(compress(x))");
                byte[] random = TestEnv.Random(1 << 20);
                Check.Bytes(random, decompress.Call(compress.Call(random)), "round trip of random bytes");
                Check.Equal(TestEnv.Crc32(random), TestEnv.BigEndianU32(crc32.Call(random)), "zlib crc32 vs managed CRC-32");
            }
        }

        [Case]
        public void ModuleMetadataIsRead()
        {
            Check.Equal("std", _std.Name, "Name");
            Check.True(_std.Version.Length > 0, "Version is not empty");
            Check.True(System.IO.Path.IsPathRooted(_std.Path), "Path is absolute: " + _std.Path);
            Check.True(_std.Path.EndsWith("/libbridgehost_mod_std.so", StringComparison.Ordinal), "Path is std's file: " + _std.Path);
            Check.Equal(_host.InspectInProcess("std").Path, _std.Path, "Path as InspectInProcess sees it");
            Check.Equal(ThreadModel.ThreadSafe, _std.ThreadModel, "ThreadModel");
            Check.Equal(Isolation.InProcess, _std.Isolation, "Isolation");
            var names = _std.Methods.Select(m => m.Name).ToArray();
            foreach (var n in new[] { "echo", "checksum", "sleep_ms", "ticker", "fail", "panic", "emit", "config" })
            {
                Check.True(names.Contains(n), "std declares " + n);
            }
            Check.Equal(MethodFlags.NonBlocking, _std.Methods.Single(m => m.Name == "echo").Flags, "echo flags");
            Check.Equal(MethodFlags.None, _std.Methods.Single(m => m.Name == "sleep_ms").Flags, "sleep_ms flags");
            Check.Equal(MethodFlags.NonBlocking, _echo.Flags, "resolved echo flags");
            Check.Equal("echo", _echo.Name, "method name");
            Check.True(ReferenceEquals(_std, _echo.Module), "method.Module");
            Check.True(ReferenceEquals(_host, _std.Host), "module.Host");
            Check.True(Host.NativeVersion.Length > 0, "NativeVersion");
        }

        [Case]
        public void ConfigBytesReachTheModule()
        {
            byte[] config = TestEnv.Random(300);
            using (var m = _host.Open("std", new ModuleOptions { Config = config }))
            {
                Check.Bytes(config, m.GetMethod("config").Call(new byte[0]), "config echoed by the module");
            }
        }

        [Case]
        public void ConcurrentCallsFromEightThreads()
        {
            int failures = 0;
            var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
            {
                var rng = new Random(t);
                for (int i = 0; i < 5000; i++)
                {
                    var data = new byte[1 + rng.Next(256)];
                    rng.NextBytes(data);
                    data[0] = (byte)t;
                    if (!_echo.Call(data).SequenceEqual(data))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => th.Join());
            Check.Equal(0, failures, "calls that returned another thread's bytes");
        }
    }
}
