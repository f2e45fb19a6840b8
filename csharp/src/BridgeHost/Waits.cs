using System;

namespace BridgeHost
{
    /// <summary>
    /// The duration arguments of the two waits a caller bounds (<see cref="Module.Flush"/>'s
    /// timeout, <see cref="Host.Inspect"/>'s deadline; docs/SYMMETRY.md's <c>wait</c> rows): the
    /// TimeSpan is judged exact by the core's one rule for the argument (bh_wait_check, as whole
    /// seconds and nanoseconds), with the message every runtime shows ("flush timeout must be at
    /// most one year, got -10000 ns"), and only then rounded up to the whole milliseconds the C
    /// ABI takes (which the core judges again, by the same rule).
    /// </summary>
    internal static class Waits
    {
        internal static ulong Ms(TimeSpan t, uint wait)
        {
            long ticks = t.Ticks;
            // Floored seconds and the ticks left (0 ..= 9999999), as a timespec holds a duration.
            long seconds = ticks / TimeSpan.TicksPerSecond;
            long rest = ticks % TimeSpan.TicksPerSecond;
            if (rest < 0)
            {
                seconds -= 1;
                rest += TimeSpan.TicksPerSecond;
            }
            int st = Native.bh_wait_check(wait, seconds, (uint)(rest * 100));
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            // Accepted: 0 ..= one year, so the ticks are non-negative and the sum cannot overflow.
            return (ulong)((ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
        }
    }
}
