//! Direct calls' contexts (docs/TYPED.md, "Direct calls"): a per-thread token that serves
//! `fail` only, armed for the duration of one direct entry.

use super::records::{GEN_MASK, INDEX_BITS, INDEX_MASK};
use super::{refused_message, take_message};
use crate::ffi::hazard::{self, Here};
use bridgehost_module_abi as abi;
use std::ffi::c_char;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// A direct entry's `call` argument serves `fail` only, on the calling
/// thread, until the entry returns (docs/TYPED.md, "Direct calls"). It is a
/// token too, `(generation << 24) | INDEX_MASK` (an index no record ever
/// has), with a per-thread generation, so a use after the entry returned, or
/// from another thread, finds no armed call with that token: `BH_API_STALE`.
/// Arming is two stores into the calling thread's hazard record (reached
/// through the call's [`Here`], no thread-local lookup of its own) and no
/// call record, which is the point of a direct call; the failure's text
/// lives in a thread-local, touched only by `fail`.
///
/// Only the owning thread reads or writes these cells (the record passes to
/// another thread only after its owner exited, with nothing armed, or in a
/// fork child after [`DirectCell::clear`]), so the
/// atomics are `Relaxed`: plain loads and stores, used for interior
/// mutability in a record other threads scan.
pub(crate) struct DirectCell {
    /// The token of the direct call running on this thread (0: none).
    armed: AtomicU64,
    /// Generation of the next direct call on this thread.
    next: AtomicU64,
    /// The running call reported a failure (its text is in [`DIRECT_FAILURE`]).
    failed: AtomicBool,
}

impl DirectCell {
    pub(crate) const fn new() -> Self {
        DirectCell {
            armed: AtomicU64::new(0),
            next: AtomicU64::new(1),
            failed: AtomicBool::new(false),
        }
    }

    /// A direct call is armed (for tests of the records that hold cells).
    #[cfg(test)]
    pub(crate) fn is_armed(&self) -> bool {
        self.armed.load(Relaxed) != 0
    }

    /// Nothing armed: for a record whose thread is gone while one of its
    /// direct calls ran (in a fork child, every thread but the forking one),
    /// before another thread takes the record. A thread that exits normally
    /// leaves nothing armed.
    pub(crate) fn clear(&self) {
        self.armed.store(0, Relaxed);
        self.failed.store(false, Relaxed);
    }
}

/// A direct call's state as the outer call left it.
#[derive(Clone, Copy)]
struct Outer {
    armed: u64,
    failed: bool,
}

thread_local! {
    static DIRECT_FAILURE: std::cell::RefCell<Option<(i32, String)>> =
        const { std::cell::RefCell::new(None) };
}

pub(super) fn is_direct_token(token: u64) -> bool {
    token & INDEX_MASK == INDEX_MASK
}

/// The context of one direct call on this thread: [`DirectCall::token`] is
/// what the entry receives; [`DirectCall::finish`] disarms it and returns
/// the failure it reported. A direct call nested inside another one on the
/// same thread (a module calling back into the host) arms its own token and
/// restores the outer one, and a failure the outer one reported before, when
/// it finishes.
pub(crate) struct DirectCall {
    cell: &'static DirectCell,
    token: u64,
    outer: Outer,
    /// The outer call's failure, set aside while this one runs (only when
    /// it had reported one).
    outer_failure: Option<(i32, String)>,
    finished: bool,
    /// The cell is this thread's.
    _not_send: PhantomData<*const ()>,
}

impl DirectCall {
    /// Arm a direct call on the thread `here` names (the calling thread).
    #[inline]
    pub(crate) fn arm(here: Here) -> DirectCall {
        let cell = here.direct();
        let outer = Outer {
            armed: cell.armed.load(Relaxed),
            failed: cell.failed.load(Relaxed),
        };
        let next = cell.next.load(Relaxed);
        let token = ((next & GEN_MASK) << INDEX_BITS) | INDEX_MASK;
        cell.armed.store(token, Relaxed);
        cell.next.store(next.wrapping_add(1), Relaxed);
        let outer_failure = if outer.failed {
            cell.failed.store(false, Relaxed);
            DIRECT_FAILURE.with_borrow_mut(Option::take)
        } else {
            None
        };
        DirectCall {
            cell,
            token,
            outer,
            outer_failure,
            finished: false,
            _not_send: PhantomData,
        }
    }

    /// The `bh_call_ctx *` handed to the direct entry.
    #[inline]
    pub(crate) fn token(&self) -> *mut abi::BhCall {
        self.token as usize as *mut abi::BhCall
    }

    /// Disarm: later uses of the token are `BH_API_STALE`.
    #[inline]
    pub(crate) fn finish(mut self) -> Option<(i32, String)> {
        self.finished = true;
        self.restore()
    }

    /// Put the outer call's state back; this call's failure, if any.
    #[inline]
    fn restore(&mut self) -> Option<(i32, String)> {
        let mine = self.cell.failed.load(Relaxed);
        self.cell.armed.store(self.outer.armed, Relaxed);
        self.cell.failed.store(self.outer.failed, Relaxed);
        if !mine && self.outer_failure.is_none() {
            return None;
        }
        restore_failure(mine, self.outer_failure.take())
    }
}

/// This call's failure out of [`DIRECT_FAILURE`], the outer one's back in
/// (kept off the call path).
#[cold]
#[inline(never)]
fn restore_failure(mine: bool, outer: Option<(i32, String)>) -> Option<(i32, String)> {
    DIRECT_FAILURE
        .try_with(|f| {
            let mut f = f.borrow_mut();
            let failure = if mine { f.take() } else { None };
            *f = outer;
            failure
        })
        .ok()
        .flatten()
}

impl Drop for DirectCall {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.restore();
        }
    }
}

/// `fail` through a direct call's token: recorded when the token is the
/// call armed on this thread, else `BH_API_STALE`.
pub(super) fn direct_fail(token: u64, code: i32, msg: *const c_char, msg_len: usize) -> i32 {
    // No record (thread-local storage gone): no direct call can be armed.
    let Some(cell) = hazard::here().map(Here::direct) else {
        return abi::API_STALE;
    };
    if cell.armed.load(Relaxed) != token {
        return abi::API_STALE;
    }
    if code == 0 {
        return abi::API_INVALID;
    }
    // SAFETY: the module promises msg_len readable bytes; the policy reads
    // them only if msg_len is within the limit.
    let (message, status) = match unsafe { take_message(msg, msg_len) } {
        Ok(m) => (m, abi::API_OK),
        Err(status) => (refused_message(status, msg_len), status),
    };
    DIRECT_FAILURE.with_borrow_mut(|f| *f = Some((code, message)));
    cell.failed.store(true, Relaxed);
    status
}

#[cfg(test)]
mod direct_tests {
    use super::*;

    fn here() -> Here {
        hazard::here().expect("a test thread has a record")
    }

    fn fail(call: &DirectCall, code: i32, msg: &str) -> i32 {
        direct_fail(call.token, code, msg.as_ptr().cast(), msg.len())
    }

    #[test]
    fn a_direct_context_fails_once_armed_and_is_stale_after() {
        let call = DirectCall::arm(here());
        let token = call.token;
        assert!(is_direct_token(token));
        assert_eq!(
            fail(&call, 0, "zero"),
            abi::API_INVALID,
            "code 0 is refused"
        );
        assert_eq!(fail(&call, 5, "five"), abi::API_OK);
        assert_eq!(call.finish(), Some((5, "five".to_string())));
        let msg = "late";
        assert_eq!(
            direct_fail(token, 6, msg.as_ptr().cast(), msg.len()),
            abi::API_STALE
        );
        // The next call on this thread has another token; it did not fail.
        let next = DirectCall::arm(here());
        assert_ne!(next.token, token);
        assert_eq!(next.finish(), None);
        // Another thread never sees this thread's call armed.
        let call = DirectCall::arm(here());
        let t = call.token;
        let other = std::thread::spawn(move || direct_fail(t, 1, b"x".as_ptr().cast(), 1))
            .join()
            .unwrap();
        assert_eq!(other, abi::API_STALE);
        assert_eq!(call.finish(), None);
    }

    #[test]
    fn nested_direct_calls_keep_their_own_failures() {
        let outer = DirectCall::arm(here());
        assert_eq!(fail(&outer, 1, "outer"), abi::API_OK);
        let inner = DirectCall::arm(here());
        assert_eq!(
            fail(&outer, 9, "outer again"),
            abi::API_STALE,
            "only the innermost call is armed"
        );
        assert_eq!(fail(&inner, 2, "inner"), abi::API_OK);
        assert_eq!(inner.finish(), Some((2, "inner".to_string())));
        assert_eq!(outer.finish(), Some((1, "outer".to_string())));
        // A nested call that does not fail leaves the outer failure alone,
        // and one dropped without finish (a panic) restores the outer state.
        let outer = DirectCall::arm(here());
        assert_eq!(fail(&outer, 3, "kept"), abi::API_OK);
        drop(DirectCall::arm(here()));
        assert_eq!(DirectCall::arm(here()).finish(), None);
        assert_eq!(outer.finish(), Some((3, "kept".to_string())));
    }
}
