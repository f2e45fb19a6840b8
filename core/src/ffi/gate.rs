//! `Gate<T>`: shared access to a value on the hot path, and a close that
//! waits for every holder before it takes the value out.
//!
//! Cost per call: no locked instruction. An entry is announced in the
//! calling thread's hazard record (`ffi/hazard.rs`) instead of a shared
//! "exited" counter, and counted in the module's exact `calls` counter
//! through that thread's own cell (`counters::PerThreadCounter`). Before
//! this (profiled with `perf record` on `bench-native`, `BENCH_ONLY=echo`),
//! enter and leave were two `lock xadd`s on shared lines, ~27 % of a
//! 16-byte in-process echo.
//!
//! Protocol (asymmetric Dekker handshake):
//! * enter: announce the gate's address (plain store, light fence), count
//!   the entry (refused ones too, as before), read `closed`. If closed, retract and fail. Otherwise the
//!   caller holds a [`GateGuard`] until it drops, which retracts the
//!   announcement (Release store).
//! * close: `closed = true`, heavy fence, then wait until no thread
//!   announces the gate, then take the value. Any enter whose announcement
//!   the closer did not see reads `closed == true` and backs out without
//!   touching the value; any enter the closer did see is waited for.
//!
//! Close polls (short sleeps, growing to 1 ms): it is rare and nothing on
//! the call path pays for a wake-up.

use crate::sync::shim::AtomicBool;
use crate::sync::Mutex;
use std::cell::UnsafeCell;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;

use super::hazard::{self, Hazard};
use crate::counters::Counters;

pub(crate) struct Gate<T> {
    value: UnsafeCell<Option<T>>,
    /// Entries are counted in the module's `calls` counter.
    counters: Arc<Counters>,
    closed: AtomicBool,
    taken: Mutex<bool>,
}

// SAFETY: `value` is read through shared references only by holders of a
// GateGuard, and written (taken) only by `close`, after the protocol above
// proved no guard exists and none can be created; so T is shared across
// threads exactly as a `&T` would be (T: Sync) and moved out once (T: Send).
unsafe impl<T: Send + Sync> Sync for Gate<T> {}
// SAFETY: moving the gate moves the T inside (T: Send).
unsafe impl<T: Send> Send for Gate<T> {}

/// Access to the gate's value; not `Send` (its announcement lives in this
/// thread's hazard record).
pub(crate) struct GateGuard<'a, T> {
    value: &'a T,
    /// This thread's entries into the gate before this one.
    entries_before: u64,
    hazard: Hazard,
}

impl<T> GateGuard<'_, T> {
    /// This thread's entries into this gate before this one (a per-thread
    /// tick: callers sample every nth entry with no thread-local lookup).
    #[inline]
    pub(crate) fn entries_before(&self) -> u64 {
        self.entries_before
    }

    /// This thread's index for per-thread counters.
    #[inline]
    pub(crate) fn thread_index(&self) -> Option<usize> {
        self.hazard.thread_index()
    }
}

impl<T> std::ops::Deref for GateGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> Gate<T> {
    pub(crate) fn new(value: T, counters: Arc<Counters>) -> Self {
        Gate {
            value: UnsafeCell::new(Some(value)),
            counters,
            closed: AtomicBool::new(false),
            taken: Mutex::new(false),
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as *const u8 as usize
    }

    /// Enter, or `None` once closing started. Counts the entry in the
    /// module's `calls` counter.
    #[cfg(test)]
    #[inline]
    pub(crate) fn enter(&self) -> Option<GateGuard<'_, T>> {
        self.enter_in(hazard::here())
    }

    /// [`enter`](Self::enter) announcing through a record already looked up.
    /// Always inlined: returned from a call, the guard went through memory
    /// and its caller's wider loads of it stalled on store forwarding.
    #[inline(always)]
    pub(crate) fn enter_in(&self, here: Option<hazard::Here>) -> Option<GateGuard<'_, T>> {
        let hazard = hazard::protect_in(here, self.addr(), hazard::Fences::Asymmetric);
        let entries_before = self.counters.calls_local.inc_get(hazard.thread_index());
        if self.closed.load(SeqCst) {
            return None; // `hazard` retracts
        }
        // SAFETY: our announcement was published (protect's light fence)
        // before we read closed == false, so the closer (closed store, heavy
        // fence, scan) sees the announcement and waits for its retraction
        // before taking the value. The value was set at construction and is
        // only ever removed by `close`, so it is Some and stays valid for the
        // guard's lifetime.
        let value = unsafe { (*self.value.get()).as_ref() }?;
        Some(GateGuard {
            value,
            entries_before,
            hazard,
        })
    }

    /// True when the calling thread holds a guard of this gate (it is inside
    /// a call): a [`close`](Self::close) here would wait for itself forever.
    pub(crate) fn entered_here(&self) -> bool {
        hazard::announced_here(self.addr())
    }

    /// Close: refuse new entries, wait for every guard to drop, take the
    /// value (once; later calls return `None`).
    pub(crate) fn close(&self) -> Option<T> {
        self.closed.store(true, SeqCst);
        let mut taken = self.taken.lock();
        let mut pause = Duration::from_micros(20);
        loop {
            hazard::heavy_fence();
            if !hazard::is_protected(self.addr()) {
                break;
            }
            // `sync::sleep`, not std::thread::sleep (a closing thread
            // interrupted by signals back to back must still get here);
            // under loom, a yield.
            crate::sync::shim::backoff(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
        if *taken {
            return None;
        }
        *taken = true;
        // SAFETY: closed is set and, after the heavy fence, no thread
        // announces this gate: no GateGuard exists and none can be created
        // (a later enter reads closed == true). We have exclusive access to
        // the value; `taken` (held) makes this the only take.
        unsafe { (*self.value.get()).take() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Many threads enter and leave while another closes: every guard that
    /// was handed out saw the value intact, close returned only after the
    /// last guard dropped (the value's drop flag proves it), and entries
    /// after close fail.
    #[test]
    fn close_waits_for_every_guard_under_load() {
        struct Val {
            alive: AtomicBool,
            uses: AtomicU64,
        }
        // Miri runs the same interleavings, fewer times (it is ~1000x slower).
        for _round in 0..if cfg!(miri) { 2 } else { 20 } {
            let counters = Arc::new(Counters::default());
            let gate = Arc::new(Gate::new(
                Val {
                    alive: AtomicBool::new(true),
                    uses: AtomicU64::new(0),
                },
                Arc::clone(&counters),
            ));
            let stop = Arc::new(AtomicBool::new(false));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let gate = Arc::clone(&gate);
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || {
                        let mut refused = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            match gate.enter() {
                                Some(v) => {
                                    assert!(
                                        v.alive.load(Ordering::SeqCst),
                                        "value used after close"
                                    );
                                    v.uses.fetch_add(1, Ordering::Relaxed);
                                    std::hint::spin_loop();
                                    assert!(
                                        v.alive.load(Ordering::SeqCst),
                                        "value taken under a guard"
                                    );
                                }
                                None => refused += 1,
                            }
                        }
                        refused
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(2));
            let v = gate.close().expect("first close takes the value");
            v.alive.store(false, Ordering::SeqCst);
            assert!(gate.enter().is_none());
            assert!(gate.close().is_none(), "second close takes nothing");
            stop.store(true, Ordering::Relaxed);
            let refused: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
            let used = v.uses.load(Ordering::Relaxed);
            // Every entry is counted, admitted or refused (the one refused
            // enter on this thread included).
            assert_eq!(counters.snapshot().calls, used + refused + 1);
        }
    }
}

/// Loom model of [`Gate`] itself (its `enter` and `close`, over the hazard
/// records, with the fence pair in its loom form). Run by
/// `scripts/loom.sh`; see docs/CONCURRENCY.md.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::cell::UnsafeCell as LoomCell;
    use std::sync::atomic::Ordering;

    /// The gated value: `data` is checked by loom for unordered accesses;
    /// `close`'s caller "frees" it with a write.
    struct Val {
        data: LoomCell<u32>,
    }

    // SAFETY: `data` is shared only as the gate under test allows; loom
    // checks every access to it for a missing happens-before.
    unsafe impl Sync for Val {}

    /// `close` returns only after every admitted call has left (the free
    /// below never overlaps a call's use of the value), and a call that
    /// starts after `close` returned is refused.
    #[test]
    fn loom_gate_close_waits_for_calls_and_refuses_later_ones() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b.check(|| {
            let gate = loom::sync::Arc::new(Gate::new(
                Val {
                    data: LoomCell::new(1),
                },
                Arc::new(Counters::default()),
            ));
            let closed_done = loom::sync::Arc::new(AtomicBool::new(false));
            let callers: Vec<_> = (0..2)
                .map(|_| {
                    let gate = loom::sync::Arc::clone(&gate);
                    let closed_done = loom::sync::Arc::clone(&closed_done);
                    loom::thread::spawn(move || {
                        let after_close = closed_done.load(Ordering::Acquire);
                        if let Some(v) = gate.enter() {
                            assert!(!after_close, "entered after close returned");
                            // SAFETY: a read under the guard; loom reports
                            // it if it races with the free.
                            let x = v.data.with(|p| unsafe { *p });
                            assert_eq!(x, 1, "value used after close took it");
                        }
                    })
                })
                .collect();
            let v = gate.close().expect("the first close takes the value");
            // SAFETY: the "free"; loom reports it if it races with a read.
            v.data.with_mut(|p| unsafe { *p = 0 });
            closed_done.store(true, Ordering::Release);
            assert!(gate.enter().is_none());
            for c in callers {
                c.join().unwrap();
            }
        });
    }
}
