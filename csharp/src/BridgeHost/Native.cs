// Every P/Invoke declaration of the library, and the native structs and callback types, in one
// internal file. The contract is docs/C_ABI.md; the header dotnet-bridge/include/bridgehost.h.
//
// Type mapping (x86-64 / arm64 Linux, LP64):
//   bh_status          int32_t   -> int
//   size_t             size_t    -> UIntPtr        (never int: lengths are 64-bit on the C side)
//   uint32_t / int64_t           -> uint / long
//   handles  struct { uint64_t } -> a SafeHandle subclass (marshalled as its IntPtr value: see
//                                   BridgeHostHandle for why a 64-bit id fits) or ulong (tasks)
//   const char* / const uint8_t* -> byte*          (UTF-8, never NUL-terminated strings: every
//                                                   text crosses as pointer + length)
//   callbacks                    -> IntPtr         (a function pointer of a static delegate that
//                                                   lives for the whole process: Callbacks.cs)
//
// Pointers into managed memory are only ever produced by `fixed` in the caller, for exactly the
// one native call they are passed to; the C side copies whatever it needs later (contract
// "Inputs are borrowed only for the duration of the call").
using System;
using System.Runtime.InteropServices;

namespace BridgeHost
{
    internal static unsafe class Native
    {
        internal const string Library = "bridgehost";

        internal const int BH_OK = 0;
        internal const uint BH_TYPED_LIST_EXACT = 4;
        internal const int BH_E_INVALID_ARGUMENT = -1;
        internal const int BH_E_NOT_FOUND = -2;
        internal const int BH_E_CLOSED = -8;
        internal const int BH_E_BUFFER_TOO_SMALL = -15;

        internal const uint BH_METHOD_NONBLOCKING = 0x1;
        internal const uint BH_INSPECT_IN_PROCESS = 1;
        internal const uint BH_INFO_STATEFUL = 1;
        internal const uint BH_INFO_TYPED = 2;

        // ------------------------------------------------------------------ structs

        /// <summary>bh_host_options (0 fields mean "default" unless ExplicitZero names them).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct HostOptions
        {
            internal uint StructSize;
            internal uint SubmitThreads;
            internal uint SubmitQueueCapacity;
            internal uint EventQueueCapacity;
            internal byte* ModuleDir;
            internal UIntPtr ModuleDirLen;
            internal ulong EventQueueBytes;
            internal byte* ThreadName;
            internal UIntPtr ThreadNameLen;
            internal byte* ModuleDirs;
            internal UIntPtr ModuleDirsLen;
            internal uint ExplicitZero;
            internal uint Reserved;
        }

        /// <summary>bh_module_options (0 fields mean "default" unless ExplicitZero names them).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ModuleOptions
        {
            internal uint StructSize;
            internal uint Isolation;
            internal uint Workers;
            internal uint Reserved;
            internal ulong CallTimeoutMs;
            internal ulong MemoryLimit;
            internal ulong MaxInput;
            internal ulong MaxOutput;
            internal byte* Config;
            internal UIntPtr ConfigLen;
            internal byte* WorkerPath;
            internal UIntPtr WorkerPathLen;
            internal ulong MaxEvent;
            internal uint ValidateInWorker;
            internal uint ExplicitZero;
            // Supervision of isolated workers (appended after ExplicitZero, offset 96).
            internal uint SpareWorkers;
            internal uint BreakerFailures;
            internal ulong BreakerWindowMs;
            internal ulong BreakerCooldownMs;
            internal ulong StartupTimeoutMs;
            internal ulong CloseGraceMs;
            internal ulong CpuLimitMs;
            internal uint OpenFiles;
            internal uint Sandbox;
        }

        /// <summary>bh_counters: the caller sets StructSize; fields are filled up to it.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Counters
        {
            internal uint StructSize;
            internal uint Reserved;
            internal ulong Calls;
            internal ulong Errors;
            internal ulong Crashes;
            internal ulong Respawns;
            internal ulong Timeouts;
            internal ulong Submits;
            internal ulong Cancelled;
            internal ulong EventsEmitted;
            internal ulong EventsDelivered;
            internal ulong EventsDropped;
            internal ulong CallbackErrors;
            internal ulong LatencySamples;
            internal ulong LatencyNsTotal;
            internal ulong LatencyNsMax;
            internal ulong StateLost;
            internal ulong EventsRefused;
            internal ulong EventsDiscarded;
            internal ulong WorkerOutputDropped;
            internal ulong UnblamedViolations;
        }

        // ------------------------------------------------------------------ callback types
        // Cdecl, blittable parameters only. Instances are created once, in Callbacks.cs.

        /// <summary>bh_completion_fn</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void CompletionFn(
            IntPtr userData, int status, byte* data, UIntPtr len, byte* error, UIntPtr errorLen, long detail);

        /// <summary>bh_event_fn</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void EventFn(IntPtr userData, byte* topic, UIntPtr topicLen, byte* data, UIntPtr len);

        /// <summary>bh_log_fn</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogFn(
            IntPtr userData, uint level, byte* target, UIntPtr targetLen, byte* msg, UIntPtr msgLen);

        // ------------------------------------------------------------------ library

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern IntPtr bh_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern UIntPtr bh_last_error_message(byte* buf, UIntPtr cap);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern long bh_last_error_detail();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern ulong bh_debug_live_handles();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_set_log_callback(uint maxLevel, IntPtr cb, IntPtr userData);

        // ------------------------------------------------------------------ host

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_host_new(HostOptions* opts, out HostHandle host);

        // The core's one rule per option (bh_option_check in docs/C_ABI.md).
        internal const uint BH_OPTION_SUBMIT_THREADS = 0;
        internal const uint BH_OPTION_SUBMIT_QUEUE_CAPACITY = 1;
        internal const uint BH_OPTION_EVENT_QUEUE_CAPACITY = 2;
        internal const uint BH_OPTION_EVENT_QUEUE_BYTES = 3;
        internal const uint BH_OPTION_WORKERS = 4;
        internal const uint BH_OPTION_MEMORY_LIMIT = 5;
        internal const uint BH_OPTION_MAX_INPUT = 6;
        internal const uint BH_OPTION_MAX_OUTPUT = 7;
        internal const uint BH_OPTION_MAX_EVENT = 8;
        internal const uint BH_OPTION_CALL_TIMEOUT_NS = 9;
        internal const uint BH_OPTION_SPARE_WORKERS = 10;
        internal const uint BH_OPTION_BREAKER_FAILURES = 11;
        internal const uint BH_OPTION_BREAKER_WINDOW_NS = 12;
        internal const uint BH_OPTION_BREAKER_COOLDOWN_NS = 13;
        internal const uint BH_OPTION_STARTUP_TIMEOUT_NS = 14;
        internal const uint BH_OPTION_CLOSE_GRACE_NS = 15;
        internal const uint BH_OPTION_CPU_LIMIT_NS = 16;
        internal const uint BH_OPTION_OPEN_FILES = 17;
        internal const uint BH_OPTION_SANDBOX = 18;

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_option_check(uint option, long value);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_option_check_duration(uint option, long seconds, uint nanoseconds);

        internal const uint BH_WAIT_FLUSH_TIMEOUT = 0;
        internal const uint BH_WAIT_INSPECT_DEADLINE = 1;

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_wait_check(uint wait, long seconds, uint nanoseconds);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_host_options_default(HostOptions* opts);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_options_default(ModuleOptions* opts);

        // Takes the raw id: called from HostHandle.ReleaseHandle, when the SafeHandle is closing.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_host_free(ulong host);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_host_counters(HostHandle host, Counters* counters);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_host_add_module_dir(HostHandle host, byte* dir, UIntPtr dirLen);

        // ------------------------------------------------------------------ module

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_open(
            HostHandle host, byte* spec, UIntPtr specLen, ModuleOptions* opts, out ModuleHandle module);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_inspect(
            HostHandle host, byte* spec, UIntPtr specLen, ulong deadlineMs, uint flags, out BufferHandle description);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_free(ulong module);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_counters(ModuleHandle module, Counters* counters);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_name(ModuleHandle module, byte* buf, UIntPtr cap, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_version(ModuleHandle module, byte* buf, UIntPtr cap, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_path(ModuleHandle module, byte* buf, UIntPtr cap, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_interface(ModuleHandle module, byte* buf, UIntPtr cap, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_check_binding(ModuleHandle module, byte* wit, UIntPtr witLen);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_thread_model(ModuleHandle module, out uint model);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_method_count(ModuleHandle module, out uint count);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_method_name(
            ModuleHandle module, uint index, byte* buf, UIntPtr cap, out UIntPtr len, out uint flags);

        // ------------------------------------------------------------------ method

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_method_resolve(
            ModuleHandle module, byte* name, UIntPtr nameLen, out MethodHandle method);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_method_free(ulong method);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_method_flags(MethodHandle method, out uint flags);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_method_scalar_signature(MethodHandle method, byte* buf, UIntPtr cap, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_call(MethodHandle method, byte* input, UIntPtr inputLen, out BufferHandle output);

        // The two synchronous calls take the method's id, not its MethodHandle: the one deliberate
        // exception to "handles are passed as SafeHandles". The marshaller's add-ref/release around
        // a SafeHandle argument is two interlocked operations per call (measured: +10 ns on CoreCLR,
        // +19 ns on Mono, a quarter of a 16-byte echo), and what it guards against cannot happen to
        // a bh_method id: the native table is generation-checked, so a freed id is refused
        // (BH_E_CLOSED, a retired id; never another method), and a free that races a call in flight
        // waits for nothing and frees nothing the call uses (docs/C_ABI.md "Handles"). Method keeps
        // itself, and so its MethodHandle, reachable across the call (GC.KeepAlive), so the
        // finalizer cannot free the id mid-call either. docs/DOTNET.md "Method ids" has the argument,
        // LifecycleTests the races.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_call_into(
            ulong method, byte* input, UIntPtr inputLen, byte* output, UIntPtr outputCap, out UIntPtr outputLen);

        // `spill` is a raw id, not an `out BufferHandle`: the marshaller would allocate a finalizable
        // SafeHandle on every call, although almost every output fits the caller's buffer. A non-zero
        // id is wrapped in a BufferHandle at once (Method.TakeSpill).
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_call_spill(
            ulong method, byte* input, UIntPtr inputLen, byte* output, UIntPtr outputCap, out UIntPtr outputLen,
            out ulong spill);

        // bh_call_spill under a typed binding (Method.CallTyped): flags BH_TYPED_LIST_INPUT (1) /
        // BH_TYPED_LIST_OUTPUT (2) / BH_TYPED_LIST_EXACT (4: the list's bytes alone into `output`
        // when it holds exactly outputCap of them, else everything spilled); outputSkip is where
        // the list's bytes start in the output.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_call_typed(
            ulong method, byte* input, UIntPtr inputLen, uint flags, byte* output, UIntPtr outputCap,
            out UIntPtr outputLen, out UIntPtr outputSkip, out ulong spill);

        // A direct call (Method.CallScalar): one 64-bit slot per argument, the result's slot. The
        // method's id, as bh_call_into: no SafeHandle add-ref/release per call.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_call_scalar(ulong method, ulong* args, UIntPtr nargs, out ulong result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_submit(
            MethodHandle method, byte* input, UIntPtr inputLen, IntPtr cb, IntPtr userData, out ulong task);

        // `task` may be NULL: no task handle is created (nothing to cancel, no handle-table churn).
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true, EntryPoint = "bh_submit")]
        internal static extern int bh_submit_untracked(
            MethodHandle method, byte* input, UIntPtr inputLen, IntPtr cb, IntPtr userData, ulong* task);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_task_cancel(ulong task, out int cancelled);

        // ------------------------------------------------------------------ buffer

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_buffer_data(BufferHandle buffer, out byte* data, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_buffer_free(ulong buffer);

        // ------------------------------------------------------------------ shared buffer

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_shared_buffer_new(UIntPtr len, out SharedBufferHandle buffer);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_shared_buffer_check_length(long len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_shared_buffer_data(SharedBufferHandle buffer, out byte* data, out UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_shared_buffer_free(ulong buffer);

        // ------------------------------------------------------------------ events

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_subscribe(
            ModuleHandle module, byte* topic, UIntPtr topicLen, IntPtr cb, IntPtr userData,
            out SubscriptionHandle subscription);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_unsubscribe(ulong subscription);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int bh_module_flush(ModuleHandle module, ulong timeoutMs);
    }
}
