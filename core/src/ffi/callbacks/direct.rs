//! Direct calls' contexts (docs/TYPED.md, "Direct calls"): a per-thread token that serves
//! `fail` only, armed for the duration of one direct entry.

use super::records::{GEN_MASK, INDEX_BITS, INDEX_MASK};
use super::{refused_message, take_message};
use bridgehost_module_abi as abi;
use std::cell::Cell;
use std::ffi::c_char;

/// A direct entry's `call` argument serves `fail` only, on the calling
/// thread, until the entry returns (docs/TYPED.md, "Direct calls"). It is a
/// token too, `(generation << 24) | INDEX_MASK` (an index no record ever
/// has), with a per-thread generation, so a use after the entry returned, or
/// from another thread, finds no armed call with that token: `BH_API_STALE`.
/// Arming is two thread-local cells and no record, which is the point of a
/// direct call; the failure's text lives in a third, touched only by `fail`.
#[derive(Clone, Copy)]
struct DirectState {
    /// The token of the direct call running on this thread (0: none).
    armed: u64,
    /// Generation of the next direct call on this thread.
    next: u64,
    /// The running call reported a failure (its text is in [`DIRECT_FAILURE`]).
    failed: bool,
}

thread_local! {
    static DIRECT: Cell<DirectState> = const {
        Cell::new(DirectState { armed: 0, next: 1, failed: false })
    };
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
    token: u64,
    outer: DirectState,
    /// The outer call's failure, set aside while this one runs (only when
    /// it had reported one).
    outer_failure: Option<(i32, String)>,
    finished: bool,
}

impl DirectCall {
    #[inline]
    pub(crate) fn arm() -> DirectCall {
        DIRECT.with(|d| {
            let outer = d.get();
            let token = ((outer.next & GEN_MASK) << INDEX_BITS) | INDEX_MASK;
            d.set(DirectState {
                armed: token,
                next: outer.next.wrapping_add(1),
                failed: false,
            });
            let outer_failure = if outer.failed {
                DIRECT_FAILURE.with_borrow_mut(Option::take)
            } else {
                None
            };
            DirectCall {
                token,
                outer,
                outer_failure,
                finished: false,
            }
        })
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
        let mine = DIRECT.with(|d| {
            let now = d.get();
            d.set(DirectState {
                armed: self.outer.armed,
                next: now.next,
                failed: self.outer.failed,
            });
            now.failed
        });
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
    if DIRECT.with(|d| d.get().armed) != token {
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
    DIRECT.with(|d| {
        let mut now = d.get();
        now.failed = true;
        d.set(now);
    });
    status
}

#[cfg(test)]
mod direct_tests {
    use super::*;

    fn fail(call: &DirectCall, code: i32, msg: &str) -> i32 {
        direct_fail(call.token, code, msg.as_ptr().cast(), msg.len())
    }

    #[test]
    fn a_direct_context_fails_once_armed_and_is_stale_after() {
        let call = DirectCall::arm();
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
        let next = DirectCall::arm();
        assert_ne!(next.token, token);
        assert_eq!(next.finish(), None);
        // Another thread never sees this thread's call armed.
        let call = DirectCall::arm();
        let t = call.token;
        let other = std::thread::spawn(move || direct_fail(t, 1, b"x".as_ptr().cast(), 1))
            .join()
            .unwrap();
        assert_eq!(other, abi::API_STALE);
        assert_eq!(call.finish(), None);
    }

    #[test]
    fn nested_direct_calls_keep_their_own_failures() {
        let outer = DirectCall::arm();
        assert_eq!(fail(&outer, 1, "outer"), abi::API_OK);
        let inner = DirectCall::arm();
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
        let outer = DirectCall::arm();
        assert_eq!(fail(&outer, 3, "kept"), abi::API_OK);
        drop(DirectCall::arm());
        assert_eq!(DirectCall::arm().finish(), None);
        assert_eq!(outer.finish(), Some((3, "kept".to_string())));
    }
}
