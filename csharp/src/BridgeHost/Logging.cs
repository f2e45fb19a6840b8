// Routing the core's tracing events to a .NET handler.
using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace BridgeHost
{
    /// <summary>Log levels, most severe first (the numbers are the same in every runtime).</summary>
    public enum LogLevel
    {
        /// <summary>Errors.</summary>
        Error = 0,
        /// <summary>Warnings.</summary>
        Warn = 1,
        /// <summary>Information (open, close, crash, respawn).</summary>
        Info = 2,
        /// <summary>Debugging detail.</summary>
        Debug = 3,
        /// <summary>Per-call tracing.</summary>
        Trace = 4,
    }

    /// <summary>Receives one log record. Runs on whatever thread logged (a caller's thread, a
    /// bridgehost pool or dispatcher thread): keep it short and thread-safe. An exception it throws
    /// is caught and counted in <see cref="Logging.HandlerErrors"/>.</summary>
    public delegate void LogHandler(LogLevel level, string target, string message);

    /// <summary>Process-wide routing of bridgehost's logs (the core, the modules, and exceptions
    /// thrown by event handlers when no <see cref="Host.CallbackException"/> handler is attached).</summary>
    public static class Logging
    {
        private static readonly object Gate = new object();
        private static IntPtr _state; // GCHandle of the current LogState, guarded by Gate
        private static LogHandler _handler; // the same handler, for managed-side reports
        private static int _handlerMax = -1; // its level, guarded by Gate
        private static long _handlerErrors;

        /// <summary>Exceptions thrown by the log handler (caught, never propagated into native code).</summary>
        public static long HandlerErrors => Interlocked.Read(ref _handlerErrors);

        /// <summary>
        /// Route records at <paramref name="maxLevel"/> or more severe to <paramref name="handler"/>;
        /// null removes the handler. When this returns the previous handler is not running and will
        /// never be called again. Must not be called from inside a log handler.
        /// </summary>
        public static void SetHandler(LogLevel maxLevel, LogHandler handler)
        {
            if (maxLevel < LogLevel.Error || maxLevel > LogLevel.Trace)
            {
                throw new InvalidArgumentException("unknown log level " + (int)maxLevel);
            }
            Platform.EnsureSupported();
            // Creating the source (on first use) may enable it for a listener, which re-enters
            // Reconfigure on this thread: read its level before taking the lock for our own update.
            BridgeHostEventSource source = BridgeHostEventSource.Log;
            lock (Gate)
            {
                Install(handler, handler == null ? -1 : (int)maxLevel, source);
            }
        }

        /// <summary>A listener enabled or disabled <see cref="BridgeHostEventSource"/>: install the
        /// native callback at the level the handler and the listeners need together.</summary>
        internal static void Reconfigure(BridgeHostEventSource source)
        {
            Platform.EnsureSupported();
            lock (Gate)
            {
                Install(Volatile.Read(ref _handler), _handlerMax, source);
            }
        }

        /// <summary>One native callback serves both the handler and the EventSource; none is
        /// installed when neither wants records (they go to standard error again). Under Gate.</summary>
        private static void Install(LogHandler handler, int handlerMax, BridgeHostEventSource source)
        {
            int max = Math.Max(handler == null ? -1 : handlerMax, source == null ? -1 : source.MaxLevel);
            IntPtr next = max < 0 ? IntPtr.Zero : GCHandle.ToIntPtr(GCHandle.Alloc(new LogState(handler, handlerMax)));
            int st;
            try
            {
                st = Native.bh_set_log_callback(max < 0 ? 0u : (uint)max, max < 0 ? IntPtr.Zero : Callbacks.LogPtr, next);
            }
            catch
            {
                FreeState(next);
                throw;
            }
            if (st != Native.BH_OK)
            {
                var e = Errors.Last(st);
                FreeState(next);
                throw e;
            }
            // The native side no longer calls the previous state: release what it rooted.
            FreeState(_state);
            _state = next;
            _handlerMax = handlerMax;
            Volatile.Write(ref _handler, handler);
        }

        private static void FreeState(IntPtr p)
        {
            if (p != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(p).Free();
            }
        }

        internal static void CountHandlerError(Exception e)
        {
            // A handler that throws usually throws on every record: say so once, count the rest.
            if (Interlocked.Increment(ref _handlerErrors) == 1)
            {
                Console.Error.WriteLine("bridgehost: the log handler threw (caught; further ones are only counted in Logging.HandlerErrors): "
                    + e.GetType().FullName + ": " + e.Message);
            }
        }

        /// <summary>An exception nobody handled in a callback: to the log handler, else stderr.</summary>
        internal static void ReportUnhandled(string moduleName, string source, Exception e)
        {
            string text = "unhandled exception in " + source + (moduleName != null ? " of module '" + moduleName + "'" : "")
                + " (caught by bridgehost, not propagated into native code): " + e;
            try
            {
                BridgeHostEventSource.Log?.Write(LogLevel.Error, "bridgehost::dotnet", text);   // null while it is being created
            }
            catch (Exception inner)
            {
                CountHandlerError(inner);
            }
            LogHandler h = Volatile.Read(ref _handler);
            if (h != null)
            {
                try
                {
                    h(LogLevel.Error, "bridgehost::dotnet", text);
                    return;
                }
                catch (Exception inner)
                {
                    CountHandlerError(inner);
                }
            }
            Console.Error.WriteLine("bridgehost: " + text);
        }
    }
}
