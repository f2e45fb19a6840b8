using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;

namespace BridgeHost.Tests
{
    public sealed class ErrorTests : IDisposable
    {
        private readonly Host _host = new Host();
        private readonly Module _std;

        public ErrorTests()
        {
            _std = _host.Open("std");
        }

        public void Dispose()
        {
            _host.Dispose();
        }

        [Case]
        public void ModuleErrorCarriesCodeAndMessage()
        {
            var fail = _std.GetMethod("fail");
            var e = Check.Throws<ModuleException>(() => fail.Call(TestEnv.Ascii("disk on fire")), "std.fail");
            Check.Equal(42, e.Code, "Code");
            Check.Equal(ErrorKind.Module, e.Kind, "Kind");
            Check.True(e.Message.Contains("disk on fire"), "message carries the module's text: " + e.Message);
            Check.True(e is BridgeHostException, "derives from BridgeHostException");
        }

        [Case]
        public void PanicInTheModuleIsAModuleError()
        {
            var panic = _std.GetMethod("panic");
            var e = Check.Throws<ModuleException>(() => panic.Call(TestEnv.Ascii("boom")), "std.panic");
            Check.Equal(101, e.Code, "the SDK's panic code");
            Check.True(e.Message.Contains("panic: boom"), "message: " + e.Message);
            // The process and the module survive.
            Check.Bytes(TestEnv.Ascii("x"), _std.GetMethod("echo").Call(TestEnv.Ascii("x")), "echo after a panic");
        }

        [Case]
        public void NegativeModuleErrorCodesKeepTheirSign()
        {
            using (var zlib = _host.Open("zlib"))
            {
                var decompress = zlib.GetMethod("decompress");
                var e = Check.Throws<ModuleException>(
                    () => decompress.Call(TestEnv.Ascii("this is not a zlib stream")), "decompress of garbage");
                Check.True(e.Code < 0, "zlib's error codes are negative (Z_DATA_ERROR -3), got " + e.Code);
                Check.Equal(-3, e.Code, "Z_DATA_ERROR");
            }
        }

        [Case]
        public void AnAddedModuleDirectoryIsSearchedByName()
        {
            // The std module under a name found nowhere else, in a directory added to a live host.
            string env = Environment.GetEnvironmentVariable("BRIDGEHOST_MODULE_PATH");
            string dist = string.IsNullOrEmpty(env) ? AppDomain.CurrentDomain.BaseDirectory : env.Split(':')[0];
            string dir = Path.Combine(Path.GetTempPath(), "bh-cs-moddir-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.Copy(Path.Combine(dist, "libbridgehost_mod_std.so"), Path.Combine(dir, "libbridgehost_mod_cs_added_probe.so"));
                Check.Throws<NotFoundException>(() => _host.Open("cs_added_probe"), "before the directory is added");
                Check.Throws<NotFoundException>(() => _host.AddModuleDirectory(Path.Combine(dir, "missing")), "missing directory");
                Check.Throws<InvalidArgumentException>(
                    () => _host.AddModuleDirectory(Path.Combine(dir, "libbridgehost_mod_cs_added_probe.so")), "a file");
                _host.AddModuleDirectory(dir);
                using (var m = _host.Open("cs_added_probe"))
                {
                    Check.Bytes(TestEnv.Ascii("hi"), m.GetMethod("echo").Call(TestEnv.Ascii("hi")), "echo from the added directory");
                }
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Case]
        public void ModuleDirectoriesAreSearchedInOrder()
        {
            // The std module under a name found only in the second of two listed directories.
            string env = Environment.GetEnvironmentVariable("BRIDGEHOST_MODULE_PATH");
            string dist = string.IsNullOrEmpty(env) ? AppDomain.CurrentDomain.BaseDirectory : env.Split(':')[0];
            string root = Path.Combine(Path.GetTempPath(), "bh-cs-moddirs-" + Guid.NewGuid().ToString("N"));
            string first = Path.Combine(root, "first"), second = Path.Combine(root, "second");
            Directory.CreateDirectory(first);
            Directory.CreateDirectory(second);
            try
            {
                File.Copy(Path.Combine(dist, "libbridgehost_mod_std.so"), Path.Combine(second, "libbridgehost_mod_cs_dirs_probe.so"));
                using (var h = new Host(new HostOptions { ModuleDirectories = new List<string> { first, second } }))
                {
                    using (var m = h.Open("cs_dirs_probe"))
                    {
                        Check.Bytes(TestEnv.Ascii("hi"), m.GetMethod("echo").Call(TestEnv.Ascii("hi")), "echo from the second directory");
                    }
                    var e = Check.Throws<NotFoundException>(() => h.Open("no_such_module_here"), "unknown name");
                    int i = e.Message.IndexOf(first, StringComparison.Ordinal), j = e.Message.IndexOf(second, StringComparison.Ordinal);
                    Check.True(i >= 0 && j > i, "both searched, in order: " + e.Message);
                }
                Check.Throws<InvalidArgumentException>(
                    () => new Host(new HostOptions { ModuleDirectories = new List<string> { first, "" } }), "an empty entry");
                Check.Throws<InvalidArgumentException>(
                    () => new Host(new HostOptions { ModuleDirectories = new List<string> { null } }), "a null entry");
                Check.Throws<InvalidArgumentException>(
                    () => new Host(new HostOptions { ModuleDirectories = new List<string> { first + "\0" + second } }), "a NUL inside an entry");
                new Host(new HostOptions { ModuleDirectories = new List<string>() }).Dispose();
                // Issue 17: every module directory obeys the core's one rule when the host is created.
                string missing = Path.Combine(root, "missing");
                var nf = Check.Throws<NotFoundException>(
                    () => new Host(new HostOptions { ModuleDirectories = new List<string> { first, missing } }), "a missing entry");
                Check.True(nf.Message.Contains("module_dirs: entry 2 " + missing + ": no such directory"), nf.Message);
                Check.Throws<NotFoundException>(() => new Host(new HostOptions { ModuleDirectory = missing }), "a missing ModuleDirectory");
                string file = Path.Combine(root, "file");
                File.WriteAllBytes(file, new byte[0]);
                Check.Throws<InvalidArgumentException>(
                    () => new Host(new HostOptions { ModuleDirectories = new List<string> { file } }), "an entry that is a file");
            }
            finally
            {
                Directory.Delete(root, true);
            }
        }

        [Case]
        public void UnknownMethodAndModuleAreNotFound()
        {
            var e = Check.Throws<NotFoundException>(() => _std.GetMethod("no_such_method"), "unknown method");
            Check.True(e.Message.Contains("no_such_method"), "message names the method: " + e.Message);
            Check.Equal(ErrorKind.NotFound, e.Kind, "Kind");
            Check.Throws<NotFoundException>(() => _host.Open("no_such_module"), "unknown bundled module");
            Check.Throws<NotFoundException>(() => _host.Open("/nonexistent/dir/libx.so"), "missing path");
        }

        [Case]
        public void AFileThatIsNotAModuleIsAbiMismatch()
        {
            string path = Path.Combine(Path.GetTempPath(), "bh-dotnet-not-a-module-" + Guid.NewGuid().ToString("N") + ".so");
            File.WriteAllText(path, "this is text, not an ELF shared object\n");
            try
            {
                var e = Check.Throws<AbiMismatchException>(() => _host.Open(path), "text file opened as a module");
                Check.True(e.Message.Contains(Path.GetFileName(path)), "message names the file: " + e.Message);
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Case]
        public void BadOptionsAreInvalidArgument()
        {
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { Workers = -1 }), "Workers -1");
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { MaxInput = -1 }), "MaxInput -1");
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { CallTimeout = TimeSpan.Zero }), "CallTimeout 0");
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { CallTimeout = TimeSpan.FromSeconds(-1) }), "CallTimeout < 0");
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { Isolation = (Isolation)7 }), "Isolation 7");
            // Values the C types carry, refused by the core with its own message:
            var e = Check.Throws<InvalidArgumentException>(
                () => _host.Open("std", new ModuleOptions { CallTimeout = TimeSpan.FromSeconds(1) }), "in-process CallTimeout");
            Check.True(e.Message.Contains("isolation"), "the core explains why: " + e.Message);
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { MemoryLimit = 1 << 30 }), "in-process MemoryLimit");
            Check.Throws<InvalidArgumentException>(() => new Host(new HostOptions { SubmitThreads = -1 }), "SubmitThreads -1");
            Check.Throws<InvalidArgumentException>(() => new Host(new HostOptions { SubmitThreads = 100000 }), "SubmitThreads 100000");
            // One rule per option in the core: the messages every runtime shows.
            foreach (var c in new[]
            {
                Tuple.Create<Action, string>(() => _host.Open("std", new ModuleOptions { Workers = -1 }), "workers must be in 1..=64, got -1"),
                Tuple.Create<Action, string>(() => _host.Open("std", new ModuleOptions { Workers = 65, Isolation = Isolation.Process }), "workers must be in 1..=64, got 65"),
                Tuple.Create<Action, string>(() => _host.Open("std", new ModuleOptions { MaxInput = -1 }), "max_input must be in 0..=9223372036854775807, got -1"),
                Tuple.Create<Action, string>(() => _host.Open("std", new ModuleOptions { MemoryLimit = -1, Isolation = Isolation.Process }), "memory_limit must be in 1..=18446744073709551615, got -1"),
                Tuple.Create<Action, string>(() => _host.Open("std", new ModuleOptions { CallTimeout = TimeSpan.FromDays(366), Isolation = Isolation.Process }), "call_timeout must be positive and at most one year"),
                Tuple.Create<Action, string>(() => new Host(new HostOptions { SubmitThreads = -1 }), "submit_threads must be in 1..=256, got -1"),
                Tuple.Create<Action, string>(() => new Host(new HostOptions { EventQueueBytes = -1 }), "event_queue_bytes must be in 65536..=18446744073709551615, got -1"),
                // Issue 17: 0 is a value like any other (null is the default), as in Java and Python.
                Tuple.Create<Action, string>(() => _host.Open("std", new ModuleOptions { Workers = 0 }), "workers must be in 1..=64, got 0"),
                Tuple.Create<Action, string>(() => new Host(new HostOptions { SubmitThreads = 0 }), "submit_threads must be in 1..=256, got 0"),
                Tuple.Create<Action, string>(() => new Host(new HostOptions { SubmitQueueCapacity = 0 }), "submit_queue_capacity must be in 1..=4294967295, got 0"),
                Tuple.Create<Action, string>(() => new Host(new HostOptions { EventQueueCapacity = 0 }), "event_queue_capacity must be in 1..=4294967295, got 0"),
                Tuple.Create<Action, string>(() => new Host(new HostOptions { EventQueueBytes = 0 }), "event_queue_bytes must be in 65536..=18446744073709551615, got 0"),
            })
            {
                var ex = Check.Throws<InvalidArgumentException>(c.Item1, c.Item2);
                Check.True(ex.Message.Contains(c.Item2), "the core's message: " + ex.Message);
            }
            Check.Throws<ArgumentNullException>(() => _host.Open(null), "null spec");
            Check.Throws<ArgumentNullException>(() => _std.GetMethod(null), "null method name");
        }

        [Case]
        public void MaxEventBoundsTheModulesEmits()
        {
            // std's emit: topic "t", NUL, payload. A refused emit fails the call with a module error.
            Func<int, byte[]> emitInput = size => { var b = new byte[2 + size]; b[0] = (byte)'t'; return b; };
            using (var m = _host.Open("std", new ModuleOptions { MaxEvent = 16 }))
            {
                var emit = m.GetMethod("emit");
                emit.Call(emitInput(16));
                Check.Throws<ModuleException>(() => emit.Call(emitInput(17)), "17-byte event over MaxEvent 16");
            }
            _std.GetMethod("emit").Call(emitInput(17));   // the default (1 MiB) allows it
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { MaxEvent = -1 }), "MaxEvent -1");
        }

        [Case]
        public void LoneSurrogatesAreInvalidArgument()
        {
            Check.Throws<InvalidArgumentException>(() => _std.GetMethod("echo\ud800"), "method name with a lone surrogate");
            Check.Throws<InvalidArgumentException>(() => _host.Open("std\udc00"), "module spec with a lone surrogate");
            Check.Throws<InvalidArgumentException>(() => _std.Subscribe("\ud800", ev => { }), "topic with a lone surrogate");
        }

        [Case]
        public void LimitsAreResourceLimit()
        {
            using (var m = _host.Open("std", new ModuleOptions { MaxInput = 16, MaxOutput = 8 }))
            {
                var echo = m.GetMethod("echo");
                Check.Equal(8, echo.Call(new byte[8]).Length, "8 bytes in and out");
                Check.Throws<ResourceLimitException>(() => echo.Call(new byte[9]), "9-byte output over MaxOutput 8");
                Check.Throws<ResourceLimitException>(() => echo.Call(new byte[17]), "17-byte input over MaxInput 16");
                var checksum = m.GetMethod("checksum");
                Check.Equal(4, checksum.Call(new byte[16]).Length, "16-byte input at MaxInput");
            }
        }

        [Case]
        public void ErrorsAreReadOnTheFailingThread()
        {
            // The message is thread-local in the native library: each thread must see its own.
            var fail = _std.GetMethod("fail");
            int wrong = 0;
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                for (int i = 0; i < 500; i++)
                {
                    string mine = "thread " + t + " call " + i;
                    try
                    {
                        fail.Call(Encoding.UTF8.GetBytes(mine));
                        Interlocked.Increment(ref wrong);
                    }
                    catch (ModuleException e)
                    {
                        if (!e.Message.EndsWith(mine, StringComparison.Ordinal) || e.Code != 42)
                        {
                            Interlocked.Increment(ref wrong);
                        }
                    }
                }
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => th.Join());
            Check.Equal(0, wrong, "errors carrying another call's message");
        }

        [Case]
        public void EveryStatusMapsToItsExceptionClass()
        {
            var expected = new[]
            {
                typeof(InvalidArgumentException), typeof(NotFoundException), typeof(AbiMismatchException),
                typeof(ModuleException), typeof(WorkerCrashedException), typeof(CallTimeoutException),
                typeof(ResourceLimitException), typeof(ClosedException), typeof(CancelledException),
                typeof(OverloadedException), typeof(InternalException), typeof(WorkerExitedException),
                typeof(ProtocolException), typeof(UnavailableException), typeof(BufferTooSmallException),
                typeof(StateLostException),
            };
            for (int code = 1; code <= 16; code++)
            {
                var e = BridgeHostException.Create(-code, "m", -7);
                Check.Equal(expected[code - 1], e.GetType(), "class for status " + (-code));
                Check.True(e is IBridgeHostException, "status " + (-code) + " implements IBridgeHostException");
                Check.Equal((ErrorKind)code, ((IBridgeHostException)e).Kind, "kind for status " + (-code));
                bool standardBase = code == (int)ErrorKind.Timeout || code == (int)ErrorKind.Cancelled
                    || code == (int)ErrorKind.InvalidArgument;
                Check.Equal(!standardBase, e is BridgeHostException, "status " + (-code) + " derives from BridgeHostException");
                Check.Equal("m", e.Message, "message for status " + (-code));
            }
            Check.True(BridgeHostException.Create(-1, "m", 0) is ArgumentException, "invalid argument is an ArgumentException");
            Check.True(BridgeHostException.Create(-6, "m", 0) is TimeoutException, "timeout is a TimeoutException");
            Check.True(BridgeHostException.Create(-9, "m", 0) is OperationCanceledException, "cancelled is an OperationCanceledException");
            Check.Equal(-7, ((ModuleException)BridgeHostException.Create(-4, "", -7)).Code, "module code");
            Check.Equal(11, ((WorkerCrashedException)BridgeHostException.Create(-5, "", 11)).Signal, "signal");
            Check.Equal(3, ((WorkerExitedException)BridgeHostException.Create(-12, "", 3)).Status, "exit status");
            Check.Equal(1L << 40, ((BufferTooSmallException)BridgeHostException.Create(-15, "", 1L << 40)).Required, "required");
            Check.Equal(typeof(InternalException), BridgeHostException.Create(-17, "", 0).GetType(), "unknown status -17");
            Check.Equal(typeof(InternalException), BridgeHostException.Create(7, "", 0).GetType(), "positive status");
            Check.Equal(typeof(InternalException), BridgeHostException.Create(int.MinValue, "", 0).GetType(), "int.MinValue");
        }
    
        [Case]
        public void TimeoutAndCancellationUseTheStandardBaseTypes()
        {
            // A timeout handler written for .NET catches a bridgehost timeout, and a cancellation
            // handler a host-side cancellation (issue 15). Checked against the former hierarchy:
            // with both deriving from BridgeHostException these casts fail.
            var timeout = BridgeHostException.Create(-(int)ErrorKind.Timeout, "slow", 0);
            Check.True(timeout is TimeoutException, "CallTimeoutException is a System.TimeoutException");
            Check.Equal(ErrorKind.Timeout, ((IBridgeHostException)timeout).Kind, "timeout kind");
            var cancelled = BridgeHostException.Create(-(int)ErrorKind.Cancelled, "gone", 0);
            Check.True(cancelled is OperationCanceledException, "CancelledException is an OperationCanceledException");
            Check.Equal(ErrorKind.Cancelled, ((IBridgeHostException)cancelled).Kind, "cancelled kind");
            bool caught = false;
            try { throw timeout; }
            catch (TimeoutException) { caught = true; }
            Check.True(caught, "catch (TimeoutException) catches it");
            caught = false;
            try { throw cancelled; }
            catch (OperationCanceledException) { caught = true; }
            Check.True(caught, "catch (OperationCanceledException) catches it");
        }

        [Case]
        public void EveryExceptionHasAMessageInnerConstructor()
        {
            var inner = new InvalidOperationException("root cause");
            var all = new Exception[]
            {
                new InvalidArgumentException("m", inner), new NotFoundException("m", inner),
                new AbiMismatchException("m", inner), new ModuleException("m", inner),
                new ModuleException("m", 7, inner), new WorkerCrashedException("m", inner),
                new WorkerCrashedException("m", 11, inner), new CallTimeoutException("m", inner),
                new ResourceLimitException("m", inner), new ClosedException("m", inner),
                new CancelledException("m", inner), new OverloadedException("m", inner),
                new InternalException("m", inner), new WorkerExitedException("m", inner),
                new WorkerExitedException("m", 3, inner), new ProtocolException("m", inner),
                new UnavailableException("m", inner), new BufferTooSmallException("m", inner),
                new BufferTooSmallException("m", 9, inner), new StateLostException("m", inner),
                new BridgeHostException(ErrorKind.Internal, "m", inner),
            };
            foreach (var e in all)
            {
                Check.Equal("m", e.Message, e.GetType().Name + " message");
                Check.True(ReferenceEquals(inner, e.InnerException), e.GetType().Name + " inner");
                Check.True(e is IBridgeHostException, e.GetType().Name + " implements IBridgeHostException");
            }
            Check.Equal(7, new ModuleException("m", 7, inner).Code, "code kept");
            Check.Equal(11, new WorkerCrashedException("m", 11, inner).Signal, "signal kept");
            Check.Equal(3, new WorkerExitedException("m", 3, inner).Status, "status kept");
            Check.Equal(9L, new BufferTooSmallException("m", 9, inner).Required, "required kept");
        }
    }
}
