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
use crate::sync::RwLock;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

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

impl SharedBuffer {
    /// A zero-filled buffer of `len` bytes (`len` > 0). `InvalidArgument`
    /// for 0; `ResourceLimit` for more than the machine's RAM and swap, or
    /// when the mapping cannot be made. (Pages are allocated as they are
    /// first touched: a length the machine holds can still run out of memory
    /// later if other processes take it.)
    pub fn new(len: usize) -> Result<SharedBuffer> {
        if len == 0 {
            return Err(Error::InvalidArgument(
                "a shared buffer of 0 bytes: give it a length of at least 1".into(),
            ));
        }
        // Its pages are allocated as they are written (a sparse file), so a
        // length no write could ever fill would only fail later, in the
        // middle of the caller's writes: refuse it now, as the kernel's
        // default overcommit policy refuses such an anonymous allocation.
        if let Some(total) = memory_total() {
            if len as u64 > total {
                return Err(Error::ResourceLimit(format!(
                    "a shared buffer of {len} bytes is more than this machine's memory ({total} bytes of RAM and swap)"
                )));
            }
        }
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
