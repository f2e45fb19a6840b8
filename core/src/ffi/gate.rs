//! `Gate<T>`: shared access to a value on the hot path, and a close that
//! waits for every holder before it takes the value out.
//!
//! This replaces a `RwLock<Option<T>>` on the call path. It costs one locked
//! instruction to enter and one to leave (an `RwLock` costs the same, but
//! the entry count doubles as the module's `calls` counter here, saving the
//! separate counter increment), and close does not block new entries behind
//! a waiting writer: they fail fast with "closed".
//!
//! Protocol (all `SeqCst`, a Dekker-style handshake):
//! * enter: `entered += 1`, then read `closed`. If closed, `exited += 1` and
//!   fail. Otherwise the caller holds a [`GateGuard`] until it drops, which
//!   does `exited += 1` (and wakes the closer if one waits).
//! * close: `closed = true`, then wait until `exited == entered`, then take
//!   the value. Any enter whose increment the closer did not see reads
//!   `closed == true` (SeqCst total order) and backs out without touching the
//!   value; any enter the closer did see is waited for.

use parking_lot::{Condvar, Mutex};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use crate::counters::Counters;

pub(crate) struct Gate<T> {
    value: UnsafeCell<Option<T>>,
    /// `entered` is the module's `calls` counter.
    counters: Arc<Counters>,
    exited: AtomicU64,
    closed: AtomicBool,
    taken: Mutex<bool>,
    drained: Condvar,
}

// SAFETY: `value` is read through shared references only by holders of a
// GateGuard, and written (taken) only by `close`, after the protocol above
// proved no guard exists and none can be created; so T is shared across
// threads exactly as a `&T` would be (T: Sync) and moved out once (T: Send).
unsafe impl<T: Send + Sync> Sync for Gate<T> {}
// SAFETY: moving the gate moves the T inside (T: Send).
unsafe impl<T: Send> Send for Gate<T> {}

pub(crate) struct GateGuard<'a, T> {
    gate: &'a Gate<T>,
    value: &'a T,
}

impl<T> std::ops::Deref for GateGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> Drop for GateGuard<'_, T> {
    fn drop(&mut self) {
        self.gate.exited.fetch_add(1, SeqCst);
        if self.gate.closed.load(SeqCst) {
            // A closer may be waiting for us: take the mutex so the notify
            // cannot fall between its check and its wait.
            let _g = self.gate.taken.lock();
            self.gate.drained.notify_all();
        }
    }
}

impl<T> Gate<T> {
    pub(crate) fn new(value: T, counters: Arc<Counters>) -> Self {
        Gate {
            value: UnsafeCell::new(Some(value)),
            counters,
            exited: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            taken: Mutex::new(false),
            drained: Condvar::new(),
        }
    }

    /// Enter, or `None` once closing started. Counts the entry in the
    /// module's `calls` counter.
    pub(crate) fn enter(&self) -> Option<GateGuard<'_, T>> {
        self.counters.calls.fetch_add(1, SeqCst);
        if self.closed.load(SeqCst) {
            self.exited.fetch_add(1, SeqCst);
            if self.closed.load(SeqCst) {
                let _g = self.taken.lock();
                self.drained.notify_all();
            }
            return None;
        }
        // SAFETY: closed was false after our increment was published, so a
        // closer has not yet passed its drain check with our entry unseen:
        // it will wait for our exit before taking the value. The value was
        // set at construction and is only ever removed by `close`, so it is
        // Some and stays valid for the guard's lifetime.
        let value = unsafe { (*self.value.get()).as_ref() }?;
        Some(GateGuard { gate: self, value })
    }

    /// Close: refuse new entries, wait for every guard to drop, take the
    /// value (once; later calls return `None`).
    pub(crate) fn close(&self) -> Option<T> {
        self.closed.store(true, SeqCst);
        let mut taken = self.taken.lock();
        while self.exited.load(SeqCst) != self.counters.calls.load(SeqCst) {
            // The timeout only bounds a lost-wakeup we do not expect.
            self.drained.wait_for(&mut taken, Duration::from_millis(50));
        }
        if *taken {
            return None;
        }
        *taken = true;
        // SAFETY: closed is set and every entry has exited (checked above
        // under the protocol), so no GateGuard exists and none can be
        // created: we have exclusive access to the value. `taken` (held)
        // makes this the only take.
        unsafe { (*self.value.get()).take() }
    }
}
