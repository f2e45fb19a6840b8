using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace BridgeHost
{
    /// <summary>
    /// A bridgehost host: owns the modules opened from it, the pool that runs submitted calls and
    /// the thread that delivers events.
    /// </summary>
    /// <remarks>
    /// Thread-safe. <see cref="Dispose"/> closes the host: queued submits fail with
    /// <see cref="ClosedException"/>, calls in flight finish, every module opened from it is
    /// closed, and no event handler runs after it returns (unless it is called from inside one).
    /// A host that is never disposed is closed by its finalizer once it, and everything opened
    /// from it, is unreachable.
    /// </remarks>
    public sealed class Host : IDisposable
    {
        private readonly HostHandle _handle;
        private readonly HostCallbackSink _sink = new HostCallbackSink();
        private readonly object _gate = new object();
        private readonly List<WeakReference<Module>> _modules = new List<WeakReference<Module>>();

        /// <summary>A host with default options.</summary>
        public Host()
            : this(null)
        {
        }

        /// <summary>A host with <paramref name="options"/> (null: defaults).</summary>
        public unsafe Host(HostOptions options)
        {
            Platform.EnsureSupported();
            int st;
            HostHandle h;
            if (options == null)
            {
                st = Native.bh_host_new(null, out h);
            }
            else
            {
                Native.HostOptions o = options.ToNative();
                byte[] dir = options.ModuleDirectory == null
                    ? null
                    : Utf8.Encode(options.ModuleDirectory, nameof(options.ModuleDirectory));
                byte[] name = options.ThreadName == null
                    ? null
                    : Utf8.Encode(options.ThreadName, nameof(options.ThreadName));
                byte[] dirs = options.ModuleDirectoriesBytes();
                fixed (byte* d = dir)
                fixed (byte* n = name)
                fixed (byte* ds = dirs)
                {
                    o.ModuleDir = d;
                    o.ModuleDirLen = (UIntPtr)(dir == null ? 0 : dir.Length);
                    o.ThreadName = n;
                    o.ThreadNameLen = (UIntPtr)(name == null ? 0 : name.Length);
                    o.ModuleDirs = ds;
                    o.ModuleDirsLen = (UIntPtr)(dirs == null ? 0 : dirs.Length);
                    st = Native.bh_host_new(&o, out h);
                }
            }
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            _handle = h;
            HostRegistry.Add(this);
            // Create the "BridgeHost" EventSource with the first host, so that a listener waiting
            // for it by name (OnEventSourceCreated) sees it before the first record.
            GC.KeepAlive(BridgeHostEventSource.Log);
        }

        /// <summary>The native library's version.</summary>
        public static string NativeVersion
        {
            get
            {
                Platform.EnsureSupported();
                return Marshal.PtrToStringAnsi(Native.bh_version());
            }
        }

        /// <summary>
        /// Raised (on the dispatcher thread) when an event handler of a module of this host throws.
        /// The exception is also counted in <see cref="Counters.CallbackErrors"/>. Without a handler
        /// attached it goes to the <see cref="Logging"/> handler, or to standard error.
        /// </summary>
        public event EventHandler<CallbackExceptionEventArgs> CallbackException
        {
            add { _sink.Add(value); }
            remove { _sink.Remove(value); }
        }

        /// <summary>True once disposed.</summary>
        public bool IsDisposed => _handle.IsClosed;

        internal HostCallbackSink Sink => _sink;

        /// <summary>
        /// Open a module by bundled name ("std", "zlib": found in
        /// <see cref="HostOptions.ModuleDirectory"/>, <see cref="HostOptions.ModuleDirectories"/>, the directories of BRIDGEHOST_MODULE_PATH, then
        /// beside the native library) or by path.
        /// </summary>
        /// <exception cref="NotFoundException">No such module.</exception>
        /// <exception cref="AbiMismatchException">The file is not a valid bridgehost module.</exception>
        /// <exception cref="InvalidArgumentException">An option is out of range.</exception>
        public unsafe Module Open(string spec, ModuleOptions options = null)
        {
            if (spec == null)
            {
                throw new ArgumentNullException(nameof(spec));
            }
            ThrowIfDisposed();
            ModuleOptions opts = options ?? new ModuleOptions();
            Native.ModuleOptions o = opts.ToNative();
            byte[] specBytes = Utf8.Encode(spec, nameof(spec));
            byte[] config = opts.Config;
            byte[] worker = opts.WorkerPath == null ? null : Utf8.Encode(opts.WorkerPath, nameof(opts.WorkerPath));
            int st;
            ModuleHandle h;
            // Pinned for this one call only: the native side copies config and paths before returning.
            fixed (byte* s = specBytes)
            fixed (byte* c = config)
            fixed (byte* w = worker)
            {
                o.Config = c;
                o.ConfigLen = (UIntPtr)(config == null ? 0 : config.Length);
                o.WorkerPath = w;
                o.WorkerPathLen = (UIntPtr)(worker == null ? 0 : worker.Length);
                st = Native.bh_module_open(_handle, s, (UIntPtr)specBytes.Length, &o, out h);
            }
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            Module m;
            try
            {
                m = new Module(this, h, opts.Isolation);
            }
            catch
            {
                h.Dispose();
                throw;
            }
            lock (_gate)
            {
                _modules.RemoveAll(w => !w.TryGetTarget(out Module _));
                _modules.Add(new WeakReference<Module>(m));
            }
            if (_handle.IsClosed)
            {
                // Raced with Dispose, which may have taken its snapshot before the Add.
                m.Dispose();
                throw new ObjectDisposedException(nameof(Host));
            }
            return m;
        }

        /// <summary>
        /// Inspect a module without opening it: it is loaded and its descriptor validated in a
        /// worker process (its constructors and entry function run there; its init never runs),
        /// never in this process. Only a validated descriptor is success: a constructor that exits
        /// (with status 0 too) is <see cref="WorkerExitedException"/>, one that crashes
        /// <see cref="WorkerCrashedException"/>, silence past <paramref name="deadline"/>
        /// <see cref="CallTimeoutException"/>, a descriptor that lies
        /// <see cref="AbiMismatchException"/>. The module is found as <see cref="Open"/> finds it.
        /// </summary>
        /// <param name="spec">A bundled module name or a path.</param>
        /// <param name="deadline">How long the worker gets to load the module and answer,
        /// positive and at most one year (null: 10 s). Judged exact by the core's one rule for
        /// it, as in every runtime (docs/SYMMETRY.md, <c>inspect_deadline</c>), then rounded up
        /// to whole milliseconds.</param>
        /// <exception cref="NotFoundException">No such module.</exception>
        /// <exception cref="InvalidArgumentException">A deadline not positive or over a year
        /// ("invalid argument: inspect deadline must be positive and at most one year, got 0
        /// ns").</exception>
        public ModuleInfo Inspect(string spec, TimeSpan? deadline = null)
        {
            ulong ms = deadline.HasValue ? Waits.Ms(deadline.Value, Native.BH_WAIT_INSPECT_DEADLINE) : 0;
            return Describe(spec, ms, 0);
        }

        /// <summary>
        /// <see cref="Inspect"/> in this process: the module's file is loaded here (its
        /// constructors and entry function run in this process, which nothing can protect
        /// against), its descriptor is read without faulting and validated, no instance is
        /// created. Prefer <see cref="Inspect"/>.
        /// </summary>
        public ModuleInfo InspectInProcess(string spec) => Describe(spec, 0, Native.BH_INSPECT_IN_PROCESS);

        private unsafe ModuleInfo Describe(string spec, ulong deadlineMs, uint flags)
        {
            if (spec == null)
            {
                throw new ArgumentNullException(nameof(spec));
            }
            ThrowIfDisposed();
            byte[] specBytes = Utf8.Encode(spec, nameof(spec));
            int st;
            BufferHandle description;
            fixed (byte* s = specBytes)
            {
                st = Native.bh_inspect(_handle, s, (UIntPtr)specBytes.Length, deadlineMs, flags, out description);
            }
            if (st != Native.BH_OK)
            {
                description?.Dispose();
                throw Errors.Last(st);
            }
            using (description)
            {
                byte* data;
                UIntPtr len;
                st = Native.bh_buffer_data(description, out data, out len);
                if (st != Native.BH_OK)
                {
                    throw Errors.Last(st);
                }
                if ((ulong)len > int.MaxValue)
                {
                    throw new InternalException("module description of " + (ulong)len + " bytes");
                }
                var copy = new byte[(int)len];
                if (copy.Length > 0)
                {
                    // `data` points into the native buffer, which lives until `description` is
                    // disposed, after this copy.
                    Marshal.Copy((IntPtr)data, copy, 0, copy.Length);
                }
                return ModuleInfo.Decode(copy);
            }
        }

        /// <summary>
        /// Add a directory searched for modules by name (<see cref="Open"/> with a bare name), after
        /// the options' module directory and the directories added before it. Throws
        /// <see cref="NotFoundException"/> if it does not exist, <see cref="InvalidArgumentException"/>
        /// if it is not a directory.
        /// </summary>
        public unsafe void AddModuleDirectory(string path)
        {
            if (path == null)
            {
                throw new ArgumentNullException(nameof(path));
            }
            ThrowIfDisposed();
            byte[] bytes = Utf8.Encode(path, nameof(path));
            int st;
            fixed (byte* p = bytes)
            {
                st = Native.bh_host_add_module_dir(_handle, p, (UIntPtr)bytes.Length);
            }
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
        }

        /// <summary>Counters summed over every module this host opened (closed ones included).</summary>
        public unsafe Counters GetCounters()
        {
            ThrowIfDisposed();
            var c = new Native.Counters { StructSize = Counters.NativeSize };
            int st = Native.bh_host_counters(_handle, &c);
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            return new Counters(ref c, _sink.Count);
        }

        /// <summary>
        /// Close the host and release it. Idempotent. Safe while calls are in flight on other
        /// threads (they finish, or fail with <see cref="ClosedException"/>). Afterwards every use of
        /// this object throws <see cref="ObjectDisposedException"/>.
        /// </summary>
        public void Dispose()
        {
            List<Module> alive = new List<Module>();
            lock (_gate)
            {
                foreach (var w in _modules)
                {
                    if (w.TryGetTarget(out Module m))
                    {
                        alive.Add(m);
                    }
                }
                _modules.Clear();
            }
            // Modules first, so that their subscriptions' GCHandles are released now rather than
            // when the Module objects are collected; then the host (which closes anything left).
            foreach (var m in alive)
            {
                m.Dispose();
            }
            _handle.Dispose();
        }

        internal void ThrowIfDisposed()
        {
            if (_handle.IsClosed)
            {
                throw new ObjectDisposedException(nameof(Host));
            }
        }
    }
}
