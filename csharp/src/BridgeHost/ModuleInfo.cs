using System;
using System.Collections.Generic;
using System.Text;

namespace BridgeHost
{
    /// <summary>What a module declares, as <see cref="Host.Inspect(string, TimeSpan?)"/> found it
    /// (validated, without opening the module). Immutable.</summary>
    public sealed class ModuleInfo
    {
        private ModuleInfo(string name, string version, string path, int abiVersion, ThreadModel model,
            bool stateful, bool typed, IReadOnlyList<MethodDescriptor> methods)
        {
            Name = name;
            Version = version;
            Path = path;
            AbiVersion = abiVersion;
            ThreadModel = model;
            IsStateful = stateful;
            IsTyped = typed;
            Methods = methods;
        }

        /// <summary>The name the module declares.</summary>
        public string Name { get; }

        /// <summary>The version the module declares.</summary>
        public string Version { get; }

        /// <summary>The file the module was loaded from.</summary>
        public string Path { get; }

        /// <summary>The module ABI version (1).</summary>
        public int AbiVersion { get; }

        /// <summary>The module's threading contract.</summary>
        public ThreadModel ThreadModel { get; }

        /// <summary>True when the module declares itself stateful: isolated, it runs in one worker
        /// and a worker restart is reported once as <see cref="StateLostException"/>.</summary>
        public bool IsStateful { get; }

        /// <summary>True when the module embeds a typed interface (docs/TYPED.md).</summary>
        public bool IsTyped { get; }

        /// <summary>The methods the module declares, in descriptor order.</summary>
        public IReadOnlyList<MethodDescriptor> Methods { get; }

        /// <summary>"name version (thread model, N methods)".</summary>
        public override string ToString() =>
            Name + " " + Version + " (" + ThreadModel + ", " + Methods.Count + " methods)";

        /// <summary>Decode the C ABI's description (bh_inspect, docs/C_ABI.md).</summary>
        internal static ModuleInfo Decode(byte[] d)
        {
            int off = 0;
            uint abi = U32(d, ref off);
            uint model = U32(d, ref off);
            uint flags = U32(d, ref off);
            uint count = U32(d, ref off);
            string name = Str(d, ref off);
            string version = Str(d, ref off);
            string path = Str(d, ref off);
            if (model > 2)
            {
                throw new InternalException("module description: thread model " + model);
            }
            if (count > (uint)d.Length)
            {
                throw new InternalException("module description: " + count + " methods");
            }
            var methods = new List<MethodDescriptor>((int)count);
            for (uint i = 0; i < count; i++)
            {
                uint f = U32(d, ref off);
                methods.Add(new MethodDescriptor(Str(d, ref off), (MethodFlags)(f & Native.BH_METHOD_NONBLOCKING)));
            }
            if (off != d.Length)
            {
                throw new InternalException("module description: " + (d.Length - off) + " trailing bytes");
            }
            return new ModuleInfo(name, version, path, checked((int)abi), (ThreadModel)model,
                (flags & Native.BH_INFO_STATEFUL) != 0, (flags & Native.BH_INFO_TYPED) != 0, methods.AsReadOnly());
        }

        private static uint U32(byte[] d, ref int off)
        {
            if (d.Length - off < 4)
            {
                throw new InternalException("module description truncated at byte " + off);
            }
            uint v = (uint)(d[off] | d[off + 1] << 8 | d[off + 2] << 16 | d[off + 3] << 24);
            off += 4;
            return v;
        }

        private static string Str(byte[] d, ref int off)
        {
            uint n = U32(d, ref off);
            if (n > (uint)(d.Length - off))
            {
                throw new InternalException("module description: a string of " + n + " bytes");
            }
            string s = Encoding.UTF8.GetString(d, off, (int)n);
            off += (int)n;
            return s;
        }
    }
}
