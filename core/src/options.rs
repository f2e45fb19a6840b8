//! Options for hosts and modules.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a module's code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// In the host process (fastest; the module is trusted).
    #[default]
    InProcess,
    /// In sandboxed, supervised worker processes.
    Process,
}

impl Isolation {
    /// Stable name (`"in-process"`, `"process"`).
    pub fn name(self) -> &'static str {
        match self {
            Isolation::InProcess => "in-process",
            Isolation::Process => "process",
        }
    }
}

/// Options of a [`crate::Host`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Extra directories searched for bundled modules (before
    /// `BRIDGEHOST_MODULE_PATH` and the bridge library's own directory).
    /// Each must be an existing directory when the host is created, checked
    /// by [`check_module_dir`] like [`crate::Host::add_module_dir`]; the host
    /// keeps them as absolute paths.
    pub module_dirs: Vec<PathBuf>,
    /// Most threads running `submit`ted calls at once (1..=256; default
    /// [`DEFAULT_SUBMIT_THREADS`]). Threads start on demand and exit after
    /// being idle (see [`HostOptions::default`]).
    pub submit_threads: usize,
    /// Queued submits beyond which `submit` fails with `Overloaded`
    /// (default [`DEFAULT_SUBMIT_QUEUE_CAPACITY`]).
    pub submit_queue_capacity: usize,
    /// Queued events beyond which new events are dropped (and counted)
    /// (default [`DEFAULT_EVENT_QUEUE_CAPACITY`]).
    pub event_queue_capacity: usize,
    /// Prefix of the names of the threads the host starts.
    pub thread_name: String,
    /// Bytes of queued events (payloads plus a slot each, counting the
    /// batch being delivered) beyond which new events are dropped (and
    /// counted), like [`HostOptions::event_queue_capacity`]. Bounds the
    /// host's memory when events are large and subscribers slow.
    pub event_queue_bytes: usize,
}

/// Default [`HostOptions::submit_threads`]: 64.
///
/// Submitted calls are blocking native work (a codec, a vendor SDK waiting on
/// a device or the network, an isolated call waiting on its worker): a pool
/// thread mostly waits, so the pool is sized by how many calls may wait at
/// once, not by cores (the old default, the core count clamped to 2..=16,
/// gave 2 threads on a 2-core machine: 1,000 submitted 20 ms sleeps took
/// 10 s; with 64 they take about 0.3 s). Threads cost nothing until used:
/// the pool starts one thread and adds one whenever a task is queued while
/// none is idle, and a thread idle for 10 s exits (one stays). CPU-bound
/// work gains nothing beyond the core count: set it lower for such hosts.
pub const DEFAULT_SUBMIT_THREADS: usize = 64;
/// Default [`HostOptions::submit_queue_capacity`]: 4096 queued submits.
pub const DEFAULT_SUBMIT_QUEUE_CAPACITY: usize = 4096;
/// Default [`HostOptions::event_queue_capacity`]: 65,536 queued events.
pub const DEFAULT_EVENT_QUEUE_CAPACITY: usize = 65536;
/// Default [`HostOptions::thread_name`].
pub const DEFAULT_THREAD_NAME: &str = "bridgehost";
/// Default [`HostOptions::event_queue_bytes`]: 64 MiB.
pub const DEFAULT_EVENT_QUEUE_BYTES: usize = 64 << 20;

impl Default for HostOptions {
    /// No extra module directory, [`DEFAULT_SUBMIT_THREADS`],
    /// [`DEFAULT_SUBMIT_QUEUE_CAPACITY`], [`DEFAULT_EVENT_QUEUE_CAPACITY`],
    /// [`DEFAULT_THREAD_NAME`].
    fn default() -> Self {
        HostOptions {
            module_dirs: Vec::new(),
            submit_threads: DEFAULT_SUBMIT_THREADS,
            submit_queue_capacity: DEFAULT_SUBMIT_QUEUE_CAPACITY,
            event_queue_capacity: DEFAULT_EVENT_QUEUE_CAPACITY,
            thread_name: DEFAULT_THREAD_NAME.to_string(),
            event_queue_bytes: DEFAULT_EVENT_QUEUE_BYTES,
        }
    }
}

impl HostOptions {
    /// Check every option; the module directories become absolute paths.
    pub(crate) fn validate(&mut self) -> Result<()> {
        for (i, dir) in self.module_dirs.iter_mut().enumerate() {
            *dir = check_module_dir(dir, &format!("module_dirs: entry {}", i + 1))?;
        }
        Numeric::SubmitThreads.check(self.submit_threads as i128)?;
        Numeric::SubmitQueueCapacity.check(self.submit_queue_capacity as i128)?;
        Numeric::EventQueueCapacity.check(self.event_queue_capacity as i128)?;
        Numeric::EventQueueBytes.check(self.event_queue_bytes as i128)?;
        check_thread_name(&self.thread_name)?;
        Ok(())
    }
}

/// The one rule for a directory searched for modules by name, applied to
/// every [`HostOptions::module_dirs`] entry and by
/// [`crate::Host::add_module_dir`]; `what` names it in the error ("module
/// directory", "module_dirs: entry 2"). An empty path or one holding NUL is
/// `InvalidArgument`; a missing one `NotFound`; one that is not a directory
/// (or cannot be examined) `InvalidArgument`. Returns the absolute path.
pub fn check_module_dir(path: &Path, what: &str) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::InvalidArgument(format!("{what} is empty")));
    }
    if path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(Error::InvalidArgument(format!("{what}: path contains NUL")));
    }
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::NotFound(format!("{what} {}: no such directory", path.display()))
        }
        _ => Error::InvalidArgument(format!("{what} {}: {e}", path.display())),
    })?;
    if !meta.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{what} {}: not a directory",
            path.display()
        )));
    }
    std::path::absolute(path)
        .map_err(|e| Error::InvalidArgument(format!("{what} {}: {e}", path.display())))
}

/// A numeric option as every front end sets it: the one place its range is
/// decided. A front end hands over the caller's integer as it came, any
/// width and sign (Java `int`/`long`, Python `int`, C# `long`, C's unsigned
/// fields) as an `i128`, after mapping its own "unset" spelling (`null`, a
/// missing keyword, `0` or `-1` where its docs say so) to the default; the
/// core checks the range and names the option in the error, so a bad value
/// reads the same in every runtime. [`HostOptions`] and [`ModuleOptions`]
/// are checked against the same ranges when a host is created or a module
/// opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numeric {
    /// [`HostOptions::submit_threads`]: 1..=256.
    SubmitThreads,
    /// [`HostOptions::submit_queue_capacity`]: 1..=2^32-1.
    SubmitQueueCapacity,
    /// [`HostOptions::event_queue_capacity`]: 1..=2^32-1.
    EventQueueCapacity,
    /// [`HostOptions::event_queue_bytes`]: [`MIN_EVENT_QUEUE_BYTES`]..=`usize::MAX`.
    EventQueueBytes,
    /// [`ModuleOptions::workers`]: 1..=64.
    Workers,
    /// [`ModuleOptions::memory_limit`]: 1..=2^64-1 bytes.
    MemoryLimit,
    /// [`ModuleOptions::max_input`]: 0..=`isize::MAX`.
    MaxInput,
    /// [`ModuleOptions::max_output`]: 0..=`isize::MAX`.
    MaxOutput,
    /// [`ModuleOptions::max_event`]: 0..=`isize::MAX`.
    MaxEvent,
    /// [`Supervision::spare_workers`](crate::isolation::Supervision::spare_workers): 0..=8.
    SpareWorkers,
    /// [`Supervision::breaker_failures`](crate::isolation::Supervision::breaker_failures): 1..=2^32-1.
    BreakerFailures,
    /// [`Supervision::open_files`](crate::isolation::Supervision::open_files): 16..=65536.
    OpenFiles,
}

impl Numeric {
    /// Every numeric option (new ones are appended: the C ABI's
    /// `BH_OPTION_*` ids 0..=8 are the first nine).
    pub const ALL: [Numeric; 12] = [
        Numeric::SubmitThreads,
        Numeric::SubmitQueueCapacity,
        Numeric::EventQueueCapacity,
        Numeric::EventQueueBytes,
        Numeric::Workers,
        Numeric::MemoryLimit,
        Numeric::MaxInput,
        Numeric::MaxOutput,
        Numeric::MaxEvent,
        Numeric::SpareWorkers,
        Numeric::BreakerFailures,
        Numeric::OpenFiles,
    ];

    /// The option's name in the core and in docs/SYMMETRY.md (`"max_input"`).
    pub const fn name(self) -> &'static str {
        match self {
            Numeric::SubmitThreads => "submit_threads",
            Numeric::SubmitQueueCapacity => "submit_queue_capacity",
            Numeric::EventQueueCapacity => "event_queue_capacity",
            Numeric::EventQueueBytes => "event_queue_bytes",
            Numeric::Workers => "workers",
            Numeric::MemoryLimit => "memory_limit",
            Numeric::MaxInput => "max_input",
            Numeric::MaxOutput => "max_output",
            Numeric::MaxEvent => "max_event",
            Numeric::SpareWorkers => "spare_workers",
            Numeric::BreakerFailures => "breaker_failures",
            Numeric::OpenFiles => "open_files",
        }
    }

    /// The accepted values, inclusive.
    pub const fn range(self) -> (u64, u64) {
        const SIZE_MAX: u64 = isize::MAX as u64;
        match self {
            Numeric::SubmitThreads => (1, 256),
            Numeric::SubmitQueueCapacity | Numeric::EventQueueCapacity => (1, u32::MAX as u64),
            // A bound, not an allocation: any value from the minimum up is accepted.
            Numeric::EventQueueBytes => (MIN_EVENT_QUEUE_BYTES as u64, usize::MAX as u64),
            Numeric::Workers => (1, 64),
            Numeric::MemoryLimit => (1, u64::MAX),
            Numeric::MaxInput | Numeric::MaxOutput | Numeric::MaxEvent => (0, SIZE_MAX),
            Numeric::SpareWorkers => (0, 8),
            Numeric::BreakerFailures => (1, u32::MAX as u64),
            Numeric::OpenFiles => (16, 65536),
        }
    }

    /// `value` if it is in [`Numeric::range`], else `InvalidArgument`
    /// ("workers must be in 1..=64, got -1").
    pub fn check(self, value: i128) -> Result<u64> {
        let (lo, hi) = self.range();
        if value >= i128::from(lo) && value <= i128::from(hi) {
            Ok(value as u64)
        } else {
            Err(self.refuse(value))
        }
    }

    /// The error for a value out of range, shown as `got` (for a front-end
    /// value too large even for an `i128`, shown as the caller wrote it).
    pub fn refuse(self, got: impl std::fmt::Display) -> Error {
        let (lo, hi) = self.range();
        Error::InvalidArgument(format!("{} must be in {lo}..={hi}, got {got}", self.name()))
    }

    /// [`Numeric::check`] for a `usize` option field (its range always fits).
    pub fn check_usize(self, value: i128) -> Result<usize> {
        self.check(value).map(|v| v as usize)
    }
}

/// The longest duration a front end may set for any [`Span`]: one year
/// (anything longer is a mistake, and would overflow deadlines).
pub const MAX_SPAN: Duration = Duration::from_secs(365 * 86400);

/// The longest call timeout a front end may set ([`MAX_SPAN`]).
pub const MAX_CALL_TIMEOUT: Duration = MAX_SPAN;

/// A duration option as every front end sets it: the one place its range is
/// decided, as [`Numeric`] is for counts and sizes. A front end converts the
/// caller's value to nanoseconds exactly or rounding up (Java `Duration`,
/// Python seconds, C# `TimeSpan`, C milliseconds), as an `i128`, and the
/// core checks it and names the option in the error.
///
/// The duration arguments of the two waits a caller bounds, [`Span::FlushTimeout`] and
/// [`Span::InspectDeadline`] ([`Span::WAITS`]), have their one rule here too: the core
/// applies it in [`crate::Module::flush`] and [`crate::Host::inspect`], and every front end
/// hands the caller's value to it as it came, so one is refused with the same message in every
/// runtime ("flush timeout must be at most one year, got -1000000 ns").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// [`ModuleOptions::call_timeout`]: positive, at most [`MAX_SPAN`].
    CallTimeout,
    /// [`Supervision::breaker_window`](crate::isolation::Supervision::breaker_window): positive, at most [`MAX_SPAN`].
    BreakerWindow,
    /// [`Supervision::breaker_cooldown`](crate::isolation::Supervision::breaker_cooldown): positive, at most [`MAX_SPAN`].
    BreakerCooldown,
    /// [`Supervision::startup_timeout`](crate::isolation::Supervision::startup_timeout): positive, at most [`MAX_SPAN`].
    StartupTimeout,
    /// [`Supervision::close_grace`](crate::isolation::Supervision::close_grace): 0 (calls in flight are
    /// killed at once) up to [`MAX_SPAN`].
    CloseGrace,
    /// [`Supervision::cpu_limit`](crate::isolation::Supervision::cpu_limit): 1 s up to [`MAX_SPAN`].
    CpuLimit,
    /// The `timeout` of [`crate::Module::flush`] (not an option: an argument): 0 (what was
    /// delivered already, without waiting) up to [`MAX_SPAN`]. "No limit" is spelled apart
    /// and never judged here: `Duration::MAX` in Rust, `None`/`null` in Python, Java and C#,
    /// `UINT64_MAX` ms in C.
    FlushTimeout,
    /// The `deadline` of [`crate::Host::inspect`] (an argument): positive, at most
    /// [`MAX_SPAN`]. Unset (`None`/`null`, C's 0 ms) is the default, never judged here.
    InspectDeadline,
}

impl Span {
    /// Every duration option of a module (the C ABI's `BH_OPTION_*_NS` ids); the wait
    /// arguments are [`Span::WAITS`].
    pub const ALL: [Span; 6] = [
        Span::CallTimeout,
        Span::BreakerWindow,
        Span::BreakerCooldown,
        Span::StartupTimeout,
        Span::CloseGrace,
        Span::CpuLimit,
    ];

    /// The duration arguments of a wait (docs/SYMMETRY.md's `wait` rows).
    pub const WAITS: [Span; 2] = [Span::FlushTimeout, Span::InspectDeadline];

    /// The option's name in the core and in docs/SYMMETRY.md (`"close_grace"`); for a wait
    /// argument, the words its messages use (`"flush timeout"`; its docs/SYMMETRY.md item is
    /// `flush_timeout`).
    pub const fn name(self) -> &'static str {
        match self {
            Span::CallTimeout => "call_timeout",
            Span::BreakerWindow => "breaker_window",
            Span::BreakerCooldown => "breaker_cooldown",
            Span::StartupTimeout => "startup_timeout",
            Span::CloseGrace => "close_grace",
            Span::CpuLimit => "cpu_limit",
            Span::FlushTimeout => "flush timeout",
            Span::InspectDeadline => "inspect deadline",
        }
    }

    /// The accepted durations, inclusive.
    pub const fn range(self) -> (Duration, Duration) {
        match self {
            Span::CallTimeout
            | Span::BreakerWindow
            | Span::BreakerCooldown
            | Span::StartupTimeout
            | Span::InspectDeadline => (Duration::from_nanos(1), MAX_SPAN),
            Span::CloseGrace | Span::FlushTimeout => (Duration::ZERO, MAX_SPAN),
            Span::CpuLimit => (Duration::from_secs(1), MAX_SPAN),
        }
    }

    /// `nanos` as a `Duration` if it is in [`Span::range`], else
    /// `InvalidArgument` ("close_grace must be at most one year, got -1 ns").
    pub fn from_nanos(self, nanos: i128) -> Result<Duration> {
        let (lo, hi) = self.range();
        if nanos >= lo.as_nanos() as i128 && nanos <= hi.as_nanos() as i128 {
            Ok(Duration::from_nanos(nanos as u64))
        } else {
            Err(self.refuse(format!("{nanos} ns")))
        }
    }

    /// [`Span::from_nanos`] of a `Duration` a Rust caller set.
    pub fn check(self, d: Duration) -> Result<Duration> {
        self.from_nanos(d.as_nanos().try_into().unwrap_or(i128::MAX))
    }

    /// The error for a duration out of range, shown as `got`.
    pub fn refuse(self, got: impl std::fmt::Display) -> Error {
        let rule = match self.range().0.as_nanos() {
            0 => "at most one year",
            1 => "positive and at most one year",
            _ => "at least 1 s and at most one year",
        };
        Error::InvalidArgument(format!("{} must be {rule}, got {got}", self.name()))
    }
}

/// Longest [`HostOptions::thread_name`], in bytes.
pub const MAX_THREAD_NAME: usize = 32;

/// [`HostOptions::thread_name`]: 1..=[`MAX_THREAD_NAME`] bytes without NUL,
/// else `InvalidArgument`.
pub fn check_thread_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_THREAD_NAME || name.contains('\0') {
        return Err(Error::InvalidArgument(format!(
            "thread_name must be 1..={MAX_THREAD_NAME} bytes without NUL, got {} bytes",
            name.len()
        )));
    }
    Ok(())
}

/// Smallest [`HostOptions::event_queue_bytes`] accepted: 64 KiB.
pub const MIN_EVENT_QUEUE_BYTES: usize = 64 << 10;

/// Default maximum input and output size: 256 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 256 << 20;
/// Default maximum event payload: 1 MiB.
pub const DEFAULT_MAX_EVENT: usize = 1 << 20;

/// Options of a [`crate::Module`].
#[derive(Debug, Clone)]
pub struct ModuleOptions {
    /// In-process (default) or isolated in worker processes.
    pub isolation: Isolation,
    /// Worker processes (isolation only).
    pub workers: usize,
    /// Per-call deadline (isolation only: an in-process call cannot be
    /// interrupted, so setting it in-process is an `InvalidArgument`).
    pub call_timeout: Option<Duration>,
    /// Address-space limit of each worker, bytes (isolation only).
    pub memory_limit: Option<u64>,
    /// Largest input accepted.
    pub max_input: usize,
    /// Largest output accepted (enforced while the module writes).
    pub max_output: usize,
    /// Largest event payload accepted from the module.
    pub max_event: usize,
    /// Bytes passed to the module's `init`.
    pub config: Vec<u8>,
    /// Worker executable (isolation only); default: `BRIDGEHOST_WORKER`, then
    /// `bridgehost-worker` beside the bridge library.
    pub worker_path: Option<PathBuf>,
    /// Supervision and sandbox settings (isolation only).
    pub supervision: crate::isolation::Supervision,
    /// In-process only: before loading the module into this process,
    /// load and validate it in a worker process first ([`crate::validate`]),
    /// so a module whose constructors or entry function exit, crash or hang
    /// fails `open` with a typed error instead of taking the host down.
    /// It cannot protect against code that behaves differently the second
    /// time (see docs/ISOLATION.md). Uses `worker_path` and
    /// `supervision.startup_timeout` (the deadline) and `sandbox`.
    pub validate_in_worker: bool,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        ModuleOptions {
            isolation: Isolation::InProcess,
            workers: 1,
            call_timeout: None,
            memory_limit: None,
            max_input: DEFAULT_MAX_PAYLOAD,
            max_output: DEFAULT_MAX_PAYLOAD,
            max_event: DEFAULT_MAX_EVENT,
            config: Vec::new(),
            worker_path: None,
            supervision: crate::isolation::Supervision::default(),
            validate_in_worker: false,
        }
    }
}

impl ModuleOptions {
    /// In-process defaults.
    pub fn in_process() -> Self {
        Self::default()
    }

    /// Isolated defaults (one worker).
    pub fn isolated() -> Self {
        ModuleOptions {
            isolation: Isolation::Process,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidArgument(m.to_string()));
        // Ranges first, in every mode: a value out of range reads the same
        // whatever the isolation (the front ends check them before this).
        self.supervision.validate()?;
        if self.isolation == Isolation::InProcess {
            if self.call_timeout.is_some() {
                return bad("call_timeout requires process isolation (an in-process call cannot be interrupted)");
            }
            if self.memory_limit.is_some() {
                return bad("memory_limit requires process isolation");
            }
            // Set to anything but its default, a worker's setting would be
            // ignored in-process: refused, as memory_limit is.
            if let Some(name) = self.supervision.worker_only_changes().first() {
                return Err(Error::InvalidArgument(format!(
                    "{name} requires process isolation"
                )));
            }
            if !self.validate_in_worker {
                if let Some(name) = self.supervision.validation_changes().first() {
                    return Err(Error::InvalidArgument(format!(
                        "{name} requires process isolation or validate_in_worker"
                    )));
                }
            }
        }
        Numeric::Workers.check(self.workers as i128)?;
        if let Some(t) = self.call_timeout {
            Span::CallTimeout.check(t)?;
        }
        if let Some(m) = self.memory_limit {
            Numeric::MemoryLimit.check(i128::from(m))?;
        }
        Numeric::MaxInput.check(self.max_input as i128)?;
        Numeric::MaxOutput.check(self.max_output as i128)?;
        Numeric::MaxEvent.check(self.max_event as i128)?;
        if self.config.len() > 16 << 20 {
            return bad("config must be at most 16 MiB");
        }
        if let Some(p) = &self.worker_path {
            // Refused here, in every mode and before any file is looked at,
            // not found later as "no such worker": a path no system call
            // can take is a wrong argument.
            if p.as_os_str().is_empty() {
                return bad("worker_path is empty");
            }
            if p.as_os_str().as_encoded_bytes().contains(&0) {
                return bad("worker_path: path contains NUL");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `worker_path` holding NUL or empty is a wrong argument in every mode,
    /// before any file is looked at (the front ends leave the rule here).
    #[test]
    fn a_worker_path_no_system_call_can_take_is_invalid() {
        for iso in [Isolation::InProcess, Isolation::Process] {
            for (path, why) in [
                ("", "worker_path is empty"),
                ("a\0b", "worker_path: path contains NUL"),
            ] {
                let o = ModuleOptions {
                    isolation: iso,
                    worker_path: Some(PathBuf::from(path)),
                    ..ModuleOptions::default()
                };
                let e = o.validate().unwrap_err();
                assert_eq!(e.to_string(), format!("invalid argument: {why}"));
            }
        }
        let o = ModuleOptions {
            worker_path: Some(PathBuf::from("/no/such/worker")),
            ..ModuleOptions::default()
        };
        assert!(
            o.validate().is_ok(),
            "a missing file is found missing later, not refused here"
        );
    }

    /// Each duration option's refusal names that option and no other (a docs-only client
    /// saw `startup_timeout` and `call_timeout` refused with one message), for a value below
    /// and above its range, and states the range it was judged by.
    #[test]
    fn each_span_refusal_names_its_own_option() {
        let mut seen = std::collections::BTreeSet::new();
        let every: Vec<Span> = Span::ALL.into_iter().chain(Span::WAITS).collect();
        for &span in &every {
            let (lo, hi) = span.range();
            for got in [lo.as_nanos() as i128 - 1, hi.as_nanos() as i128 + 1] {
                let msg = span.from_nanos(got).unwrap_err().to_string();
                assert!(
                    msg.starts_with(&format!("invalid argument: {} must be ", span.name())),
                    "{msg}"
                );
                assert!(msg.ends_with(&format!(", got {got} ns")), "{msg}");
                for other in every.iter().filter(|o| **o != span) {
                    assert!(!msg.contains(other.name()), "{msg} names {}", other.name());
                }
                assert!(
                    seen.insert(msg.clone()),
                    "{msg} is another option's message too"
                );
            }
        }
        assert_eq!(
            Span::StartupTimeout.from_nanos(0).unwrap_err().to_string(),
            "invalid argument: startup_timeout must be positive and at most one year, got 0 ns"
        );
        assert_eq!(
            Span::CallTimeout.from_nanos(0).unwrap_err().to_string(),
            "invalid argument: call_timeout must be positive and at most one year, got 0 ns"
        );
        assert_eq!(
            Span::CallTimeout
                .check(Duration::MAX)
                .unwrap_err()
                .to_string(),
            format!(
                "invalid argument: call_timeout must be positive and at most one year, got {} ns",
                Duration::MAX.as_nanos()
            )
        );
    }

    /// The wait arguments' rules: flush timeout 0..=one year, inspect deadline positive and
    /// at most one year, each refusal naming the value given.
    #[test]
    fn wait_arguments_have_one_rule_each() {
        assert_eq!(Span::FlushTimeout.from_nanos(0).unwrap(), Duration::ZERO);
        assert_eq!(Span::FlushTimeout.check(MAX_SPAN).unwrap(), MAX_SPAN);
        assert_eq!(
            Span::FlushTimeout.from_nanos(-1).unwrap_err().to_string(),
            "invalid argument: flush timeout must be at most one year, got -1 ns"
        );
        assert_eq!(
            Span::FlushTimeout
                .check(MAX_SPAN + Duration::from_nanos(1))
                .unwrap_err()
                .to_string(),
            "invalid argument: flush timeout must be at most one year, got 31536000000000001 ns"
        );
        assert_eq!(
            Span::InspectDeadline.from_nanos(1).unwrap(),
            Duration::from_nanos(1)
        );
        assert_eq!(
            Span::InspectDeadline.from_nanos(0).unwrap_err().to_string(),
            "invalid argument: inspect deadline must be positive and at most one year, got 0 ns"
        );
        assert_eq!(
            Span::InspectDeadline
                .from_nanos(i128::from(u64::MAX) * 1_000_000)
                .unwrap_err()
                .kind(),
            crate::ErrorKind::InvalidArgument
        );
    }
}
