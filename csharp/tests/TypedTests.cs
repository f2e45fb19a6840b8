using System;

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
