using System;
using System.Linq;

namespace BridgeHost.Tests
{
    /// <summary>
    /// Module.InterfaceText and Module.CheckBinding: the module's embedded WIT and the core's one
    /// compatibility rule (docs/TYPED.md, "Versioning"), which generated bindings apply at open.
    /// </summary>
    public sealed class TypedTests : IDisposable
    {
        private readonly Host _host = new Host();

        public void Dispose()
        {
            _host.Dispose();
        }

        [Case]
        public void StdEmbedsItsInterfaceAndBindsToIt()
        {
            using (var m = _host.Open("std"))
            {
                var wit = m.InterfaceText;
                Check.True(wit != null, "std has a typed interface");
                Check.True(wit.Contains("package bridgehost:std"), "package: " + wit);
                Check.True(wit.Contains("add: func(a: u32, b: u32) -> u32;"), "add: " + wit);
                m.CheckBinding(wit);
                // A binding that uses a subset of the module's functions is compatible.
                m.CheckBinding("package bridgehost:std@0.1.0;\ninterface std {\n    add: func(a: u32, b: u32) -> u32;\n}\n");
                m.Dispose();
                Check.Equal(wit, m.InterfaceText, "InterfaceText after Dispose");
                Check.Throws<ObjectDisposedException>(() => m.CheckBinding(wit), "CheckBinding after Dispose");
            }
        }

        // A list<u8> result of at least 4 KiB is written straight into the array returned when it
        // has the previous result's length (BH_TYPED_LIST_EXACT); any other length comes back whole
        // through the spill buffer. Lengths that repeat, grow, shrink and drop below 4 KiB, a lie
        // after a large result (refused, as on the other path), both isolation modes.
        [Case]
        public void ListResultsOfChangingLengthsComeBackWhole()
        {
            foreach (var iso in new[] { Isolation.InProcess, Isolation.Process })
            {
                using (var m = _host.Open("std", new ModuleOptions { Isolation = iso, MaxInput = 200004 }))
                using (var echo = m.GetMethod("echo"))
                {
                    var rng = new Random(11);
                    foreach (int n in new[] { 5000, 5000, 8000, 4096, 4096, 10, 70000, 70000, 0, 6000, 6000, 200000, 5999 })
                    {
                        var data = new byte[n];
                        rng.NextBytes(data);
                        var back = echo.CallTyped(data, true, true);
                        Check.Equal(n, back.Length, iso + ": length " + n);
                        Check.True(back.AsSpan().SequenceEqual(data), iso + ": bytes of " + n);
                    }
                    // The guess is now 5999: a prefix claiming 5999 bytes with one missing, and one
                    // with a byte too many, are refused; the next exact result still comes back.
                    var shortLie = new byte[4 + 5998];
                    BitConverter.GetBytes(5999).CopyTo(shortLie, 0);
                    var e = Check.Throws<AbiMismatchException>(() => echo.CallTyped(shortLie, false, true), iso + ": short");
                    Check.True(e.Message.Contains("output of echo does not match its interface: "), e.Message);
                    var longLie = new byte[4 + 6000];
                    BitConverter.GetBytes(5999).CopyTo(longLie, 0);
                    e = Check.Throws<AbiMismatchException>(() => echo.CallTyped(longLie, false, true), iso + ": long");
                    Check.True(e.Message.Contains("1 trailing byte"), e.Message);
                    var last = new byte[5999];
                    rng.NextBytes(last);
                    Check.True(echo.CallTyped(last, true, true).AsSpan().SequenceEqual(last), iso + ": after the lies");
                }
            }
        }

        // Method.CallTyped, under generated functions that take or return one list<u8>: the bridge
        // writes the length in front of the input and checks and strips it from the output. std's echo
        // returns its input as it is, so raw input becomes the output to decode: a lying length or
        // trailing bytes is AbiMismatchException. Both isolation modes, fitting and spilled outputs.
        [Case]
        public void ListBytesInAndOutAreEncodedAndCheckedNatively()
        {
            foreach (var iso in new[] { Isolation.InProcess, Isolation.Process })
            {
                using (var m = _host.Open("std", new ModuleOptions { Isolation = iso, MaxInput = 100004 }))
                using (var echo = m.GetMethod("echo"))
                {
                    var data = new byte[] { 1, 2, 0xff };
                    Check.True(echo.CallTyped(data, true, true).AsSpan().SequenceEqual(data), iso + ": both");
                    Check.True(echo.CallTyped(data, true, false).AsSpan().SequenceEqual(new byte[] { 3, 0, 0, 0, 1, 2, 0xff }), iso + ": input only");
                    Check.True(echo.CallTyped(new byte[] { 3, 0, 0, 0, 1, 2, 0xff }, false, true).AsSpan().SequenceEqual(data), iso + ": output only");
                    Check.Equal(0, echo.CallTyped(new byte[0], true, true).Length, iso + ": empty");
                    // 100,000 bytes + 4 of length: exactly MaxInput, and a spilled output.
                    var big = new byte[100000];
                    new Random(5).NextBytes(big);
                    Check.True(echo.CallTyped(big, true, true).AsSpan().SequenceEqual(big), iso + ": spilled");
                    var tooBig = Check.Throws<ResourceLimitException>(() => echo.CallTyped(new byte[100001], true, true), iso + ": over MaxInput");
                    Check.True(tooBig.Message.Contains("100005"), tooBig.Message);
                    var lies = new[]
                    {
                        new object[] { new byte[] { 3, 0, 0, 0, 0x61, 0x62 }, "list length 3 needs at least 3 bytes, 2 left" },
                        new object[] { new byte[] { 1, 0, 0, 0, 0x61, 0x62 }, "1 trailing byte" },
                        new object[] { new byte[] { 1, 0 }, "truncated" },
                        new object[] { new byte[0], "truncated" },
                    };
                    foreach (var lie in lies)
                    {
                        var e = Check.Throws<AbiMismatchException>(() => echo.CallTyped((byte[])lie[0], false, true), iso + ": lie " + lie[1]);
                        Check.True(e.Message.Contains("output of echo does not match its interface: ") && e.Message.Contains((string)lie[1]), e.Message);
                    }
                    Check.Throws<ArgumentNullException>(() => echo.CallTyped(null, true, true), iso + ": null");
                    // A flag the declared signature contradicts, or a method no interface declares:
                    // the caller's mistake, refused before the module runs.
                    using (var es = m.GetMethod("echo-string"))
                    using (var add = m.GetMethod("add"))
                    using (var ck = m.GetMethod("checksum"))
                    {
                        var calls = m.GetCounters().Calls;
                        var ia = Check.Throws<InvalidArgumentException>(() => es.CallTyped(data, false, true), iso + ": echo-string output");
                        Check.True(ia.Message.Contains("echo-string returns string, not list<u8>"), ia.Message);
                        ia = Check.Throws<InvalidArgumentException>(() => add.CallTyped(data, true, false), iso + ": add input");
                        Check.True(ia.Message.Contains("add takes (a: u32, b: u32), not one list<u8>"), ia.Message);
                        ia = Check.Throws<InvalidArgumentException>(() => ck.CallTyped(data, true, true), iso + ": checksum");
                        Check.True(ia.Message.Contains("checksum is not a function of the module's typed interface"), ia.Message);
                        Check.Equal(calls, m.GetCounters().Calls, iso + ": no call reached the module");
                    }
                    m.Dispose();
                    Check.Throws<ClosedException>(() => echo.CallTyped(data, true, true), iso + ": after the module's Dispose");
                    echo.Dispose();
                    Check.Throws<ObjectDisposedException>(() => echo.CallTyped(data, true, true), iso + ": after Dispose");
                }
            }
        }

        [Case]
        public void AnIncompatibleBindingNamesTheFirstDifference()
        {
            using (var m = _host.Open("std"))
            {
                var e = Check.Throws<AbiMismatchException>(
                    () => m.CheckBinding("package bridgehost:std@0.1.0;\ninterface std {\n    add: func(a: u32, b: string) -> u32;\n}\n"),
                    "changed parameter type");
                Check.True(e.Message.Contains("add") && e.Message.Contains("string"), "names the difference: " + e.Message);
                var bad = Check.Throws<InvalidArgumentException>(() => m.CheckBinding("not wit at all"), "unparsable WIT");
                Check.True(bad.Message.Contains("the binding's interface"), "says which text: " + bad.Message);
                Check.Throws<InvalidArgumentException>(() => m.CheckBinding("package a:b;\ninterface x {}\n\ud800"), "unpaired surrogate");
                Check.Throws<ArgumentNullException>(() => m.CheckBinding(null), "null");
            }
        }

        [Case]
        public void ABytesOnlyModuleHasNoInterface()
        {
            using (var std = _host.Open("std"))
            using (var bytesOnly = _host.Open("faulty")) // test-only; std and zlib are typed
            {
                Check.True(bytesOnly.InterfaceText == null, "faulty is bytes-only");
                var e = Check.Throws<AbiMismatchException>(() => bytesOnly.CheckBinding(std.InterfaceText), "no interface");
                Check.True(e.Message.Contains("the module has no typed interface"), e.Message);
            }
        }
    }
}
