//! Options for hosts and modules.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use std::path::PathBuf;
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
    pub(crate) fn validate(&self) -> Result<()> {
        if self.submit_threads == 0 || self.submit_threads > 256 {
            return Err(Error::InvalidArgument(
                "submit_threads must be 1..=256".into(),
            ));
        }
        if self.submit_queue_capacity == 0 || self.event_queue_capacity == 0 {
            return Err(Error::InvalidArgument(
                "queue capacities must be at least 1".into(),
            ));
        }
        if self.event_queue_bytes < MIN_EVENT_QUEUE_BYTES {
            return Err(Error::InvalidArgument(format!(
                "event_queue_bytes must be at least {MIN_EVENT_QUEUE_BYTES}"
            )));
        }
        Ok(())
    }
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
        if self.isolation == Isolation::InProcess {
            if self.call_timeout.is_some() {
                return bad("call_timeout requires process isolation (an in-process call cannot be interrupted)");
            }
            if self.memory_limit.is_some() {
                return bad("memory_limit requires process isolation");
            }
        }
        if self.workers == 0 || self.workers > 64 {
            return bad("workers must be 1..=64");
        }
        if let Some(t) = self.call_timeout {
            if t.is_zero() {
                return bad("call_timeout must be positive");
            }
        }
        if self.max_input > isize::MAX as usize || self.max_output > isize::MAX as usize {
            return bad("max_input/max_output must not exceed isize::MAX");
        }
        if self.config.len() > 16 << 20 {
            return bad("config must be at most 16 MiB");
        }
        Ok(())
    }
}
