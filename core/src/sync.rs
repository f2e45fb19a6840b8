//! Fork-safe locks: `Mutex`, `RwLock`, `Condvar` with the `parking_lot`
//! calling convention (no poisoning, `Condvar::wait(&mut guard)`), built on
//! `std::sync`.
//!
//! Why not `parking_lot`: its blocking paths go through one process-global
//! hash table (`parking_lot_core::HASHTABLE`) whose buckets are linked lists
//! of the parked threads' `ThreadData`, stored in those threads'
//! thread-local storage. `fork()` copies that table into the child with the
//! entries of every parent thread that was parked at the fork instant (idle
//! pool threads, the event dispatcher, ...) — threads that do not exist in
//! the child. glibc hands their stacks and TLS blocks to the child's new
//! threads, so the entries soon point at reused memory: the child's next
//! contended lock or `notify` on a colliding bucket follows them and
//! crashes (SIGSEGV in `unpark_requeue`), or waits forever on a bucket lock
//! a parent thread held at the fork (parking_lot issue #515). On Linux the
//! `std::sync` primitives are futex words inside each lock: no global state,
//! nothing inherited but the locks themselves.
#![forbid(unsafe_code)]

use std::ops::{Deref, DerefMut};
use std::sync::{PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// A mutual-exclusion lock (never poisoned: a panic while it is held
/// leaves the data as the panicking thread left it, like `parking_lot`).
#[derive(Debug, Default)]
pub struct Mutex<T: ?Sized>(std::sync::Mutex<T>);

/// Guard of a [`Mutex`].
#[derive(Debug)]
pub struct MutexGuard<'a, T: ?Sized>(Option<std::sync::MutexGuard<'a, T>>);

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    pub const fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    /// Consume the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Lock, blocking until it is available.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Lock if it is free right now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(g) => Some(MutexGuard(Some(g))),
            Err(TryLockError::Poisoned(p)) => Some(MutexGuard(Some(p.into_inner()))),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The data, through a unique reference (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.0
            .as_deref()
            .expect("guard is held outside Condvar::wait")
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.0
            .as_deref_mut()
            .expect("guard is held outside Condvar::wait")
    }
}

/// A reader-writer lock (never poisoned). Not recursive: a thread must not
/// take a read lock it already holds (a queued writer would block it).
#[derive(Debug, Default)]
pub struct RwLock<T: ?Sized>(std::sync::RwLock<T>);

impl<T> RwLock<T> {
    /// A new unlocked lock.
    pub const fn new(value: T) -> Self {
        RwLock(std::sync::RwLock::new(value))
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The rank of a process-global lock that `crate::fork` holds across `fork()`.
///
/// `fork`'s prepare handler takes these locks in rank order, so every other code path that holds
/// two of them at once must take them in the same order, or prepare could deadlock against it.
/// That rule is checked, not only written down: in debug builds (every test run, ASan included)
/// taking a ranked lock while this thread holds one of an equal or higher rank panics, naming
/// both. Release builds compile the check away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Rank {
    /// `logging::SINK`: a sink may call into the core, which takes the locks below.
    LogSink = 0,
    /// The list of the front ends' handle tables the fork handlers hold (`fork::TABLES`): a
    /// table is added to it on its first use, before its writer mutex is taken.
    ForkTables = 1,
    /// The writer mutex of any handle table (`ffi::slots`), the instance-token table
    /// (`ffi::callbacks::INSTANCES`) among them: a table reclaims under it, reading the hazard
    /// registry. Two tables' writer locks are never held at once, except by the fork handler,
    /// which takes every registered one after the instance table (`fork::prepare`).
    Table = 2,
    /// The hazard-record registry (`ffi::hazard::RECORDS`).
    HazardRecords = 3,
    /// The hazard overflow list (`ffi::hazard::OVERFLOW`).
    HazardOverflow = 4,
}

#[cfg(all(debug_assertions, not(loom)))]
thread_local! {
    /// Bit `r` set while this thread holds the lock of rank `r`.
    static HELD: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

// Under loom every model thread is a coroutine on one OS thread: the ranks
// held must be loom's thread-locals, one set per model thread.
#[cfg(all(debug_assertions, loom))]
loom::thread_local! {
    static HELD: std::cell::Cell<u8> = std::cell::Cell::new(0);
}

/// Proof that this thread took a lock of a [`Rank`] in order; clears the rank when dropped.
#[derive(Debug)]
#[must_use]
pub(crate) struct Ranked {
    #[cfg(debug_assertions)]
    bit: u8,
}

impl Rank {
    /// Record that this thread is about to take the lock of this rank (before it blocks on it).
    ///
    /// # Panics
    /// In debug builds, if this thread holds a lock of this rank or a higher one.
    #[inline]
    pub(crate) fn enter(self) -> Ranked {
        #[cfg(debug_assertions)]
        {
            let bit = 1u8 << (self as u8);
            // During thread-local teardown there is nothing to check against.
            let held = HELD.try_with(|h| h.get()).unwrap_or(0);
            if held >= bit {
                let worst = 7 - held.leading_zeros() as u8;
                panic!(
                    "lock order violated: taking {self:?} while holding rank {worst} \
                     (crate::sync::Rank: the fork handlers take them in rank order)"
                );
            }
            let _ = HELD.try_with(|h| h.set(held | bit));
            Ranked { bit }
        }
        #[cfg(not(debug_assertions))]
        Ranked {}
    }

    /// [`Rank::enter`], then take the lock with `take` and keep its guard with the token.
    #[inline]
    pub(crate) fn take<G>(self, take: impl FnOnce() -> G) -> RankedGuard<G> {
        let rank = self.enter();
        RankedGuard {
            guard: take(),
            #[cfg(loom)]
            _loom: None,
            _rank: rank,
        }
    }

    /// [`Rank::enter`], then lock `m`.
    #[inline]
    pub(crate) fn lock<T: ?Sized>(self, m: &Mutex<T>) -> RankedGuard<MutexGuard<'_, T>> {
        self.take(|| m.lock())
    }
}

impl Drop for Ranked {
    #[inline]
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        let _ = HELD.try_with(|h| h.set(h.get() & !self.bit));
    }
}

/// A lock guard with its [`Ranked`] token. The guard is a field before the token, so the lock is
/// released before the rank is cleared.
#[derive(Debug)]
pub(crate) struct RankedGuard<G> {
    guard: G,
    /// Under loom: the model's lock of this rank, taken before `guard` and
    /// released after it (see [`RankedMutex::lock`]).
    #[cfg(loom)]
    _loom: Option<loom::sync::MutexGuard<'static, ()>>,
    _rank: Ranked,
}

impl<G: Deref> Deref for RankedGuard<G> {
    type Target = G::Target;
    #[inline]
    fn deref(&self) -> &G::Target {
        &self.guard
    }
}

impl<G: DerefMut> DerefMut for RankedGuard<G> {
    #[inline]
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.guard
    }
}

/// A [`Mutex`] of a fixed [`Rank`]: every `lock` is checked against the lock order.
#[derive(Debug)]
pub(crate) struct RankedMutex<T: ?Sized> {
    rank: Rank,
    inner: Mutex<T>,
}

impl<T> RankedMutex<T> {
    /// A new unlocked mutex of rank `rank`.
    pub(crate) const fn new(rank: Rank, value: T) -> Self {
        RankedMutex {
            rank,
            inner: Mutex::new(value),
        }
    }
}

impl<T: ?Sized> RankedMutex<T> {
    /// Lock without entering the rank: only for `fork::prepare`, which holds every registered
    /// front-end table's writer mutex (rank [`Rank::Table`]) at once, under the instance table's
    /// ranked guard. No other path holds two tables' writers, and a thread holding one only
    /// goes on to higher ranks (the hazard locks, taken by prepare after all the tables), so
    /// taking them one after another in a fixed order cannot deadlock against it.
    pub(crate) fn lock_for_fork(&self) -> MutexGuard<'_, T> {
        self.inner.lock()
    }

    /// Lock, blocking until it is available (order-checked in debug builds).
    #[inline]
    pub(crate) fn lock(&self) -> RankedGuard<MutexGuard<'_, T>> {
        #[cfg(not(loom))]
        return self.rank.lock(&self.inner);
        #[cfg(loom)]
        {
            // A std mutex is invisible to loom: a model thread preempted
            // while holding it would block the one OS thread every model
            // thread runs on, and loom would not see the happens-before the
            // lock gives. So each rank is also a loom mutex (per model run),
            // taken first: the std lock below is then never contended.
            let model = LOOM_RANKS[self.rank as usize]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut g = self.rank.lock(&self.inner);
            g._loom = Some(model);
            g
        }
    }
}

#[cfg(loom)]
loom::lazy_static! {
    /// One loom mutex per [`Rank`], created anew for every model execution.
    static ref LOOM_RANKS: [loom::sync::Mutex<()>; 5] = [
        loom::sync::Mutex::new(()),
        loom::sync::Mutex::new(()),
        loom::sync::Mutex::new(()),
        loom::sync::Mutex::new(()),
        loom::sync::Mutex::new(()),
    ];
}

/// The atomics and the poll back-off of the lock-free core (`ffi::hazard`,
/// `ffi::gate`, `ffi::slots`): std's in every real build; loom's under
/// `--cfg loom` (`scripts/loom.sh`), so the loom models in those modules run
/// the production code itself. The fence pair (`hazard::light_fence` /
/// `hazard::heavy_fence`) has its loom form next to its real one.
pub(crate) mod shim {
    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};

    /// Wait a while before polling again (a closing gate waiting for its
    /// callers). Under loom: yield to the other model threads.
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn backoff(d: std::time::Duration) {
        super::sleep(d);
    }

    /// Wait a while before polling again (a closing gate waiting for its
    /// callers). Under loom: yield to the other model threads.
    #[cfg(loom)]
    #[inline]
    pub(crate) fn backoff(_d: std::time::Duration) {
        loom::thread::yield_now();
    }
}

/// Result of a timed wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended because the time ran out.
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A condition variable used with [`Mutex`].
#[derive(Debug, Default)]
pub struct Condvar(std::sync::Condvar);

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Self {
        Condvar(std::sync::Condvar::new())
    }

    /// Wake one waiter.
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wake every waiter.
    pub fn notify_all(&self) {
        self.0.notify_all();
    }

    /// Release the lock, wait for a notification (or a spurious wake-up),
    /// re-lock.
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let g = guard.0.take().expect("guard is held");
        guard.0 = Some(self.0.wait(g).unwrap_or_else(PoisonError::into_inner));
    }

    /// [`Condvar::wait`] for at most `timeout`.
    pub fn wait_for<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let g = guard.0.take().expect("guard is held");
        let (g, r) = self
            .0
            .wait_timeout(g, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        guard.0 = Some(g);
        WaitTimeoutResult(r.timed_out())
    }

    /// [`Condvar::wait`] until `deadline` at the latest.
    pub fn wait_until<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return WaitTimeoutResult(true);
        }
        self.wait_for(guard, left)
    }
}

/// Sleep for `d` (at least), on a deadline of the monotonic clock.
///
/// `std::thread::sleep` restarts a relative `nanosleep` with the time left
/// after each signal, and the time spent in the signal handler is not
/// subtracted: a storm of signals whose handlers take a while (a managed
/// runtime stopping the world for back-to-back garbage collections, as Mono
/// does with a signal per thread) can keep it from ever finishing. This waits
/// on a private condition variable that nobody notifies; std's futex wait
/// retries an interrupted wait against the same absolute deadline.
pub fn sleep(d: Duration) {
    let Some(deadline) = Instant::now().checked_add(d) else {
        // Longer than the clock can represent: as good as forever.
        loop {
            std::thread::park();
        }
    };
    let lock = std::sync::Mutex::new(());
    let cv = std::sync::Condvar::new();
    let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        guard = match cv.wait_timeout(guard, left) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn condvar_wait_hands_the_lock_back() {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p2 = Arc::clone(&pair);
        let t = std::thread::spawn(move || {
            *p2.0.lock() = true;
            p2.1.notify_all();
        });
        let mut g = pair.0.lock();
        while !*g {
            pair.1.wait(&mut g);
        }
        assert!(*g);
        drop(g);
        t.join().unwrap();
        let mut g = pair.0.lock();
        assert!(pair
            .1
            .wait_for(&mut g, Duration::from_millis(1))
            .timed_out());
        assert!(pair.1.wait_until(&mut g, Instant::now()).timed_out());
    }

    #[test]
    #[cfg(debug_assertions)]
    fn ranked_locks_in_order_pass_and_out_of_order_panics() {
        let table = RankedMutex::new(Rank::Table, ());
        let records = RankedMutex::new(Rank::HazardRecords, ());
        {
            let _sink = Rank::LogSink.enter();
            let _t = table.lock();
            let _r = records.lock();
            let _o = Rank::HazardOverflow.enter();
        }
        // Released: the same locks again, one at a time, in any order.
        drop(records.lock());
        drop(table.lock());
        let wrong = std::thread::spawn(move || {
            let _r = records.lock();
            let _t = table.lock(); // table after the hazard registry: the fork's deadlock
        })
        .join();
        let msg = wrong.expect_err("out of order must panic");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("lock order violated: taking Table"), "{msg}");
        let same = std::thread::spawn(|| {
            let _a = Rank::Table.enter();
            let _b = Rank::Table.enter(); // two tables' writer locks at once
        })
        .join();
        assert!(same.is_err());
        let sink_late = std::thread::spawn(|| {
            let _a = Rank::HazardOverflow.enter();
            let _b = Rank::LogSink.enter(); // logging under a hazard lock
        })
        .join();
        assert!(sink_late.is_err());
    }

    #[test]
    fn a_panic_does_not_poison() {
        let m = Arc::new(Mutex::new(1));
        let m2 = Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _g = m2.lock();
            panic!("while holding");
        })
        .join();
        assert_eq!(*m.lock(), 1);
        assert!(m.try_lock().is_some());
    }
}
