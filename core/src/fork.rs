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
//!   2. the list of the front ends' handle tables (`TABLES`: every
//!      `registry::Registry`, i.e. the C ABI's `bh_*` and the JNI bridge's
//!      tables, added on its first insert or remove);
//!   3. the writer lock of the instance-token table (`ffi::callbacks::INSTANCES`),
//!      then the writer lock of every table in that list, in list order;
//!   4. the hazard-record registry (`ffi::hazard::RECORDS`);
//!   5. the hazard overflow list (`ffi::hazard::OVERFLOW`).
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
//! * a table joins the list before its writer lock is first taken, never
//!   while a table's writer is held — list before tables;
//! * prepare is the only code that holds two tables' writer locks; every
//!   other holder of one goes on only to the hazard locks, which prepare
//!   takes after all the tables, so taking the tables one after another
//!   cannot deadlock against it (the rank check covers the first, the
//!   instance table; the others are taken with `lock_for_fork`);
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
use crate::ffi::slots::{WriterLock, WriterMutex};
use crate::sync::{MutexGuard, Rank, RankedGuard, RankedMutex};
use std::cell::RefCell;

/// Most front-end tables held across a fork: the C ABI has 7 and the JNI
/// bridge 6; a table past this many is left out (and a warning logged once).
const MAX_TABLES: usize = 32;

/// The front ends' handle tables, each added once, on its first insert or
/// remove ([`register_table`]).
static TABLES: RankedMutex<Vec<&'static WriterMutex>> =
    RankedMutex::new(Rank::ForkTables, Vec::new());

/// Add a front end's table to those the fork handlers hold (idempotent).
/// Called before the table's writer mutex is first taken.
pub(crate) fn register_table(writer: &'static WriterMutex) {
    let mut tables = TABLES.lock();
    if tables.iter().any(|t| std::ptr::eq(*t, writer)) {
        return;
    }
    if tables.len() >= MAX_TABLES {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "more than {MAX_TABLES} handle tables: the rest are not held across fork()"
            );
        });
        return;
    }
    tables.push(writer);
}

/// The locks held across one fork, fields in the order they were taken
/// (they are released in the same order, which is fine: only the taking
/// order matters for deadlock).
struct Held {
    _sink: Option<crate::logging::SinkForkLock>,
    _list: RankedGuard<MutexGuard<'static, Vec<&'static WriterMutex>>>,
    _instances: WriterLock<'static>,
    /// No heap: the child drops this without freeing anything.
    _tables: [Option<MutexGuard<'static, crate::ffi::slots::Writer>>; MAX_TABLES],
    hazards: ForkLock,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

extern "C" fn prepare() {
    let sink = crate::logging::lock_for_fork();
    let list = TABLES.lock();
    let instances = crate::ffi::callbacks::INSTANCES.lock_writer();
    let mut tables = [const { None }; MAX_TABLES];
    for (held, table) in tables.iter_mut().zip(list.iter()) {
        *held = Some(table.lock_for_fork());
    }
    let held = Held {
        _sink: sink,
        _list: list,
        _instances: instances,
        _tables: tables,
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

    /// A front end's handle table (a `registry::Registry` static) is held
    /// across a fork: a thread that inserts and removes handles in a loop
    /// holds the table's writer mutex much of the time, and without the
    /// handlers a child forked meanwhile finds it locked forever (its first
    /// insert hangs). Each child inserts and removes a handle and must exit
    /// within the deadline.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot fork")]
    fn a_front_end_table_busy_in_another_thread_is_usable_in_the_fork_child() {
        use crate::registry::Registry;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        const FAMILY: [(u8, &str); 1] = [(0x7e, "forked")];
        static TABLE: Registry<u64> = Registry::new(&FAMILY, 0);
        static STOP: AtomicBool = AtomicBool::new(false);
        register();
        let churn = std::thread::spawn(|| {
            while !STOP.load(Ordering::Relaxed) {
                let h: Vec<u64> = (0..64).map(|i| TABLE.insert(Arc::new(i))).collect();
                for h in h {
                    let _ = TABLE.remove(h);
                }
            }
        });
        // Let the churn thread register the table and get going.
        while TABLE.is_empty() {
            std::thread::yield_now();
        }
        let mut hung = 0;
        for _ in 0..40 {
            // SAFETY: the child only inserts into and removes from the
            // table (the handlers released its lock; glibc's malloc is
            // fork-safe) and leaves with `_exit`, running no destructor and
            // no atexit handler of the test harness.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let h = TABLE.insert(Arc::new(7));
                let code = if TABLE.remove(h).map(|v| *v) == Ok(7) {
                    0
                } else {
                    1
                };
                // SAFETY: ends the child at once (see above).
                unsafe { libc::_exit(code) };
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut status = 0;
            loop {
                // SAFETY: polls our own child; `status` is a valid out-pointer.
                let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                if r == pid {
                    assert!(libc::WIFEXITED(status), "child status {status:#x}");
                    assert_eq!(
                        libc::WEXITSTATUS(status),
                        0,
                        "the child's insert/remove failed"
                    );
                    break;
                }
                assert_eq!(r, 0, "waitpid failed");
                if Instant::now() > deadline {
                    hung += 1;
                    // SAFETY: kills and reaps our own child.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        libc::waitpid(pid, &mut status, 0);
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        STOP.store(true, Ordering::Relaxed);
        churn.join().unwrap();
        assert_eq!(
            hung, 0,
            "{hung} of 40 fork children hung on the table's writer mutex"
        );
    }
}
