using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("BridgeHost")]
[assembly: AssemblyDescription(".NET front end of bridgehost: call native modules in-process or isolated in worker processes.")]
[assembly: AssemblyVersion("0.1.0.0")]
[assembly: AssemblyFileVersion("0.1.0.0")]
[assembly: AssemblyInformationalVersion("0.1.0")]
// The tests exercise the C ABI directly (value ranges, live-handle counts) through Native.
[assembly: InternalsVisibleTo("BridgeHost.Tests")]
