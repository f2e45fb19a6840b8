//! The one error hierarchy every front end maps.
//!
//! [`ErrorKind`] has stable numeric codes: the C ABI returns `-code`, Java,
//! Python and .NET pick their exception class from it. Adding a kind is an
//! ABI change.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of an [`Error`], with a stable numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A caller passed a bad argument (null with a length, bad UTF-8, bad option...).
    InvalidArgument = 1,
    /// A module, method or topic does not exist.
    NotFound = 2,
    /// A file is not a valid bridgehost module (symbol, magic, version, layout, table).
    AbiMismatch = 3,
    /// The module reported an error (code + message).
    Module = 4,
    /// An isolated worker died from a signal while serving the request.
    WorkerCrashed = 5,
    /// The call did not finish before its deadline.
    Timeout = 6,
    /// A size or memory limit was exceeded.
    ResourceLimit = 7,
    /// The object was closed.
    Closed = 8,
    /// The operation was cancelled.
    Cancelled = 9,
    /// A bounded queue is full.
    Overloaded = 10,
    /// A bug caught at a boundary (a panic, a broken invariant).
    Internal = 11,
    /// An isolated worker exited on its own while serving the request.
    WorkerExited = 12,
    /// An isolated worker broke the transport protocol.
    Protocol = 13,
    /// The module is temporarily unavailable (circuit breaker open).
    Unavailable = 14,
    /// A caller-provided output buffer is too small (`required` bytes needed).
    BufferTooSmall = 15,
    /// A stateful module's isolated worker was restarted (crash, timeout,
    /// cancel, recycle) since the previous call: its state is gone. Reported
    /// once, to the next call, which did not run; later calls run against
    /// the fresh instance.
    StateLost = 16,
}

impl ErrorKind {
    /// Every kind, in code order.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::InvalidArgument,
        ErrorKind::NotFound,
        ErrorKind::AbiMismatch,
        ErrorKind::Module,
        ErrorKind::WorkerCrashed,
        ErrorKind::Timeout,
        ErrorKind::ResourceLimit,
        ErrorKind::Closed,
        ErrorKind::Cancelled,
        ErrorKind::Overloaded,
        ErrorKind::Internal,
        ErrorKind::WorkerExited,
        ErrorKind::Protocol,
        ErrorKind::Unavailable,
        ErrorKind::BufferTooSmall,
        ErrorKind::StateLost,
    ];

    /// The stable numeric code (1..=16).
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The kind for a code, if any.
    pub fn from_code(code: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// A stable snake_case name (`"invalid_argument"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AbiMismatch => "abi_mismatch",
            ErrorKind::Module => "module",
            ErrorKind::WorkerCrashed => "worker_crashed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ResourceLimit => "resource_limit",
            ErrorKind::Closed => "closed",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Internal => "internal",
            ErrorKind::WorkerExited => "worker_exited",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::BufferTooSmall => "buffer_too_small",
            ErrorKind::StateLost => "state_lost",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bridgehost error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`ErrorKind::InvalidArgument`].
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// See [`ErrorKind::NotFound`].
    #[error("not found: {0}")]
    NotFound(String),
    /// See [`ErrorKind::AbiMismatch`].
    #[error("ABI mismatch in {path}: {reason}")]
    AbiMismatch {
        /// The file that was rejected.
        path: String,
        /// Why.
        reason: String,
    },
    /// See [`ErrorKind::Module`].
    #[error("module error {code}: {message}")]
    Module {
        /// The module's own error code (never 0).
        code: i32,
        /// The module's message.
        message: String,
    },
    /// See [`ErrorKind::WorkerCrashed`].
    #[error("worker crashed with signal {signal} ({detail})")]
    WorkerCrashed {
        /// The signal number.
        signal: i32,
        /// Signal name and context.
        detail: String,
    },
    /// See [`ErrorKind::Timeout`].
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// See [`ErrorKind::ResourceLimit`].
    #[error("resource limit: {0}")]
    ResourceLimit(String),
    /// See [`ErrorKind::Closed`].
    #[error("closed: {0}")]
    Closed(String),
    /// See [`ErrorKind::Cancelled`].
    #[error("cancelled")]
    Cancelled,
    /// See [`ErrorKind::Overloaded`].
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// See [`ErrorKind::Internal`].
    #[error("internal error: {0}")]
    Internal(String),
    /// See [`ErrorKind::WorkerExited`].
    #[error("worker exited with status {status}")]
    WorkerExited {
        /// The exit status.
        status: i32,
    },
    /// See [`ErrorKind::Protocol`].
    #[error("worker protocol violation: {0}")]
    Protocol(String),
    /// See [`ErrorKind::Unavailable`].
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// See [`ErrorKind::BufferTooSmall`].
    #[error("output buffer too small: {required} bytes required")]
    BufferTooSmall {
        /// Bytes the output needs.
        required: usize,
    },
    /// See [`ErrorKind::StateLost`].
    #[error("state lost: {0}")]
    StateLost(String),
}

impl Error {
    /// This error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::AbiMismatch { .. } => ErrorKind::AbiMismatch,
            Error::Module { .. } => ErrorKind::Module,
            Error::WorkerCrashed { .. } => ErrorKind::WorkerCrashed,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::ResourceLimit(_) => ErrorKind::ResourceLimit,
            Error::Closed(_) => ErrorKind::Closed,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Overloaded(_) => ErrorKind::Overloaded,
            Error::Internal(_) => ErrorKind::Internal,
            Error::WorkerExited { .. } => ErrorKind::WorkerExited,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::BufferTooSmall { .. } => ErrorKind::BufferTooSmall,
            Error::StateLost(_) => ErrorKind::StateLost,
        }
    }

    /// The module's error code for [`Error::Module`], the signal for
    /// [`Error::WorkerCrashed`], the status for [`Error::WorkerExited`], the
    /// required size (saturated to i32) for [`Error::BufferTooSmall`]; 0 otherwise.
    pub fn detail_code(&self) -> i64 {
        match self {
            Error::Module { code, .. } => i64::from(*code),
            Error::WorkerCrashed { signal, .. } => i64::from(*signal),
            Error::WorkerExited { status } => i64::from(*status),
            Error::BufferTooSmall { required } => i64::try_from(*required).unwrap_or(i64::MAX),
            _ => 0,
        }
    }

    /// Turn a caught panic payload into [`Error::Internal`].
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Error {
        Error::Internal(format!("panic: {}", panic_message(payload)))
    }

    pub(crate) fn closed(what: &str) -> Error {
        Error::Closed(format!("{what} is closed"))
    }

    /// A re-entrant operation refused because it would wait for the
    /// calling thread itself (see docs/ISOLATION.md, "Re-entrancy"):
    /// `InvalidArgument`, a usage error, with a message that says so.
    pub(crate) fn reentrant(action: &str, module: &str) -> Error {
        Error::InvalidArgument(format!(
            "re-entrant {action}: this thread is inside a call of module {module:?}, \
             which would wait for itself forever"
        ))
    }
}

/// The message of a panic payload (`&str` or `String`), or a placeholder
/// (the JNI bridge's panic boundary uses it through `internal`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_round_trip() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), i as i32 + 1);
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_code(17), None);
    }
}
