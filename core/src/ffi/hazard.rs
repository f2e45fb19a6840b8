//! Per-thread hazard slots with asymmetric fences: how the hot read paths
//! (the module [`Gate`](super::gate) and the handle-table lookup in
//! [`slots`](super::slots)) announce "I am using the object at this address"
//! without a locked instruction, and how the rare writer (a module close, a
//! handle remove) learns whether anyone still is.
//!
//! Why: on the machines this runs on, one uncontended locked read-modify-
//! write costs ~13-15 ns (measured: `lock xadd` loop vs plain load+store,
//! ~1 ns). A call used to pay eight of them (table `RwLock` read + unlock,
//! `Arc` clone + drop, gate enter + leave, `Arc<ModuleInner>` clone + drop in
//! the C ABI). A reader here pays a plain store into its own thread's record
//! and a compiler fence; the writer pays a `membarrier(2)` system call.
//!
//! Protocol (Dekker-style, the asymmetric-fence form used by liburcu and
//! folly):
//! * reader: store `addr` into a free slot of its own record (Relaxed),
//!   [`light_fence`], then read the object's state (closed flag, slot
//!   generation). Done: store 0 into the slot (Release).
//! * writer: change the object's state (closed, retired), [`heavy_fence`],
//!   then [`snapshot`] every record. An address absent from the snapshot has
//!   no reader that could still see the old state: any reader whose
//!   announcement the writer missed reads the new state and backs off.
//!
//! `heavy_fence` is `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: every
//! running thread of the process executes a full memory barrier before it
//! returns, which turns the readers' compiler fences into real ones. Where
//! membarrier is unavailable (old kernel, a sandbox that refuses the
//! registration) readers use a real `SeqCst` fence instead and the writer
//! one too: correct, slower. The mode is decided once, before any reader
//! relies on it, and never changes.
//!
//! A thread whose record is full (more than [`SLOTS`] nested uses) or whose
//! thread-local storage is already destroyed (use from a TLS destructor)
//! falls back to a global mutex-protected list plus a `SeqCst` fence.

use super::callbacks::{DirectCell, HeldRecords};
use crate::sync::shim::{fence, AtomicBool, AtomicUsize};
use crate::sync::{MutexGuard, RankedGuard, RankedMutex};
use std::marker::PhantomData;
#[cfg(not(loom))]
use std::sync::atomic::{compiler_fence, AtomicU8};
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering};

/// Nested announcements per thread before the slow path is used (a call
/// announces its gate, a host callback inside it the instance token's slot,
/// a front end the method handle's slot: three; the rest is headroom for
/// reentrant front-end code).
pub(crate) const SLOTS: usize = 8;

/// One thread's announcements. Records are leaked (`'static`) and reused by
/// later threads, so a writer scanning them never touches freed memory.
struct Record {
    slots: [AtomicUsize; SLOTS],
    in_use: AtomicBool,
    /// Position in [`RECORDS`]: a small id unique among live threads.
    index: usize,
    /// The owning thread's direct-call context (`ffi::callbacks::direct`):
    /// kept here so that a call reaches its announcements and its context
    /// through one thread-local lookup ([`Here`]).
    direct: DirectCell,
    /// The owning thread's call records (`ffi::callbacks::records`), for
    /// the same reason.
    calls: HeldRecords,
}

#[cfg(not(loom))]
static RECORDS: RankedMutex<Vec<&'static Record>> =
    RankedMutex::new(crate::sync::Rank::HazardRecords, Vec::new());
// Under loom the registry is made anew for each model execution (records
// hold that execution's loom atomics).
#[cfg(loom)]
loom::lazy_static! {
    static ref RECORDS: RankedMutex<Vec<&'static Record>> =
        RankedMutex::new(crate::sync::Rank::HazardRecords, Vec::new());
}
/// Announcements of threads without a usable record.
/// `(address, owner)`: owner is [`tls_mark_addr`] of the announcing thread
/// (a fork child keeps only the forking thread's entries).
static OVERFLOW: RankedMutex<Vec<(usize, usize)>> =
    RankedMutex::new(crate::sync::Rank::HazardOverflow, Vec::new());
/// `OVERFLOW.len()`, readable without the lock (writers skip the lock when
/// it is 0: a slow-path reader stores it, then fences with `SeqCst`, before
/// it reads the object's state).
static OVERFLOW_LEN: StdAtomicUsize = StdAtomicUsize::new(0);

struct Local {
    rec: &'static Record,
}

impl Local {
    fn acquire() -> Local {
        let mut recs = RECORDS.lock();
        for &r in recs.iter() {
            if r.in_use
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Local { rec: r };
            }
        }
        let r: &'static Record = Box::leak(Box::new(Record {
            slots: Default::default(),
            in_use: AtomicBool::new(true),
            index: recs.len(),
            direct: DirectCell::new(),
            calls: HeldRecords::new(),
        }));
        recs.push(r);
        Local { rec: r }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Every announcement of this thread has ended (guards are !Send and
        // scoped): the record is empty and can serve another thread.
        self.rec.in_use.store(false, Ordering::Release);
    }
}

#[cfg(not(loom))]
thread_local! {
    static LOCAL: Local = Local::acquire();
}

// Loom's thread-locals: one record per model thread, released when it ends.
#[cfg(loom)]
loom::thread_local! {
    static LOCAL: Local = Local::acquire();
}

#[cfg(not(loom))]
const MODE_UNKNOWN: u8 = 0;
#[cfg(not(loom))]
const MODE_MEMBARRIER: u8 = 1;
#[cfg(not(loom))]
const MODE_FENCE: u8 = 2;
#[cfg(not(loom))]
static MODE: AtomicU8 = AtomicU8::new(MODE_UNKNOWN);

#[cfg(not(loom))]
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
#[cfg(not(loom))]
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

/// Under Miri (the `miri` test suite), which cannot run the system call,
/// membarrier is reported unavailable: the readers and writers then use the
/// symmetric `SeqCst` fences, which is the form Miri can check.
#[cfg(all(miri, not(loom)))]
fn membarrier(_cmd: libc::c_long) -> bool {
    false
}

#[cfg(all(not(miri), not(loom)))]
fn membarrier(cmd: libc::c_long) -> bool {
    // SAFETY: membarrier takes two integer arguments and touches no memory
    // of ours; an unsupported command or kernel returns -1 (ENOSYS/EINVAL/
    // EPERM), which we handle.
    let rc = unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long) };
    rc == 0
}

#[cfg(not(loom))]
#[cold]
fn decide_mode() -> u8 {
    let m = if membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) {
        MODE_MEMBARRIER
    } else {
        MODE_FENCE
    };
    // Registration is idempotent and its outcome is the same for every
    // thread of the process, so racing initializers store the same value.
    MODE.store(m, Ordering::SeqCst);
    m
}

#[cfg(not(loom))]
#[inline]
fn mode() -> u8 {
    match MODE.load(Ordering::Relaxed) {
        MODE_UNKNOWN => decide_mode(),
        m => m,
    }
}

/// The reader's side of the fence pair: orders the reader's preceding
/// store (its announcement, or its retraction) before its following loads.
#[cfg(not(loom))]
#[inline]
pub(crate) fn light_fence() {
    if MODE.load(Ordering::Relaxed) == MODE_MEMBARRIER {
        compiler_fence(Ordering::SeqCst);
    } else {
        light_fence_slow();
    }
}

/// [`light_fence`] before the mode is known or without membarrier (kept off
/// the call path).
#[cfg(not(loom))]
#[cold]
#[inline(never)]
fn light_fence_slow() {
    if mode() == MODE_MEMBARRIER {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The writer's side of the fence pair (a system call in membarrier mode:
/// only for rare operations).
#[cfg(not(loom))]
pub(crate) fn heavy_fence() {
    fence(Ordering::SeqCst);
    if mode() != MODE_MEMBARRIER {
        return;
    }
    if membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
        return;
    }
    // A fork child does not inherit the registration: register again.
    if membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
        && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
    {
        return;
    }
    // Readers are already relying on light fences; without the barrier a
    // writer could free memory a reader still uses. This cannot be made safe
    // after the fact, so stop rather than risk a use-after-free.
    eprintln!("bridgehost: membarrier failed after a successful registration; aborting");
    std::process::abort();
}

/// [`light_fence`] as the loom models check it: a `SeqCst` fence.
///
/// In membarrier mode the reader runs only a compiler fence, and the
/// writer's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` makes every
/// running thread execute a full memory barrier before the call returns, at
/// a point of its instruction stream where only a compiler fence stands in
/// the program (a thread not running has passed a full barrier in the
/// context switch). The guarantee the protocol takes from the pair is the
/// one a `SeqCst` fence on each side gives: of two such fences one comes
/// first, and the loads after the later one see the stores before the
/// earlier one. So loom checks the protocol with a `SeqCst` fence in both
/// places, which is exactly the fence-mode (no membarrier) build too.
#[cfg(loom)]
#[inline]
pub(crate) fn light_fence() {
    fence(Ordering::SeqCst);
}

/// [`heavy_fence`] as the loom models check it (see [`light_fence`]): a
/// `SeqCst` fence.
#[cfg(loom)]
pub(crate) fn heavy_fence() {
    fence(Ordering::SeqCst);
}

/// Which fence pair an object's readers and writers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fences {
    /// Readers: compiler fence (membarrier mode); writers: membarrier. For
    /// objects read far more often than they are retired (methods, modules).
    Asymmetric,
    /// Both sides: a `SeqCst` fence. For objects retired about as often as
    /// they are read (per-call buffers, tasks): a retire costs a fence and a
    /// scan instead of a system call (~0.5 us on these VMs).
    Symmetric,
}

impl Fences {
    /// The reader's fence (after announcing, and after retracting).
    #[inline]
    pub(crate) fn reader(self) {
        match self {
            Fences::Asymmetric => light_fence(),
            Fences::Symmetric => fence(Ordering::SeqCst),
        }
    }

    /// The writer's fence (after changing the state, before scanning).
    pub(crate) fn writer(self) {
        match self {
            Fences::Asymmetric => heavy_fence(),
            Fences::Symmetric => fence(Ordering::SeqCst),
        }
    }
}

/// An announcement; retracted on drop. Not `Send`: it names a slot of this
/// thread's record.
pub(crate) struct Hazard {
    slot: Option<&'static AtomicUsize>,
    addr: usize,
    thread: usize,
    _not_send: PhantomData<*const ()>,
}

/// No record (slow path).
const NO_THREAD: usize = usize::MAX;

impl Hazard {
    /// A small id of the calling thread, unique among live threads and owned
    /// by it for as long as this announcement lives (so it can index a
    /// single-writer per-thread counter); `None` on the slow path.
    #[inline]
    pub(crate) fn thread_index(&self) -> Option<usize> {
        (self.thread != NO_THREAD).then_some(self.thread)
    }
}

/// Announce that this thread uses the object at `addr` (non-zero), then
/// [`light_fence`]: loads after this call see any state change a writer made
/// before its [`heavy_fence`], or the writer sees this announcement.
#[cfg(test)]
#[inline]
pub(crate) fn protect(addr: usize) -> Hazard {
    protect_with(addr, Fences::Asymmetric)
}

/// [`protect`] with the reader fence of `fences` (the object's writers
/// must use the matching [`Fences::writer`]).
#[inline]
pub(crate) fn protect_with(addr: usize, fences: Fences) -> Hazard {
    protect_in(here(), addr, fences)
}

/// The calling thread's record, found once (one thread-local lookup) and
/// then handed down a call, so that its handle lookup, its gate entry and
/// its direct context do not each look it up again. `None` when this
/// thread's thread-local storage is gone (use from a TLS destructor): the
/// announcements then take the slow path.
///
/// Not `Send`: it names this thread's record, which the thread holds until
/// its thread-local storage is destroyed; a `Here` is used only on the call
/// stack that looked it up.
#[derive(Clone, Copy)]
pub(crate) struct Here {
    rec: &'static Record,
    _not_send: PhantomData<*const ()>,
}

/// This thread's [`Here`] (see there).
#[inline]
pub(crate) fn here() -> Option<Here> {
    LOCAL
        .try_with(|l| Here {
            rec: l.rec,
            _not_send: PhantomData,
        })
        .ok()
}

impl Here {
    /// This thread's direct-call context (only this thread uses it).
    #[inline]
    pub(crate) fn direct(self) -> &'static DirectCell {
        &self.rec.direct
    }

    /// This thread's call records (only this thread uses them).
    #[inline]
    pub(crate) fn call_records(self) -> &'static HeldRecords {
        &self.rec.calls
    }

    /// This thread's index (see [`Hazard::thread_index`]).
    #[inline]
    pub(crate) fn thread_index(self) -> usize {
        self.rec.index
    }
}

/// [`protect_with`] through a record already looked up (`None`: the slow
/// path, as for a thread without one).
#[inline(always)]
pub(crate) fn protect_in(here: Option<Here>, addr: usize, fences: Fences) -> Hazard {
    debug_assert!(addr != 0);
    // Only this thread writes non-zero values into its record, so a slot
    // read as 0 here stays free until we fill it.
    let slot = here.and_then(|h| {
        let s = h
            .rec
            .slots
            .iter()
            .find(|s| s.load(Ordering::Relaxed) == 0)?;
        s.store(addr, Ordering::Relaxed);
        Some((s, h.rec.index))
    });
    match slot {
        Some((s, thread)) => {
            fences.reader();
            Hazard {
                slot: Some(s),
                addr,
                thread,
                _not_send: PhantomData,
            }
        }
        None => protect_slow(addr),
    }
}

#[cold]
fn protect_slow(addr: usize) -> Hazard {
    {
        let mut o = OVERFLOW.lock();
        o.push((addr, tls_mark_addr()));
        OVERFLOW_LEN.store(o.len(), Ordering::SeqCst);
    }
    fence(Ordering::SeqCst);
    Hazard {
        slot: None,
        addr,
        thread: NO_THREAD,
        _not_send: PhantomData,
    }
}

impl Hazard {
    /// End the announcement now (dropping the hazard later does nothing
    /// more): for a guard that must retract before its own last checks.
    #[inline(always)]
    pub(crate) fn retract(&mut self) {
        match self.slot.take() {
            // Release: the writer that reads 0 here (Acquire) sees every use
            // this thread made of the object.
            Some(s) => s.store(0, Ordering::Release),
            // `addr` is never 0 for a live announcement (protect asserts
            // it); 0 marks one already retracted.
            None if self.addr != 0 => retract_overflow(self.addr),
            None => {}
        }
        self.addr = 0;
    }
}

impl Drop for Hazard {
    #[inline(always)]
    fn drop(&mut self) {
        self.retract();
    }
}

/// Retract an announcement of this thread's from the overflow list (kept off
/// the call path: it takes a lock).
#[cold]
#[inline(never)]
fn retract_overflow(addr: usize) {
    let mut o = OVERFLOW.lock();
    let entry = (addr, tls_mark_addr());
    if let Some(i) = o.iter().position(|&e| e == entry) {
        o.swap_remove(i);
    }
    OVERFLOW_LEN.store(o.len(), Ordering::Release);
}

/// True when the calling thread itself announces `addr` right now (it is
/// inside a use of that object: e.g. a call through a [`Gate`](super::gate)
/// that a close on this thread would wait for forever).
pub(crate) fn announced_here(addr: usize) -> bool {
    if addr == 0 {
        return false;
    }
    let in_record = LOCAL
        .try_with(|l| {
            l.rec
                .slots
                .iter()
                .any(|s| s.load(Ordering::Relaxed) == addr)
        })
        .unwrap_or(false);
    in_record
        || (OVERFLOW_LEN.load(Ordering::SeqCst) != 0
            && OVERFLOW.lock().contains(&(addr, tls_mark_addr())))
}

/// The calling thread's id (see [`Hazard::thread_index`]): owned by this
/// thread until its thread-local storage is destroyed, so it can index a
/// single-writer cell right away. `None` during TLS teardown.
pub(crate) fn thread_index() -> Option<usize> {
    LOCAL.try_with(|l| l.rec.index).ok()
}

thread_local! {
    /// Its address identifies the thread (usable during TLS teardown: no
    /// destructor; and the same in a fork child's forking thread, whose
    /// memory is a copy at the same addresses).
    static MARK: u8 = const { 0 };
}

/// The address of the calling thread's [`MARK`] thread-local: the owner of
/// its overflow entries (unique among live threads, usable during TLS
/// teardown, the same in a fork child's forking thread). A different value
/// from `ffi::callbacks::pthread_id` (the `pthread_t`); the two are never
/// compared.
fn tls_mark_addr() -> usize {
    MARK.with(|m| m as *const u8 as usize)
}

/// Both registries, held for a `fork()` ([`lock_for_fork`]).
pub(crate) struct ForkLock {
    records: RankedGuard<MutexGuard<'static, Vec<&'static Record>>>,
    overflow: RankedGuard<MutexGuard<'static, Vec<(usize, usize)>>>,
}

/// Fork preparation (see `crate::fork`): give the forking thread its record
/// first (creating one takes [`RECORDS`]), then hold [`RECORDS`] and
/// [`OVERFLOW`], in that order (no other code holds both at once).
pub(crate) fn lock_for_fork() -> ForkLock {
    let _ = LOCAL.try_with(|_| ());
    ForkLock {
        records: RECORDS.lock(),
        overflow: OVERFLOW.lock(),
    }
}

impl ForkLock {
    /// In the child of a `fork()`, before the locks are released: only the
    /// forking thread exists here. Every other thread's record is emptied
    /// and freed for reuse (its thread, and so its announcements, are gone;
    /// left in use, the record would leak and its stale addresses would keep
    /// slots retired forever), and the overflow list is emptied. No
    /// allocation, no lock: stores only.
    pub(crate) fn clear_other_threads(&mut self) {
        let mine = LOCAL.try_with(|l| l.rec as *const Record).ok();
        for &r in self.records.iter() {
            if Some(r as *const Record) == mine {
                continue;
            }
            for s in &r.slots {
                s.store(0, Ordering::Relaxed);
            }
            // Calls that thread was running never finish here: its direct
            // token must not stay armed, nor its bytes calls live, for the
            // record's next holder.
            r.direct.clear();
            r.calls.retire_lost_calls();
            r.in_use.store(false, Ordering::Release);
        }
        // Only in place: `retain` neither allocates nor frees.
        let me = tls_mark_addr();
        self.overflow.retain(|&(_, owner)| owner == me);
        OVERFLOW_LEN.store(self.overflow.len(), Ordering::SeqCst);
    }
}

/// Every address announced right now, sorted (call after [`heavy_fence`]).
pub(crate) fn snapshot() -> Vec<usize> {
    let mut v: Vec<usize> = Vec::new();
    for r in RECORDS.lock().iter() {
        for s in &r.slots {
            let a = s.load(Ordering::Acquire);
            if a != 0 {
                v.push(a);
            }
        }
    }
    if OVERFLOW_LEN.load(Ordering::SeqCst) != 0 {
        v.extend(OVERFLOW.lock().iter().map(|&(a, _)| a));
    }
    v.sort_unstable();
    v
}

/// True if `addr` is announced by any thread (call after the writer's
/// fence). No allocation: one pass over the records.
pub(crate) fn is_protected(addr: usize) -> bool {
    let in_records = RECORDS
        .lock()
        .iter()
        .any(|r| r.slots.iter().any(|s| s.load(Ordering::Acquire) == addr));
    in_records
        || (OVERFLOW_LEN.load(Ordering::SeqCst) != 0
            && OVERFLOW.lock().iter().any(|&(a, _)| a == addr))
}

/// Test support: fork, and in the child run `check` (after what the fork
/// handler does there: the registries held and, when `clear`, the other
/// threads' records released) and `_exit` with 0 when it holds. True when
/// the child exited with 0. `check` must allocate nothing and take no lock
/// (other threads may have held one at the fork).
#[cfg(test)]
pub(crate) fn check_in_fork_child(clear: bool, check: impl FnOnce() -> bool) -> bool {
    let mut held = clear.then(lock_for_fork);
    // SAFETY: the child runs only `check` (under the caller's rule above)
    // and _exit; it never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        if let Some(h) = held.as_mut() {
            h.clear_other_threads();
        }
        let code = if check() { 0 } else { 1 };
        // SAFETY: _exit is async-signal-safe and ends the child.
        unsafe { libc::_exit(code) };
    }
    drop(held);
    let mut status = 0;
    // SAFETY: waiting for our own child; `status` is a valid out pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_nest_overflow_and_retract() {
        let base = 0x1000usize;
        let guards: Vec<Hazard> = (0..SLOTS + 3).map(|i| protect(base + i)).collect();
        heavy_fence();
        let snap = snapshot();
        for i in 0..SLOTS + 3 {
            assert!(snap.binary_search(&(base + i)).is_ok(), "slot {i} visible");
        }
        assert!(guards.iter().filter(|g| g.slot.is_none()).count() >= 3);
        drop(guards);
        heavy_fence();
        let snap = snapshot();
        for i in 0..SLOTS + 3 {
            assert!(
                snap.binary_search(&(base + i)).is_err(),
                "slot {i} retracted"
            );
        }
    }

    #[test]
    fn other_threads_announcements_are_seen() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let _g = protect(0x2000);
            tx.send(()).unwrap();
            done_rx.recv().unwrap();
        });
        rx.recv().unwrap();
        heavy_fence();
        assert!(is_protected(0x2000));
        done_tx.send(()).unwrap();
        t.join().unwrap();
        heavy_fence();
        assert!(!is_protected(0x2000));
    }

    /// A fork child keeps only the forking thread: the records of the others
    /// are released for its future threads, and a direct call one of them
    /// had armed must not stay armed for the record's next holder (its
    /// token would still be accepted by `fail`).
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot fork")]
    fn a_fork_child_disarms_the_direct_calls_of_the_threads_it_lost() {
        use crate::ffi::callbacks::DirectCall;
        use std::sync::mpsc;
        let (armed_tx, armed_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let here = here().expect("a record");
            let call = DirectCall::arm(here);
            armed_tx.send(here.rec as *const Record as usize).unwrap();
            done_rx.recv().unwrap();
            assert_eq!(call.finish(), None);
        });
        let rec = armed_rx.recv().unwrap();
        // SAFETY: records are leaked ('static) and never freed.
        let rec: &'static Record = unsafe { &*(rec as *const Record) };
        assert!(rec.direct.is_armed(), "the other thread's call is armed");
        assert!(
            check_in_fork_child(true, || !rec.direct.is_armed()),
            "the child still saw the lost thread's direct call armed"
        );
        done_tx.send(()).unwrap();
        t.join().unwrap();
    }

    /// A fork child does not inherit the membarrier registration: the heavy
    /// fence re-registers instead of failing (which would abort).
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot fork")]
    fn heavy_fence_works_in_a_fork_child() {
        heavy_fence(); // decide the mode (and register) in the parent
        assert!(check_in_fork_child(false, || {
            heavy_fence();
            true
        }));
    }
}

/// Loom models of the handshake itself, on this module's code (records,
/// announce, retract, scan; the fence pair as in [`light_fence`]'s loom
/// form). Run by `scripts/loom.sh`; see docs/CONCURRENCY.md.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    /// A retirable object: `retired` is its state (a gate's `closed`, a
    /// slot's generation), `data` its memory, whose "free" is a write.
    struct Obj {
        retired: AtomicBool,
        data: UnsafeCell<u32>,
    }

    // SAFETY: `data` is shared only as the protocol under test allows; loom
    // checks every access to it for a missing happens-before.
    unsafe impl Sync for Obj {}

    impl Obj {
        fn new() -> Arc<Obj> {
            Arc::new(Obj {
                retired: AtomicBool::new(false),
                data: UnsafeCell::new(7),
            })
        }
        fn addr(&self) -> usize {
            self as *const Obj as usize
        }
        /// A reader's use: the value must still be the live one.
        fn use_it(&self) {
            // SAFETY: a read; loom reports it if it races with `free`.
            let v = self.data.with(|p| unsafe { *p });
            assert_eq!(v, 7, "used after free");
        }
        fn free(&self) {
            // SAFETY: a write; loom reports it if it races with `use_it`.
            self.data.with_mut(|p| unsafe { *p = 0 });
        }
    }

    /// A reader: announce, check the state (Relaxed: the fences carry the
    /// ordering), use only if not retired, retract.
    fn read(obj: &Obj) {
        let h = protect(obj.addr());
        if !obj.retired.load(Ordering::Relaxed) {
            obj.use_it();
        }
        drop(h);
    }

    /// The reclaimer: retire, then heavy fence and scan until no thread
    /// announces the object; then free it.
    fn retire_and_free(obj: &Obj) {
        obj.retired.store(true, Ordering::Relaxed);
        loop {
            heavy_fence();
            if !is_protected(obj.addr()) {
                break;
            }
            loom::thread::yield_now();
        }
        obj.free();
    }

    /// Every schedule with at most three preemptions (the bug patterns of a
    /// two-sided fence handshake need one or two).
    fn builder() -> loom::model::Builder {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b
    }

    /// A retired object is freed only once no thread announces it: no
    /// reader that saw it live (after announcing) overlaps the free.
    #[test]
    fn loom_hazard_free_waits_for_every_announcing_reader() {
        builder().check(|| {
            let obj = Obj::new();
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let obj = Arc::clone(&obj);
                    loom::thread::spawn(move || read(&obj))
                })
                .collect();
            retire_and_free(&obj);
            for r in readers {
                r.join().unwrap();
            }
        });
    }

    /// The batched scan ([`snapshot`], what a table reclaiming several slots
    /// uses) against a reader holding two announcements at once (two slots
    /// of its record).
    #[test]
    fn loom_hazard_snapshot_sees_nested_announcements() {
        builder().check(|| {
            let a = Obj::new();
            let b = Obj::new();
            let reader = {
                let (a, b) = (Arc::clone(&a), Arc::clone(&b));
                loom::thread::spawn(move || {
                    let ha = protect(a.addr());
                    let hb = protect(b.addr());
                    if !a.retired.load(Ordering::Relaxed) {
                        a.use_it();
                    }
                    if !b.retired.load(Ordering::Relaxed) {
                        b.use_it();
                    }
                    drop(hb);
                    drop(ha);
                })
            };
            a.retired.store(true, Ordering::Relaxed);
            b.retired.store(true, Ordering::Relaxed);
            let mut left = vec![&a, &b];
            while !left.is_empty() {
                heavy_fence();
                let snap = snapshot();
                left.retain(|o| {
                    if snap.binary_search(&o.addr()).is_ok() {
                        return true;
                    }
                    o.free();
                    false
                });
                if !left.is_empty() {
                    loom::thread::yield_now();
                }
            }
            reader.join().unwrap();
        });
    }
}
