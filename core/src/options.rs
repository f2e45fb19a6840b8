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
    /// Threads that run `submit`ted calls.
    pub submit_threads: usize,
    /// Queued submits beyond which `submit` fails with `Overloaded`.
    pub submit_queue_capacity: usize,
    /// Queued events beyond which new events are dropped (and counted).
    pub event_queue_capacity: usize,
    /// Prefix of the names of the threads the host starts.
    pub thread_name: String,
    /// Bytes of queued events (payloads plus a slot each, counting the
    /// batch being delivered) beyond which new events are dropped (and
    /// counted), like [`HostOptions::event_queue_capacity`]. Bounds the
    /// host's memory when events are large and subscribers slow.
    pub event_queue_bytes: usize,
}

/// Default [`HostOptions::event_queue_bytes`]: 64 MiB.
pub const DEFAULT_EVENT_QUEUE_BYTES: usize = 64 << 20;

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            module_dirs: Vec::new(),
            submit_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(2, 16),
            submit_queue_capacity: 4096,
            event_queue_capacity: 65536,
            thread_name: "bridgehost".to_string(),
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
