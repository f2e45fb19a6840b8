//! Library-wide exports: version, status names, the thread-local last error,
//! logging, and the live-handle count for leak tests.

use crate::callback::LogSink;
use crate::types::{bh_log_fn, bh_status, BH_LOG_TRACE};
use crate::{error, handles};
use bhcore::logging::{self, LogLevel};
use bhcore::Error;
use std::ffi::{c_char, c_void, CStr};
use std::sync::Arc;

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("CARGO_PKG_VERSION contains a NUL"),
    };

/// The library version (`"0.1.0"`): a static NUL-terminated string, never freed.
#[no_mangle]
pub extern "C" fn bh_version() -> *const c_char {
    ffi_boundary!({ VERSION })
}

/// The stable name of a status (`"ok"`, `"invalid_argument"`, ...; `"unknown"`
/// for a value that is not a status): a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn bh_status_name(s: bh_status) -> *const c_char {
    ffi_boundary!({ error::status_name(s) })
}

/// Copy this thread's last error message into `buf`: at most `cap - 1` bytes
/// (cut at a UTF-8 character boundary) and a NUL. Returns the full length in
/// bytes, excluding the NUL; call with `cap = 0` (buf may then be NULL) to
/// size. "" when this thread has had no error.
///
/// # Safety
/// `buf` must be NULL or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn bh_last_error_message(buf: *mut c_char, cap: usize) -> usize {
    ffi_boundary!(|c| {
        let msg = error::last_message();
        // Only the bytes actually written are ever addressed; a huge `cap`
        // with a small buffer is the caller's lie, but never leads us past
        // the message's own length.
        let n = cap.min(msg.len() + 1);
        if n > 0 && !buf.is_null() {
            if let Ok(out) = c.out_buf(buf.cast(), n, "buf") {
                let mut cut = n - 1;
                while !msg.is_char_boundary(cut) {
                    cut -= 1;
                }
                let mut text = Vec::with_capacity(cut + 1);
                text.extend_from_slice(&msg.as_bytes()[..cut]);
                text.push(0);
                // n <= cap and text.len() = cut + 1 <= n: always fits.
                let _ = out.fill(&text);
            }
        }
        msg.len()
    })
}

/// This thread's last detail code: the module error code, the signal of a
/// crashed worker, the exit status of an exited one, or the size required
/// after `BH_E_BUFFER_TOO_SMALL`; 0 otherwise.
#[no_mangle]
pub extern "C" fn bh_last_error_detail() -> i64 {
    ffi_boundary!({ error::last_detail() })
}

/// Route bridgehost's log records at `max_level` (`BH_LOG_*`, 0..=4) or more
/// severe to `cb`, on whatever thread logged. NULL `cb` removes the callback.
/// When this returns, the previous callback is not running and is never
/// called again, so its `user_data` may be freed. Not callable from inside
/// the log callback itself (`BH_E_INVALID_ARGUMENT`).
///
/// # Safety
/// `cb` must be NULL or a function of type `bh_log_fn` that does not unwind;
/// `user_data` must be usable from any thread until the callback is replaced.
#[no_mangle]
pub unsafe extern "C" fn bh_set_log_callback(
    max_level: u32,
    cb: bh_log_fn,
    user_data: *mut c_void,
) -> bh_status {
    ffi_boundary!(|c| {
        if max_level > BH_LOG_TRACE {
            return Err(Error::InvalidArgument(format!(
                "max_level {max_level} is not a BH_LOG_* level (0..=4)"
            )));
        }
        let level = LogLevel::from_u8(max_level as u8);
        let sink = LogSink::new(c, cb, user_data).map(|s| {
            let sink: logging::LogSink =
                Arc::new(move |level: LogLevel, target: &str, msg: &str| {
                    s.log(level as u32, target, msg)
                });
            sink
        });
        logging::set_log_sink(level, sink)
    })
}

/// Live handles of every type (hosts, modules, methods, buffers,
/// subscriptions, tasks): for leak tests.
#[no_mangle]
pub extern "C" fn bh_debug_live_handles() -> u64 {
    ffi_boundary!({ handles::live() })
}
