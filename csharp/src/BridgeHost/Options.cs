// Host and module options, and their translation to the native structs.
//
// The bridge translates, the core validates: every numeric value is checked by the core's one
// rule for its option (bh_option_check: the same rule and message as bh_host_new/bh_module_open
// and every other runtime) before it is narrowed into its unsigned C field, so a negative count
// is refused by the core, never wrapped; a duration is checked on its nanoseconds the same way.
// Null is "the default" (the C field's 0); a value of 0 that the core accepts (a 0-byte
// MaxInput/MaxOutput/MaxEvent, SpareWorkers 0, CloseGrace TimeSpan.Zero) or Sandbox false is
// passed with its bit in the struct's explicit_zero mask, so it stays the value 0.
using System;
using System.Collections.Generic;

namespace BridgeHost
{
    /// <summary>Where a module's code runs.</summary>
    public enum Isolation
    {
        /// <summary>In this process (fastest; the module is trusted).</summary>
        InProcess = 0,
        /// <summary>In sandboxed, supervised worker processes: a crash, hang or memory blow-up
        /// fails only the request in flight.</summary>
        Process = 1,
    }

    /// <summary>Options of a <see cref="Host"/>. Zero means "the default"; <see cref="Defaults"/>
    /// reads the default values from the native library.</summary>
    public sealed class HostOptions
    {
        /// <summary>The core's default thread name prefix (core/src/options.rs DEFAULT_THREAD_NAME).
        /// <c>bh_host_options_default</c> reports it as NULL, which the C header defines as standing
        /// for "bridgehost", the value Java's <c>HostOptions.defaults().threadName()</c> and
        /// Python's <c>DEFAULT_THREAD_NAME</c> read from the core.
        /// SymmetryTests.TheDefaultThreadNameIsTheCores checks a default host's threads carry
        /// it.</summary>
        private const string CoreDefaultThreadName = "bridgehost";

        /// <summary>A new instance holding the default values (the ones a zero or null stands for),
        /// read from the native library: SubmitThreads 64 (threads start on demand and exit after
        /// 10 s idle; submitted calls are blocking native work, so the pool is sized by how many may
        /// wait at once, not by cores), SubmitQueueCapacity 4096, EventQueueCapacity 65536,
        /// EventQueueBytes 64 MiB; ThreadName "bridgehost" (the C ABI reports NULL for it, which
        /// stands for the core's default).</summary>
        public static unsafe HostOptions Defaults
        {
            get
            {
                Platform.EnsureSupported();
                var o = new Native.HostOptions { StructSize = (uint)NativeSize };
                int st = Native.bh_host_options_default(&o);
                if (st != Native.BH_OK)
                {
                    throw Errors.Last(st);
                }
                return new HostOptions
                {
                    SubmitThreads = checked((int)o.SubmitThreads),
                    SubmitQueueCapacity = checked((int)o.SubmitQueueCapacity),
                    EventQueueCapacity = checked((int)o.EventQueueCapacity),
                    EventQueueBytes = checked((long)o.EventQueueBytes),
                    ThreadName = CoreDefaultThreadName, // the C ABI reports NULL for it
                };
            }
        }

        /// <summary>An extra directory searched first for bundled modules (by name, e.g. "zlib"),
        /// before <see cref="ModuleDirectories"/>. Like every module directory it must exist when the
        /// host is created: a missing one is <see cref="NotFoundException"/>, one that is not a
        /// directory <see cref="InvalidArgumentException"/>.</summary>
        public string ModuleDirectory { get; set; }

        /// <summary>Directories searched for bundled modules (by name, e.g. "zlib"), in order,
        /// after <see cref="ModuleDirectory"/> and before BRIDGEHOST_MODULE_PATH; null or empty:
        /// none. A null or empty entry, or one containing a NUL character, is refused with
        /// <see cref="InvalidArgumentException"/>; each must be an existing directory when the host is
        /// created (<see cref="NotFoundException"/> if missing, <see cref="InvalidArgumentException"/>
        /// if not a directory).</summary>
        public IList<string> ModuleDirectories { get; set; }

        /// <summary>The C field's image of <see cref="ModuleDirectories"/>: each path's UTF-8
        /// bytes followed by one NUL byte; null when there are none.</summary>
        internal byte[] ModuleDirectoriesBytes()
        {
            if (ModuleDirectories == null || ModuleDirectories.Count == 0)
            {
                return null;
            }
            var all = new List<byte>();
            for (int i = 0; i < ModuleDirectories.Count; i++)
            {
                string d = ModuleDirectories[i];
                string what = nameof(ModuleDirectories) + "[" + i + "]";
                // What the list's encoding cannot carry: a null entry, and a NUL (the separator: an
                // entry holding one would read as two). Every other rule (an empty entry, a missing
                // directory, ...) is the core's, reported through the C ABI.
                if (d == null)
                {
                    throw new InvalidArgumentException(what + " is null");
                }
                if (d.IndexOf('\0') >= 0)
                {
                    throw new InvalidArgumentException(what + " contains a NUL character");
                }
                all.AddRange(Utf8.Encode(d, what));
                all.Add(0);
            }
            return all.ToArray();
        }

        /// <summary>Most threads running submitted calls at once (1..=256; null: default 64); they
        /// start on demand.</summary>
        public int? SubmitThreads { get; set; }

        /// <summary>Queued submits beyond which SubmitAsync returns a task faulted with
        /// <see cref="OverloadedException"/> (null: default 4096).</summary>
        public int? SubmitQueueCapacity { get; set; }

        /// <summary>Queued events beyond which new events are dropped and counted (null: default 65536).</summary>
        public int? EventQueueCapacity { get; set; }

        /// <summary>Bytes of queued events (payloads, plus a slot each, counting the batch being
        /// delivered) beyond which new events are dropped and counted (null: default 64 MiB; at
        /// least 65536). Bounds the host's memory when events are large and handlers slow.</summary>
        public long? EventQueueBytes { get; set; }

        /// <summary>Prefix of the names of the threads the host starts (null: default
        /// "bridgehost", <see cref="Defaults"/>), as Java's <c>withThreadName</c> and Python's
        /// <c>thread_name</c>.</summary>
        public string ThreadName { get; set; }

        internal Native.HostOptions ToNative()
        {
            uint zero = 0;
            return new Native.HostOptions
            {
                StructSize = (uint)NativeSize,
                SubmitThreads = (uint)Checked(SubmitThreads, Native.BH_OPTION_SUBMIT_THREADS, ref zero),
                SubmitQueueCapacity = (uint)Checked(SubmitQueueCapacity, Native.BH_OPTION_SUBMIT_QUEUE_CAPACITY, ref zero),
                EventQueueCapacity = (uint)Checked(EventQueueCapacity, Native.BH_OPTION_EVENT_QUEUE_CAPACITY, ref zero),
                EventQueueBytes = Checked(EventQueueBytes, Native.BH_OPTION_EVENT_QUEUE_BYTES, ref zero),
                ExplicitZero = zero,
            };
        }

        private static readonly unsafe int NativeSize = sizeof(Native.HostOptions);

        /// <summary>A numeric option: null is "the default" (the C field's 0); any value, 0
        /// included, is checked by the core's one rule for the option (bh_option_check, the same
        /// rule and message as every runtime: "workers must be in 1..=64, got 0") before it is
        /// narrowed into the unsigned field. A 0 the core accepts gets its bit in
        /// <paramref name="explicitZero"/> (the struct's explicit_zero), so it stays 0.</summary>
        internal static ulong Checked(long? value, uint option, ref uint explicitZero)
        {
            if (!value.HasValue)
            {
                return 0;
            }
            int st = Native.bh_option_check(option, value.Value);
            if (value.Value == 0 && st == Native.BH_OK)
            {
                explicitZero |= 1u << (int)option;
            }
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            return (ulong)value.Value;
        }
    }

    /// <summary>Options of a <see cref="Module"/>. Null means "the default";
    /// <see cref="Defaults"/> reads the default values from the native library.</summary>
    public sealed class ModuleOptions
    {
        /// <summary>A new instance holding the default values, read from the native library:
        /// in-process, Workers 1, no CallTimeout, no MemoryLimit, MaxInput and MaxOutput 256 MiB,
        /// MaxEvent 1 MiB; supervision: SpareWorkers 1, BreakerFailures 5, BreakerWindow 30 s,
        /// BreakerCooldown 1 s, StartupTimeout 10 s, CloseGrace 5 s, CpuLimit 1 hour, OpenFiles 64,
        /// Sandbox true.</summary>
        public static unsafe ModuleOptions Defaults
        {
            get
            {
                Platform.EnsureSupported();
                var o = new Native.ModuleOptions { StructSize = (uint)NativeSize };
                int st = Native.bh_module_options_default(&o);
                if (st != Native.BH_OK)
                {
                    throw Errors.Last(st);
                }
                return new ModuleOptions
                {
                    Isolation = o.Isolation == 1 ? Isolation.Process : Isolation.InProcess,
                    Workers = checked((int)o.Workers),
                    CallTimeout = o.CallTimeoutMs == 0 ? (TimeSpan?)null : TimeSpan.FromMilliseconds(o.CallTimeoutMs),
                    MemoryLimit = o.MemoryLimit == 0 ? (long?)null : checked((long)o.MemoryLimit),
                    MaxInput = checked((long)o.MaxInput),
                    MaxOutput = checked((long)o.MaxOutput),
                    MaxEvent = checked((long)o.MaxEvent),
                    ValidateInWorker = o.ValidateInWorker != 0,
                    SpareWorkers = checked((int)o.SpareWorkers),
                    BreakerFailures = checked((int)o.BreakerFailures),
                    BreakerWindow = TimeSpan.FromMilliseconds(o.BreakerWindowMs),
                    BreakerCooldown = TimeSpan.FromMilliseconds(o.BreakerCooldownMs),
                    StartupTimeout = TimeSpan.FromMilliseconds(o.StartupTimeoutMs),
                    CloseGrace = TimeSpan.FromMilliseconds(o.CloseGraceMs),
                    CpuLimit = CpuLimitOf(o.CpuLimitMs),
                    OpenFiles = checked((int)o.OpenFiles),
                    Sandbox = o.Sandbox != 0,
                };
            }
        }

        /// <summary>In-process (default) or isolated in worker processes.</summary>
        public Isolation Isolation { get; set; }

        /// <summary>Worker processes (isolation only; 1..=64; null: default 1).</summary>
        public int? Workers { get; set; }

        /// <summary>Per-call deadline (isolation only: an in-process call cannot be interrupted).
        /// Null: none. Rounded up to whole milliseconds.</summary>
        public TimeSpan? CallTimeout { get; set; }

        /// <summary>Address-space limit of each worker, in bytes (isolation only). Null: none.</summary>
        public long? MemoryLimit { get; set; }

        /// <summary>Largest input accepted, in bytes. Null: default (256 MiB).</summary>
        public long? MaxInput { get; set; }

        /// <summary>Largest output accepted, in bytes. Null: default (256 MiB).</summary>
        public long? MaxOutput { get; set; }

        /// <summary>Largest event payload the module may emit, in bytes (a larger emit is refused
        /// to the module, whose call then typically fails with <see cref="ModuleException"/>).
        /// Null: default (1 MiB).</summary>
        public long? MaxEvent { get; set; }

        /// <summary>Bytes passed to the module's init (copied when the module opens).</summary>
        public byte[] Config { get; set; }

        /// <summary>The worker executable (isolation only). Null: BRIDGEHOST_WORKER, then
        /// bridgehost-worker beside the native library.</summary>
        public string WorkerPath { get; set; }

        /// <summary>In-process only: before the module is loaded into this process, load and
        /// validate it in a worker process first (<see cref="Host.Inspect(string, TimeSpan?)"/>),
        /// so that a module whose constructors or entry function exit, crash or hang fails
        /// <see cref="Host.Open(string, ModuleOptions)"/> with a typed exception
        /// (<see cref="WorkerExitedException"/>, <see cref="WorkerCrashedException"/>,
        /// <see cref="CallTimeoutException"/> after 10 s, <see cref="AbiMismatchException"/>)
        /// instead of ending or hanging this process. It cannot protect against code that behaves
        /// differently the second time: untrusted modules must run with
        /// <see cref="Isolation.Process"/>. Uses <see cref="WorkerPath"/>. Default false.</summary>
        public bool ValidateInWorker { get; set; }

        // ---- Supervision of isolated workers (docs/ISOLATION.md, "Supervision settings"). Null
        // is the core's default. Each range and message is the core's; set to anything but its
        // default for an in-process module, a setting is refused with InvalidArgumentException
        // ("cpu_limit requires process isolation"): StartupTimeout and Sandbox are accepted
        // in-process with ValidateInWorker, whose worker they rule too.

        /// <summary>Warm spare workers kept beside the pool, so a crashed worker is replaced at
        /// once (0..=8; null: default 1; none for a stateful module). Isolation only.</summary>
        public int? SpareWorkers { get; set; }

        /// <summary>Worker failures (crash, exit, timeout, protocol violation, failed start)
        /// within <see cref="BreakerWindow"/>, with no successful call in between, that open the
        /// circuit breaker: calls then fail at once with <see cref="UnavailableException"/> for
        /// <see cref="BreakerCooldown"/> (at least 1, the core's range being 1..=4294967295;
        /// null: default 5). Isolation only.</summary>
        public int? BreakerFailures { get; set; }

        /// <summary>The window <see cref="BreakerFailures"/> must fall in (positive, at most one
        /// year; null: default 30 s). Rounded up to whole milliseconds. Isolation only.</summary>
        public TimeSpan? BreakerWindow { get; set; }

        /// <summary>How long an open breaker refuses calls (doubling on each re-trip; positive,
        /// at most one year; null: default 1 s). Rounded up to whole milliseconds. Isolation
        /// only.</summary>
        public TimeSpan? BreakerCooldown { get; set; }

        /// <summary>Longest a worker may take to load the module and run its init (positive, at
        /// most one year; null: default 10 s). Rounded up to whole milliseconds. Isolation, or
        /// in-process with <see cref="ValidateInWorker"/> (the validating worker's
        /// deadline).</summary>
        public TimeSpan? StartupTimeout { get; set; }

        /// <summary>At <see cref="Module.Dispose"/>, how long calls in flight may finish before
        /// their workers are killed (they then fail with <see cref="ClosedException"/>);
        /// <see cref="TimeSpan.Zero"/>: at once (0 to one year; null: default 5 s). Rounded up to
        /// whole milliseconds. Isolation only.</summary>
        public TimeSpan? CloseGrace { get; set; }

        /// <summary>CPU time each worker may use (RLIMIT_CPU, whole seconds: a fraction is
        /// dropped); a worker that reaches it finishes its call and is replaced, a call still
        /// running 5 s later fails with <see cref="ResourceLimitException"/> (1 s to one year;
        /// null: default 1 hour; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: no
        /// limit, the worker keeps the hard limit it inherits, and reads back as that). Isolation
        /// only: in-process, no limit is a change from the default, refused as any other
        /// ("cpu_limit requires process isolation").</summary>
        public TimeSpan? CpuLimit { get; set; }

        /// <summary>Descriptors each worker may have open (RLIMIT_NOFILE; 16..=65536; null:
        /// default 64). Isolation only.</summary>
        public int? OpenFiles { get; set; }

        /// <summary>The worker sandbox: seccomp filter, Landlock and no_new_privs (null: default
        /// true). False only to debug a module that needs a forbidden system call. Isolation, or
        /// in-process with <see cref="ValidateInWorker"/> (the validating worker).</summary>
        public bool? Sandbox { get; set; }

        internal Native.ModuleOptions ToNative()
        {
            uint zero = 0;
            var o = new Native.ModuleOptions
            {
                StructSize = (uint)NativeSize,
                Isolation = IsolationCode(Isolation),
                Workers = (uint)HostOptions.Checked(Workers, Native.BH_OPTION_WORKERS, ref zero),
                CallTimeoutMs = SpanMs(CallTimeout, Native.BH_OPTION_CALL_TIMEOUT_NS, ref zero),
                MemoryLimit = HostOptions.Checked(MemoryLimit, Native.BH_OPTION_MEMORY_LIMIT, ref zero),
                MaxInput = HostOptions.Checked(MaxInput, Native.BH_OPTION_MAX_INPUT, ref zero),
                MaxOutput = HostOptions.Checked(MaxOutput, Native.BH_OPTION_MAX_OUTPUT, ref zero),
                MaxEvent = HostOptions.Checked(MaxEvent, Native.BH_OPTION_MAX_EVENT, ref zero),
                ValidateInWorker = ValidateInWorker ? 1u : 0u,
                SpareWorkers = (uint)HostOptions.Checked(SpareWorkers, Native.BH_OPTION_SPARE_WORKERS, ref zero),
                BreakerFailures = (uint)HostOptions.Checked(BreakerFailures, Native.BH_OPTION_BREAKER_FAILURES, ref zero),
                BreakerWindowMs = SpanMs(BreakerWindow, Native.BH_OPTION_BREAKER_WINDOW_NS, ref zero),
                BreakerCooldownMs = SpanMs(BreakerCooldown, Native.BH_OPTION_BREAKER_COOLDOWN_NS, ref zero),
                StartupTimeoutMs = SpanMs(StartupTimeout, Native.BH_OPTION_STARTUP_TIMEOUT_NS, ref zero),
                CloseGraceMs = SpanMs(CloseGrace, Native.BH_OPTION_CLOSE_GRACE_NS, ref zero),
                CpuLimitMs = CpuLimit == System.Threading.Timeout.InfiniteTimeSpan
                    ? NoCpuLimit
                    : SpanMs(CpuLimit, Native.BH_OPTION_CPU_LIMIT_NS, ref zero),
                OpenFiles = (uint)HostOptions.Checked(OpenFiles, Native.BH_OPTION_OPEN_FILES, ref zero),
                Sandbox = Flag(Sandbox, Native.BH_OPTION_SANDBOX, ref zero),
            };
            o.ExplicitZero = zero;
            return o;
        }

        private static readonly unsafe int NativeSize = sizeof(Native.ModuleOptions);

        /// <summary><c>bh_module_options.cpu_limit_ms</c>'s "no limit" (<c>UINT64_MAX</c>, as
        /// <c>bh_module_flush</c>'s timeout spells it).</summary>
        private const ulong NoCpuLimit = ulong.MaxValue;

        /// <summary>The C field read back: 0 the default (null), <c>UINT64_MAX</c> no limit
        /// (<see cref="System.Threading.Timeout.InfiniteTimeSpan"/>), else milliseconds.</summary>
        private static TimeSpan? CpuLimitOf(ulong ms)
        {
            if (ms == 0) return null;
            if (ms == NoCpuLimit) return System.Threading.Timeout.InfiniteTimeSpan;
            return TimeSpan.FromMilliseconds(ms);
        }

        private static uint IsolationCode(Isolation i)
        {
            switch (i)
            {
                case Isolation.InProcess: return 0;
                case Isolation.Process: return 1;
                default: throw new InvalidArgumentException("unknown isolation mode " + (int)i);
            }
        }

        /// <summary>A duration option: null is "the default" (the C field's 0); any value is
        /// checked on its exact nanoseconds by the core's one rule for the option
        /// (bh_option_check_duration, as whole seconds and nanoseconds, so a TimeSpan too large
        /// for 64 bits of nanoseconds is judged and shown as it is, as in Java and Python:
        /// "close_grace must be at most one year, got -10000 ns"), then rounded up to whole
        /// milliseconds, so a sub-millisecond value is not turned into 0 ("default").
        /// A zero the core accepts (CloseGrace) gets its bit in
        /// <paramref name="explicitZero"/>.</summary>
        private static ulong SpanMs(TimeSpan? t, uint option, ref uint explicitZero)
        {
            if (!t.HasValue)
            {
                return 0;
            }
            long ticks = t.Value.Ticks;
            // Floored seconds and the ticks left (0 ..= 9999999), as a timespec holds a duration.
            long seconds = ticks / TimeSpan.TicksPerSecond;
            long rest = ticks % TimeSpan.TicksPerSecond;
            if (rest < 0)
            {
                seconds -= 1;
                rest += TimeSpan.TicksPerSecond;
            }
            int st = Native.bh_option_check_duration(option, seconds, (uint)(rest * 100));
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            if (ticks == 0)
            {
                explicitZero |= 1u << (int)option;
                return 0;
            }
            return (ulong)Math.Ceiling(t.Value.TotalMilliseconds);
        }

        /// <summary>A flag option: null is "the default" (the C field's 0), true 1, false 0 with
        /// its bit in <paramref name="explicitZero"/>.</summary>
        private static uint Flag(bool? value, uint option, ref uint explicitZero)
        {
            if (!value.HasValue)
            {
                return 0;
            }
            if (!value.Value)
            {
                explicitZero |= 1u << (int)option;
                return 0;
            }
            return 1;
        }
    }
}
