//! Calling back into C (unsafe boundary module).
//!
//! A callback is a C function pointer plus the caller's `user_data`. Both are
//! captured only through a [`Contract`] (the caller's promise that the
//! pointer is a function of the declared type that does not unwind), and
//! invoked only here. bridgehost never dereferences `user_data`; it hands it
//! back, on the threads docs/C_ABI.md names ("Threads").

use crate::error::status_of;
use crate::ptr::{data_ptr, Contract};
use crate::types::{bh_completion_fn, bh_event_fn, bh_log_fn, bh_status, BH_OK};
use bhcore::{Error, Result};
use std::ffi::{c_char, c_void};

type CompletionRaw =
    unsafe extern "C" fn(*mut c_void, bh_status, *const u8, usize, *const c_char, usize, i64);
type EventRaw = unsafe extern "C" fn(*mut c_void, *const c_char, usize, *const u8, usize);
type LogRaw = unsafe extern "C" fn(*mut c_void, u32, *const c_char, usize, *const c_char, usize);

/// The caller's opaque `user_data`, handed back untouched.
#[derive(Debug, Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: bridgehost never dereferences the pointer; it only passes it back to
// the caller's own callback. docs/C_ABI.md ("Threads") states on which threads
// each callback runs, so making what it points to usable there is the
// caller's part of the contract (as for any C API that calls back from its
// own threads).
unsafe impl Send for UserData {}
// SAFETY: as above; shared access never reads through the pointer.
unsafe impl Sync for UserData {}

fn require<F>(f: Option<F>, what: &str) -> Result<F> {
    f.ok_or_else(|| Error::InvalidArgument(format!("{what} is a null function pointer")))
}

/// A `bh_completion_fn` with its `user_data`.
#[derive(Debug)]
pub(crate) struct Completion {
    f: CompletionRaw,
    user: UserData,
}

impl Completion {
    /// Capture a non-null completion callback.
    pub(crate) fn new(_c: &Contract, f: bh_completion_fn, user: *mut c_void) -> Result<Completion> {
        Ok(Completion {
            f: require(f, "completion callback")?,
            user: UserData(user),
        })
    }

    /// Deliver the outcome. Consumes the completion: it runs exactly once.
    pub(crate) fn complete(self, r: Result<Vec<u8>>) {
        match r {
            Ok(data) => {
                // SAFETY: `f` is a C function of this type that does not unwind
                // (captured under the contract); the pointers passed are valid
                // for the stated lengths until it returns.
                unsafe {
                    (self.f)(
                        self.user.0,
                        BH_OK,
                        data_ptr(&data),
                        data.len(),
                        std::ptr::null(),
                        0,
                        0,
                    )
                }
            }
            Err(e) => {
                let msg = e.to_string();
                // SAFETY: as above; `msg` outlives the call.
                unsafe {
                    (self.f)(
                        self.user.0,
                        status_of(e.kind()),
                        std::ptr::null(),
                        0,
                        data_ptr(msg.as_bytes()).cast(),
                        msg.len(),
                        e.detail_code(),
                    )
                }
            }
        }
    }
}

/// A `bh_event_fn` with its `user_data`.
#[derive(Debug)]
pub(crate) struct EventSink {
    f: EventRaw,
    user: UserData,
}

impl EventSink {
    /// Capture a non-null event callback.
    pub(crate) fn new(_c: &Contract, f: bh_event_fn, user: *mut c_void) -> Result<EventSink> {
        Ok(EventSink {
            f: require(f, "event callback")?,
            user: UserData(user),
        })
    }

    /// Deliver one event.
    pub(crate) fn deliver(&self, topic: &str, data: &[u8]) {
        // SAFETY: `f` is a C function of this type that does not unwind
        // (captured under the contract); topic and data are valid for the
        // stated lengths until it returns.
        unsafe {
            (self.f)(
                self.user.0,
                topic.as_ptr().cast(),
                topic.len(),
                data_ptr(data),
                data.len(),
            )
        }
    }
}

/// A `bh_log_fn` with its `user_data`.
#[derive(Debug)]
pub(crate) struct LogSink {
    f: LogRaw,
    user: UserData,
}

impl LogSink {
    /// Capture a log callback; `None` for NULL (removes the sink).
    pub(crate) fn new(_c: &Contract, f: bh_log_fn, user: *mut c_void) -> Option<LogSink> {
        f.map(|f| LogSink {
            f,
            user: UserData(user),
        })
    }

    /// Deliver one record.
    pub(crate) fn log(&self, level: u32, target: &str, msg: &str) {
        // SAFETY: `f` is a C function of this type that does not unwind
        // (captured under the contract); target and msg are valid for the
        // stated lengths until it returns.
        unsafe {
            (self.f)(
                self.user.0,
                level,
                target.as_ptr().cast(),
                target.len(),
                msg.as_ptr().cast(),
                msg.len(),
            )
        }
    }
}
