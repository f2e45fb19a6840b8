// Native -> managed callbacks.
//
// * One static delegate instance per callback type, created once and stored in a static readonly
//   field for the life of the process; its function pointer is computed once. No per-subscription
//   or per-call delegate is ever handed to native code, so none can be collected while native code
//   still holds its thunk (the "collected delegate" crash class).
// * user_data is GCHandle.ToIntPtr of a state object. The GCHandle roots the state (and through it
//   the user's handler) until the native side guarantees that no further call will come:
//     - completion: the callback runs exactly once; it frees the GCHandle itself, first thing;
//     - event: bh_unsubscribe has returned (SubscriptionHandle.ReleaseHandle frees it then);
//     - log: bh_set_log_callback replacing it has returned (Logging.SetHandler frees it then).
// * Every callback body catches every exception. Nothing unwinds into native code: a user
//   handler's exception is counted, raised on Host.CallbackException, and logged; a failure while
//   reporting is swallowed (the last-resort catch blocks are empty on purpose and cannot throw).
using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace BridgeHost
{
    /// <summary>An event emitted by a module, as delivered to a subscriber.</summary>
    public sealed class ModuleEvent
    {
        internal ModuleEvent(string topic, byte[] data)
        {
            Topic = topic;
            Data = data;
        }

        /// <summary>The topic the module emitted on.</summary>
        public string Topic { get; }

        /// <summary>The payload (a copy owned by the handler).</summary>
        public byte[] Data { get; }
    }

    /// <summary>
    /// An event handler that reads the payload in place, without copying it: <paramref name="data"/>
    /// is valid only until the handler returns (copy what you keep). See
    /// <see cref="Module.Subscribe(string, EventSpanHandler)"/>.
    /// </summary>
    public delegate void EventSpanHandler(string topic, ReadOnlySpan<byte> data);

    /// <summary>Arguments of <see cref="Host.CallbackException"/>.</summary>
    public sealed class CallbackExceptionEventArgs : EventArgs
    {
        internal CallbackExceptionEventArgs(string moduleName, string source, Exception exception)
        {
            ModuleName = moduleName;
            Source = source;
            Exception = exception;
        }

        /// <summary>The module whose callback failed.</summary>
        public string ModuleName { get; }

        /// <summary>What was running, e.g. "event handler for topic 'tick'".</summary>
        public string Source { get; }

        /// <summary>The exception the handler threw.</summary>
        public Exception Exception { get; }
    }

    /// <summary>Where a host's callback exceptions go. Holds no reference to the Host (a rooted
    /// subscriber must not keep its host reachable).</summary>
    internal sealed class HostCallbackSink
    {
        private long _count;
        private EventHandler<CallbackExceptionEventArgs> _handlers;

        internal long Count => Interlocked.Read(ref _count);

        internal void Add(EventHandler<CallbackExceptionEventArgs> h)
        {
            EventHandler<CallbackExceptionEventArgs> cur, next;
            do
            {
                cur = _handlers;
                next = (EventHandler<CallbackExceptionEventArgs>)Delegate.Combine(cur, h);
            } while (Interlocked.CompareExchange(ref _handlers, next, cur) != cur);
        }

        internal void Remove(EventHandler<CallbackExceptionEventArgs> h)
        {
            EventHandler<CallbackExceptionEventArgs> cur, next;
            do
            {
                cur = _handlers;
                next = (EventHandler<CallbackExceptionEventArgs>)Delegate.Remove(cur, h);
            } while (Interlocked.CompareExchange(ref _handlers, next, cur) != cur);
        }

        internal void Report(string moduleName, string source, Exception e)
        {
            Interlocked.Increment(ref _count);
            var handlers = Volatile.Read(ref _handlers);
            if (handlers != null)
            {
                try
                {
                    handlers(null, new CallbackExceptionEventArgs(moduleName, source, e));
                    return;
                }
                catch (Exception inner)
                {
                    Logging.ReportUnhandled(moduleName, "Host.CallbackException handler", inner);
                }
            }
            Logging.ReportUnhandled(moduleName, source, e);
        }
    }

    /// <summary>A module's share of callback errors (added to its counters).</summary>
    internal sealed class ModuleCallbackSink
    {
        private long _count;

        internal ModuleCallbackSink(HostCallbackSink host, string moduleName)
        {
            Host = host;
            ModuleName = moduleName;
        }

        internal HostCallbackSink Host { get; }

        internal string ModuleName { get; }

        internal long Count => Interlocked.Read(ref _count);

        internal void Report(string source, Exception e)
        {
            Interlocked.Increment(ref _count);
            Host.Report(ModuleName, source, e);
        }
    }

    /// <summary>What a subscription's GCHandle roots: the handler and where its errors go.</summary>
    internal sealed unsafe class SubscriptionState
    {
        private readonly Action<ModuleEvent> _handler;     // exactly one of these two is set
        private readonly EventSpanHandler _spanHandler;
        private readonly ModuleCallbackSink _sink;
        private TopicCache _topic; // last topic seen: most subscriptions see one topic

        private sealed class TopicCache
        {
            internal TopicCache(byte[] bytes, string text)
            {
                Bytes = bytes;
                Text = text;
            }

            internal byte[] Bytes { get; }
            internal string Text { get; }
        }

        internal SubscriptionState(Action<ModuleEvent> handler, ModuleCallbackSink sink)
        {
            _handler = handler;
            _sink = sink;
        }

        internal SubscriptionState(EventSpanHandler handler, ModuleCallbackSink sink)
        {
            _spanHandler = handler;
            _sink = sink;
        }

        internal void Deliver(byte* topic, UIntPtr topicLen, byte* data, UIntPtr len)
        {
            string topicText = TopicText(topic, topicLen);
            ulong n = (ulong)len;
            if (n > int.MaxValue)
            {
                _sink.Report("event on topic '" + topicText + "'",
                    new ResourceLimitException("event payload of " + n + " bytes exceeds the largest .NET array"));
                return;
            }
            if (_spanHandler != null)
            {
                try
                {
                    // No copy: the span covers native memory that is valid until this returns.
                    _spanHandler(topicText, new ReadOnlySpan<byte>(data, (int)n));
                }
                catch (Exception e)
                {
                    _sink.Report("event handler for topic '" + topicText + "'", e);
                }
                return;
            }
            var payload = new byte[(int)n];
            if (n > 0)
            {
                // `data` is valid only during this callback: copy it out now.
                new ReadOnlySpan<byte>(data, (int)n).CopyTo(payload);
            }
            try
            {
                _handler(new ModuleEvent(topicText, payload));
            }
            catch (Exception e)
            {
                _sink.Report("event handler for topic '" + topicText + "'", e);
            }
        }

        private string TopicText(byte* topic, UIntPtr topicLen)
        {
            ulong n = (ulong)topicLen;
            TopicCache cache = Volatile.Read(ref _topic);
            if (cache != null && (ulong)cache.Bytes.Length == n
                && new ReadOnlySpan<byte>(topic, cache.Bytes.Length).SequenceEqual(cache.Bytes))
            {
                return cache.Text;
            }
            string text = Utf8.Decode(topic, topicLen);
            var bytes = new byte[(int)n];
            if (n > 0)
            {
                Marshal.Copy((IntPtr)topic, bytes, 0, (int)n);
            }
            Volatile.Write(ref _topic, new TopicCache(bytes, text));
            return text;
        }

        internal void ReportFailure(Exception e)
        {
            _sink.Report("event delivery", e);
        }
    }

    /// <summary>One SubmitAsync in flight. Rooted by a GCHandle from bh_submit until its completion
    /// runs; it references the Method so that the method, its module and its host stay reachable
    /// (never finalized) while the call runs.</summary>
    internal sealed unsafe class SubmitOperation
    {
        private readonly TaskCompletionSource<byte[]> _tcs =
            new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Method _method;
        private readonly CancellationToken _token;
        private readonly object _gate = new object();
        private ulong _task;
        private bool _completed;
        private CancellationTokenRegistration _registration;

        internal SubmitOperation(Method method, CancellationToken token)
        {
            _method = method;
            _token = token;
        }

        internal Task<byte[]> Task => _tcs.Task;

        internal Method Method => _method;

        /// <summary>bh_submit accepted the task: hook the token to bh_task_cancel.</summary>
        internal void Started(ulong task)
        {
            if (!_token.CanBeCanceled)
            {
                return;
            }
            lock (_gate)
            {
                if (_completed)
                {
                    return;
                }
                _task = task;
            }
            // May run Cancel synchronously if the token is already cancelled.
            var reg = _token.Register(s => ((SubmitOperation)s).Cancel(), this);
            bool disposeNow;
            lock (_gate)
            {
                disposeNow = _completed;
                if (!disposeNow)
                {
                    _registration = reg;
                }
            }
            if (disposeNow)
            {
                reg.Dispose();
            }
        }

        private void Cancel()
        {
            ulong task;
            lock (_gate)
            {
                if (_completed)
                {
                    return;
                }
                task = _task;
            }
            // The task handle retires before the completion runs: a cancel that loses the race
            // gets INVALID_ARGUMENT (a stale handle, never another task) and changes nothing.
            int cancelled;
            if (Native.bh_task_cancel(task, out cancelled) == Native.BH_OK && cancelled == 1)
            {
                // The core guarantees the task will not run (its completion will report
                // BH_E_CANCELLED later, when a pool thread dequeues it): end the Task now.
                _tcs.TrySetCanceled(_token);
            }
        }

        /// <summary>The completion callback, on a bridgehost pool thread.</summary>
        internal void Complete(int status, byte* data, UIntPtr len, byte* error, UIntPtr errorLen, long detail)
        {
            CancellationTokenRegistration reg;
            lock (_gate)
            {
                _completed = true;
                reg = _registration;
                _registration = default(CancellationTokenRegistration);
            }
            reg.Dispose();
            try
            {
                if (status == Native.BH_OK)
                {
                    ulong n = (ulong)len;
                    if (n > int.MaxValue)
                    {
                        _tcs.TrySetException(new ResourceLimitException(
                            "output of " + n + " bytes exceeds the largest .NET array"));
                        return;
                    }
                    var output = new byte[(int)n];
                    if (n > 0)
                    {
                        // `data` is valid only during the callback: copy it out now.
                        Marshal.Copy((IntPtr)data, output, 0, (int)n);
                    }
                    _tcs.TrySetResult(output);
                }
                else if (status == -(int)ErrorKind.Cancelled && _token.IsCancellationRequested)
                {
                    _tcs.TrySetCanceled(_token);
                }
                else
                {
                    _tcs.TrySetException(BridgeHostException.Create(status, Utf8.Decode(error, errorLen), detail));
                }
            }
            catch (Exception e)
            {
                _tcs.TrySetException(e);
            }
        }

        internal void Fail(Exception e)
        {
            _tcs.TrySetException(e);
        }
    }

    /// <summary>What the log callback's GCHandle roots.</summary>
    internal sealed class LogState
    {
        internal LogState(LogHandler handler, int handlerMax)
        {
            Handler = handler;
            HandlerMax = handlerMax;
        }

        /// <summary>The handler of Logging.SetHandler, or null (records only for the EventSource).</summary>
        internal LogHandler Handler { get; }

        /// <summary>The most verbose level the handler asked for (the native callback may be
        /// installed at a more verbose one for the EventSource).</summary>
        internal int HandlerMax { get; }
    }

    /// <summary>The static trampolines handed to native code.</summary>
    internal static unsafe class Callbacks
    {
        // Static readonly: reachable for the life of the process, so never collected. Field order
        // matters: each delegate is initialized before the pointer computed from it.
        private static readonly Native.CompletionFn CompletionDelegate = OnCompletion;
        private static readonly Native.EventFn EventDelegate = OnEvent;
        private static readonly Native.LogFn LogDelegate = OnLog;
        private static readonly Native.CompletionFn DiscardDelegate = OnDiscard;

        internal static readonly IntPtr CompletionPtr = Marshal.GetFunctionPointerForDelegate(CompletionDelegate);
        internal static readonly IntPtr EventPtr = Marshal.GetFunctionPointerForDelegate(EventDelegate);
        internal static readonly IntPtr LogPtr = Marshal.GetFunctionPointerForDelegate(LogDelegate);
        internal static readonly IntPtr DiscardPtr = Marshal.GetFunctionPointerForDelegate(DiscardDelegate);

        /// <summary>Completion of a detached submit (<see cref="Method.SubmitDetached"/>): the
        /// outcome is not wanted, and no state was passed.</summary>
        private static void OnDiscard(
            IntPtr userData, int status, byte* data, UIntPtr len, byte* error, UIntPtr errorLen, long detail)
        {
        }

        private static void OnCompletion(
            IntPtr userData, int status, byte* data, UIntPtr len, byte* error, UIntPtr errorLen, long detail)
        {
            SubmitOperation op = null;
            try
            {
                // Runs exactly once per accepted submit: the GCHandle is freed here, first thing.
                GCHandle gch = GCHandle.FromIntPtr(userData);
                op = (SubmitOperation)gch.Target;
                gch.Free();
                op.Complete(status, data, len, error, errorLen, detail);
            }
            catch (Exception e)
            {
                try
                {
                    if (op != null)
                    {
                        op.Fail(e);
                    }
                    Logging.ReportUnhandled(null, "submit completion", e);
                }
                catch
                {
                    // Last resort: never unwind into native code.
                }
            }
        }

        private static void OnEvent(IntPtr userData, byte* topic, UIntPtr topicLen, byte* data, UIntPtr len)
        {
            SubscriptionState state = null;
            try
            {
                // Valid: the GCHandle is freed only after bh_unsubscribe has returned, and the
                // native side never calls after that.
                state = (SubscriptionState)GCHandle.FromIntPtr(userData).Target;
                state.Deliver(topic, topicLen, data, len);
            }
            catch (Exception e)
            {
                try
                {
                    if (state != null)
                    {
                        state.ReportFailure(e);
                    }
                    else
                    {
                        Logging.ReportUnhandled(null, "event delivery", e);
                    }
                }
                catch
                {
                    // Last resort: never unwind into native code.
                }
            }
        }

        private static void OnLog(IntPtr userData, uint level, byte* target, UIntPtr targetLen, byte* msg, UIntPtr msgLen)
        {
            try
            {
                var state = (LogState)GCHandle.FromIntPtr(userData).Target;
                LogLevel l = level <= (uint)LogLevel.Trace ? (LogLevel)level : LogLevel.Trace;
                string t = Utf8.Decode(target, targetLen), m = Utf8.Decode(msg, msgLen);
                try
                {
                    BridgeHostEventSource.Log?.Write(l, t, m);   // null only while it is being created
                }
                catch (Exception e)
                {
                    Logging.CountHandlerError(e);
                }
                if (state.Handler != null && (int)l <= state.HandlerMax)
                {
                    state.Handler(l, t, m);
                }
            }
            catch (Exception e)
            {
                try
                {
                    Logging.CountHandlerError(e);
                }
                catch
                {
                    // Last resort: never unwind into native code.
                }
            }
        }
    }
}
