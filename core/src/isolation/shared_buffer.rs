//! [`SharedBuffer`]: caller memory an isolated worker reads in place, so a
//! large input crosses into the worker without being copied.
//!
//! An input is an ordinary `&[u8]` everywhere. When an isolated call's input
//! (above the 64 KiB inline size) lies inside a live `SharedBuffer`, the host
//! lends the buffer's memfd to the worker once (`MAP` of kind `Caller`), and
//! each call names its offset and length instead of copying the bytes into
//! the worker's input region. The lookup is by address in a registry of live
//! buffers ([`lent`]); a buffer leaves it before its memory is unmapped.
//! In-process calls read the same slice directly, as for any input.
#![forbid(unsafe_code)]

use super::sys::{memory_total, SealedBuf};
use crate::error::{Error, Result};
use crate::sync::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLockReadGuard, Weak};

/// A byte buffer that isolated workers read in place: pass it (or a slice of
/// it) as the input of an isolated call and the bytes are not copied into
/// the worker, whatever their size. Everywhere else it is a `[u8]` (`Deref`,
/// `DerefMut`); in-process calls read it like any other input.
///
/// What an isolated worker can and cannot do with it: the buffer is sealed
/// against writes, truncation and growth by any other process, and the
/// worker maps (read-only) only the pages that hold its input, so it can
/// never change the caller's bytes (a module that writes to such an input
/// crashes its worker; the call fails with `WorkerCrashed`). An input of at
/// most 64 KiB is copied, as any input, into the worker's own memory. It can
/// read the pages it mapped for as long as it keeps them: **a worker that
/// was given part of this buffer can read everything written there
/// afterwards**, until the buffer is dropped or a later call of that worker
/// needs other pages. Do not reuse one buffer for data that a module it was
/// lent to must not see. In-process, a module runs in the caller's process
/// and nothing stops it from writing its input (as for any input).
///
/// Its pages are allocated as they are first touched (written or read),
/// like a sparse file's.
///
/// `submit` copies its input (the call outlives the borrow), so only
/// synchronous calls (`call`, `call_with`, `call_to_slice`, `call_into`)
/// read a buffer in place.
///
/// ```
/// use bridgehost::SharedBuffer;
/// let mut buf = SharedBuffer::new(1 << 20)?;
/// buf[..5].copy_from_slice(b"hello");
/// assert_eq!(buf.len(), 1 << 20);
/// assert_eq!(&buf[..5], b"hello");
/// # Ok::<(), bridgehost::Error>(())
/// ```
pub struct SharedBuffer {
    mem: SealedBuf,
    /// Held for as long as the buffer lives: workers that mapped it learn
    /// from its weak references that it is gone.
    inner: Arc<Inner>,
}

/// What a call needs to lend a buffer to a worker: its identity, size and
/// a descriptor of its (sealed) memfd.
pub(crate) struct Inner {
    id: u64,
    len: usize,
    fd: OwnedFd,
}

impl Inner {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A live buffer, by the address of its first byte.
struct Entry {
    len: usize,
    inner: Weak<Inner>,
}

static LIVE: RwLock<BTreeMap<usize, Entry>> = RwLock::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A buffer length as a front end received it, for [`SharedBuffer::check_len`]:
/// a size, or a value no `usize` holds, kept as the caller wrote it so the
/// refusal names it (Java's negative `long`, Python's `-1` or `2**64`, C#'s
/// negative `long`).
#[derive(Clone, Copy)]
pub enum RequestedLen<'a> {
    /// A size in bytes.
    Size(usize),
    /// A negative value, as written.
    Negative(&'a dyn std::fmt::Display),
    /// A value above `usize::MAX`, as written.
    TooLarge(&'a dyn std::fmt::Display),
}

impl std::fmt::Debug for RequestedLen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestedLen::Size(n) => write!(f, "Size({n})"),
            RequestedLen::Negative(v) => write!(f, "Negative({v})"),
            RequestedLen::TooLarge(v) => write!(f, "TooLarge({v})"),
        }
    }
}

impl SharedBuffer {
    /// The one rule for a buffer's length: at least 1 (`InvalidArgument`,
    /// "a shared buffer of 0 bytes: give it a length of at least 1", also
    /// for a negative value) and at most this machine's RAM and swap
    /// (`ResourceLimit`, "a shared buffer of N bytes is more than this
    /// machine's memory (...)", also for a value beyond `usize`). Every front
    /// end hands the caller's value here, so each says the same thing of it.
    pub fn check_len(requested: RequestedLen<'_>) -> Result<usize> {
        let len = match requested {
            RequestedLen::Size(0) => return Err(too_short(&0)),
            RequestedLen::Negative(v) => return Err(too_short(v)),
            RequestedLen::TooLarge(v) => return Err(too_large(v)),
            RequestedLen::Size(n) => n,
        };
        // Its pages are allocated as they are written (a sparse file), so a
        // length no write could ever fill would only fail later, in the
        // middle of the caller's writes: refuse it now, as the kernel's
        // default overcommit policy refuses such an anonymous allocation.
        if memory_total().is_some_and(|total| len as u64 > total) {
            return Err(too_large(&len));
        }
        Ok(len)
    }
}

#[cold]
fn too_short(v: &dyn std::fmt::Display) -> Error {
    Error::InvalidArgument(format!(
        "a shared buffer of {v} bytes: give it a length of at least 1"
    ))
}

#[cold]
fn too_large(v: &dyn std::fmt::Display) -> Error {
    match memory_total() {
        Some(total) => Error::ResourceLimit(format!(
            "a shared buffer of {v} bytes is more than this machine's memory ({total} bytes of RAM and swap)"
        )),
        None => Error::ResourceLimit(format!(
            "a shared buffer of {v} bytes is more than this machine can map"
        )),
    }
}

impl SharedBuffer {
    /// A zero-filled buffer of `len` bytes (`len` > 0). `InvalidArgument`
    /// for 0; `ResourceLimit` for more than the machine's RAM and swap, or
    /// when the mapping cannot be made. (Pages are allocated as they are
    /// first touched: a length the machine holds can still run out of memory
    /// later if other processes take it.)
    pub fn new(len: usize) -> Result<SharedBuffer> {
        let len = Self::check_len(RequestedLen::Size(len))?;
        let mem = SealedBuf::create(c"bridgehost-shared", len).map_err(|e| {
            Error::ResourceLimit(format!("cannot create a shared buffer of {len} bytes: {e}"))
        })?;
        let fd = mem.fd().try_clone_to_owned().map_err(|e| {
            Error::ResourceLimit(format!("cannot create a shared buffer of {len} bytes: {e}"))
        })?;
        let inner = Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            len,
            fd,
        });
        let start = mem.as_slice().as_ptr() as usize;
        LIVE.write().insert(
            start,
            Entry {
                len,
                inner: Arc::downgrade(&inner),
            },
        );
        Ok(SharedBuffer { mem, inner })
    }

    /// Its length in bytes (fixed at creation).
    pub fn len(&self) -> usize {
        self.mem.len()
    }

    /// Never true (a buffer has at least one byte); for clippy's
    /// `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Its first byte, for a front end that hands the memory to foreign
    /// code (the C ABI's `bh_shared_buffer_data`): a pointer of the mapping
    /// itself, valid for reads and writes of `len()` bytes until the buffer
    /// drops. Writing through it is sound only while no Rust reference to
    /// the bytes is alive (no `Deref` borrow, no call reading them).
    pub(crate) fn raw_ptr(&self) -> *mut u8 {
        self.mem.raw_ptr()
    }
}

impl std::ops::Deref for SharedBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.mem.as_slice()
    }
}

impl std::ops::DerefMut for SharedBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        // A call reading this buffer borrows it shared, so none runs while
        // `&mut self` exists.
        self.mem.as_mut_slice()
    }
}

impl AsRef<[u8]> for SharedBuffer {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl AsMut<[u8]> for SharedBuffer {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl std::fmt::Debug for SharedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBuffer")
            .field("id", &self.inner.id)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        // Out of the registry before the memory goes (`mem`'s drop unmaps).
        let start = self.mem.as_slice().as_ptr() as usize;
        LIVE.write().remove(&start);
    }
}

/// An input that lies inside a live [`SharedBuffer`]: the buffer and where
/// in it. The caller's borrow of the input keeps the buffer alive (and
/// unwritten) for as long as the call that holds this runs.
pub(crate) struct Lent {
    pub(crate) inner: Arc<Inner>,
    pub(crate) off: usize,
}

impl Lent {
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }
    pub(crate) fn size(&self) -> usize {
        self.inner.len
    }
}

/// The live buffer `input` lies in, if any.
pub(crate) fn lent(input: &[u8]) -> Option<Lent> {
    let at = input.as_ptr() as usize;
    let live = LIVE.read();
    let (&start, e) = live.range(..=at).next_back()?;
    let off = at - start;
    if off.checked_add(input.len())? > e.len {
        return None;
    }
    let inner = e.inner.upgrade()?;
    Some(Lent { inner, off })
}

/// Whether the buffer `weak` names is still alive.
pub(crate) fn alive(weak: &Weak<Inner>) -> bool {
    weak.strong_count() > 0
}

/// What a front end whose callers cannot borrow adds to a [`SharedBuffer`]:
/// **nothing changes the bytes under a call**. Rust callers get that rule
/// from the borrow checker (a call borrows its input shared, a write needs
/// `&mut`); Java and Python hold a buffer by a handle any thread can use,
/// so the rule lives here, once, for every front end.
///
/// * A call reading the buffer counts itself for its whole length
///   ([`lend`](Self::lend), or an owned [`CallLease`] from
///   [`begin_call`](Self::begin_call)).
/// * A write ([`write_at`](Self::write_at), [`write_with`](Self::write_with))
///   is refused with [`Error::Unavailable`] while any call is counted, and
///   nothing is written. A call never starts in the middle of a write.
/// * A copy out ([`read_at`](Self::read_at), [`read`](Self::read)) runs
///   beside calls; a write waits for the copies in progress (they are short).
/// * Memory is never freed under a call: a front end shares the value (an
///   `Arc`), and a lease holds its own `Arc`.
///
/// Front ends' `unsafe` code relies on this: the bytes are borrowed `&mut`
/// only inside [`write_with`](Self::write_with), under the lock of the call
/// count and with no call counted; there is no other way to reach them
/// mutably (no `get_mut`, no `into_inner`). Keep it so.
///
/// Ranges (`offset`, length) are checked here too: out of range is
/// `InvalidArgument` ("offset O and length N are not a range of a shared
/// buffer of L bytes"). A front end with its own range idiom (Java's
/// `IndexOutOfBoundsException`, Python's `IndexError` for an index, C#'s
/// `ArgumentOutOfRangeException`: docs/SYMMETRY.md, `out_of_range`) checks
/// first and never reaches that error.
///
/// The only errors of a write are that refusal (`Unavailable`, always "a
/// call is reading this SharedBuffer") and `InvalidArgument` for a range,
/// so a front end maps `Unavailable` from a write to its own "busy" idiom
/// (`IllegalStateException`, `BufferError`).
///
/// ```
/// use bridgehost::{GuardedSharedBuffer, SharedBuffer};
/// let buf = GuardedSharedBuffer::new(SharedBuffer::new(16)?);
/// buf.write_at(0, b"hello")?;
/// let n = buf.lend(|b| {
///     assert!(buf.write_at(0, b"x").is_err()); // refused under a call
///     b.len()
/// });
/// assert_eq!(n, 16);
/// buf.write_at(0, b"j")?; // allowed again
/// let mut out = [0; 5];
/// buf.read_at(0, &mut out)?;
/// assert_eq!(&out, b"jello");
/// # Ok::<(), bridgehost::Error>(())
/// ```
pub struct GuardedSharedBuffer {
    /// Read-guarded by calls and copies out, write-guarded by writes.
    bytes: RwLock<SharedBuffer>,
    /// Calls reading the bytes now. A write holds this lock for its whole
    /// length (so no call starts meanwhile) and is refused unless it is 0.
    calls: Mutex<usize>,
    /// Calls waiting for `calls` to begin. A write is refused while one
    /// waits too, so a thread writing in a loop cannot keep a call out (the
    /// lock is not fair: the writer would take it again first; a docs-only
    /// client saw calls held off for 0.7 s).
    waiting: AtomicUsize,
    /// `bytes.len()`, readable without a lock.
    len: usize,
}

/// One call counted on a [`GuardedSharedBuffer`] until it drops (writes are
/// refused meanwhile), owned so it can outlive a borrow (a front end's call
/// slot that lives across a released interpreter lock). It gives no access
/// to the bytes: a front end that reads them in place through
/// [`crate::internal::shared_buffer_ptr`] may rely on them not changing
/// while the lease lives (no write takes `&mut` to them), and the lease's
/// `Arc` keeps the memory mapped.
#[must_use = "a call is counted only while its lease lives"]
pub struct CallLease {
    owner: Arc<GuardedSharedBuffer>,
}

impl Drop for CallLease {
    fn drop(&mut self) {
        *self.owner.calls.lock() -= 1;
    }
}

impl std::fmt::Debug for CallLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLease").finish_non_exhaustive()
    }
}

/// A borrowed call: its read guard and its count, released in that order
/// when it ends (also on a panic), so while the guard is held the count is
/// not 0 and a write never waits for a call (it is refused instead).
struct Counted<'a> {
    bytes: Option<RwLockReadGuard<'a, SharedBuffer>>,
    calls: &'a Mutex<usize>,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.bytes.take();
        *self.calls.lock() -= 1;
    }
}

impl GuardedSharedBuffer {
    /// `buf`, with no call counted.
    pub fn new(buf: SharedBuffer) -> GuardedSharedBuffer {
        GuardedSharedBuffer {
            len: buf.len(),
            bytes: RwLock::new(buf),
            calls: Mutex::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Its length in bytes (fixed).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true (a buffer has at least one byte).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Calls counted now (a snapshot: it can change as soon as it returns).
    pub fn calls(&self) -> usize {
        *self.calls.lock()
    }

    /// Run a call over the buffer: counted for its whole length, so every
    /// write is refused meanwhile; copies out and other calls run beside
    /// it. The count is released when `f` returns or panics.
    pub fn lend<R>(&self, f: impl FnOnce(&SharedBuffer) -> R) -> R {
        let counted = {
            let mut calls = self.lock_for_call();
            // No writer holds or waits for `bytes`: every writer holds `calls`.
            let guard = self.bytes.read();
            *calls += 1;
            Counted {
                bytes: Some(guard),
                calls: &self.calls,
            }
        };
        let bytes: &SharedBuffer = counted.bytes.as_ref().expect("held until drop");
        f(bytes)
    }

    /// Count a call until the returned lease drops (see [`CallLease`]):
    /// for a front end whose call outlives any borrow it can hold.
    pub fn begin_call(self: &Arc<Self>) -> CallLease {
        // Under the lock a writer holds for its whole write: the lease
        // never begins in the middle of one.
        *self.lock_for_call() += 1;
        CallLease {
            owner: Arc::clone(self),
        }
    }

    /// A copy out (or any read): runs beside calls, not counted as one. `f`
    /// must not write this buffer (the write would wait for `f` forever).
    pub fn read<R>(&self, f: impl FnOnce(&SharedBuffer) -> R) -> R {
        f(&self.bytes.read())
    }

    /// Copy `dst.len()` bytes from `offset` into `dst`.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<()> {
        let w = self.window(offset, dst.len())?;
        self.read(|b| dst.copy_from_slice(&b[w]));
        Ok(())
    }

    /// Write `src` at `offset`. `Unavailable` (nothing written) while a
    /// call reads the buffer or waits to begin; `InvalidArgument` for a
    /// range outside it.
    pub fn write_at(&self, offset: usize, src: &[u8]) -> Result<()> {
        self.write_with(offset, src.len(), |dst| dst.copy_from_slice(src))
    }

    /// Run `f` over `offset .. offset + len` for writing (for a front end
    /// that copies from its own memory straight in). Refused as
    /// [`write_at`](Self::write_at); `f` must not use this buffer (no call
    /// can start and no copy out can run while it writes).
    pub fn write_with<R>(
        &self,
        offset: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R> {
        let w = self.window(offset, len)?;
        let calls = self.calls.lock();
        if *calls != 0 || self.waiting.load(Ordering::SeqCst) != 0 {
            return Err(Error::Unavailable(
                "a call is reading this SharedBuffer: write it after the call returns".into(),
            ));
        }
        let mut bytes = self.bytes.write();
        let r = f(&mut bytes[w]);
        drop(bytes);
        drop(calls);
        Ok(r)
    }

    /// The count's lock, for a call about to begin: announced in `waiting`
    /// while it waits, so writes give way to it.
    fn lock_for_call(&self) -> crate::sync::MutexGuard<'_, usize> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let calls = self.calls.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        calls
    }

    /// `offset .. offset + len`, if inside the buffer.
    fn window(&self, offset: usize, len: usize) -> Result<std::ops::Range<usize>> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(offset..end),
            _ => Err(Error::InvalidArgument(format!(
                "offset {offset} and length {len} are not a range of a shared buffer of {} bytes",
                self.len
            ))),
        }
    }
}

impl std::fmt::Debug for GuardedSharedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedSharedBuffer")
            .field("len", &self.len)
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Barrier;
    use std::thread;

    fn guarded(len: usize) -> Arc<GuardedSharedBuffer> {
        Arc::new(GuardedSharedBuffer::new(SharedBuffer::new(len).unwrap()))
    }

    fn refused(r: Result<()>) -> bool {
        matches!(r, Err(Error::Unavailable(m)) if m.contains("a call is reading this SharedBuffer"))
    }

    /// Every front end hands the caller's length to this one rule: a
    /// negative or zero length is `InvalidArgument`, one beyond the
    /// machine's memory (or beyond `usize`) is `ResourceLimit`, each naming
    /// the value as the caller wrote it.
    #[test]
    #[cfg_attr(miri, ignore)] // sysinfo(2)
    fn a_length_is_judged_once_and_named_as_written() {
        let short = |r: Result<usize>| match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{other:?}"),
        };
        let large = |r: Result<usize>| match r {
            Err(Error::ResourceLimit(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            short(SharedBuffer::check_len(RequestedLen::Size(0))),
            "a shared buffer of 0 bytes: give it a length of at least 1"
        );
        assert_eq!(
            short(SharedBuffer::check_len(RequestedLen::Negative(&-5i64))),
            "a shared buffer of -5 bytes: give it a length of at least 1"
        );
        let m = large(SharedBuffer::check_len(RequestedLen::TooLarge(
            &"18446744073709551616",
        )));
        assert!(
            m.starts_with(
                "a shared buffer of 18446744073709551616 bytes is more than this machine"
            ),
            "{m}"
        );
        let m = large(SharedBuffer::check_len(RequestedLen::Size(usize::MAX)));
        assert!(
            m.starts_with(&format!(
                "a shared buffer of {} bytes is more than",
                usize::MAX
            )),
            "{m}"
        );
        assert_eq!(
            SharedBuffer::check_len(RequestedLen::Size(4096)).unwrap(),
            4096
        );
        // `new` applies the same rule.
        assert_eq!(
            short(SharedBuffer::new(0).map(|b| b.len())),
            "a shared buffer of 0 bytes: give it a length of at least 1"
        );
    }

    /// A lend on another thread until `release` is sent; returns once it began.
    fn lend_on_thread(
        buf: &Arc<GuardedSharedBuffer>,
    ) -> (mpsc::Sender<()>, thread::JoinHandle<Vec<u8>>) {
        let (began_tx, began_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let b = Arc::clone(buf);
        let t = thread::spawn(move || {
            b.lend(|bytes| {
                let before = bytes[..4].to_vec();
                began_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                // Nothing changed the bytes under the call.
                assert_eq!(&bytes[..4], &before[..]);
                before
            })
        });
        began_rx.recv().unwrap();
        (release_tx, t)
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn a_write_gives_way_to_a_call_waiting_to_begin() {
        // A writer holds the count's lock (as during a write) while a call
        // arrives: once the call is waiting, the next write is refused
        // whichever thread takes the lock first, so a writer in a loop
        // cannot keep calls out.
        let buf = guarded(64);
        let held = buf.calls.lock();
        let b = Arc::clone(&buf);
        // The call does not end until the write below was tried: whether it
        // is still waiting for the lock or already lending the buffer when
        // the write comes, the write must be refused (a call that had
        // finished would rightly let it through, which made this test race).
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let call = thread::spawn(move || {
            b.lend(|bytes| {
                release_rx.recv().unwrap();
                bytes[0]
            })
        });
        let t0 = std::time::Instant::now();
        while buf.waiting.load(Ordering::SeqCst) == 0 {
            assert!(t0.elapsed() < std::time::Duration::from_secs(30));
            thread::yield_now();
        }
        drop(held);
        assert!(matches!(buf.write_at(0, &[7]), Err(Error::Unavailable(_))));
        release_tx.send(()).unwrap();
        assert_eq!(call.join().unwrap(), 0, "the call ran, before any write");
        buf.write_at(0, &[7]).unwrap();
        assert_eq!(buf.lend(|bytes| bytes[0]), 7);
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn a_write_is_refused_while_another_thread_lends_the_buffer_and_allowed_after() {
        let buf = guarded(64);
        buf.write_at(0, b"abcd").unwrap();
        let (release, t) = lend_on_thread(&buf);
        assert_eq!(buf.calls(), 1);
        assert!(refused(buf.write_at(0, b"XXXX")));
        assert!(refused(buf.write_with(10, 1, |_| ()).map(drop)));
        release.send(()).unwrap();
        assert_eq!(t.join().unwrap(), b"abcd");
        assert_eq!(buf.calls(), 0);
        buf.write_at(0, b"wxyz").unwrap();
        let mut out = [0; 4];
        buf.read_at(0, &mut out).unwrap();
        assert_eq!(&out, b"wxyz");
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn copies_out_run_beside_a_lend() {
        let buf = guarded(64);
        buf.write_at(8, b"data").unwrap();
        let (release, t) = lend_on_thread(&buf);
        let mut out = [0; 4];
        buf.read_at(8, &mut out).unwrap();
        assert_eq!(&out, b"data");
        assert_eq!(buf.read(|b| b[9]), b'a');
        // A nested call on the lending buffer runs too (calls share).
        assert_eq!(buf.lend(|b| b[10]), b't');
        release.send(()).unwrap();
        t.join().unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn a_panic_inside_lend_releases_the_call() {
        let buf = guarded(16);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            buf.lend(|_| panic!("module bug"));
        }));
        assert!(r.is_err());
        assert_eq!(buf.calls(), 0);
        buf.write_at(0, b"ok").unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn concurrent_lends_are_all_counted_and_writes_wait_for_the_last() {
        let buf = guarded(16);
        let n = 4;
        let inside = Arc::new(Barrier::new(n + 1));
        let leave = Arc::new(Barrier::new(n + 1));
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let (b, inside, leave) = (Arc::clone(&buf), inside.clone(), leave.clone());
                thread::spawn(move || {
                    b.lend(|_| {
                        inside.wait();
                        leave.wait();
                    })
                })
            })
            .collect();
        inside.wait();
        assert_eq!(buf.calls(), n);
        assert!(refused(buf.write_at(0, b"x")));
        leave.wait();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(buf.calls(), 0);
        buf.write_at(0, b"x").unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn a_call_lease_refuses_writes_until_it_drops_and_keeps_the_memory() {
        let buf = guarded(16);
        let lease = buf.begin_call();
        let weak = Arc::downgrade(&buf);
        drop(buf);
        let buf = weak.upgrade().expect("the lease keeps the buffer");
        assert!(refused(buf.write_at(0, b"x")));
        let mut out = [1; 2];
        buf.read_at(0, &mut out).unwrap();
        assert_eq!(out, [0, 0]);
        drop(lease);
        buf.write_at(0, b"x").unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "memfd and mmap system calls")]
    fn ranges_outside_the_buffer_are_invalid_arguments() {
        let buf = guarded(16);
        for (off, len) in [(15, 2), (17, 0), (usize::MAX, 2)] {
            let e = buf.write_at(off, &vec![0; len]).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains("not a range of a shared buffer of 16 bytes")),
                "{e}"
            );
            let e = buf.read_at(off, &mut vec![0; len]).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
        }
        buf.write_at(16, b"").unwrap();
        // A refused range is reported as such even while a call reads it.
        buf.lend(|_| {
            assert!(matches!(
                buf.write_at(15, b"ab"),
                Err(Error::InvalidArgument(_))
            ))
        });
    }
}
