//! How a worker died, and what that means for the call it was serving: the
//! kill reasons the host records, the supervisor's record of a death, and
//! [`classify`], which turns a death into the call's typed error (a crash,
//! an exit, a resource limit, a timeout, a protocol violation).
#![forbid(unsafe_code)]

use super::super::protocol::LastWords;
use super::super::sys::{self, ExitInfo, ExitKind};
use crate::error::Error;
use std::time::Duration;

/// Why the host killed a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KillReason {
    Timeout(Duration),
    Protocol(String),
    /// A protocol violation blamed on no call (committed while idle, or
    /// before the call in flight was handed over): counted in
    /// `unblamed_violations`, not in `crashes`.
    IdleViolation(String),
    Closed,
    /// The submitted task whose call this worker ran was cancelled.
    Cancelled,
    StartupTimeout(Duration),
    Shutdown,
}

/// How a worker ended, as recorded by the supervisor when it reaped it.
#[derive(Debug, Clone)]
pub(crate) struct Death {
    pub(crate) exit: ExitInfo,
    pub(crate) last_words: Option<LastWords>,
    pub(crate) kill: Option<KillReason>,
}

/// Limits a death is classified against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) memory: Option<u64>,
    pub(crate) cpu: Option<Duration>,
}

/// Turn a death into the error of the call it interrupted.
pub(crate) fn classify(death: &Death, limits: &Limits, method: &str) -> Error {
    if let Some(k) = &death.kill {
        return match k {
            KillReason::Timeout(d) => Error::Timeout(*d),
            KillReason::Protocol(m) | KillReason::IdleViolation(m) => Error::Protocol(m.clone()),
            KillReason::Closed | KillReason::Shutdown => Error::Closed("module is closed".into()),
            KillReason::StartupTimeout(d) => Error::Timeout(*d),
            KillReason::Cancelled => Error::Cancelled,
        };
    }
    let words = death.last_words.unwrap_or_default();
    let near_memory_limit = |m: u64| {
        let slack = (m / 16).max(8 << 20);
        words.errno == sys::ENOMEM
            || words.vm_peak_kib.saturating_mul(1024).saturating_add(slack) >= m
    };
    match death.exit.kind {
        ExitKind::Signaled(sig) => {
            if sig == sys::SIGXCPU
                || (sig == sys::SIGKILL && limits.cpu.is_some_and(|c| death.exit.cpu >= c))
            {
                return Error::ResourceLimit(format!(
                    "CPU time limit of {} s exceeded in method {method:?}",
                    limits.cpu.map_or(0, |c| c.as_secs())
                ));
            }
            if sig == sys::SIGXFSZ {
                return Error::ResourceLimit(format!(
                    "file size limit exceeded in method {method:?}"
                ));
            }
            if let Some(m) = limits.memory {
                if death.last_words.is_some() && near_memory_limit(m) {
                    return Error::ResourceLimit(format!(
                        "memory limit of {m} bytes exceeded in method {method:?} (worker died with {})",
                        sys::signal_name(sig)
                    ));
                }
            }
            Error::WorkerCrashed {
                signal: sig,
                detail: format!(
                    "{}: {} in method {method:?}",
                    sys::signal_name(sig),
                    sys::signal_description(sig)
                ),
            }
        }
        ExitKind::Exited(status) => Error::WorkerExited { status },
        ExitKind::Unknown => Error::WorkerExited { status: -1 },
    }
}
