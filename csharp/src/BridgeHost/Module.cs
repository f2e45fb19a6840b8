using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace BridgeHost
{
    /// <summary>A module's threading contract, as its descriptor declares it.</summary>
    public enum ThreadModel
    {
        /// <summary>Calls may run concurrently on any threads.</summary>
        ThreadSafe = 0,
        /// <summary>Never two concurrent calls on one instance (the host serializes them).</summary>
        Serialized = 1,
        /// <summary>Every call on the one thread that initialized the instance.</summary>
        SingleThread = 2,
    }

    /// <summary>Flags of a method.</summary>
    [Flags]
    public enum MethodFlags
    {
        /// <summary>No flag.</summary>
        None = 0,
        /// <summary>The module promises the method returns quickly and never blocks.</summary>
        NonBlocking = 1,
    }

    /// <summary>A method a module declares.</summary>
    public sealed class MethodDescriptor
    {
        internal MethodDescriptor(string name, MethodFlags flags)
        {
            Name = name;
            Flags = flags;
        }

        /// <summary>The method's name.</summary>
        public string Name { get; }

        /// <summary>Its flags.</summary>
        public MethodFlags Flags { get; }

        /// <summary>The name.</summary>
        public override string ToString() => Name;
    }

    /// <summary>
    /// An open module. Obtained from <see cref="Host.Open"/>; resolve its methods once with
    /// <see cref="GetMethod"/>.
    /// </summary>
    /// <remarks>
    /// Thread-safe. <see cref="Dispose"/> unsubscribes every subscription (waiting out a delivery in
    /// progress), waits for calls in flight and destroys the module instance. A module keeps its
    /// host reachable; a module that is never disposed is closed by its finalizer once it and its
    /// methods and subscriptions are unreachable.
    /// </remarks>
    public sealed class Module : IDisposable
    {
        private readonly Host _host; // keeps the host (and its native handle) alive while we are
        private readonly ModuleHandle _handle;
        private readonly ModuleCallbackSink _sink;
        private readonly object _gate = new object();
        // Subscriptions live until disposed or until this module is disposed, even if the caller
        // drops the Subscription object: a dropped subscription must not stop after some GC.
        private readonly HashSet<Subscription> _subscriptions = new HashSet<Subscription>();
        // Methods resolved here, held weakly: Dispose releases the native handles of those still
        // alive at once (an undisposed Method otherwise kept the closed module's native state until
        // its finalizer ran). Dead entries are pruned when the list doubles.
        private readonly List<WeakReference<Method>> _methods = new List<WeakReference<Method>>();
        private int _pruneAt = 16;
        private bool _disposed; // under _gate: Dispose took its snapshot of _methods

        internal Module(Host host, ModuleHandle handle, Isolation isolation)
        {
            _host = host;
            _handle = handle;
            Isolation = isolation;
            Name = ReadString(Text.Name);
            Version = ReadString(Text.Version);
            Path = ReadString(Text.Path);
            uint model;
            Check(Native.bh_module_thread_model(_handle, out model));
            ThreadModel = (ThreadModel)model;
            Methods = ReadMethods();
            InterfaceText = ReadInterface();
            _sink = new ModuleCallbackSink(host.Sink, Name);
        }

        /// <summary>The module's name, from its descriptor. Read once at open: an immutable value that still answers after <see cref="Dispose"/>.</summary>
        public string Name { get; }

        /// <summary>The module's version, from its descriptor. Read once at open: an immutable value that still answers after <see cref="Dispose"/>.</summary>
        public string Version { get; }

        /// <summary>The absolute path of the file the module was loaded from (as
        /// <see cref="ModuleInfo.Path"/> reports for it). Read once at open: an immutable value that
        /// still answers after <see cref="Dispose"/>.</summary>
        public string Path { get; }

        /// <summary>The module's threading contract. Read once at open: an immutable value that still answers after <see cref="Dispose"/>.</summary>
        public ThreadModel ThreadModel { get; }

        /// <summary>Where the module runs. Read once at open: an immutable value that still answers after <see cref="Dispose"/>.</summary>
        public Isolation Isolation { get; }

        /// <summary>The methods the module declares, in descriptor order. Read once at open: an immutable value that still answers after <see cref="Dispose"/>.</summary>
        public IReadOnlyList<MethodDescriptor> Methods { get; }

        /// <summary>The WIT text of the module's typed interface (docs/TYPED.md), as the module
        /// embeds it; null for a bytes-only module. Read once at open: an immutable value that still
        /// answers after <see cref="Dispose"/>.</summary>
        public string InterfaceText { get; }

        /// <summary>
        /// Check that bindings generated from the WIT text <paramref name="wit"/> (<c>bridgehost
        /// bindgen</c>) work against this module: the core's one compatibility rule, which generated
        /// bindings apply when they open (docs/TYPED.md, "Versioning").
        /// </summary>
        /// <exception cref="AbiMismatchException">The module has no typed interface, or one
        /// incompatible with <paramref name="wit"/>; the message names the first difference.</exception>
        /// <exception cref="InvalidArgumentException"><paramref name="wit"/> does not parse as WIT
        /// (or holds an unpaired surrogate).</exception>
        /// <exception cref="ObjectDisposedException">The module was disposed.</exception>
        public unsafe void CheckBinding(string wit)
        {
            if (wit == null)
            {
                throw new ArgumentNullException(nameof(wit));
            }
            ThrowIfDisposed();
            byte[] bytes = Utf8.Encode(wit, nameof(wit));
            int st;
            fixed (byte* p = bytes)
            {
                st = Native.bh_module_check_binding(_handle, p, (UIntPtr)bytes.Length);
            }
            Check(st);
        }

        /// <summary>The host this module was opened from (still answers after <see cref="Dispose"/>).</summary>
        public Host Host => _host;

        /// <summary>The native handle (for tests of the C ABI itself).</summary>
        internal ModuleHandle NativeHandle => _handle;

        /// <summary>True once disposed.</summary>
        public bool IsDisposed => _handle.IsClosed;

        /// <summary>Resolve a method by name, once; calls on the returned <see cref="Method"/> pay no
        /// name lookup.</summary>
        /// <exception cref="NotFoundException">The module has no such method.</exception>
        public unsafe Method GetMethod(string name)
        {
            if (name == null)
            {
                throw new ArgumentNullException(nameof(name));
            }
            ThrowIfDisposed();
            byte[] bytes = Utf8.Encode(name, nameof(name));
            int st;
            MethodHandle h;
            fixed (byte* p = bytes)
            {
                st = Native.bh_method_resolve(_handle, p, (UIntPtr)bytes.Length, out h);
            }
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            Method m;
            try
            {
                m = new Method(this, h, name);
            }
            catch
            {
                h.Dispose();
                throw;
            }
            bool raced;
            lock (_gate)
            {
                raced = _disposed;
                if (!raced)
                {
                    if (_methods.Count >= _pruneAt)
                    {
                        _methods.RemoveAll(w => !w.TryGetTarget(out Method _));
                        _pruneAt = Math.Max(16, _methods.Count * 2);
                    }
                    _methods.Add(new WeakReference<Method>(m));
                }
            }
            if (raced)
            {
                // Resolved while Dispose ran (after its snapshot): release it like the others.
                m.ReleaseWithModule();
            }
            return m;
        }

        /// <summary>
        /// Deliver the events the module emits on <paramref name="topic"/> ("*": every topic) to
        /// <paramref name="handler"/>, on the host's dispatcher thread, one at a time, in emit order.
        /// </summary>
        /// <remarks>
        /// The subscription stays active until it is disposed or the module is disposed, whether
        /// or not the returned object is kept. After <see cref="Subscription.Dispose"/> returns the
        /// handler is not running and is never called again (unless Dispose is called from inside
        /// the handler itself, which is allowed). An exception thrown by the handler is caught and
        /// reported through <see cref="Host.CallbackException"/>; it never reaches native code.
        /// </remarks>
        public Subscription Subscribe(string topic, Action<ModuleEvent> handler)
        {
            if (topic == null)
            {
                throw new ArgumentNullException(nameof(topic));
            }
            if (handler == null)
            {
                throw new ArgumentNullException(nameof(handler));
            }
            return Subscribe(topic, new SubscriptionState(handler, _sink));
        }

        /// <summary>
        /// As <see cref="Subscribe(string, Action{ModuleEvent})"/>, but the handler reads each
        /// payload in place: no array and no <see cref="ModuleEvent"/> is allocated per event. The
        /// span is valid only until the handler returns; copy what you keep.
        /// </summary>
        public Subscription Subscribe(string topic, EventSpanHandler handler)
        {
            if (topic == null)
            {
                throw new ArgumentNullException(nameof(topic));
            }
            if (handler == null)
            {
                throw new ArgumentNullException(nameof(handler));
            }
            return Subscribe(topic, new SubscriptionState(handler, _sink));
        }

        private unsafe Subscription Subscribe(string topic, SubscriptionState subscriber)
        {
            ThrowIfDisposed();
            byte[] bytes = Utf8.Encode(topic, nameof(topic));
            // Rooted until bh_unsubscribe has returned (SubscriptionHandle.ReleaseHandle).
            IntPtr state = GCHandle.ToIntPtr(GCHandle.Alloc(subscriber));
            SubscriptionHandle h = null;
            bool subscribed = false;
            try
            {
                int st;
                fixed (byte* p = bytes)
                {
                    st = Native.bh_subscribe(_handle, p, (UIntPtr)bytes.Length, Callbacks.EventPtr, state, out h);
                }
                if (st != Native.BH_OK)
                {
                    throw Errors.Last(st);
                }
                h.AttachState(state);
                subscribed = true;
            }
            finally
            {
                if (!subscribed)
                {
                    // Never subscribed (or the call did not happen): no callback can come.
                    GCHandle.FromIntPtr(state).Free();
                }
            }
            var sub = new Subscription(this, h, topic);
            lock (_gate)
            {
                _subscriptions.Add(sub);
            }
            if (_handle.IsClosed)
            {
                // Raced with Dispose, which may have taken its snapshot before the Add.
                sub.Dispose();
                throw new ObjectDisposedException(nameof(Module));
            }
            return sub;
        }

        /// <summary>This module's counters.</summary>
        public unsafe Counters GetCounters()
        {
            ThrowIfDisposed();
            var c = new Native.Counters { StructSize = Counters.NativeSize };
            int st = Native.bh_module_counters(_handle, &c);
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            return new Counters(ref c, _sink.Count);
        }

        /// <summary>
        /// Close the module and release it. Idempotent; safe while calls are in flight (they finish
        /// first). Methods resolved from it then fail with <see cref="ClosedException"/>, and their
        /// native handles are released now (<see cref="Method.IsDisposed"/> becomes true); this
        /// object throws <see cref="ObjectDisposedException"/>.
        /// </summary>
        public void Dispose()
        {
            Subscription[] subs;
            List<Method> methods = new List<Method>();
            lock (_gate)
            {
                subs = new Subscription[_subscriptions.Count];
                _subscriptions.CopyTo(subs);
                _subscriptions.Clear();
                _disposed = true;
                foreach (var w in _methods)
                {
                    if (w.TryGetTarget(out Method m))
                    {
                        methods.Add(m);
                    }
                }
                _methods.Clear();
            }
            foreach (var s in subs)
            {
                s.Dispose();
            }
            _handle.Dispose();
            // Its methods can only fail with ClosedException now: release their native handles
            // (calls in flight on them finish first; later ones still throw ClosedException).
            foreach (var m in methods)
            {
                m.ReleaseWithModule();
            }
        }

        /// <summary>"name version (isolation)".</summary>
        public override string ToString() => Name + " " + Version + " (" + Isolation + ")";

        internal void Forget(Subscription s)
        {
            lock (_gate)
            {
                _subscriptions.Remove(s);
            }
        }

        internal void ThrowIfDisposed()
        {
            if (_handle.IsClosed)
            {
                throw new ObjectDisposedException(nameof(Module));
            }
        }

        private void Check(int st)
        {
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
        }

        private enum Text
        {
            Name,
            Version,
            Path,
        }

        private unsafe int ReadText(Text which, byte* buf, UIntPtr cap, out UIntPtr len)
        {
            switch (which)
            {
                case Text.Name:
                    return Native.bh_module_name(_handle, buf, cap, out len);
                case Text.Version:
                    return Native.bh_module_version(_handle, buf, cap, out len);
                default:
                    return Native.bh_module_path(_handle, buf, cap, out len);
            }
        }

        private unsafe string ReadString(Text which)
        {
            // Two-call pattern: a stack buffer first, the exact size if it did not fit.
            const int StackCap = 256;
            byte* stack = stackalloc byte[StackCap];
            UIntPtr len;
            int st = ReadText(which, stack, (UIntPtr)StackCap, out len);
            if (st == Native.BH_OK && (ulong)len <= StackCap)
            {
                return Utf8.Decode(stack, len);
            }
            if (st != Native.BH_OK && st != Native.BH_E_BUFFER_TOO_SMALL)
            {
                throw Errors.Last(st);
            }
            var heap = new byte[checked((int)(ulong)len + 1)];
            fixed (byte* p = heap)
            {
                Check(ReadText(which, p, (UIntPtr)heap.Length, out len));
                return Utf8.Decode(p, len);
            }
        }

        private unsafe string ReadInterface()
        {
            // Two-call pattern: the size first (a bytes-only module has none: BH_E_NOT_FOUND).
            UIntPtr len;
            int st = Native.bh_module_interface(_handle, null, UIntPtr.Zero, out len);
            if (st == Native.BH_E_NOT_FOUND)
            {
                return null;
            }
            if (st == Native.BH_OK)
            {
                return "";
            }
            if (st != Native.BH_E_BUFFER_TOO_SMALL)
            {
                throw Errors.Last(st);
            }
            var heap = new byte[checked((int)(ulong)len)];
            fixed (byte* p = heap)
            {
                Check(Native.bh_module_interface(_handle, p, (UIntPtr)heap.Length, out len));
                return Utf8.Decode(p, len);
            }
        }

        private unsafe IReadOnlyList<MethodDescriptor> ReadMethods()
        {
            uint count;
            Check(Native.bh_module_method_count(_handle, out count));
            var list = new List<MethodDescriptor>((int)Math.Min(count, 1024u));
            const int StackCap = 256;
            byte* stack = stackalloc byte[StackCap];
            for (uint i = 0; i < count; i++)
            {
                UIntPtr len;
                uint flags;
                int st = Native.bh_module_method_name(_handle, i, stack, (UIntPtr)StackCap, out len, out flags);
                string text;
                if (st == Native.BH_OK && (ulong)len <= StackCap)
                {
                    text = Utf8.Decode(stack, len);
                }
                else
                {
                    if (st != Native.BH_OK && st != Native.BH_E_BUFFER_TOO_SMALL)
                    {
                        throw Errors.Last(st);
                    }
                    var heap = new byte[checked((int)(ulong)len + 1)];
                    fixed (byte* p = heap)
                    {
                        Check(Native.bh_module_method_name(_handle, i, p, (UIntPtr)heap.Length, out len, out flags));
                        text = Utf8.Decode(p, len);
                    }
                }
                list.Add(new MethodDescriptor(text, (MethodFlags)(flags & Native.BH_METHOD_NONBLOCKING)));
            }
            return list.AsReadOnly();
        }

        /// <summary>
        /// Waits until every event emitted so far has been delivered: when this returns, every
        /// handler it was for has returned. Events are delivered asynchronously on the host's
        /// dispatcher thread, so call this before disposing a subscription or the module when the
        /// last events matter.
        /// </summary>
        /// <param name="timeout">The longest wait, <see cref="TimeSpan.Zero"/> (what was
        /// delivered already, without waiting) up to one year; null: no limit. Judged exact by
        /// the core's one rule for it, as in every runtime (docs/SYMMETRY.md,
        /// <c>flush_timeout</c>), then rounded up to whole milliseconds.</param>
        /// <exception cref="CallTimeoutException">The timeout passed first.</exception>
        /// <exception cref="ClosedException">The module or host closed.</exception>
        /// <exception cref="InvalidArgumentException">Called from inside an event handler, or a
        /// negative timeout or one over a year ("invalid argument: flush timeout must be at most
        /// one year, got -10000 ns").</exception>
        public void Flush(TimeSpan? timeout = null)
        {
            // The timeout first, then the module's state: the core's order (a closed module still
            // names a bad timeout), as in every runtime.
            ulong ms = timeout.HasValue ? Waits.Ms(timeout.Value, Native.BH_WAIT_FLUSH_TIMEOUT) : ulong.MaxValue;
            ThrowIfDisposed();
            Check(Native.bh_module_flush(_handle, ms));
        }
    }
}
