// Text crossing the boundary: UTF-8 bytes + length, never NUL-terminated.
using System;
using System.Text;

namespace BridgeHost
{
    internal static unsafe class Utf8
    {
        // Strict both ways: a lone surrogate is refused instead of silently becoming U+FFFD.
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>The UTF-8 bytes of <paramref name="s"/>; InvalidArgumentException if it is not
        /// valid Unicode (a lone surrogate).</summary>
        internal static byte[] Encode(string s, string what)
        {
            try
            {
                return Strict.GetBytes(s);
            }
            catch (EncoderFallbackException)
            {
                throw new InvalidArgumentException(what + " is not valid Unicode (it contains a lone surrogate)");
            }
        }

        /// <summary>Decode native UTF-8 (validated by the core); invalid bytes become U+FFFD.</summary>
        internal static string Decode(byte* p, UIntPtr len)
        {
            ulong n = (ulong)len;
            if (n == 0 || p == null)
            {
                return string.Empty;
            }
            if (n > int.MaxValue)
            {
                throw new InternalException("native string of " + n + " bytes is too long");
            }
            return Encoding.UTF8.GetString(p, (int)n);
        }
    }
}
