//! The core's process-global locks across `fork()` (boundary module: the
//! `pthread_atfork` registration is its only `unsafe`).
//!
//! `fork()` copies memory, not threads: a lock some other thread held at
//! the fork instant stays locked in the child forever, and the next use
//! hangs. Per-host locks are not a concern (a child refuses the parent's
//! objects before locking anything of theirs), but a few locks are global
//! and a child that creates its own `Host` takes them. The handlers
//! registered here make the forking thread hold all of them across the
//! fork, so that both processes continue with them free:
//!
//! * **prepare** (parent, before the fork) takes, in this order:
//!   1. the log sink, exclusively (`logging::SINK`; skipped if the forking
//!      thread is itself inside a sink);
//!   2. the writer lock of the instance-token table (`ffi::callbacks::INSTANCES`);
//!   3. the hazard-record registry (`ffi::hazard::RECORDS`);
//!   4. the hazard overflow list (`ffi::hazard::OVERFLOW`).
//! * **parent** (after the fork, in the parent) releases them.
//! * **child** (after the fork, in the child, where only the forking thread
//!   exists) frees every other thread's hazard record and overflow entries
//!   (those threads are gone; their stale announcements would otherwise
//!   keep slots from ever being reclaimed), then releases the locks.
//!
//! **Lock order.** The order above must be the order of every code path that
//! holds two of these locks at once, or prepare could deadlock against it.
//! It is checked, not only written: each of these locks has a
//! `crate::sync::Rank`, and in debug builds (every test run) taking one while
//! holding one of an equal or higher rank panics (`sync::tests` proves the
//! check; every other test exercises it on the real paths). The reasons:
//! * a sink may call into the core (a front end's logging code calling a
//!   module: hazard registry, instance table) — sink before the others;
//! * an insert/remove on the instance table reclaims under its writer lock,
//!   which reads the hazard registry and then (never at the same time) the
//!   overflow list — table before registry, registry before overflow;
//! * nothing logs while holding the table's writer lock or a registry lock
//!   (neither `ffi/slots.rs`, `handles.rs` nor `ffi/hazard.rs` logs, and
//!   values removed from a table are dropped after its lock is released).
//!   Code added there must keep it so.
//!
//! A log sink must not block on anything the forking thread may hold while
//! it forks (the Python bridge's sink only queues, never waits for the GIL):
//! prepare waits until no thread is inside a sink.
//!
//! **What the handlers may do.** In the child of a multithreaded process
//! only async-signal-safe work is allowed until `exec`: the child handler
//! only stores to atomics and unlocks (an atomic swap plus, if a waiter was
//! recorded, a `futex` wake system call); it neither allocates, frees, nor
//! takes a lock. The guards are kept in a thread-local of the forking thread
//! (first touched, and its destructor registered, in prepare, in the
//! parent). No handler unwinds: nothing in them panics on a reachable path,
//! and a panic in an `extern "C"` function aborts.
//!
//! The isolation workers are started with `posix_spawn` (a `CLONE_VFORK`
//! child that runs no atfork handler and `exec`s at once): unaffected.
#![allow(unsafe_code)]

use crate::ffi::hazard::ForkLock;
use crate::ffi::slots::WriterLock;
use std::cell::RefCell;

/// The locks held across one fork, fields in the order they were taken
/// (they are released in the same order, which is fine: only the taking
/// order matters for deadlock).
struct Held {
    _sink: Option<crate::logging::SinkForkLock>,
    _instances: WriterLock<'static>,
    hazards: ForkLock,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

extern "C" fn prepare() {
    let held = Held {
        _sink: crate::logging::lock_for_fork(),
        _instances: crate::ffi::callbacks::INSTANCES.lock_writer(),
        hazards: crate::ffi::hazard::lock_for_fork(),
    };
    // If this thread's TLS is already gone (a fork from a TLS destructor),
    // the guards drop right here: that fork proceeds unprotected, as it
    // would without these handlers.
    let _ = HELD.try_with(|h| {
        if let Ok(mut slot) = h.try_borrow_mut() {
            *slot = Some(held);
        }
    });
}

extern "C" fn parent() {
    let _ = HELD.try_with(|h| {
        let held = h.try_borrow_mut().ok().and_then(|mut slot| slot.take());
        drop(held);
    });
}

extern "C" fn child() {
    let _ = HELD.try_with(|h| {
        let held = h.try_borrow_mut().ok().and_then(|mut slot| slot.take());
        if let Some(mut held) = held {
            held.hazards.clear_other_threads();
            drop(held);
        }
    });
}

/// Register the handlers (once per process; called by every `Host`
/// creation, so a process that never creates a host never has them).
pub(crate) fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: the three handlers are `extern "C"` functions with static
        // lifetime that never unwind (see the module documentation: they
        // only lock, store to atomics and unlock) and, in the child, do only
        // async-signal-safe work. `pthread_atfork` fails only with ENOMEM,
        // in which case forks proceed unprotected (as before registration).
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        if rc != 0 {
            tracing::warn!("pthread_atfork failed ({rc}): fork children may hang");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::hazard::{self, SLOTS};
    use std::sync::mpsc;

    /// `SLOTS + 1` distinct non-zero addresses: one more than a thread's
    /// record holds, so the last announcement takes the overflow list.
    fn addresses() -> Vec<usize> {
        let cells: &'static [u8] = Box::leak(vec![0u8; SLOTS + 1].into_boxed_slice());
        cells.iter().map(|c| c as *const u8 as usize).collect()
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot fork")]
    fn a_fork_child_keeps_only_the_forking_threads_announcements() {
        register();
        let mine = addresses();
        let theirs = addresses();
        let _held: Vec<_> = mine.iter().map(|&a| hazard::protect(a)).collect();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let t = {
            let theirs = theirs.clone();
            std::thread::spawn(move || {
                let _held: Vec<_> = theirs.iter().map(|&a| hazard::protect(a)).collect();
                ready_tx.send(()).unwrap();
                let _ = done_rx.recv();
            })
        };
        ready_rx.recv().unwrap();
        // SAFETY: the child only reads the hazard registries (locks the
        // atfork handlers released, allocation through glibc's fork-safe
        // malloc) and leaves with `_exit`, running no destructor and no
        // atexit handler of the parent's test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let snap = hazard::snapshot();
            let code = if !mine.iter().all(|a| snap.binary_search(a).is_ok()) {
                1
            } else if theirs.iter().any(|a| snap.binary_search(a).is_ok()) {
                2
            } else {
                0
            };
            // SAFETY: ends the child at once (see above).
            unsafe { libc::_exit(code) };
        }
        let snap = hazard::snapshot();
        let both = mine.iter().chain(&theirs);
        let seen = both.filter(|a| snap.binary_search(a).is_ok()).count();
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        done_tx.send(()).unwrap();
        t.join().unwrap();
        assert_eq!(r, pid);
        assert_eq!(seen, 2 * (SLOTS + 1), "the parent keeps every announcement");
        assert!(libc::WIFEXITED(status), "child status {status:#x}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "1: the forking thread's announcements were lost; 2: another thread's survived"
        );
    }
}
