using System;
using System.Text;
using System.Threading;

namespace BridgeHost.Tests
{
    /// <summary>Shared helpers. Modules are found beside libbridgehost.so (target/dist) or through
    /// BRIDGEHOST_MODULE_PATH; scripts/dotnet.sh sets both up.</summary>
    public static class TestEnv
    {
        private static int _seed = 12345;

        public static byte[] Ascii(string s)
        {
            return Encoding.ASCII.GetBytes(s);
        }

        public static byte[] Random(int n)
        {
            var r = new Random(Interlocked.Increment(ref _seed));
            var b = new byte[n];
            r.NextBytes(b);
            return b;
        }

        public static byte[] U32(uint v)
        {
            return BitConverter.GetBytes(v); // little-endian on every platform we run on
        }

        public static byte[] U32x2(uint a, uint b)
        {
            var r = new byte[8];
            Buffer.BlockCopy(BitConverter.GetBytes(a), 0, r, 0, 4);
            Buffer.BlockCopy(BitConverter.GetBytes(b), 0, r, 4, 4);
            return r;
        }

        /// <summary>CRC-32C (Castagnoli, reflected 0x82F63B78), an independent implementation.</summary>
        public static uint Crc32C(byte[] data)
        {
            return Crc(data, 0x82F63B78u);
        }

        /// <summary>CRC-32 (ISO-HDLC, zlib's crc32, reflected 0xEDB88320).</summary>
        public static uint Crc32(byte[] data)
        {
            return Crc(data, 0xEDB88320u);
        }

        private static uint Crc(byte[] data, uint poly)
        {
            uint crc = 0xFFFFFFFFu;
            foreach (byte b in data)
            {
                crc ^= b;
                for (int k = 0; k < 8; k++)
                {
                    crc = (crc & 1) != 0 ? (crc >> 1) ^ poly : crc >> 1;
                }
            }
            return ~crc;
        }

        /// <summary>std.gate_wait input: the timeout (u32 LE), then the key.</summary>
        public static byte[] Gate(string key, uint timeoutMs)
        {
            var k = Ascii(key);
            var r = new byte[4 + k.Length];
            Buffer.BlockCopy(BitConverter.GetBytes(timeoutMs), 0, r, 0, 4);
            Buffer.BlockCopy(k, 0, r, 4, k.Length);
            return r;
        }

        /// <summary>std.gate_count(key): how many calls wait in std.gate_wait(key) now
        /// (in-process: each isolated worker has its own gates).</summary>
        public static uint Inside(Module std, string key)
        {
            return BitConverter.ToUInt32(std.GetMethod("gate_count").Call(Ascii(key)), 0);
        }

        /// <summary>Wait until n calls wait in std.gate_wait(key), or fail after 30 s.</summary>
        public static void AwaitInside(Module std, string key, uint n)
        {
            Check.Eventually(() => Inside(std, key) >= n, 30, n + " call(s) inside gate " + key);
        }

        /// <summary>std.gate_open(key): releases the calls waiting in gate_wait(key); how many.</summary>
        public static uint OpenGate(Module std, string key)
        {
            return BitConverter.ToUInt32(std.GetMethod("gate_open").Call(Ascii(key)), 0);
        }

        public static uint BigEndianU32(byte[] b)
        {
            Check.Equal(4, b.Length, "checksum length");
            return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
        }

        /// <summary>Live native handles once every unreachable bridgehost object was finalized.</summary>
        public static ulong SettledLiveHandles()
        {
            for (int i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            return Native.bh_debug_live_handles();
        }

        /// <summary>Opens a module isolated, or skips the case if this build has no process
        /// isolation. Without an explicit deadline every call gets one of 30 s, so that a lost
        /// reply fails the case instead of hanging the run.</summary>
        public static Module OpenIsolatedOrSkip(Host host, string name, ModuleOptions options = null)
        {
            var o = options ?? new ModuleOptions();
            o.Isolation = Isolation.Process;
            if (!o.CallTimeout.HasValue)
            {
                o.CallTimeout = TimeSpan.FromSeconds(30);
            }
            try
            {
                return host.Open(name, o);
            }
            catch (UnavailableException e)
            {
                Check.Skip("process isolation is not available in this build: " + e.Message);
                return null;
            }
        }
    }
}
