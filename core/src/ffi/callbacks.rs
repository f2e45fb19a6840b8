//! The host API handed to modules (`bh_host_api`): write, fail, emit, log.
//!
//! Each function is `extern "C"`, callable from any thread, validates every
//! argument as hostile, never unwinds (a panic inside is caught and reported
//! as `BH_API_INVALID`), and reads module memory only through
//! [`take_input`]: the one length and UTF-8 policy of every callback. A
//! claimed length above the callback's limit is `BH_API_TOO_LARGE` and
//! nothing is read; a null pointer with a length is `BH_API_INVALID`; text
//! (a `fail`/`log` message, an `emit` topic) that is not UTF-8 is
//! `BH_API_INVALID`. Limits: `write` the call's remaining output,
//! `fail`/`log` [`MAX_MESSAGE_LEN`], an `emit` topic
//! [`MAX_TOPIC_LEN`](crate::events::MAX_TOPIC_LEN) (and not empty), `emit`
//! data the module's `max_event`.
//!
//! `emit`/`log` address the instance by token, not pointer: after the
//! instance is destroyed its token is removed from [`INSTANCES`], so a late
//! emit from a stray module thread is `BH_API_STALE`, never a use-after-free.
//!
//! `write`/`fail` address the call by a token too: the `bh_call_ctx *` a
//! module receives is not an address but `(generation << 24) | record`,
//! naming one [`CallRecord`] (records are leaked and never move) and the
//! call that record serves. When the call returns, the record's generation
//! moves on, so any later use of the old pointer, from any thread, finds a
//! generation mismatch and gets `BH_API_STALE`; it never touches the
//! returned call's (stack) state. A thread other than the caller's that
//! uses a live context announces itself in the record's `visitors` and
//! issues the heavy fence; the caller retiring the record issues the light
//! one and waits out announced visitors (the asymmetric Dekker pair of
//! `ffi/hazard.rs`, with the roles swapped: here the retire runs on every
//! call and the foreign-thread write is the rare side).

use super::hazard;
use crate::handles::HandleTable;
use crate::output::{CallOutput, WriteError};
use crate::sync::Mutex;
use bridgehost_module_abi as abi;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::ffi::c_char;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Where an instance's events and logs go.
pub(crate) trait InstanceEvents: Send + Sync {
    /// Deliver an event; returns an `abi::API_*` status.
    fn emit(&self, topic: &str, data: &[u8]) -> i32;
    /// Largest payload accepted by `emit`.
    fn max_event_size(&self) -> usize;
    /// Log a module message.
    fn log(&self, level: i32, msg: &str);
}

/// Live instance tokens.
pub(crate) static INSTANCES: HandleTable<dyn InstanceEvents> = HandleTable::new(0x4d);

/// Longest module message (`fail`, `log`) accepted, in bytes: a longer
/// claimed length is refused with `BH_API_TOO_LARGE` and nothing is read.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The current thread's identity, unique among live threads: its
/// `pthread_t` (two instructions in glibc and musl, where a thread-local in
/// this dlopen'ed library would cost a `__tls_get_addr` call per use: it is
/// read twice per call). Owner ids of call records and of a module's serial
/// lock only; the hazard overflow list uses its own id
/// (`ffi::hazard::tls_mark_addr`), and the two are never compared.
#[inline]
pub(crate) fn pthread_id() -> usize {
    // SAFETY: pthread_self has no preconditions and touches no memory of
    // ours; it cannot fail.
    let t = unsafe { libc::pthread_self() };
    t as usize
}

/// Whether a callback argument is text (UTF-8 required) or bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bytes,
}

/// The one length and UTF-8 policy of every host callback: borrow `len`
/// bytes at `ptr` if `len <= limit` (else `BH_API_TOO_LARGE`, nothing
/// read), `ptr` is non-null when `len > 0` (else `BH_API_INVALID`) and, for
/// text, the bytes are UTF-8 (else `BH_API_INVALID`).
///
/// # Safety
/// If `ptr` is non-null and `len <= limit`, it must point to `len` readable
/// bytes that stay valid and unmodified for `'x` (the module's promise for
/// the duration of the callback).
unsafe fn take_input<'x>(
    ptr: *const u8,
    len: usize,
    limit: usize,
    kind: Kind,
) -> Result<&'x [u8], i32> {
    if len > limit {
        return Err(abi::API_TOO_LARGE);
    }
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(abi::API_INVALID);
    }
    // SAFETY: non-null, len bounded by isize::MAX and by the callback's
    // limit; readability is the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    if kind == Kind::Text && std::str::from_utf8(bytes).is_err() {
        return Err(abi::API_INVALID);
    }
    Ok(bytes)
}

/// A message read under [`take_input`]'s policy, or the status it got.
///
/// # Safety
/// As [`take_input`].
unsafe fn take_message(msg: *const c_char, len: usize) -> Result<String, i32> {
    // SAFETY: forwarded contract.
    let b = unsafe { take_input(msg.cast(), len, MAX_MESSAGE_LEN, Kind::Text) }?;
    // Checked UTF-8 above.
    Ok(String::from_utf8_lossy(b).into_owned())
}

// ---- call records -------------------------------------------------------

/// Bits of a call token that name the record; the rest is the generation.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Generations wrap within the bits left above the index.
const GEN_MASK: u64 = (1 << (64 - INDEX_BITS)) - 1;
const FIRST_BUCKET: usize = 64;
/// 64 * (2^18 - 1) records >= 2^24 indices.
const BUCKETS: usize = 18;

/// One slot a call context is published in while its call runs. Records
/// are allocated in buckets that are never freed, so a stale token always
/// names readable memory.
struct CallRecord {
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

fn locate(index: u32) -> (usize, usize) {
    let j = index as u64 / FIRST_BUCKET as u64 + 1;
    let b = 63 - j.leading_zeros() as usize;
    let start = FIRST_BUCKET as u64 * ((1u64 << b) - 1);
    (b, (index as u64 - start) as usize)
}

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
/// for its next call with no bookkeeping at the end of a call. Returned to
/// the pool when the thread exits.
struct ThreadRecords {
    held: RefCell<Vec<(u32, &'static CallRecord)>>,
}

impl Drop for ThreadRecords {
    fn drop(&mut self) {
        // Every call of this thread has ended (contexts are !Send and
        // scoped), so every record is idle.
        pool_put(self.held.get_mut().drain(..).map(|(i, _)| i));
    }
}

thread_local! {
    static THREAD_RECORDS: ThreadRecords = const {
        ThreadRecords {
            held: RefCell::new(Vec::new()),
        }
    };
}

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
fn acquire_record() -> Option<(u32, &'static CallRecord, Held)> {
    let r = THREAD_RECORDS.try_with(|t| {
        let mut held = t.held.borrow_mut();
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
    });
    match r {
        Ok(got) => got,
        Err(_) => {
            let i = pool_take()?;
            Some((i, record(i)?, Held::Pool))
        }
    }
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
        let (len, max) = (out.len(), out.max());
        CallCtx {
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
            let Some((index, rec, held)) = acquire_record() else {
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
        let mut next = ((live >> 1).wrapping_add(1)) & GEN_MASK;
        if next == 0 {
            next = 1; // a token is never 0 (null)
        }
        rec.state.store(next << 1, Ordering::Relaxed);
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
    fn write(&self, on_owner: bool, data: *const u8, len: usize) -> i32 {
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
    fn fail(&self, code: i32, message: String) {
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
fn with_ctx<R>(
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

/// The API table for an instance whose token is `token`.
pub(crate) fn host_api(token: u64) -> abi::HostApi {
    abi::HostApi {
        struct_size: std::mem::size_of::<abi::HostApi>() as u32,
        abi_version: abi::ABI_VERSION,
        instance_token: token,
        write: host_write,
        fail: host_fail,
        emit: host_emit,
        log: host_log,
    }
}

// ---- direct calls ---------------------------------------------------------

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

fn is_direct_token(token: u64) -> bool {
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
fn direct_fail(token: u64, code: i32, msg: *const c_char, msg_len: usize) -> i32 {
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

unsafe extern "C" fn host_write(call: *mut abi::BhCall, data: *const u8, len: usize) -> i32 {
    if is_direct_token(call as usize as u64) {
        // A direct entry has no byte output (and a stale direct token is
        // no context either).
        return abi::API_INVALID;
    }
    std::panic::catch_unwind(|| {
        with_ctx(call, |ctx, on_owner| ctx.write(on_owner, data, len)).unwrap_or_else(|s| s)
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn host_fail(
    call: *mut abi::BhCall,
    code: i32,
    msg: *const c_char,
    msg_len: usize,
) -> i32 {
    let token = call as usize as u64;
    if is_direct_token(token) {
        return std::panic::catch_unwind(|| direct_fail(token, code, msg, msg_len))
            .unwrap_or(abi::API_INVALID);
    }
    std::panic::catch_unwind(|| {
        with_ctx(call, |ctx, _| {
            if code == 0 {
                return abi::API_INVALID;
            }
            // SAFETY: the module promises msg_len readable bytes; the policy
            // reads them only if msg_len is within the limit.
            let (message, status) = match unsafe { take_message(msg, msg_len) } {
                Ok(m) => (m, abi::API_OK),
                // The failure still counts (the call fails with the module's
                // code); the message says why the module's text was refused.
                Err(status) => (refused_message(status, msg_len), status),
            };
            ctx.fail(code, message);
            status
        })
        .unwrap_or_else(|s| s)
    })
    .unwrap_or(abi::API_INVALID)
}

fn refused_message(status: i32, len: usize) -> String {
    match status {
        abi::API_TOO_LARGE => format!(
            "(module message refused: claimed length {len} exceeds {MAX_MESSAGE_LEN} bytes)"
        ),
        _ => "(module message refused: null pointer or not UTF-8)".to_string(),
    }
}

unsafe extern "C" fn host_emit(
    token: u64,
    topic: *const c_char,
    topic_len: usize,
    data: *const u8,
    len: usize,
) -> i32 {
    std::panic::catch_unwind(|| {
        INSTANCES
            .with(token, |target| {
                if topic_len == 0 {
                    return abi::API_INVALID;
                }
                // SAFETY: the module promises topic_len readable bytes; read
                // only within the limit.
                let topic = match unsafe {
                    take_input(
                        topic.cast(),
                        topic_len,
                        crate::events::MAX_TOPIC_LEN,
                        Kind::Text,
                    )
                } {
                    Ok(t) => t,
                    Err(s) => return s,
                };
                // SAFETY: as above, for the payload.
                let data =
                    match unsafe { take_input(data, len, target.max_event_size(), Kind::Bytes) } {
                        Ok(d) => d,
                        Err(s) => return s,
                    };
                match std::str::from_utf8(topic) {
                    Ok(topic) => target.emit(topic, data),
                    Err(_) => abi::API_INVALID,
                }
            })
            .unwrap_or(abi::API_STALE)
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn host_log(token: u64, level: i32, msg: *const c_char, msg_len: usize) -> i32 {
    std::panic::catch_unwind(|| {
        // A borrow, not an `Arc` clone: the table stays usable (and the token
        // removable) while the log line runs through a front end's sink.
        INSTANCES
            .with(token, |target| {
                // SAFETY: the module promises msg_len readable bytes; read
                // only within the limit.
                match unsafe { take_message(msg, msg_len) } {
                    Ok(m) => {
                        target.log(level, &m);
                        abi::API_OK
                    }
                    Err(s) => s,
                }
            })
            .unwrap_or(abi::API_STALE)
    })
    .unwrap_or(abi::API_INVALID)
}

/// Register `events` and return the instance token modules will use.
pub(crate) fn register(events: Arc<dyn InstanceEvents>) -> u64 {
    INSTANCES.insert(events)
}

/// Retire a token (after the instance was destroyed).
pub(crate) fn unregister(token: u64) {
    INSTANCES.remove(token);
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
