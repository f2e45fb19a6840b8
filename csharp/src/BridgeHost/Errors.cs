// The error hierarchy: one exception class per core ErrorKind (stable codes, docs/C_ABI.md).
using System;
using System.Text;

namespace BridgeHost
{
    /// <summary>The kind of a bridgehost error. The numbers are the core's stable codes
    /// (the C ABI returns <c>-code</c>), identical in every runtime.</summary>
    public enum ErrorKind
    {
        /// <summary>A caller passed a bad argument.</summary>
        InvalidArgument = 1,
        /// <summary>A module, method or topic does not exist.</summary>
        NotFound = 2,
        /// <summary>A file is not a valid bridgehost module.</summary>
        AbiMismatch = 3,
        /// <summary>The module reported an error (code + message).</summary>
        Module = 4,
        /// <summary>An isolated worker died from a signal while serving the request.</summary>
        WorkerCrashed = 5,
        /// <summary>The call did not finish before its deadline.</summary>
        Timeout = 6,
        /// <summary>A size or memory limit was exceeded.</summary>
        ResourceLimit = 7,
        /// <summary>The object was closed.</summary>
        Closed = 8,
        /// <summary>The operation was cancelled.</summary>
        Cancelled = 9,
        /// <summary>A bounded queue is full.</summary>
        Overloaded = 10,
        /// <summary>A bug caught at a boundary (a panic, a broken invariant).</summary>
        Internal = 11,
        /// <summary>An isolated worker exited on its own while serving the request.</summary>
        WorkerExited = 12,
        /// <summary>An isolated worker broke the transport protocol.</summary>
        Protocol = 13,
        /// <summary>The module is temporarily unavailable (circuit breaker open).</summary>
        Unavailable = 14,
        /// <summary>A caller-provided output buffer is too small.</summary>
        BufferTooSmall = 15,
        /// <summary>A stateful module's isolated worker was restarted since the previous call:
        /// its state is gone (reported once; that call did not run).</summary>
        StateLost = 16,
    }

    /// <summary>Implemented by every exception bridgehost reports: catch
    /// <c>Exception e when e is IBridgeHostException</c> for all of them, and read
    /// <see cref="Kind"/>. Three kinds derive from the platform's standard base types instead of
    /// <see cref="BridgeHostException"/> (.NET has single inheritance):
    /// <see cref="InvalidArgumentException"/> is a <see cref="System.ArgumentException"/>,
    /// <see cref="CallTimeoutException"/> a <see cref="System.TimeoutException"/> and
    /// <see cref="CancelledException"/> an <see cref="System.OperationCanceledException"/>.</summary>
    public interface IBridgeHostException
    {
        /// <summary>The error's kind (stable across runtimes).</summary>
        ErrorKind Kind { get; }
    }

    /// <summary>Base class of every error bridgehost reports, except
    /// <see cref="InvalidArgumentException"/> (an <see cref="System.ArgumentException"/>),
    /// <see cref="CallTimeoutException"/> (a <see cref="System.TimeoutException"/>) and
    /// <see cref="CancelledException"/> (an
    /// <see cref="System.OperationCanceledException"/>); all of them implement
    /// <see cref="IBridgeHostException"/>.</summary>
    public class BridgeHostException : Exception, IBridgeHostException
    {
        /// <summary>Creates an exception of the given kind.</summary>
        public BridgeHostException(ErrorKind kind, string message)
            : base(message)
        {
            Kind = kind;
        }

        /// <summary>Creates an exception of the given kind, caused by <paramref name="inner"/>.</summary>
        public BridgeHostException(ErrorKind kind, string message, Exception inner)
            : base(message, inner)
        {
            Kind = kind;
        }

        /// <summary>The error's kind (stable across runtimes).</summary>
        public ErrorKind Kind { get; }

        /// <summary>
        /// Builds the exception for a failed native call from its status and the thread-local
        /// message and detail code read on the failing thread (see <see cref="Errors.Last"/>).
        /// </summary>
        internal static Exception Create(int status, string message, long detail)
        {
            int code = -status;
            if (code < 1 || code > 16)
            {
                return new InternalException(
                    "bridgehost returned unknown status " + status + (message.Length > 0 ? ": " + message : ""));
            }
            switch ((ErrorKind)code)
            {
                case ErrorKind.InvalidArgument: return new InvalidArgumentException(message);
                case ErrorKind.NotFound: return new NotFoundException(message);
                case ErrorKind.AbiMismatch: return new AbiMismatchException(message);
                case ErrorKind.Module: return new ModuleException(message, unchecked((int)detail));
                case ErrorKind.WorkerCrashed: return new WorkerCrashedException(message, unchecked((int)detail));
                case ErrorKind.Timeout: return new CallTimeoutException(message);
                case ErrorKind.ResourceLimit: return new ResourceLimitException(message);
                case ErrorKind.Closed: return new ClosedException(message);
                case ErrorKind.Cancelled: return new CancelledException(message);
                case ErrorKind.Overloaded: return new OverloadedException(message);
                case ErrorKind.Internal: return new InternalException(message);
                case ErrorKind.WorkerExited: return new WorkerExitedException(message, unchecked((int)detail));
                case ErrorKind.Protocol: return new ProtocolException(message);
                case ErrorKind.Unavailable: return new UnavailableException(message);
                case ErrorKind.StateLost: return new StateLostException(message);
                default: return new BufferTooSmallException(message, detail);
            }
        }
    }

    /// <summary>A caller passed a bad argument (bad UTF-8, a value out of range, a bad option...)
    /// (kind <see cref="ErrorKind.InvalidArgument"/>). An <see cref="System.ArgumentException"/>,
    /// as .NET expects of a bad argument (Java's is an <c>IllegalArgumentException</c>, Python's a
    /// <c>ValueError</c>); not a <see cref="BridgeHostException"/> (see
    /// <see cref="IBridgeHostException"/>).</summary>
    public sealed class InvalidArgumentException : ArgumentException, IBridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public InvalidArgumentException(string message) : base(message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public InvalidArgumentException(string message, Exception inner) : base(message, inner) { }

        /// <summary>Always <see cref="ErrorKind.InvalidArgument"/>.</summary>
        public ErrorKind Kind { get { return ErrorKind.InvalidArgument; } }
    }

    /// <summary>A module, method or topic does not exist.</summary>
    public sealed class NotFoundException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public NotFoundException(string message) : base(ErrorKind.NotFound, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public NotFoundException(string message, Exception inner) : base(ErrorKind.NotFound, message, inner) { }
    }

    /// <summary>A file is not a valid bridgehost module (symbol, magic, version, layout, table).</summary>
    public sealed class AbiMismatchException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public AbiMismatchException(string message) : base(ErrorKind.AbiMismatch, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public AbiMismatchException(string message, Exception inner) : base(ErrorKind.AbiMismatch, message, inner) { }
    }

    /// <summary>The module reported an error: its own <see cref="Code"/> and message. Not sealed
    /// for one reason: <see cref="TypedModuleException"/> (a typed function's <c>result</c> error
    /// value) is a <see cref="ModuleException"/> too, as in Java and Python, so
    /// <c>catch (ModuleException)</c> and <see cref="ErrorKind.Module"/> handling see both.</summary>
    public class ModuleException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public ModuleException(string message, int code) : base(ErrorKind.Module, message)
        {
            Code = code;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public ModuleException(string message, int code, Exception inner) : base(ErrorKind.Module, message, inner)
        {
            Code = code;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/> (Code 0).</summary>
        public ModuleException(string message, Exception inner) : this(message, 0, inner) { }

        /// <summary>The module's error code (never 0, except 0 for a <see cref="TypedModuleException"/>).</summary>
        public int Code { get; }
    }

    /// <summary>A typed function whose WIT result is <c>result&lt;T, E&gt;</c> returned its error
    /// case (docs/TYPED.md, "C#: generated bindings"). Kind <see cref="ErrorKind.Module"/>,
    /// <see cref="ModuleException.Code"/> 0: the module did not fail the call, it answered with an
    /// error value, which <see cref="Value"/> carries decoded to its generated C# type. Generated
    /// bindings throw the generic <see cref="TypedModuleException{E}"/>, so callers can catch the
    /// error type they expect (<c>catch (TypedModuleException&lt;string&gt; e)</c>).</summary>
    public abstract class TypedModuleException : ModuleException
    {
        /// <summary>Creates the exception for <paramref name="function"/>'s error value.</summary>
        protected TypedModuleException(string function, object value)
            : base(function + " returned an error: " + Typed.Structural.Show(value), 0)
        {
            Function = function;
            Value = value;
        }

        /// <summary>The WIT name of the function that answered with an error.</summary>
        public string Function { get; }

        /// <summary>The error value, boxed (<see cref="Typed.Unit.Value"/> when the WIT error
        /// type has no payload).</summary>
        public object Value { get; }
    }

    /// <summary>A <see cref="TypedModuleException"/> whose error value is a <typeparamref name="E"/>
    /// (<see cref="Typed.Unit"/> for <c>result&lt;T&gt;</c> without an error payload).</summary>
    public sealed class TypedModuleException<E> : TypedModuleException
    {
        /// <summary>Creates the exception for <paramref name="function"/>'s error value.</summary>
        public TypedModuleException(string function, E error)
            : base(function, error)
        {
            Error = error;
        }

        /// <summary>The error value.</summary>
        public E Error { get; }
    }

    /// <summary>An isolated worker died from <see cref="Signal"/> while serving the request.
    /// The worker was replaced; the next call is served by a fresh one.</summary>
    public sealed class WorkerCrashedException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public WorkerCrashedException(string message, int signal) : base(ErrorKind.WorkerCrashed, message)
        {
            Signal = signal;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public WorkerCrashedException(string message, int signal, Exception inner) : base(ErrorKind.WorkerCrashed, message, inner)
        {
            Signal = signal;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/> (Signal 0).</summary>
        public WorkerCrashedException(string message, Exception inner) : this(message, 0, inner) { }

        /// <summary>The signal number (11 = SIGSEGV, 6 = SIGABRT, ...).</summary>
        public int Signal { get; }
    }

    /// <summary>The call did not finish before its deadline (kind <see cref="ErrorKind.Timeout"/>).
    /// A <see cref="System.TimeoutException"/>, so timeout handlers catch it; not a
    /// <see cref="BridgeHostException"/> (see <see cref="IBridgeHostException"/>).</summary>
    public sealed class CallTimeoutException : TimeoutException, IBridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public CallTimeoutException(string message) : base(message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public CallTimeoutException(string message, Exception inner) : base(message, inner) { }

        /// <summary>Always <see cref="ErrorKind.Timeout"/>.</summary>
        public ErrorKind Kind { get { return ErrorKind.Timeout; } }
    }

    /// <summary>A size or memory limit was exceeded.</summary>
    public sealed class ResourceLimitException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public ResourceLimitException(string message) : base(ErrorKind.ResourceLimit, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public ResourceLimitException(string message, Exception inner) : base(ErrorKind.ResourceLimit, message, inner) { }
    }

    /// <summary>The host or module was closed (for example by the host's Dispose while a
    /// <see cref="Method"/> from it is still in use). Using a disposed .NET object itself throws
    /// <see cref="ObjectDisposedException"/> instead.</summary>
    public sealed class ClosedException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public ClosedException(string message) : base(ErrorKind.Closed, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public ClosedException(string message, Exception inner) : base(ErrorKind.Closed, message, inner) { }
    }

    /// <summary>The core reported the operation cancelled (kind <see cref="ErrorKind.Cancelled"/>)
    /// without the caller's token having asked for it. An <see cref="System.OperationCanceledException"/>,
    /// so cancellation handlers catch it; not a <see cref="BridgeHostException"/> (see
    /// <see cref="IBridgeHostException"/>). A cancellation requested through a
    /// <see cref="System.Threading.CancellationToken"/> ends the task as canceled instead
    /// (a <see cref="System.Threading.Tasks.TaskCanceledException"/> when awaited).</summary>
    public sealed class CancelledException : OperationCanceledException, IBridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public CancelledException(string message) : base(message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public CancelledException(string message, Exception inner) : base(message, inner) { }

        /// <summary>Always <see cref="ErrorKind.Cancelled"/>.</summary>
        public ErrorKind Kind { get { return ErrorKind.Cancelled; } }
    }

    /// <summary>A bounded queue is full (for example the submit queue).</summary>
    public sealed class OverloadedException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public OverloadedException(string message) : base(ErrorKind.Overloaded, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public OverloadedException(string message, Exception inner) : base(ErrorKind.Overloaded, message, inner) { }
    }

    /// <summary>A bug caught at a boundary (a Rust panic, a broken invariant).</summary>
    public sealed class InternalException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public InternalException(string message) : base(ErrorKind.Internal, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public InternalException(string message, Exception inner) : base(ErrorKind.Internal, message, inner) { }
    }

    /// <summary>An isolated worker exited with <see cref="Status"/> while serving the request.</summary>
    public sealed class WorkerExitedException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public WorkerExitedException(string message, int status) : base(ErrorKind.WorkerExited, message)
        {
            Status = status;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public WorkerExitedException(string message, int status, Exception inner) : base(ErrorKind.WorkerExited, message, inner)
        {
            Status = status;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/> (Status 0).</summary>
        public WorkerExitedException(string message, Exception inner) : this(message, 0, inner) { }

        /// <summary>The worker's exit status.</summary>
        public int Status { get; }
    }

    /// <summary>An isolated worker broke the transport protocol (and was killed).</summary>
    public sealed class ProtocolException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public ProtocolException(string message) : base(ErrorKind.Protocol, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public ProtocolException(string message, Exception inner) : base(ErrorKind.Protocol, message, inner) { }
    }

    /// <summary>The module is temporarily unavailable (circuit breaker open), or a feature is
    /// not available in this build.</summary>
    public sealed class UnavailableException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public UnavailableException(string message) : base(ErrorKind.Unavailable, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public UnavailableException(string message, Exception inner) : base(ErrorKind.Unavailable, message, inner) { }
    }

    /// <summary>The output did not fit the caller's buffer; <see cref="Required"/> bytes are needed.
    /// The method did run: call it again with a larger buffer only if it is idempotent.</summary>
    public sealed class BufferTooSmallException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public BufferTooSmallException(string message, long required) : base(ErrorKind.BufferTooSmall, message)
        {
            Required = required;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public BufferTooSmallException(string message, long required, Exception inner) : base(ErrorKind.BufferTooSmall, message, inner)
        {
            Required = required;
        }

        /// <summary>Creates the exception, caused by <paramref name="inner"/> (Required 0).</summary>
        public BufferTooSmallException(string message, Exception inner) : this(message, 0, inner) { }

        /// <summary>The size of the output, in bytes.</summary>
        public long Required { get; }
    }

    /// <summary>A stateful module's isolated worker was restarted (crash, timeout, cancel,
    /// recycle) since the previous call, so the module's state is gone. Thrown once, by the next
    /// call, which did not run; later calls run against the fresh instance. Never thrown for an
    /// in-process module.</summary>
    public sealed class StateLostException : BridgeHostException
    {
        /// <summary>Creates the exception.</summary>
        public StateLostException(string message) : base(ErrorKind.StateLost, message) { }

        /// <summary>Creates the exception, caused by <paramref name="inner"/>.</summary>
        public StateLostException(string message, Exception inner) : base(ErrorKind.StateLost, message, inner) { }
    }

    /// <summary>Reading the thread-local error of the C ABI.</summary>
    internal static unsafe class Errors
    {
        /// <summary>
        /// The exception for a failed call that returned <paramref name="status"/>. Must be called
        /// on the thread that made the failing call, right after it, before any other bridgehost
        /// call on this thread (errno discipline: the message and detail are thread-local and the
        /// next failing call replaces them).
        /// </summary>
        internal static Exception Last(int status)
        {
            long detail = Native.bh_last_error_detail();
            string message = LastMessage();
            return BridgeHostException.Create(status, message, detail);
        }

        private static string LastMessage()
        {
            // Two-call pattern: most messages fit the stack buffer; a longer one is re-read whole
            // (a successful call never clears the thread-local message, and we make none between).
            const int StackCap = 512;
            byte* stack = stackalloc byte[StackCap];
            ulong full = (ulong)Native.bh_last_error_message(stack, (UIntPtr)StackCap);
            if (full < StackCap)
            {
                return Encoding.UTF8.GetString(stack, (int)full);
            }
            if (full > int.MaxValue - 1)
            {
                return "(error message of " + full + " bytes not read)";
            }
            var heap = new byte[(int)full + 1];
            fixed (byte* p = heap)
            {
                ulong again = (ulong)Native.bh_last_error_message(p, (UIntPtr)heap.Length);
                return Encoding.UTF8.GetString(p, (int)Math.Min(again, full));
            }
        }
    }
}
