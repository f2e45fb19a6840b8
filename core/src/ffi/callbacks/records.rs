//! Call records: the token a `bh_call_ctx *` is (see the parent module's docs), the context
//! of one bytes call ([`CallCtx`]) published in a record while the call runs, and the lookup
//! that lets a callback reach a live context and refuses a stale one ([`with_ctx`]).

use super::{hazard, pthread_id, take_input, Kind};
use crate::ffi::hazard::Here;
use crate::ffi::slots::{locate, FIRST_BUCKET};
use crate::output::{CallOutput, WriteError};
use crate::sync::Mutex;
use bridgehost_module_abi as abi;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Bits of a call token that name the record; the rest is the generation.
pub(super) const INDEX_BITS: u32 = 24;
pub(super) const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Generations wrap within the bits left above the index.
pub(super) const GEN_MASK: u64 = (1 << (64 - INDEX_BITS)) - 1;
/// 64 * (2^18 - 1) records >= 2^24 indices.
const BUCKETS: usize = 18;

/// One slot a call context is published in while its call runs. Records
/// are allocated in buckets that are never freed, so a stale token always
/// names readable memory.
pub(super) struct CallRecord {
    /// `generation << 1 | 1` while a call is live, `generation << 1` when
    /// idle (generation counts the record's calls, starting at 1).
    state: AtomicU64,
    /// The live call's thread ([`pthread_id`]), written before `state`.
    owner: AtomicUsize,
    /// The live call's [`CallCtx`] (type-erased), written before `state`.
    ctx: AtomicPtr<()>,
    /// Foreign threads between their check of `state` and the end of
    /// their use of `ctx`.
    visitors: AtomicUsize,
}

impl CallRecord {
    const fn new() -> Self {
        CallRecord {
            state: AtomicU64::new(1 << 1),
            owner: AtomicUsize::new(0),
            ctx: AtomicPtr::new(std::ptr::null_mut()),
            visitors: AtomicUsize::new(0),
        }
    }
}

static RECORD_BUCKETS: [OnceLock<Box<[CallRecord]>>; BUCKETS] =
    [const { OnceLock::new() }; BUCKETS];

/// Indices of records no thread holds (a thread keeps its records until it
/// exits) and the next never-used index.
struct RecordPool {
    free: Vec<u32>,
    next: u32,
}

static RECORD_POOL: Mutex<RecordPool> = crate::sync::Mutex::new(RecordPool {
    free: Vec::new(),
    next: 0,
});

fn record(index: u32) -> Option<&'static CallRecord> {
    let (b, off) = locate(index);
    RECORD_BUCKETS.get(b)?.get()?.get(off)
}

/// Take a record index from the pool (allocating its bucket on first use).
/// `None` when every one of the 2^24 indices is held.
#[cold]
fn pool_take() -> Option<u32> {
    let mut p = RECORD_POOL.lock();
    if let Some(i) = p.free.pop() {
        return Some(i);
    }
    let i = p.next;
    // The last index is never a record: it marks a direct call's token.
    if u64::from(i) >= INDEX_MASK {
        return None;
    }
    let (b, _) = locate(i);
    RECORD_BUCKETS[b].get_or_init(|| (0..FIRST_BUCKET << b).map(|_| CallRecord::new()).collect());
    p.next += 1;
    Some(i)
}

fn pool_put(indices: impl IntoIterator<Item = u32>) {
    RECORD_POOL.lock().free.extend(indices);
}

/// A thread's records: as many as its deepest nesting of calls (a module
/// calling the host, which calls a module, ... on one thread). Only this
/// thread publishes and retires them, so the one with no live call is free
/// for its next call with no bookkeeping at the end of a call.
///
/// Kept in the thread's hazard record ([`Here::call_records`]), so that a
/// call finds them through the lookup its gate entry made. When the thread
/// exits, its records are all idle (contexts are `!Send` and scoped) and
/// stay with the hazard record for the next thread that takes it.
pub(crate) struct HeldRecords {
    held: RefCell<Vec<(u32, &'static CallRecord)>>,
}

impl HeldRecords {
    pub(crate) const fn new() -> Self {
        HeldRecords {
            held: RefCell::new(Vec::new()),
        }
    }
}

impl HeldRecords {
    /// In a fork child, for a record whose thread did not survive the fork:
    /// retire every call record it had live (those calls never return here),
    /// so a token of one is `BH_API_STALE` in the child instead of reaching
    /// a context on a stack no thread runs on, and the records are idle for
    /// the hazard record's next holder. Allocates nothing and takes no lock
    /// (the fork handler runs it with every other thread gone); a Vec the
    /// lost thread was changing at the fork (borrowed) is left alone.
    pub(crate) fn retire_lost_calls(&self) {
        let Ok(held) = self.held.try_borrow() else {
            return;
        };
        for &(_, rec) in held.iter() {
            let state = rec.state.load(Ordering::Relaxed);
            if state & 1 == 1 {
                rec.state.store(next_idle(state), Ordering::Relaxed);
            }
        }
    }
}

/// The idle state after the live `state`: the next generation (never 0, so
/// that no token is ever null).
fn next_idle(state: u64) -> u64 {
    let mut next = ((state >> 1).wrapping_add(1)) & GEN_MASK;
    if next == 0 {
        next = 1;
    }
    next << 1
}

// SAFETY: a hazard record is shared (other threads scan its announcement
// slots), but its HeldRecords is reached only through a `Here`, which only
// the thread that holds the record can obtain (from its own thread-local,
// `Here` is !Send): one thread at a time uses the RefCell. A record passes
// to another thread only after its holder's thread-local destructor
// released it (Release store of `in_use`, Acquire CAS by the next holder),
// with no borrow outstanding, or, in a fork child, after the fork handler
// (the only thread left, holding the record registry) ran
// `retire_lost_calls` on it; the Vec and the `&'static CallRecord`s in it
// may move between threads (both Send).
unsafe impl Sync for HeldRecords {}

/// Where a context's record came from (how to give it back).
#[derive(Clone, Copy)]
enum Held {
    /// One of the thread's records: free again once retired.
    Thread,
    /// The pool directly (this thread's thread-locals are already gone):
    /// back to the pool once retired.
    Pool,
}

/// An idle record for a call about to be published on this thread: the
/// thread's first record with no live call (calls on one thread nest, so
/// the outer ones are live), or a new one from the pool. `None` when every
/// index is held: the context then hands out a null token, which every
/// callback refuses (`BH_API_INVALID`).
#[inline(always)]
fn acquire_record(here: Option<Here>) -> Option<(u32, &'static CallRecord, Held)> {
    let Some(here) = here else {
        let i = pool_take()?;
        return Some((i, record(i)?, Held::Pool));
    };
    let mut held = here.call_records().held.borrow_mut();
    // Relaxed: only this thread ever moves its records' state.
    if let Some(&(i, rec)) = held
        .iter()
        .find(|(_, rec)| rec.state.load(Ordering::Relaxed) & 1 == 0)
    {
        return Some((i, rec, Held::Thread));
    }
    let i = pool_take()?;
    let rec = record(i)?;
    held.push((i, rec));
    Some((i, rec, Held::Thread))
}

/// What threads other than the calling one wrote, and the recorded failure.
#[derive(Default)]
struct Shared {
    side: Vec<u8>,
    failure: Option<(i32, String)>,
    exceeded: bool,
}

/// The host side of a `bh_call*`: lives on the caller's stack for one call.
///
/// Writes from the calling thread (the common case) go straight into the
/// output with no lock: `out` is touched only by that thread. Writes from any
/// other thread go, under `shared`'s mutex, to a side buffer that is appended
/// after the call; once a side write happened (`side_used`), the calling
/// thread appends to the side buffer too, so output written in sequence by
/// handing off between threads keeps its order.
///
/// Lifecycle: [`CallCtx::new`] takes a record, [`CallCtx::as_ptr`]
/// publishes the context in it (the context must not move after that) and
/// returns the token, [`CallCtx::finish`] retires it (and `Drop` does, if
/// `finish` was not reached).
pub(crate) struct CallCtx<'a, 'b> {
    /// The calling thread's hazard record (whose call records it uses).
    here: Option<Here>,
    owner: usize,
    out: UnsafeCell<&'a mut CallOutput<'b>>,
    owner_len: AtomicUsize,
    max: usize,
    side_used: AtomicBool,
    /// Boxed on first use: most calls never write from another thread or
    /// report a failure, and then the context is a few words to set up.
    shared: Mutex<Option<Box<Shared>>>,
    /// The record the context is published in, from [`as_ptr`](Self::as_ptr)
    /// until it is retired.
    rec: Cell<Option<(u32, &'static CallRecord, Held)>>,
    /// The token handed out (0 until published, and after retiring).
    token: Cell<u64>,
    /// Published by address: never sent to another thread.
    _pinned: PhantomData<*const ()>,
}

impl<'a, 'b> CallCtx<'a, 'b> {
    #[inline(always)]
    pub(crate) fn new(out: &'a mut CallOutput<'b>) -> Self {
        Self::new_in(out, hazard::here())
    }

    /// [`new`](Self::new) on the thread `here` names (looked up by the
    /// caller; `None`: no record, the call takes one from the pool).
    #[inline(always)]
    pub(crate) fn new_in(out: &'a mut CallOutput<'b>, here: Option<Here>) -> Self {
        let (len, max) = (out.len(), out.max());
        CallCtx {
            here,
            owner: pthread_id(),
            out: UnsafeCell::new(out),
            owner_len: AtomicUsize::new(len),
            max,
            side_used: AtomicBool::new(false),
            shared: Mutex::new(None),
            rec: Cell::new(None),
            token: Cell::new(0),
            _pinned: PhantomData,
        }
    }

    /// Publish the context and return the pointer handed to the module (a
    /// token, see the module docs). The context must stay where it is until
    /// [`finish`](Self::finish) or drop.
    pub(crate) fn as_ptr(&self) -> *mut abi::BhCall {
        if self.token.get() == 0 {
            // The record is taken here, not in `new`: from taking it to
            // marking it live no other call can start on this thread.
            let Some((index, rec, held)) = acquire_record(self.here) else {
                return std::ptr::null_mut();
            };
            let idle = rec.state.load(Ordering::Relaxed);
            rec.owner.store(self.owner, Ordering::Relaxed);
            rec.ctx
                .store((self as *const Self).cast_mut().cast(), Ordering::Relaxed);
            // Release: a thread that reads the live state reads owner and ctx.
            rec.state.store(idle | 1, Ordering::Release);
            let gen = (idle >> 1) & GEN_MASK;
            self.rec.set(Some((index, rec, held)));
            self.token.set((gen << INDEX_BITS) | u64::from(index));
        }
        self.token.get() as usize as *mut abi::BhCall
    }

    /// Retire the record: no use of the token, from any thread, reaches
    /// this context after this returns.
    #[inline(always)]
    fn retire(&self) {
        let Some((index, rec, held)) = self.rec.take() else {
            return;
        };
        self.token.set(0);
        let live = rec.state.load(Ordering::Relaxed);
        rec.state.store(next_idle(live), Ordering::Relaxed);
        // Pairs with a visitor's (announce, heavy fence, state load): either
        // it saw the new state and backs off, or we see its announcement.
        hazard::light_fence();
        if rec.visitors.load(Ordering::Acquire) != 0 {
            wait_for_visitors(rec);
        }
        if let Held::Pool = held {
            pool_put([index]);
        }
    }

    /// End of the call: retire the context (no late use can reach it),
    /// append side writes, return the failure if any.
    ///
    /// Inlined: out of line, moving the context into this function made the
    /// CPU reload ~100 bytes the module's callbacks had just written through
    /// narrower stores (a store-forwarding stall, ~20 % of a 16-byte echo in
    /// the `perf annotate` of `Instance::call`).
    #[inline(always)]
    pub(crate) fn finish(&mut self) -> Option<(i32, String)> {
        self.retire();
        // No side state: no side writes, no failure reported.
        let shared = self.shared.get_mut().take()?;
        let out = &mut **self.out.get_mut();
        // A refused side write, or side output that does not fit: the call
        // exceeded its limit.
        if shared.exceeded || (!shared.side.is_empty() && out.write(&shared.side).is_err()) {
            out.mark_exceeded();
        }
        shared.failure
    }

    /// `on_owner`: the caller is the call's own thread (checked by
    /// [`with_ctx`]).
    pub(super) fn write(&self, on_owner: bool, data: *const u8, len: usize) -> i32 {
        if on_owner && !self.side_used.load(Ordering::Acquire) {
            // SAFETY: only the calling thread (identified by its pthread_t,
            // unique among live threads; it is blocked in this call so it is
            // alive) ever touches `out` during the call, and a host callback
            // never re-enters itself, so this is the only live reference.
            let out = unsafe { &mut **self.out.get() };
            let limit = out.max().saturating_sub(out.len());
            // SAFETY: the module promises `len` readable bytes at `data` for
            // the duration of this write (the length is checked first).
            let bytes = match unsafe { take_input(data, len, limit, Kind::Bytes) } {
                Ok(b) => b,
                Err(status) => {
                    if status == abi::API_TOO_LARGE {
                        out.mark_exceeded();
                    }
                    return status;
                }
            };
            return match out.write(bytes) {
                Ok(()) => {
                    self.owner_len.store(out.len(), Ordering::Relaxed);
                    abi::API_OK
                }
                Err(WriteError::TooLarge) => abi::API_TOO_LARGE,
            };
        }
        let mut guard = self.shared.lock();
        let sh = guard.get_or_insert_with(Box::default);
        self.side_used.store(true, Ordering::Release);
        let total = self
            .owner_len
            .load(Ordering::Relaxed)
            .saturating_add(sh.side.len());
        let limit = self.max.saturating_sub(total);
        // SAFETY: as above.
        match unsafe { take_input(data, len, limit, Kind::Bytes) } {
            Ok(bytes) => {
                sh.side.extend_from_slice(bytes);
                abi::API_OK
            }
            Err(status) => {
                if status == abi::API_TOO_LARGE {
                    sh.exceeded = true;
                }
                status
            }
        }
    }

    /// Record a failure (the last one reported wins).
    pub(super) fn fail(&self, code: i32, message: String) {
        self.shared.lock().get_or_insert_with(Box::default).failure = Some((code, message));
    }
}

impl Drop for CallCtx<'_, '_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.retire();
    }
}

/// Wait until no foreign thread is inside the retired record (each one is
/// copying at most one bounded write).
#[cold]
#[inline(never)]
fn wait_for_visitors(rec: &CallRecord) {
    let mut spins = 0u32;
    while rec.visitors.load(Ordering::Acquire) != 0 {
        if spins < 64 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// Run `f` on the live context a call token names, or return `None` (stale,
/// forged or null token: the caller answers `BH_API_STALE`/`BH_API_INVALID`).
///
/// The calling thread of a live call uses it directly (only it can retire
/// the call, and it is busy in this callback); any other thread announces
/// itself in `visitors` first (see the module docs).
#[inline]
pub(super) fn with_ctx<R>(
    call: *mut abi::BhCall,
    f: impl FnOnce(&CallCtx<'_, '_>, bool) -> R,
) -> Result<R, i32> {
    let token = call as usize as u64;
    if token == 0 {
        return Err(abi::API_INVALID);
    }
    let Ok(index) = u32::try_from(token & INDEX_MASK) else {
        return Err(abi::API_INVALID);
    };
    let Some(rec) = record(index) else {
        // No such record was ever handed out: not a context at all.
        return Err(abi::API_INVALID);
    };
    let live = (((token >> INDEX_BITS) & GEN_MASK) << 1) | 1;
    if rec.state.load(Ordering::Acquire) == live
        && rec.owner.load(Ordering::Relaxed) == pthread_id()
    {
        // SAFETY: the record is live with this token's generation and its
        // call runs on this thread, which is inside this callback: the call
        // cannot return (and retire the context) before `f` does, so the
        // published context is alive and does not move.
        let ctx = unsafe { &*rec.ctx.load(Ordering::Relaxed).cast::<CallCtx<'_, '_>>() };
        return Ok(f(ctx, true));
    }
    rec.visitors.fetch_add(1, Ordering::SeqCst);
    hazard::heavy_fence();
    let r = if rec.state.load(Ordering::Acquire) == live {
        // SAFETY: we announced ourselves (visitors), fenced, and then saw
        // the call live: the owner's retire (state store, light fence,
        // visitors load) sees our announcement and waits until we leave, so
        // the context stays alive and in place until the decrement below.
        let ctx = unsafe { &*rec.ctx.load(Ordering::Acquire).cast::<CallCtx<'_, '_>>() };
        Ok(f(ctx, false))
    } else {
        Err(abi::API_STALE)
    };
    rec.visitors.fetch_sub(1, Ordering::Release);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fork child keeps only the forking thread: a bytes call another
    /// thread had published at the fork never returns there, and its token
    /// must be stale in the child (not a way into a stack no thread runs
    /// on); the hazard record's next holder finds the call record idle.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot fork")]
    fn a_fork_child_retires_the_calls_of_the_threads_it_lost() {
        use std::sync::mpsc;
        let (token_tx, token_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut out = CallOutput::to_vec(&mut buf, 64);
            let mut ctx = CallCtx::new(&mut out);
            token_tx.send(ctx.as_ptr() as usize).unwrap();
            done_rx.recv().unwrap();
            assert_eq!(ctx.finish(), None);
        });
        let token = token_rx.recv().unwrap() as *mut abi::BhCall;
        assert_eq!(
            with_ctx(token, |_, on_owner| on_owner),
            Ok(false),
            "live in the parent, for a thread that is not its owner"
        );
        let token = token as usize as u64;
        let index = (token & INDEX_MASK) as u32;
        let live = (((token >> INDEX_BITS) & GEN_MASK) << 1) | 1;
        assert!(
            hazard::check_in_fork_child(true, || {
                record(index).is_some_and(|r| r.state.load(Ordering::Relaxed) != live)
            }),
            "the lost thread's call was still live in the child"
        );
        done_tx.send(()).unwrap();
        t.join().unwrap();
    }
}
