//! Status codes and the thread-local last error.
//!
//! A failing export stores its message and detail code in storage of the
//! calling thread and returns `-kind`. They stay until the next failure on the
//! same thread: a successful call does not clear them (errno discipline: read
//! them right after the failing call, on the same thread).
#![forbid(unsafe_code)]

use crate::types::{bh_status, BH_OK};
use bhcore::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::CStr;

struct LastError {
    message: String,
    detail: i64,
}

thread_local! {
    static LAST: RefCell<LastError> = const {
        RefCell::new(LastError { message: String::new(), detail: 0 })
    };
}

/// The status for an error kind.
pub(crate) fn status_of(kind: ErrorKind) -> bh_status {
    -kind.code()
}

/// Record `err` as this thread's last error and return its status.
pub(crate) fn fail(err: &Error) -> bh_status {
    let message = err.to_string();
    let detail = err.detail_code();
    // `try_with`: during thread teardown the slot may be gone; the status
    // still reports the failure.
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.message = message;
            l.detail = detail;
        }
    });
    status_of(err.kind())
}

/// `Ok(())` → `BH_OK`; `Err(e)` → recorded, `-kind`.
pub(crate) fn status(r: Result<(), Error>) -> bh_status {
    match r {
        Ok(()) => BH_OK,
        Err(e) => fail(&e),
    }
}

/// A copy of this thread's last error message ("" when none).
pub(crate) fn last_message() -> String {
    LAST.try_with(|l| {
        l.try_borrow()
            .map(|l| l.message.clone())
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// This thread's last detail code (0 when none).
pub(crate) fn last_detail() -> i64 {
    LAST.try_with(|l| l.try_borrow().map(|l| l.detail).unwrap_or(0))
        .unwrap_or(0)
}

/// The stable name of a status as a static C string.
pub(crate) fn status_name(s: bh_status) -> &'static CStr {
    if s == BH_OK {
        return c"ok";
    }
    let kind = s
        .checked_neg()
        .and_then(ErrorKind::from_code)
        .map(kind_name);
    kind.unwrap_or(c"unknown")
}

/// `ErrorKind::name` as a static C string.
fn kind_name(kind: ErrorKind) -> &'static CStr {
    match kind {
        ErrorKind::InvalidArgument => c"invalid_argument",
        ErrorKind::NotFound => c"not_found",
        ErrorKind::AbiMismatch => c"abi_mismatch",
        ErrorKind::Module => c"module",
        ErrorKind::WorkerCrashed => c"worker_crashed",
        ErrorKind::Timeout => c"timeout",
        ErrorKind::ResourceLimit => c"resource_limit",
        ErrorKind::Closed => c"closed",
        ErrorKind::Cancelled => c"cancelled",
        ErrorKind::Overloaded => c"overloaded",
        ErrorKind::Internal => c"internal",
        ErrorKind::WorkerExited => c"worker_exited",
        ErrorKind::Protocol => c"protocol",
        ErrorKind::Unavailable => c"unavailable",
        ErrorKind::BufferTooSmall => c"buffer_too_small",
        ErrorKind::StateLost => c"state_lost",
        // ErrorKind is non_exhaustive: a kind added to the core without a
        // name here is reported honestly rather than guessed.
        _ => c"unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    #[test]
    fn statuses_match_the_core_kinds() {
        let documented = [
            BH_E_INVALID_ARGUMENT,
            BH_E_NOT_FOUND,
            BH_E_ABI_MISMATCH,
            BH_E_MODULE,
            BH_E_WORKER_CRASHED,
            BH_E_TIMEOUT,
            BH_E_RESOURCE_LIMIT,
            BH_E_CLOSED,
            BH_E_CANCELLED,
            BH_E_OVERLOADED,
            BH_E_INTERNAL,
            BH_E_WORKER_EXITED,
            BH_E_PROTOCOL,
            BH_E_UNAVAILABLE,
            BH_E_BUFFER_TOO_SMALL,
            BH_E_STATE_LOST,
        ];
        assert_eq!(documented.len(), ErrorKind::ALL.len());
        for (kind, s) in ErrorKind::ALL.iter().zip(documented) {
            assert_eq!(status_of(*kind), s, "{kind}");
            assert_eq!(status_name(s).to_str().unwrap(), kind.name());
        }
        assert_eq!(status_name(BH_OK), c"ok");
        assert_eq!(status_name(1), c"unknown");
        assert_eq!(status_name(-17), c"unknown");
        assert_eq!(status_name(i32::MIN), c"unknown");
    }

    #[test]
    fn last_error_is_per_thread_and_survives_success() {
        let s = fail(&Error::Module {
            code: 42,
            message: "boom".into(),
        });
        assert_eq!(s, BH_E_MODULE);
        assert_eq!(status(Ok(())), BH_OK);
        assert_eq!(last_message(), "module error 42: boom");
        assert_eq!(last_detail(), 42);
        std::thread::spawn(|| {
            assert_eq!(last_message(), "");
            assert_eq!(last_detail(), 0);
        })
        .join()
        .unwrap();
    }
}
