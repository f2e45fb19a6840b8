using System;
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
            var e = Check.Throws<ModuleErrorException>(() => fail.Call(TestEnv.Ascii("disk on fire")), "std.fail");
            Check.Equal(42, e.Code, "Code");
            Check.Equal(ErrorKind.Module, e.Kind, "Kind");
            Check.True(e.Message.Contains("disk on fire"), "message carries the module's text: " + e.Message);
            Check.True(e is BridgeHostException, "derives from BridgeHostException");
        }

        [Case]
        public void PanicInTheModuleIsAModuleError()
        {
            var panic = _std.GetMethod("panic");
            var e = Check.Throws<ModuleErrorException>(() => panic.Call(TestEnv.Ascii("boom")), "std.panic");
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
                var e = Check.Throws<ModuleErrorException>(
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
            Check.Throws<InvalidArgumentException>(() => _host.Open("std", new ModuleOptions { MaxOutput = 0 }), "MaxOutput 0");
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
            Check.Throws<ArgumentNullException>(() => _host.Open(null), "null spec");
            Check.Throws<ArgumentNullException>(() => _std.GetMethod(null), "null method name");
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
                    catch (ModuleErrorException e)
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
                typeof(ModuleErrorException), typeof(WorkerCrashedException), typeof(CallTimeoutException),
                typeof(ResourceLimitException), typeof(ClosedException), typeof(CancelledException),
                typeof(OverloadedException), typeof(InternalException), typeof(WorkerExitedException),
                typeof(ProtocolException), typeof(UnavailableException), typeof(BufferTooSmallException),
            };
            for (int code = 1; code <= 15; code++)
            {
                var e = BridgeHostException.Create(-code, "m", -7);
                Check.Equal(expected[code - 1], e.GetType(), "class for status " + (-code));
                Check.Equal((ErrorKind)code, e.Kind, "kind for status " + (-code));
                Check.Equal("m", e.Message, "message for status " + (-code));
            }
            Check.Equal(-7, ((ModuleErrorException)BridgeHostException.Create(-4, "", -7)).Code, "module code");
            Check.Equal(11, ((WorkerCrashedException)BridgeHostException.Create(-5, "", 11)).Signal, "signal");
            Check.Equal(3, ((WorkerExitedException)BridgeHostException.Create(-12, "", 3)).Status, "exit status");
            Check.Equal(1L << 40, ((BufferTooSmallException)BridgeHostException.Create(-15, "", 1L << 40)).Required, "required");
            Check.Equal(typeof(InternalException), BridgeHostException.Create(-16, "", 0).GetType(), "unknown status -16");
            Check.Equal(typeof(InternalException), BridgeHostException.Create(7, "", 0).GetType(), "positive status");
            Check.Equal(typeof(InternalException), BridgeHostException.Create(int.MinValue, "", 0).GetType(), "int.MinValue");
        }
    }
}
