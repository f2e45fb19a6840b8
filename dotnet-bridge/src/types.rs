//! The C-visible types and constants (cbindgen reads this file).
//!
//! Layouts are `#[repr(C)]`; `tests/abi.rs` pins every size and offset so a
//! change here cannot silently break the .NET declarations or C callers.
#![forbid(unsafe_code)]

use std::ffi::{c_char, c_void};

/// Status of a fallible call: `BH_OK` (0) or `-kind`, where kind is the core
/// `ErrorKind` code (`BH_E_*`).
pub type bh_status = i32;

// Handles are one-field structs so that a C compiler tells them apart: passing
// a `bh_module` where a `bh_host` is expected does not compile
// (tests/c/handle_types_fail.c). Passed by value they are the same as a
// `uint64_t` in every calling convention we target (one INTEGER eightbyte on
// x86-64 SysV, a composite of at most 16 bytes in a general register on
// AArch64, an 8-byte struct in a register on Windows x64), which is why the
// .NET declarations keep `ulong` (docs/C_ABI.md "Handles").

/// A host (opaque, generation-checked id; `{0}` is never valid).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_host {
    /// The id; only the library interprets it.
    pub id: u64,
}
/// An open module (opaque id).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_module {
    /// The id; only the library interprets it.
    pub id: u64,
}
/// A resolved method (opaque id).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_method {
    /// The id; only the library interprets it.
    pub id: u64,
}
/// An output buffer owned by the library until `bh_buffer_free` (opaque id).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_buffer {
    /// The id; only the library interprets it.
    pub id: u64,
}
/// An event subscription (opaque id).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_subscription {
    /// The id; only the library interprets it.
    pub id: u64,
}
/// A submitted task (opaque id), retired when its completion runs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_task {
    /// The id; only the library interprets it.
    pub id: u64,
}

/// Memory the caller writes and isolated workers read in place, owned by the
/// library until `bh_shared_buffer_free` (opaque id).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct bh_shared_buffer {
    /// The id; only the library interprets it.
    pub id: u64,
}

/// The handle types' common form (the handle tables are generic over it).
pub trait Handle: Copy {
    /// Wrap a table id.
    fn from_id(id: u64) -> Self;
    /// The table id.
    fn id(self) -> u64;
}

macro_rules! handle {
    ($($t:ident),*) => {$(
        impl Handle for $t {
            #[inline]
            fn from_id(id: u64) -> Self {
                $t { id }
            }
            #[inline]
            fn id(self) -> u64 {
                self.id
            }
        }
    )*};
}
handle!(
    bh_host,
    bh_module,
    bh_method,
    bh_buffer,
    bh_subscription,
    bh_task,
    bh_shared_buffer
);

/// Success.
pub const BH_OK: bh_status = 0;
/// A bad argument: null pointer with a length, bad UTF-8, bad option, a value that is not a
/// handle of the expected type (NULL, garbage, another type's handle).
pub const BH_E_INVALID_ARGUMENT: bh_status = -1;
/// A module, method or topic does not exist.
pub const BH_E_NOT_FOUND: bh_status = -2;
/// A file is not a valid bridgehost module.
pub const BH_E_ABI_MISMATCH: bh_status = -3;
/// The module reported an error; `bh_last_error_detail()` is its code.
pub const BH_E_MODULE: bh_status = -4;
/// An isolated worker died from a signal; `bh_last_error_detail()` is the signal.
pub const BH_E_WORKER_CRASHED: bh_status = -5;
/// The call did not finish before its deadline.
pub const BH_E_TIMEOUT: bh_status = -6;
/// A size or memory limit was exceeded.
pub const BH_E_RESOURCE_LIMIT: bh_status = -7;
/// The host or module was closed, or the handle is retired (freed, unsubscribed, completed).
pub const BH_E_CLOSED: bh_status = -8;
/// The task was cancelled before it ran.
pub const BH_E_CANCELLED: bh_status = -9;
/// A bounded queue is full.
pub const BH_E_OVERLOADED: bh_status = -10;
/// A bug caught at the boundary (a panic, a broken invariant).
pub const BH_E_INTERNAL: bh_status = -11;
/// An isolated worker exited on its own; `bh_last_error_detail()` is the exit status.
pub const BH_E_WORKER_EXITED: bh_status = -12;
/// An isolated worker broke the transport protocol.
pub const BH_E_PROTOCOL: bh_status = -13;
/// Temporarily unavailable (circuit breaker open, or isolation not built).
pub const BH_E_UNAVAILABLE: bh_status = -14;
/// A caller buffer is too small; the size required is reported.
pub const BH_E_BUFFER_TOO_SMALL: bh_status = -15;
/// A stateful module's isolated worker was restarted since the previous call:
/// its state is gone. Reported once; this call did not run, the next runs
/// against a fresh instance.
pub const BH_E_STATE_LOST: bh_status = -16;

/// `bh_module_options.isolation`: run the module in the host process.
pub const BH_ISOLATION_IN_PROCESS: u32 = 0;
/// `bh_module_options.isolation`: run the module in sandboxed worker processes.
pub const BH_ISOLATION_PROCESS: u32 = 1;

/// `bh_inspect` flag: load the module into this process instead of a worker.
pub const BH_INSPECT_IN_PROCESS: u32 = 1;

/// `bh_inspect` description flag (bit 0): the module declared itself stateful.
pub const BH_INFO_STATEFUL: u32 = 1;
/// `bh_inspect` description flag (bit 1): the module embeds a typed interface.
pub const BH_INFO_TYPED: u32 = 2;

/// Log levels of `bh_set_log_callback`, most severe first.
pub const BH_LOG_ERROR: u32 = 0;
/// Warnings.
pub const BH_LOG_WARN: u32 = 1;
/// Information.
pub const BH_LOG_INFO: u32 = 2;
/// Debugging detail.
pub const BH_LOG_DEBUG: u32 = 3;
/// Per-call tracing.
pub const BH_LOG_TRACE: u32 = 4;

// Options checked by `bh_option_check` (the core's one rule per option,
// `bridgehost::options::Numeric` or `Span`; `bh_option_check` maps each id to its rule by
// name, never by position). The same ids name the fields' bits in `explicit_zero`. Ids are
// never renumbered; new ones are appended.
/// `bh_host_options.submit_threads`.
pub const BH_OPTION_SUBMIT_THREADS: u32 = 0;
/// `bh_host_options.submit_queue_capacity`.
pub const BH_OPTION_SUBMIT_QUEUE_CAPACITY: u32 = 1;
/// `bh_host_options.event_queue_capacity`.
pub const BH_OPTION_EVENT_QUEUE_CAPACITY: u32 = 2;
/// `bh_host_options.event_queue_bytes`.
pub const BH_OPTION_EVENT_QUEUE_BYTES: u32 = 3;
/// `bh_module_options.workers`.
pub const BH_OPTION_WORKERS: u32 = 4;
/// `bh_module_options.memory_limit`.
pub const BH_OPTION_MEMORY_LIMIT: u32 = 5;
/// `bh_module_options.max_input`.
pub const BH_OPTION_MAX_INPUT: u32 = 6;
/// `bh_module_options.max_output`.
pub const BH_OPTION_MAX_OUTPUT: u32 = 7;
/// `bh_module_options.max_event`.
pub const BH_OPTION_MAX_EVENT: u32 = 8;
/// The call timeout, in nanoseconds (`bh_module_options.call_timeout_ms`).
pub const BH_OPTION_CALL_TIMEOUT_NS: u32 = 9;
/// `bh_module_options.spare_workers`.
pub const BH_OPTION_SPARE_WORKERS: u32 = 10;
/// `bh_module_options.breaker_failures`.
pub const BH_OPTION_BREAKER_FAILURES: u32 = 11;
/// The breaker window, in nanoseconds (`bh_module_options.breaker_window_ms`).
pub const BH_OPTION_BREAKER_WINDOW_NS: u32 = 12;
/// The breaker cool-down, in nanoseconds (`bh_module_options.breaker_cooldown_ms`).
pub const BH_OPTION_BREAKER_COOLDOWN_NS: u32 = 13;
/// The worker start-up timeout, in nanoseconds (`bh_module_options.startup_timeout_ms`).
pub const BH_OPTION_STARTUP_TIMEOUT_NS: u32 = 14;
/// The close grace, in nanoseconds (`bh_module_options.close_grace_ms`).
pub const BH_OPTION_CLOSE_GRACE_NS: u32 = 15;
/// The CPU limit per worker, in nanoseconds (`bh_module_options.cpu_limit_ms`).
pub const BH_OPTION_CPU_LIMIT_NS: u32 = 16;
/// `bh_module_options.open_files`.
pub const BH_OPTION_OPEN_FILES: u32 = 17;
/// `bh_module_options.sandbox` (a flag: 0 or 1).
pub const BH_OPTION_SANDBOX: u32 = 18;

// The duration arguments of the waits a caller bounds, checked by `bh_wait_check` (the core's
// one rule for each, `bridgehost::options::Span::WAITS`). Never renumbered; new ones appended.
/// `bh_module_flush`'s `timeout_ms`: 0 up to one year (`UINT64_MAX` ms: no limit).
pub const BH_WAIT_FLUSH_TIMEOUT: u32 = 0;
/// `bh_inspect`'s `deadline_ms`: positive, at most one year (0 ms: the default).
pub const BH_WAIT_INSPECT_DEADLINE: u32 = 1;

/// Options of `bh_host_new`. All-zero fields mean "default";
/// `bh_host_options_default` fills the struct with the default values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bh_host_options {
    /// `sizeof(bh_host_options)`; an older header's is where one of its fields ends (32, 40, 56,
    /// 72, 76), any other size below 80 is `BH_E_INVALID_ARGUMENT` (docs/C_ABI.md, "Extending
    /// structs").
    pub struct_size: u32,
    /// Most threads running submitted calls at once, started on demand (0: default 64).
    pub submit_threads: u32,
    /// Queued submits beyond which `bh_submit` is `BH_E_OVERLOADED` (0: default 4096).
    pub submit_queue_capacity: u32,
    /// Queued events beyond which new events are dropped and counted (0: default 65536).
    pub event_queue_capacity: u32,
    /// Extra directory searched for bundled modules (bytes, not NUL-terminated); may be NULL.
    pub module_dir: *const c_char,
    /// Length of `module_dir` in bytes.
    pub module_dir_len: usize,
    /// Bytes of queued events beyond which new events are dropped and counted (0: default
    /// 64 MiB; at least 65536). Added after 0.1: a caller whose `struct_size` stops before it
    /// gets the default.
    pub event_queue_bytes: u64,
    /// Prefix of the names of the threads the host starts (UTF-8 bytes, not NUL-terminated);
    /// NULL or empty: default "bridgehost". Added after 0.1: a caller whose `struct_size`
    /// stops before it gets the default.
    pub thread_name: *const c_char,
    /// Length of `thread_name` in bytes.
    pub thread_name_len: usize,
    /// Directories searched for bundled modules, in order and after `module_dir`: their paths
    /// (bytes) each followed by one NUL byte ("dir1\0dir2\0"; the last NUL may be left out); may
    /// be NULL. An empty entry is `BH_E_INVALID_ARGUMENT`; every directory here and in
    /// `module_dir` must exist (`BH_E_NOT_FOUND` if not, `BH_E_INVALID_ARGUMENT` if it is not a
    /// directory). Added after 0.1: a caller whose `struct_size` stops before it gets none.
    pub module_dirs: *const c_char,
    /// Length of `module_dirs` in bytes.
    pub module_dirs_len: usize,
    /// Fields whose 0 is the value 0, not "default": bit `1 << BH_OPTION_X` for
    /// `submit_threads`, `submit_queue_capacity`, `event_queue_capacity` and `event_queue_bytes`
    /// (the core then judges the 0 as every runtime does: each of these refuses it). A bit for
    /// another option, for a field beyond `struct_size`, or for a field that is not 0, is
    /// `BH_E_INVALID_ARGUMENT`. Added after 0.1:
    /// a caller whose `struct_size` stops before it gets 0 (every 0 is "default").
    pub explicit_zero: u32,
    /// Must be 0.
    pub reserved: u32,
}

/// Options of `bh_module_open`. All-zero fields mean "default";
/// `bh_module_options_default` fills the struct with the default values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bh_module_options {
    /// `sizeof(bh_module_options)`; an older header's is where one of its fields ends (80, 88,
    /// 92, 96, 100, 104, 112, 120, 128, 136, 144, 148), any other size below 152 is
    /// `BH_E_INVALID_ARGUMENT` (docs/C_ABI.md, "Extending structs").
    pub struct_size: u32,
    /// `BH_ISOLATION_IN_PROCESS` (0) or `BH_ISOLATION_PROCESS` (1).
    pub isolation: u32,
    /// Worker processes (isolation only; 0: 1).
    pub workers: u32,
    /// Must be 0.
    pub reserved: u32,
    /// Per-call deadline in ms (isolation only; 0: none).
    pub call_timeout_ms: u64,
    /// Address-space limit of each worker in bytes (isolation only; 0: none).
    pub memory_limit: u64,
    /// Largest input accepted (0: default 256 MiB).
    pub max_input: u64,
    /// Largest output accepted (0: default 256 MiB).
    pub max_output: u64,
    /// Bytes passed to the module's init (copied); may be NULL when `config_len` is 0.
    pub config: *const u8,
    /// Length of `config`.
    pub config_len: usize,
    /// Worker executable (bytes, not NUL-terminated); may be NULL.
    pub worker_path: *const c_char,
    /// Length of `worker_path`.
    pub worker_path_len: usize,
    /// Largest event payload the module may emit (0: default 1 MiB). Added after 0.1: a caller
    /// whose `struct_size` stops before it gets the default.
    pub max_event: u64,
    /// In-process only: 1 loads and validates the module in a worker process first (a
    /// constructor that exits, crashes or hangs fails the open with a typed error instead of
    /// taking the host down; deadline 10 s); 0 (default) does not. Ignored for
    /// `BH_ISOLATION_PROCESS` (the module loads in a worker anyway). Added after 0.1, like
    /// `explicit_zero`.
    pub validate_in_worker: u32,
    /// Fields whose 0 is the value 0, not "default": bit `1 << BH_OPTION_X` for `workers`,
    /// `memory_limit`, `max_input`, `max_output`, `max_event`, `BH_OPTION_CALL_TIMEOUT_NS`
    /// (`call_timeout_ms`) and the supervision fields below (`BH_OPTION_SPARE_WORKERS` ..
    /// `BH_OPTION_SANDBOX`; a duration's bit is its `_NS` id). The core then judges the 0 as every
    /// runtime does: a 0-byte `max_input`, `max_output` or `max_event` is a valid limit (nothing
    /// may pass), 0 `spare_workers` keeps no spare, a 0 `close_grace_ms` kills calls in flight at
    /// close at once, a 0 `sandbox` turns the sandbox off; a 0 `workers`, `memory_limit`, call
    /// timeout, `breaker_failures`, `breaker_window_ms`, `breaker_cooldown_ms`,
    /// `startup_timeout_ms`, `cpu_limit_ms` or `open_files` is refused. A bit for another option,
    /// for a field beyond the caller's `struct_size` (a 96-byte struct has no supervision field to
    /// name), or for a field that is not 0, is `BH_E_INVALID_ARGUMENT`. Was `reserved2` (must be
    /// 0) in 0.1, so an older caller's 0 keeps its meaning.
    pub explicit_zero: u32,
    // Supervision of isolated workers (docs/ISOLATION.md, "Supervision settings"), appended
    // after `explicit_zero` (96 bytes before): a caller whose `struct_size` stops before them
    // gets the defaults. Ranges and messages are the core's; set to anything but the default
    // for an in-process module, each is refused ("cpu_limit requires process isolation"), except
    // `startup_timeout_ms` and `sandbox`, which `validate_in_worker` uses too.
    /// Warm spare workers kept beside the pool (0..=8; 0: default 1, explicit 0: none).
    pub spare_workers: u32,
    /// Worker failures with no success in between, within `breaker_window_ms`, that open the
    /// circuit breaker (1..=2^32-1; 0: default 5).
    pub breaker_failures: u32,
    /// The breaker's window in ms (positive, at most one year; 0: default 30 s).
    pub breaker_window_ms: u64,
    /// How long an open breaker refuses calls, in ms (doubling on each re-trip; positive, at most
    /// one year; 0: default 1 s).
    pub breaker_cooldown_ms: u64,
    /// Longest a worker may take to load the module and run its init, in ms (positive, at most
    /// one year; 0: default 10 s). Also the deadline of `validate_in_worker`'s worker.
    pub startup_timeout_ms: u64,
    /// At close, how long calls in flight may finish before their workers are killed (they then
    /// fail with `BH_E_CLOSED`), in ms (at most one year; 0: default 5 s, explicit 0: no grace).
    pub close_grace_ms: u64,
    /// CPU time each worker may use, in ms (RLIMIT_CPU, whole seconds: a fraction is dropped;
    /// at least 1 s, at most one year; 0: default one hour; `UINT64_MAX`: no limit, as for
    /// `bh_module_flush`'s `timeout_ms`: the worker keeps the hard limit it inherits). No limit
    /// is a change from the default, refused in-process ("cpu_limit requires process
    /// isolation").
    pub cpu_limit_ms: u64,
    /// Descriptors each worker may have open (RLIMIT_NOFILE; 16..=65536; 0: default 64).
    pub open_files: u32,
    /// The worker sandbox (seccomp filter, Landlock, no_new_privs): 1 on, 0 the default (on),
    /// 0 with its `explicit_zero` bit (`1 << BH_OPTION_SANDBOX`) off (only to debug a module
    /// that needs a forbidden system call); other values are `BH_E_INVALID_ARGUMENT`. Also
    /// rules `validate_in_worker`'s worker.
    pub sandbox: u32,
}

/// Counters of a host or module. The caller sets `struct_size`; the library
/// fills every whole field that fits in it (older, shorter structs keep working).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct bh_counters {
    /// Size of the caller's struct: `sizeof(bh_counters)`; an older header's ends where one of
    /// its fields ends (8, the header, plus whole counters: 16, 24, .., 152); any other size
    /// below 160, or one above 4096, is `BH_E_INVALID_ARGUMENT`. A newer header's larger
    /// struct gets zeros past this library's counters. Not written.
    pub struct_size: u32,
    /// Written 0.
    pub reserved: u32,
    /// Calls started (sync and async).
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Worker crashes.
    pub crashes: u64,
    /// Worker respawns.
    pub respawns: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Submits accepted.
    pub submits: u64,
    /// Submits cancelled before they ran.
    pub cancelled: u64,
    /// Events emitted and accepted.
    pub events_emitted: u64,
    /// Event deliveries to subscribers.
    pub events_delivered: u64,
    /// Events lost without the module being told (an isolated worker's event the full queue
    /// could not take); refusals are `events_refused`.
    pub events_dropped: u64,
    /// Callbacks that panicked or reported an error.
    pub callback_errors: u64,
    /// Calls whose latency was sampled.
    pub latency_samples: u64,
    /// Sum of sampled latencies, ns.
    pub latency_ns_total: u64,
    /// Largest sampled latency, ns.
    pub latency_ns_max: u64,
    /// Restarts of a stateful module's isolated worker reported to a caller
    /// as `BH_E_STATE_LOST` (appended: filled only when `struct_size` covers it).
    pub state_lost: u64,
    /// Emits refused to the module because the event queue was full (it was told and may retry).
    /// Added after 0.1, like every field below: a caller whose `struct_size` stops before a
    /// field does not get it.
    pub events_refused: u64,
    /// Deliveries that never happened because the subscription was unsubscribed, or its module or
    /// host closed, after the event was accepted (one per subscriber).
    pub events_discarded: u64,
    /// Bytes of isolated workers' output read but not logged: stderr beyond a few lines per
    /// second, log records beyond 1000 per second.
    pub worker_output_dropped: u64,
    /// Protocol violations of isolated workers blamed on no call (committed while idle, or
    /// before the call in flight): the worker was replaced, no call failed; not in `crashes`.
    pub unblamed_violations: u64,
}

/// Completion of `bh_submit`: runs exactly once, on a bridgehost pool thread
/// (or on the thread closing the host). On `BH_OK`, `data`/`len` is the output
/// (`data` never NULL) and `error` is NULL; otherwise `data` is NULL and
/// `error`/`error_len` is the UTF-8 message, `detail` as `bh_last_error_detail`.
/// Pointers are valid only during the callback. Must not unwind.
pub type bh_completion_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: bh_status,
        data: *const u8,
        len: usize,
        error: *const c_char,
        error_len: usize,
        detail: i64,
    ),
>;

/// Event delivery: runs on the host's dispatcher thread. `topic` is UTF-8
/// (not NUL-terminated); `data` is never NULL. Pointers are valid only during
/// the callback. Must not unwind.
pub type bh_event_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        topic: *const c_char,
        topic_len: usize,
        data: *const u8,
        len: usize,
    ),
>;

/// Log record: runs on whatever thread logged. `target` and `msg` are UTF-8,
/// not NUL-terminated, valid only during the callback. Must not unwind.
pub type bh_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: u32,
        target: *const c_char,
        target_len: usize,
        msg: *const c_char,
        msg_len: usize,
    ),
>;
