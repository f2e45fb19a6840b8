using System;
using System.Linq;

namespace BridgeHost.Tests
{
    /// <summary>
    /// Values at the edges of every type that crosses: the C ABI's size_t lengths driven directly
    /// (null pointers with 1, 2^31, 2^32, isize::MAX + 1 and SIZE_MAX bytes must be refused before
    /// anything is read), forged and stale 64-bit handles, and .NET ints at 0, 1, int.MaxValue and
    /// negative where a size or count is expected.
    /// </summary>
    public sealed unsafe class ValueRangeTests : IDisposable
    {
        private const int InvalidArgument = -1;
        private readonly Host _host = new Host();
        private readonly Module _std;
        private readonly Method _echo;

        public ValueRangeTests()
        {
            _std = _host.Open("std");
            _echo = _std.GetMethod("echo");
        }

        public void Dispose()
        {
            _host.Dispose();
        }

        private static readonly ulong[] HugeLengths =
        {
            1, (1UL << 31) - 1, 1UL << 31, 1UL << 32, (ulong)long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue,
        };

        /// <summary>The defaults are read from the native library (the core's values, no copy in
        /// the .NET code) and are the documented ones.</summary>
        [Case]
        public void DefaultsComeFromTheNativeLibrary()
        {
            HostOptions h = HostOptions.Defaults;
            Check.Equal(64, h.SubmitThreads, "SubmitThreads");
            Check.Equal(4096, h.SubmitQueueCapacity, "SubmitQueueCapacity");
            Check.Equal(65536, h.EventQueueCapacity, "EventQueueCapacity");
            Check.Equal(64L << 20, h.EventQueueBytes, "EventQueueBytes");
            Check.True(h.ModuleDirectory == null, "ModuleDirectory");
            Check.Equal("bridgehost", h.ThreadName, "ThreadName (SymmetryTests: the core's)");
            Check.True(!ReferenceEquals(h, HostOptions.Defaults), "a new instance each time");
            ModuleOptions m = ModuleOptions.Defaults;
            Check.Equal(Isolation.InProcess, m.Isolation, "Isolation");
            Check.Equal(1, m.Workers, "Workers");
            Check.True(m.CallTimeout == null, "no CallTimeout");
            Check.True(m.MemoryLimit == null, "no MemoryLimit");
            Check.Equal(256L << 20, m.MaxInput.Value, "MaxInput");
            Check.Equal(256L << 20, m.MaxOutput.Value, "MaxOutput");
            Check.Equal(1L << 20, m.MaxEvent.Value, "MaxEvent");
            // The defaults are valid options as they are.
            using (var host = new Host(h))
            {
                Module std = host.Open("std", m);
                Check.Equal(3, std.GetMethod("echo").Call(new byte[] { 1, 2, 3 }).Length, "echo");
            }
        }

        [Case]
        public void NullPointersWithLengthsAreRefused()
        {
            foreach (ulong len in HugeLengths)
            {
                BufferHandle buf;
                int st = Native.bh_call(_echo.NativeHandle, null, new UIntPtr(len), out buf);
                Check.Equal(InvalidArgument, st, "bh_call(NULL, " + len + ")");
                Check.True(buf.IsInvalid, "no buffer on failure");
                UIntPtr outLen;
                byte* o = stackalloc byte[16];
                st = Native.bh_call_into(_echo.NativeHandle.Id, null, new UIntPtr(len), o, new UIntPtr(16), out outLen);
                Check.Equal(InvalidArgument, st, "bh_call_into(in NULL, " + len + ")");
                byte* i = stackalloc byte[1];
                st = Native.bh_call_into(_echo.NativeHandle.Id, i, new UIntPtr(1), null, new UIntPtr(len), out outLen);
                Check.Equal(InvalidArgument, st, "bh_call_into(out NULL, cap " + len + ")");
                MethodHandle m;
                st = Native.bh_method_resolve(_std.NativeHandle, null, new UIntPtr(len), out m);
                Check.Equal(InvalidArgument, st, "bh_method_resolve(NULL, " + len + ")");
            }
            // A null pointer with length 0 is an empty input.
            BufferHandle empty;
            Check.Equal(0, Native.bh_call(_echo.NativeHandle, null, UIntPtr.Zero, out empty), "bh_call(NULL, 0)");
            empty.Dispose();
        }

        [Case]
        public void LengthsAboveIsizeMaxAreRefusedBeforeReading()
        {
            // A valid pointer with an impossible length: refused before a single byte is read.
            byte* p = stackalloc byte[16];
            foreach (ulong len in new[] { (ulong)long.MaxValue + 1, ulong.MaxValue })
            {
                BufferHandle buf;
                Check.Equal(InvalidArgument, Native.bh_call(_echo.NativeHandle, p, new UIntPtr(len), out buf), "bh_call(p, " + len + ")");
                ulong task;
                Check.Equal(InvalidArgument, Native.bh_submit(_echo.NativeHandle, p, new UIntPtr(len), Callbacks.CompletionPtr, IntPtr.Zero, out task),
                    "bh_submit(p, " + len + ")");
            }
        }

        [Case]
        public void ForgedAndStaleHandlesAreCleanErrors()
        {
            foreach (ulong forged in new ulong[] { 1, 0xDEADBEEF, 1UL << 32, ulong.MaxValue, 0x8000_0000_0000_0001UL })
            {
                Check.Equal(InvalidArgument, Native.bh_method_free(forged), "bh_method_free(" + forged + ")");
                Check.Equal(InvalidArgument, Native.bh_module_free(forged), "bh_module_free(" + forged + ")");
                Check.Equal(InvalidArgument, Native.bh_buffer_free(forged), "bh_buffer_free(" + forged + ")");
                Check.Equal(InvalidArgument, Native.bh_unsubscribe(forged), "bh_unsubscribe(" + forged + ")");
                int cancelled;
                Check.Equal(InvalidArgument, Native.bh_task_cancel(forged, out cancelled), "bh_task_cancel(" + forged + ")");
            }
            Check.Equal(InvalidArgument, Native.bh_host_free(0), "handle 0 is never valid");

            // Cross-type: a live module id is not a method, a buffer or a subscription.
            ulong moduleId = _std.NativeHandle.Id;
            Check.Equal(InvalidArgument, Native.bh_method_free(moduleId), "module id as a method");
            Check.Equal(InvalidArgument, Native.bh_buffer_free(moduleId), "module id as a buffer");
            Check.Equal(InvalidArgument, Native.bh_unsubscribe(moduleId), "module id as a subscription");
            Check.Equal(InvalidArgument, Native.bh_host_free(moduleId), "module id as a host");
            Check.Bytes(new byte[] { 9 }, _echo.Call(new byte[] { 9 }), "the module still works");

            // Stale: a released method id is refused as closed (a retired id, docs/C_ABI.md
            // "Handles"), also after its slot was reused.
            const int Closed = -8;
            var m = _std.GetMethod("echo");
            ulong id = m.NativeHandle.Id;
            m.Dispose();
            Check.Equal(Closed, Native.bh_method_free(id), "double free of a method");
            var reused = _std.GetMethod("echo");
            Check.Equal(Closed, Native.bh_method_free(id), "stale id after its slot may have been reused");
            Check.Bytes(new byte[] { 7 }, reused.Call(new byte[] { 7 }), "the new method is unaffected");
        }

        [Case]
        public void DotNetIntsAtTheEdges()
        {
            // int.MaxValue fits every u32/u64 option: the core decides (workers 1..=64, threads 1..=256).
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { Workers = int.MaxValue }), "Workers int.MaxValue");
            Check.Throws<InvalidArgumentException>(() => new Host(new HostOptions { SubmitThreads = int.MaxValue }), "SubmitThreads int.MaxValue");
            Check.Throws<InvalidArgumentException>(() => new Host(new HostOptions { EventQueueCapacity = int.MinValue }), "EventQueueCapacity int.MinValue");
            using (var h = new Host(new HostOptions { SubmitThreads = 1, SubmitQueueCapacity = int.MaxValue, EventQueueCapacity = int.MaxValue }))
            {
                Check.Equal(3, h.Open("std").GetMethod("echo").Call(new byte[3]).Length, "host with int.MaxValue capacities works");
            }
            // long.MaxValue = isize::MAX is the largest size the core accepts.
            using (var m = _host.Open("std", new ModuleOptions { MaxInput = long.MaxValue, MaxOutput = long.MaxValue, Workers = 1 }))
            {
                Check.Equal(5, m.GetMethod("echo").Call(new byte[5]).Length, "limits at long.MaxValue");
            }
            using (var m = _host.Open("std", new ModuleOptions { MaxInput = 1, MaxOutput = 1 }))
            {
                var echo = m.GetMethod("echo");
                Check.Equal(0, echo.Call(new byte[0]).Length, "0 bytes with limits of 1");
                Check.Equal(1, echo.Call(new byte[1]).Length, "1 byte with limits of 1");
                Check.Throws<ResourceLimitException>(() => echo.Call(new byte[2]), "2 bytes with MaxInput 1");
            }
            // 0 is a value (null is the default), as in Java and Python: a 0-byte limit lets only
            // empty data through (the C struct's explicit_zero carries it).
            foreach (var zero in new[] { new ModuleOptions { MaxInput = 0 }, new ModuleOptions { MaxOutput = 0 } })
            {
                using (var m = _host.Open("std", zero))
                {
                    var echo = m.GetMethod("echo");
                    Check.Equal(0, echo.Call(new byte[0]).Length, "0 bytes with a 0-byte limit");
                    Check.Throws<ResourceLimitException>(() => echo.Call(new byte[1]), "1 byte with a 0-byte limit");
                }
            }
            using (var m = _host.Open("std", new ModuleOptions { MaxEvent = 0 }))
            {
                Check.Equal(0, m.GetMethod("echo").Call(new byte[0]).Length, "MaxEvent 0 opens");
            }
            // A sub-millisecond timeout rounds up instead of becoming 0 ("none"): it reaches the
            // core, which refuses a timeout in-process.
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { CallTimeout = TimeSpan.FromTicks(1) }), "1-tick timeout");
        }

        [Case]
        public void CountersAreExact()
        {
            using (var m = _host.Open("std"))
            {
                var echo = m.GetMethod("echo");
                var fail = m.GetMethod("fail");
                for (int i = 0; i < 1000; i++)
                {
                    echo.Call(new byte[i % 10]);
                }
                for (int i = 0; i < 7; i++)
                {
                    Check.Throws<ModuleException>(() => fail.Call(new byte[0]), "fail");
                }
                var c = m.GetCounters();
                Check.Equal(1007L, c.Calls, "Calls");
                Check.Equal(7L, c.Errors, "Errors");
                Check.True(c.LatencySamples > 0 && c.LatencyNsMax > 0, "latency sampled: " + c);
                Check.True(_host.GetCounters().Calls >= 1007, "host sums its modules");
            }
        }
    }
}
