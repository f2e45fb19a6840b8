// Generated C# bindings (gen/Std.cs: `bridgehost bindgen --lang csharp` of plugins/std/std.wit)
// compiled into these tests and called against the real std module, in-process and isolated.
using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BridgeHost.Gen;
using BridgeHost.Typed;

namespace BridgeHost.Tests
{
    public sealed class TypedBindingTests : IDisposable
    {
        private readonly Host _host = new Host();

        public void Dispose()
        {
            _host.Dispose();
        }

        private static void Exercise(Std std)
        {
            Check.Equal(5u, std.Add(2, 3), "add");
            Check.Equal(5032704u, std.Add(4000000000, 300000000), "u32 arithmetic wraps in the module");
            Check.Equal(uint.MaxValue, std.Add(uint.MaxValue, 0), "u32 max");
            Check.Bytes(new byte[0], std.Echo(new byte[0]), "echo empty");
            var big = new byte[4 << 20];
            new Random(3).NextBytes(big);
            Check.Bytes(big, std.Echo(big), "echo 4 MiB");
            Check.Equal(TestEnv.Crc32C(TestEnv.Ascii("123456789")), std.Crc32c(TestEnv.Ascii("123456789")), "crc32c");
            Check.Equal(0xE3069283u, std.Crc32c(TestEnv.Ascii("123456789")), "crc32c check value");
            // list<u8> parameters also take an ArraySegment<byte>: part of a caller's buffer.
            var buf = TestEnv.Ascii("xx123456789yy");
            Check.Equal(0xE3069283u, std.Crc32c(new ArraySegment<byte>(buf, 2, 9)), "crc32c of a segment");
            Check.Equal(0xE3069283u, std.Crc32cAsync(new ArraySegment<byte>(buf, 2, 9)).Result, "Crc32cAsync of a segment");
            Check.Bytes(TestEnv.Ascii("23"), std.Echo(new ArraySegment<byte>(buf, 3, 2)), "echo a segment");
            Check.Bytes(new byte[0], std.Echo(new ArraySegment<byte>(buf, buf.Length, 0)), "an empty segment at the end");
            Check.Throws<InvalidArgumentException>(() => std.Echo(default(ArraySegment<byte>)), "a default segment");
            Check.Equal(Option<Std.Summary>.None, std.Stats(new double[0]), "stats of nothing");
            var s = std.Stats(new[] { 1.5, -2.0, 7.0 });
            Check.True(s.HasValue, "stats");
            Check.Equal(new Std.Summary(3, -2.0, 7.0, s.Value.Mean), s.Value, "summary record equality");
            Check.True(Math.Abs(s.Value.Mean - 6.5 / 3) < 1e-12, "mean " + s.Value.Mean);
            var nan = std.Stats(new[] { double.NaN });
            Check.True(nan.HasValue && nan.Value.Count == 1, "NaN travels");
            std.Sleep(1);
            Check.Equal(42u, std.AddAsync(20, 22).Result, "AddAsync");
            Check.True(std.StatsAsync(new double[0]).Result.Equals(Option<Std.Summary>.None), "StatsAsync");
            var sleep = std.SleepAsync(1);
            Check.Completes(sleep, "SleepAsync");
            Check.True(sleep.Status == TaskStatus.RanToCompletion, "SleepAsync ran: " + sleep.Status);
            Check.Throws<InvalidArgumentException>(() => std.Echo(null), "null bytes");
            Check.Throws<InvalidArgumentException>(() => std.Tick(1, 0, Option.Some<string>(null)), "null string inside an option");
            Check.Throws<InvalidArgumentException>(() => std.TickAsync(1, 0, Option.Some("\ud800")), "unpaired surrogate throws before submitting");
            var bad = Check.Throws<InvalidArgumentException>(
                () => std.EchoPoints(new[] { new Std.Point(0, 0, "a"), new Std.Point(0, 0, "\ud800") }), "surrogate in element 1");
            Check.True(bad.Message.Contains("parameter points: element 1: point.label: unpaired surrogate U+D800"), bad.Message);
            var canceled = new CancellationTokenSource();
            canceled.Cancel();
            var t = std.SleepAsync(10, canceled.Token);
            Check.Completes(t, "canceled SleepAsync");
            Check.True(t.IsCanceled, "canceled before it ran: " + t.Status);
        }

        [Case]
        public void GeneratedStdBindingsInProcess()
        {
            using (var std = Std.Open(_host, "std"))
            {
                Check.Equal(Isolation.InProcess, std.Module.Isolation, "in-process");
                Exercise(std);
            }
        }

        [Case]
        public void GeneratedStdBindingsIsolated()
        {
            var m = TestEnv.OpenIsolatedOrSkip(_host, "std");
            using (var std = Std.Bind(m))
            {
                Check.Equal(Isolation.Process, std.Module.Isolation, "isolated");
                Exercise(std);
            }
            Check.False(m.IsDisposed, "Bind leaves the module open");
            m.Dispose();
            using (var std = Std.Open(_host, "std", new ModuleOptions { Isolation = Isolation.Process, CallTimeout = TimeSpan.FromSeconds(30) }))
            {
                Check.Equal(7u, std.Add(3, 4), "Open with options");
            }
        }

        [Case]
        public void TypedEventSubscriptions()
        {
            using (var std = Std.Open(_host, "std"))
            {
                var seen = new System.Collections.Generic.List<ulong>();
                var done = new ManualResetEventSlim();
                using (std.OnTick(seq =>
                {
                    lock (seen)
                    {
                        seen.Add(seq);
                        if (seen.Count == 3) done.Set();
                    }
                }))
                {
                    std.Tick(3, 1, Option<string>.None);                      // topic "tick"
                    Check.True(done.Wait(TimeSpan.FromSeconds(30)), "3 ticks");
                }
                lock (seen)
                {
                    Check.True(seen.SequenceEqual(new ulong[] { 0, 1, 2 }), "seq 0..2: " + string.Join(",", seen));
                }
                Check.Throws<ArgumentNullException>(() => std.OnTick(null), "null listener");
            }
        }

        [Case]
        public void AHostileEventPayloadIsAbiMismatchInTheHandler()
        {
            Exception reported = null;
            var failed = new ManualResetEventSlim();
            _host.CallbackException += (sender, args) =>
            {
                reported = args.Exception;
                failed.Set();
            };
            using (var std = Std.Open(_host, "std"))
            using (var emit = std.Module.GetMethod("emit"))
            {
                int calls = 0;
                using (std.OnTick(seq => Interlocked.Increment(ref calls)))
                {
                    // std's emit: topic NUL payload. 3 bytes are not a u64.
                    emit.Call(new byte[] { (byte)'t', (byte)'i', (byte)'c', (byte)'k', 0, 1, 2, 3 });
                    Check.True(failed.Wait(TimeSpan.FromSeconds(30)), "the handler's exception is reported");
                    std.Module.Flush(TimeSpan.FromSeconds(30));
                }
                Check.Equal(0, calls, "the listener never saw the bad payload");
                Check.True(reported is AbiMismatchException, "AbiMismatchException: " + reported);
                // Worded as the core words it (decode_event, Python's typed events), with the module's path.
                Check.Equal("ABI mismatch in " + std.Module.Path + ": event tick does not match its interface: malformed typed payload at byte 0: truncated: 8 bytes needed, 3 left",
                    reported.Message, "the core's wording");
                Check.Equal(ErrorKind.AbiMismatch, ((AbiMismatchException)reported).Kind, "kind");
            }
        }

        /// <summary>An output that does not decode is worded one way in a generated class, whoever
        /// decodes it: the core (a list&lt;u8&gt; result of a blocking call, through
        /// <c>Method.CallTyped</c>) or the generated code (any other result, and every Task's result):
        /// "ABI mismatch in PATH: output of F does not match its interface: REASON", as Python and
        /// the CLI word it, PATH the module's <c>Path</c>, which is the path the core reports. std
        /// answers correctly, so the generated decoders are given the hostile bytes directly.</summary>
        [Case]
        public void MalformedOutputsAreWordedAsTheCoreWordsThem()
        {
            foreach (var isolated in new[] { false, true })
            {
                Module m = isolated ? TestEnv.OpenIsolatedOrSkip(_host, "std") : _host.Open("std");
                if (m == null)
                {
                    continue;
                }
                using (m)
                using (var std = Std.Bind(m))
                using (var echo = m.GetMethod("echo"))
                {
                    var prefix = "ABI mismatch in " + m.Path + ": ";
                    var lies = new[]
                    {
                        new byte[] { 3, 0, 0, 0, 0x61, 0x62 },
                        new byte[] { 1, 0, 0, 0, 0x61, 0x62 },
                        new byte[] { 1, 0 },
                    };
                    foreach (var lie in lies)
                    {
                        // echo: func(data: list<u8>) -> list<u8>, decoded by the core (the blocking
                        // Echo's call) and by the generated code (EchoAsync's decoder): one message.
                        var core = Check.Throws<AbiMismatchException>(() => echo.CallTyped(lie, false, true), "the core's decode");
                        Check.True(core.Message.StartsWith(prefix + "output of echo does not match its interface: malformed typed payload at byte ", StringComparison.Ordinal), core.Message);
                        var generated = DecodeError(std, "Out_Echo", lie);
                        Check.Equal(core.Message, generated.Message, "the generated decoder's message is the core's");
                        Check.Equal(ErrorKind.AbiMismatch, generated.Kind, "kind");
                    }
                    // crc32c: func(data: list<u8>) -> u32, decoded by the generated code only.
                    var u32 = DecodeError(std, "Out_Crc32c", new byte[] { 1, 0, 0 });
                    Check.Equal(prefix + "output of crc32c does not match its interface: malformed typed payload at byte 0: truncated: 4 bytes needed, 3 left", u32.Message, "crc32c");
                    Check.True(u32.InnerException is AbiMismatchException, "caused by the reader's error");
                    u32 = DecodeError(std, "Out_Add", new byte[] { 1, 0, 0, 0, 9 });
                    Check.Equal(prefix + "output of add does not match its interface: malformed typed payload at byte 4: 1 trailing byte", u32.Message, "add");
                    var ev = DecodeError(std, "Event_OnTick", new byte[] { 1, 2, 3 });
                    Check.Equal(prefix + "event tick does not match its interface: malformed typed payload at byte 0: truncated: 8 bytes needed, 3 left", ev.Message, "event");
                }
            }
        }

        /// <summary>The exception private decoder <paramref name="helper"/> of the generated Std throws for <paramref name="bytes"/>.</summary>
        private static AbiMismatchException DecodeError(Std std, string helper, byte[] bytes)
        {
            var method = typeof(Std).GetMethod(helper, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
            Check.True(method != null, helper + " exists");
            var e = Check.Throws<System.Reflection.TargetInvocationException>(() => method.Invoke(std, new object[] { bytes }), helper);
            Check.True(e.InnerException is AbiMismatchException, helper + ": " + e.InnerException);
            return (AbiMismatchException)e.InnerException;
        }

        [Case]
        public void DisposeClosesWhatOpenOpened()
        {
            var std = Std.Open(_host, "std");
            var m = std.Module;
            std.Dispose();
            std.Dispose();
            Check.True(m.IsDisposed, "Open's module is disposed with the bindings");
            Check.Throws<ObjectDisposedException>(() => std.Add(1, 2), "a call after Dispose");
            Check.Throws<ObjectDisposedException>(() => std.AddAsync(1, 2), "an async call after Dispose throws: no task");
        }

        [Case]
        public void ABindingWhoseModuleClosedAnswersClosed()
        {
            var m = _host.Open("std");
            var std = Std.Bind(m);
            Check.Equal(3u, std.Add(1, 2), "bound");
            m.Dispose();
            Check.Throws<ClosedException>(() => std.Add(1, 2), "a call after the module's Dispose");
            Check.Faults<ClosedException>(std.AddAsync(1, 2), "an async call after the module's Dispose: a faulted task");
            std.Dispose();
            Check.Throws<ObjectDisposedException>(() => std.AddAsync(1, 2), "after the binding's own Dispose");
        }

        [Case]
        public void AnIncompatibleModuleIsAbiMismatchAtOpen()
        {
            // gen/StdMismatch.cs: std.wit with add's b a string.
            var e = Check.Throws<AbiMismatchException>(() => BridgeHost.Gen.Mismatch.Std.Open(_host, "std"), "mismatch in-process");
            Check.True(e.Message.Contains("function add: parameter 2 (b)") && e.Message.Contains("string"), "names the first difference: " + e.Message);
            var iso = TestEnv.OpenIsolatedOrSkip(_host, "std");
            using (iso)
            {
                e = Check.Throws<AbiMismatchException>(() => BridgeHost.Gen.Mismatch.Std.Bind(iso), "mismatch isolated");
                Check.True(e.Message.Contains("function add: parameter 2 (b)"), e.Message);
                Check.False(iso.IsDisposed, "Bind does not close a module it refuses");
            }
            using (var bytesOnly = _host.Open("faulty")) // test-only; std and zlib are typed
            {
                e = Check.Throws<AbiMismatchException>(() => Std.Bind(bytesOnly), "a bytes-only module");
                Check.True(e.Message.Contains("the module has no typed interface"), e.Message);
            }
            using (var zlib = _host.Open("zlib"))
            {
                e = Check.Throws<AbiMismatchException>(() => Std.Bind(zlib), "another module's interface");
                Check.True(e.Message.Contains("incompatible interface"), e.Message);
            }
            Check.Throws<ArgumentNullException>(() => Std.Bind(null), "null module");
            Check.Equal(Std.Wit, BridgeHost.Gen.Std.Wit, "Wit");
            Check.Equal(64, Std.Hash.Length, "Hash is SHA-256 hex");
        }

        /// <summary>zlib's inflate returns result&lt;list&lt;u8&gt;, zlib-error&gt;: a refused stream is a
        /// TypedModuleException&lt;ZlibError&gt; from a real call (sync and Task), caught as a
        /// ModuleException too, in both isolation modes (gen/Zlib.cs).</summary>
        [Case]
        public void ResultErrorsAreTypedModuleExceptions()
        {
            foreach (var isolated in new[] { false, true })
            {
                Module m = isolated ? TestEnv.OpenIsolatedOrSkip(_host, "zlib") : _host.Open("zlib");
                if (m == null)
                {
                    continue;
                }
                using (var zlib = Zlib.Bind(m))
                using (m)
                {
                    var data = Enumerable.Range(0, 100000).Select(i => (byte)(i % 7)).ToArray();
                    var packed = zlib.Deflate(data, Option.Some((byte)9));
                    Check.True(packed.Length < data.Length / 10, "deflate compresses");
                    Check.Bytes(data, zlib.Inflate(packed, Option<ulong>.None), "inflate round trip");
                    Check.Bytes(data, zlib.InflateAsync(packed, Option.Some(100000UL)).Result, "InflateAsync at the limit");

                    var tooLarge = Check.Throws<TypedModuleException<Zlib.ZlibError>>(
                        () => zlib.Inflate(packed, Option.Some(99999UL)), "over max-size");
                    Check.Equal((Zlib.ZlibError)new Zlib.ZlibError.TooLarge(99999), tooLarge.Error, "too-large(99999)");
                    Check.Equal("inflate", tooLarge.Function, "the function");
                    Check.True(tooLarge.Value.Equals(tooLarge.Error), "Value is the error");
                    Check.Equal(ErrorKind.Module, tooLarge.Kind, "a module error");

                    ModuleException asModule = null;
                    try
                    {
                        zlib.Inflate(packed.Take(packed.Length / 2).ToArray(), Option<ulong>.None);
                    }
                    catch (ModuleException e2)
                    {
                        asModule = e2;
                    }
                    Check.True(asModule is TypedModuleException<Zlib.ZlibError>, "caught as a ModuleException too: " + asModule);
                    Check.Equal((Zlib.ZlibError)new Zlib.ZlibError.Truncated(), ((TypedModuleException<Zlib.ZlibError>)asModule).Error, "truncated");

                    var corrupt = Check.Throws<TypedModuleException<Zlib.ZlibError>>(
                        () => zlib.Inflate(TestEnv.Ascii("not zlib at all"), Option<ulong>.None), "corrupt");
                    Check.True(corrupt.Error is Zlib.ZlibError.Corrupt, "corrupt: " + corrupt.Error);

                    var trailing = new byte[packed.Length + 3];
                    packed.CopyTo(trailing, 0);
                    var t = Check.Throws<TypedModuleException<Zlib.ZlibError>>(
                        () => zlib.Inflate(trailing, Option<ulong>.None), "trailing");
                    Check.Equal((Zlib.ZlibError)new Zlib.ZlibError.TrailingData(3), t.Error, "trailing-data(3)");

                    var inner = Check.Faults<TypedModuleException<Zlib.ZlibError>>(
                        zlib.InflateAsync(packed, Option.Some(10UL)), "async over max-size");
                    Check.Equal((Zlib.ZlibError)new Zlib.ZlibError.TooLarge(10), inner.Error, "async: too-large(10)");
                    // The module is fine afterwards.
                    Check.Bytes(data, zlib.Inflate(packed, Option<ulong>.None), "inflate after errors");
                }
            }
        }
    }
}
