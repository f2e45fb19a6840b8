//! Futex wait/wake on a word of shared memory (cross-process).

use super::timespec;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleep while `*word == expected`, at most `timeout` (None: until woken).
/// Returns on a wake, a timeout, a signal or if the value already differs:
/// callers re-check their condition. Shared (not process-private) futex, so
/// the other process can wake it.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: word points to a live, aligned u32 (it is an &AtomicU32); ts_ptr
    // is null or points to a timespec on this stack frame.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wake up to `n` waiters sleeping on `word` (in any process).
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: word points to a live, aligned u32; FUTEX_WAKE only reads the
    // address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}
