//! Shared memory: sealed memfd regions, accessed only with volatile copies
//! and atomics (the host never creates a Rust reference into them).

use super::{cvt, owned};
use std::ffi::{c_void, CStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

/// A `MAP_SHARED` mapping of a memfd, accessed only with volatile copies and
/// atomics (see the module docs).
pub(crate) struct SharedMem {
    /// Kept by the host (to send to a worker); a worker closes it once mapped.
    fd: Option<OwnedFd>,
    ptr: NonNull<u8>,
    len: usize,
    /// False for a worker's read-only mapping of a caller's buffer
    /// ([`SealedBuf`]): nothing is ever written through it.
    writable: bool,
}

// SAFETY: the mapping is process-wide memory that is never accessed through
// references, only through volatile and atomic operations, which are valid
// from any thread. The descriptor is an ordinary OwnedFd.
unsafe impl Send for SharedMem {}
// SAFETY: see Send; every method takes &self and performs only volatile or
// atomic accesses, so concurrent use from several threads is not a data race
// on Rust-owned memory.
unsafe impl Sync for SharedMem {}

impl std::fmt::Debug for SharedMem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMem")
            .field("fd", &self.fd.as_ref().map(|f| f.as_raw_fd()))
            .field("len", &self.len)
            .finish()
    }
}

impl SharedMem {
    /// Create a sealed memfd of `len` bytes and map it read-write.
    pub(crate) fn create(name: &CStr, len: usize) -> io::Result<SharedMem> {
        let fd = new_memfd(name, len)?;
        add_seals(
            fd.as_fd(),
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
        )?;
        Self::map(fd, len, 0, true, true)
    }

    /// Map a region the host sent (worker side) and close its descriptor
    /// (the mapping stays). The file must be at least `len` bytes.
    /// `writable: false` maps it read-only and faults every page in at once
    /// (a caller's [`SealedBuf`], which refuses a writable mapping; mapped
    /// once and read by many calls).
    ///
    /// The mapping covers `len` bytes of the file from `offset` (a multiple
    /// of the page size).
    pub(crate) fn from_fd(
        fd: OwnedFd,
        len: usize,
        offset: u64,
        writable: bool,
    ) -> io::Result<SharedMem> {
        if len == 0 || len > isize::MAX as usize || offset > i64::MAX as u64 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fd is open; st is a valid out-pointer.
        cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
        // SAFETY: fstat succeeded and initialised st.
        let st = unsafe { st.assume_init() };
        let end = offset.checked_add(len as u64);
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || end.is_none_or(|e| (st.st_size as u64) < e)
        {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Self::map(fd, len, offset, false, writable)
    }

    fn map(
        fd: OwnedFd,
        len: usize,
        offset: u64,
        keep_fd: bool,
        writable: bool,
    ) -> io::Result<SharedMem> {
        let ptr = map_shared(fd.as_fd(), len, offset, writable)?;
        Ok(SharedMem {
            fd: keep_fd.then_some(fd),
            ptr,
            len,
            writable,
        })
    }

    /// Size of the mapping in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The memfd (to send to a worker); None for a worker's mapping.
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    fn in_bounds(&self, off: usize, n: usize) -> bool {
        off.checked_add(n).is_some_and(|end| end <= self.len)
    }

    /// Copy `dst.len()` bytes at `off` out of the mapping. False (and nothing
    /// copied) when the range is outside the mapping.
    pub(crate) fn read_into(&self, off: usize, dst: &mut [u8]) -> bool {
        if !self.in_bounds(off, dst.len()) {
            return false;
        }
        // SAFETY: the range is inside the mapping (checked above); dst is
        // private memory we exclusively borrow, valid for dst.len() writes.
        unsafe { self.copy_out(off, dst.as_mut_ptr(), dst.len()) };
        true
    }

    /// Append `n` bytes at `off` of the mapping to `v`, copied straight into
    /// its spare capacity (no zero-fill, no bounce buffer: one copy out of
    /// shared memory into the caller's final buffer). False (and `v`
    /// unchanged) when the range is outside the mapping.
    pub(crate) fn append_to_vec(&self, off: usize, n: usize, v: &mut Vec<u8>) -> bool {
        if !self.in_bounds(off, n) {
            return false;
        }
        v.reserve(n);
        let len = v.len();
        let spare = &mut v.spare_capacity_mut()[..n];
        // SAFETY: the range is inside the mapping (checked above); `spare` is
        // the vector's own uninitialised capacity, exclusively borrowed and
        // valid for n byte writes (reserved above).
        unsafe { self.copy_out(off, spare.as_mut_ptr().cast::<u8>(), n) };
        // SAFETY: copy_out initialised the n bytes after `len`, which lie
        // within the capacity reserved above.
        unsafe { v.set_len(len + n) };
        true
    }

    /// Copy `n` bytes at `off` of the mapping to `d`.
    ///
    /// # Safety
    /// `off..off + n` must be inside the mapping (`in_bounds`), and `d` must
    /// be valid for `n` byte writes and not alias the mapping.
    unsafe fn copy_out(&self, off: usize, d: *mut u8, n: usize) {
        #[cfg(target_arch = "x86_64")]
        if n >= STREAM_MIN {
            // SAFETY: the caller guarantees both ranges (in the mapping, and
            // valid for n writes without aliasing it).
            if unsafe { stream_copy(d, self.ptr.as_ptr().add(off), n, true) } {
                return;
            }
        }
        // SAFETY: the caller guarantees both ranges; a worker may write the
        // same bytes concurrently, which `copy_from_shared` is for.
        unsafe { copy_from_shared(d, self.ptr.as_ptr().add(off), n) }
    }

    /// Copy `src` into the mapping at `off`. False (and nothing copied) when
    /// the range is outside the mapping.
    pub(crate) fn write_from(&self, off: usize, src: &[u8]) -> bool {
        if !self.writable || !self.in_bounds(off, src.len()) {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        if src.len() >= STREAM_MIN {
            // SAFETY: the range is inside the live mapping (checked above);
            // src is borrowed private memory, valid for src.len() reads, and
            // cannot overlap the mapping (no Rust reference into it exists).
            if unsafe { stream_copy(self.ptr.as_ptr().add(off), src.as_ptr(), src.len(), false) } {
                return true;
            }
        }
        // SAFETY: the range is inside the live mapping (checked above); a
        // worker may read or write it concurrently, which `copy_to_shared`
        // is for; src is borrowed private memory, not overlapping it.
        unsafe { copy_to_shared(self.ptr.as_ptr().add(off), src) };
        true
    }

    /// Copy `n` bytes inside the mapping from `from` to `to` (the ranges must
    /// not overlap). Worker side, when output moves to a larger region.
    pub(crate) fn copy_to(&self, from: usize, to: &SharedMem, to_off: usize, n: usize) -> bool {
        if !self.in_bounds(from, n) || !to.in_bounds(to_off, n) {
            return false;
        }
        let mut buf = vec![0u8; n.min(1 << 20)];
        let mut done = 0;
        while done < n {
            let k = (n - done).min(buf.len());
            let ok = self.read_into(from + done, &mut buf[..k])
                && to.write_from(to_off + done, &buf[..k]);
            if !ok {
                return false;
            }
            done += k;
        }
        true
    }

    /// The 32-bit atomic at `off` (4-byte aligned, inside the mapping).
    ///
    /// # Panics
    /// On an unaligned or out-of-range offset: offsets are compile-time
    /// constants of the control block layout, so that is a bug in this crate.
    pub(crate) fn atomic_u32(&self, off: usize) -> &AtomicU32 {
        assert!(
            self.writable && off.is_multiple_of(4) && self.in_bounds(off, 4),
            "bad atomic offset {off}"
        );
        // SAFETY: in bounds and 4-byte aligned (mmap returns page-aligned
        // memory); the mapping lives as long as &self. Atomic accesses from
        // two processes to the same word are well defined.
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(off).cast::<u32>()) }
    }

    /// Release the pages backing the region (its size does not change; the
    /// next access reads zeroes).
    pub(crate) fn release_pages(&self) {
        let Some(fd) = &self.fd else {
            return;
        };
        // SAFETY: punching a hole in our own memfd; seals SHRINK/GROW do not
        // forbid it. Failure only means the pages stay resident.
        let _ = unsafe {
            libc::fallocate(
                fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                0,
                self.len as libc::off_t,
            )
        };
    }

    /// Run `f` over `len` bytes at `off` as a slice (worker side: the module
    /// reads its input in place). None when the range is outside the mapping.
    ///
    /// The worker trusts the host, and by protocol the host does not write an
    /// input range while the worker's call that reads it is running (the
    /// host's caller is blocked waiting for the result; a [`SealedBuf`] the
    /// caller lent is borrowed shared for the whole call), so the slice is not
    /// mutated for as long as `f` can observe it.
    pub(crate) fn with_slice<R>(
        &self,
        off: usize,
        len: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        if !self.in_bounds(off, len) {
            return None;
        }
        // SAFETY: in bounds of the live mapping; not written by anyone while
        // `f` runs (protocol invariant above); the slice does not escape `f`.
        let s = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) };
        Some(f(s))
    }
}

/// The system's page size (the granularity of a mapping's file offset).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
}

/// A new memfd of `len` (> 0, at most `isize::MAX`) zero bytes that allows
/// sealing, close-on-exec.
fn new_memfd(name: &CStr, len: usize) -> io::Result<OwnedFd> {
    if len == 0 || len > isize::MAX as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: name is a valid NUL-terminated string; the flags are valid.
    let fd = owned(cvt(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?);
    // SAFETY: fd is a memfd we own; len fits in off_t (checked above).
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) })?;
    Ok(fd)
}

/// Add `seals` to a memfd created by [`new_memfd`].
fn add_seals(fd: BorrowedFd<'_>, seals: libc::c_int) -> io::Result<()> {
    // SAFETY: F_ADD_SEALS on an open memfd with seal bits only.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }).map(|_| ())
}

/// RAM plus swap, in bytes (`sysinfo(2)`); None if unknown.
pub(crate) fn memory_total() -> Option<u64> {
    let mut si = MaybeUninit::<libc::sysinfo>::uninit();
    // SAFETY: si is a valid out-pointer for one struct sysinfo.
    cvt(unsafe { libc::sysinfo(si.as_mut_ptr()) }).ok()?;
    // SAFETY: sysinfo succeeded and filled si.
    let si = unsafe { si.assume_init() };
    let unit = u64::from(si.mem_unit.max(1));
    si.totalram.checked_add(si.totalswap)?.checked_mul(unit)
}

/// `F_SEAL_FUTURE_WRITE` (linux/fcntl.h, Linux 5.1; not in the libc crate):
/// no new writable mapping and no `write(2)` of the file from now on, while
/// mappings that are already writable stay so.
const F_SEAL_FUTURE_WRITE: libc::c_int = 0x0010;

/// A fresh `MAP_SHARED` mapping of `len` bytes of `fd` from `offset`, read-write, or
/// read-only and populated (every page faulted in now, not by the first
/// reads of each call).
fn map_shared(
    fd: BorrowedFd<'_>,
    len: usize,
    offset: u64,
    writable: bool,
) -> io::Result<NonNull<u8>> {
    let offset =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let (prot, flags) = if writable {
        (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED)
    } else {
        (libc::PROT_READ, libc::MAP_SHARED | libc::MAP_POPULATE)
    };
    // SAFETY: a fresh shared mapping of an open descriptor; the kernel picks
    // the address, so no existing memory is replaced.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            flags,
            fd.as_raw_fd(),
            offset,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))
}

/// Memory a caller writes and workers may only read: a memfd mapped
/// read-write once, here, and then sealed `F_SEAL_SHRINK | F_SEAL_GROW |
/// F_SEAL_FUTURE_WRITE | F_SEAL_SEAL` before its descriptor exists anywhere
/// but in this struct. A worker it is sent to can map it only read-only
/// (`mmap` with `PROT_WRITE`, `mprotect` to writable, `write(2)`,
/// `ftruncate`, `fallocate` and a reopen through `/proc` all fail), so this
/// mapping is the only way its bytes change, and it is owned by `self`: the
/// slices below follow Rust's borrow rules like any private memory, unlike
/// [`SharedMem`], which a worker may write.
pub(crate) struct SealedBuf {
    fd: OwnedFd,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is memory this struct owns exclusively (no other
// process or mapping can write it, see the type's docs); it is accessed only
// through &self / &mut self, like a Box<[u8]>.
unsafe impl Send for SealedBuf {}
// SAFETY: as for Send: shared access hands out only &[u8].
unsafe impl Sync for SealedBuf {}

impl SealedBuf {
    /// A zero-filled buffer of `len` (> 0) bytes.
    pub(crate) fn create(name: &CStr, len: usize) -> io::Result<SealedBuf> {
        let fd = new_memfd(name, len)?;
        let ptr = map_shared(fd.as_fd(), len, 0, true)?;
        // Owned from here, so the error path below unmaps it. Our writable
        // mapping above predates F_SEAL_FUTURE_WRITE and stays writable; no
        // other may be made.
        let buf = SealedBuf { fd, ptr, len };
        add_seals(
            buf.fd.as_fd(),
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | F_SEAL_FUTURE_WRITE | libc::F_SEAL_SEAL,
        )?;
        Ok(buf)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The sealed memfd (to send to a worker).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len is our live mapping, initialised (memfd pages
        // read as zero until written), and written only through
        // `as_mut_slice`, which needs &mut self (the seals keep every other
        // process from writing it).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The mapping's first byte (its own provenance: not derived from a
    /// reference).
    pub(crate) fn raw_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in as_slice; &mut self makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SealedBuf {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe the mapping created in `create`; every
        // slice of it borrowed self, so none outlives this.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len);
        }
    }
}

/// Copies at least this long use non-temporal stores (x86_64): the
/// destination's cache lines are not read first (a large copy would evict
/// them anyway), which cuts the memory traffic of a copy by a third.
const STREAM_MIN: usize = 256 << 10;

/// Copy `n` bytes from `s` to `d` with non-temporal 16-byte stores where `d`
/// is 16-byte aligned, then `sfence`, so every byte is visible to other
/// threads and processes before any store that follows (the publishing
/// atomics). With `volatile_src`, `s` is shared memory and is read only with
/// aligned volatile loads, byte-wise where its alignment differs from `d`'s
/// (as in `SharedMem::read_into`); `d` is then private memory. False, and
/// nothing copied, when the source would not be 8-byte aligned where the
/// destination is 16-byte aligned (the caller copies another way).
///
/// # Safety
/// `s` valid for `n` reads, `d` valid for `n` writes, the two not
/// overlapping; no Rust reference may exist to shared memory among them.
#[cfg(target_arch = "x86_64")]
unsafe fn stream_copy(d: *mut u8, s: *const u8, n: usize, volatile_src: bool) -> bool {
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_set_epi64x, _mm_sfence, _mm_stream_si128,
    };
    let head = d.align_offset(16).min(n);
    // Aligned volatile u64 loads need the source 8-byte aligned once the
    // destination is 16-byte aligned.
    if volatile_src && !(s as usize).wrapping_add(head).is_multiple_of(8) {
        return false;
    }
    let blocks = (n - head) / 16;
    // SAFETY: every offset below is < n, inside both ranges (caller). Loads
    // from shared memory are volatile and 8-byte aligned (checked above);
    // the stream stores target 16-byte aligned addresses (head).
    // `_mm_sfence` and the SSE2 intrinsics are always available on x86_64.
    unsafe {
        let byte = |i: usize| {
            if volatile_src {
                s.add(i).read_volatile()
            } else {
                s.add(i).read()
            }
        };
        for i in 0..head {
            d.add(i).write_volatile(byte(i));
        }
        for b in 0..blocks {
            let at = head + b * 16;
            let v = if volatile_src {
                let lo = s.add(at).cast::<u64>().read_volatile();
                let hi = s.add(at + 8).cast::<u64>().read_volatile();
                _mm_set_epi64x(hi as i64, lo as i64)
            } else {
                _mm_loadu_si128(s.add(at).cast::<__m128i>())
            };
            _mm_stream_si128(d.add(at).cast::<__m128i>(), v);
        }
        for i in head + blocks * 16..n {
            d.add(i).write_volatile(byte(i));
        }
        _mm_sfence();
    }
    true
}

/// Copy `n` bytes at `src`, memory another thread or process may write
/// meanwhile (a worker's mapping, a caller's writable buffer), to `d`,
/// private memory. Every load from `src` is volatile, as for I/O memory, and
/// no Rust reference to it is ever formed: a concurrent write leaves each
/// byte copied either its old or its new value, nothing worse. Loads of u64
/// only at 8-byte aligned addresses; stores to `d` are unaligned-safe.
///
/// # Safety
/// `src` valid for `n` reads, `d` valid for `n` writes, the two not
/// overlapping; no Rust reference to `d`'s bytes is live.
pub unsafe fn copy_from_shared(d: *mut u8, src: *const u8, n: usize) {
    // SAFETY: every offset below is < n, inside both ranges (caller).
    unsafe {
        let head = (src.align_offset(8)).min(n);
        for i in 0..head {
            d.add(i).write(src.add(i).read_volatile());
        }
        let words = (n - head) / 8;
        for w in 0..words {
            let at = head + w * 8;
            let v = src.add(at).cast::<u64>().read_volatile();
            d.add(at).cast::<u64>().write_unaligned(v);
        }
        for i in head + words * 8..n {
            d.add(i).write(src.add(i).read_volatile());
        }
    }
}

/// Copy `src`, private memory, to `dst`, memory another thread or process
/// may read or write meanwhile: every store to `dst` is volatile and no Rust
/// reference to it is formed (the mirror of [`copy_from_shared`]). u64 stores
/// only at 8-byte aligned addresses.
///
/// # Safety
/// `dst` valid for `src.len()` writes, not overlapping `src`.
pub unsafe fn copy_to_shared(dst: *mut u8, src: &[u8]) {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: every offset below is < n, inside both ranges (caller).
    unsafe {
        let head = (dst.align_offset(8)).min(n);
        for i in 0..head {
            dst.add(i).write_volatile(s.add(i).read());
        }
        let words = (n - head) / 8;
        for w in 0..words {
            let at = head + w * 8;
            let v = s.add(at).cast::<u64>().read_unaligned();
            dst.add(at).cast::<u64>().write_volatile(v);
        }
        for i in head + words * 8..n {
            dst.add(i).write_volatile(s.add(i).read());
        }
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe the mapping created in `map`; nothing can
        // use it after drop (all accessors borrow self).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::errno;
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn shared_mem_bounds_and_copies() {
        let m = SharedMem::create(c"bh-test", 4096).unwrap();
        assert_eq!(m.len(), 4096);
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        for off in [0usize, 1, 7, 8, 13, 3796] {
            assert!(m.write_from(off, &data));
            let mut back = vec![0u8; data.len()];
            assert!(m.read_into(off, &mut back));
            assert_eq!(back, data, "offset {off}");
        }
        assert!(!m.write_from(3797, &data), "past the end is refused");
        assert!(
            !m.read_into(usize::MAX - 2, &mut [0u8; 8]),
            "overflowing range is refused"
        );
        m.atomic_u32(64).store(7, Ordering::SeqCst);
        assert_eq!(m.atomic_u32(64).load(Ordering::SeqCst), 7);
    }

    #[test]
    fn append_to_vec_copies_in_bounds_ranges_only() {
        let m = SharedMem::create(c"bh-test", 8192).unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        assert!(m.write_from(3, &data));
        let mut v = b"head".to_vec();
        assert!(m.append_to_vec(3, data.len(), &mut v));
        assert_eq!(&v[..4], b"head");
        assert_eq!(&v[4..], &data[..]);
        assert!(
            !m.append_to_vec(8000, 193, &mut v),
            "past the end is refused"
        );
        assert!(
            !m.append_to_vec(usize::MAX - 2, 8, &mut v),
            "overflow is refused"
        );
        assert_eq!(
            v.len(),
            4 + data.len(),
            "a refused append leaves v unchanged"
        );
    }

    #[test]
    fn large_copies_are_exact_at_every_alignment() {
        // Above STREAM_MIN: the non-temporal path, or its fallback where the
        // two sides' alignments differ.
        let m = SharedMem::create(c"bh-test", 1 << 20).unwrap();
        let data: Vec<u8> = (0..(300u32 << 10))
            .map(|i| (i * 13 + i / 7) as u8)
            .collect();
        for off in [0usize, 1, 8, 13, 16, 4093] {
            assert!(m.write_from(off, &data));
            for lead in [0usize, 1, 8, 9, 16] {
                let mut v = vec![0xaa; lead];
                assert!(m.append_to_vec(off, data.len(), &mut v));
                assert!(v[lead..] == data[..], "append: off {off} lead {lead}");
                let mut back = vec![0u8; data.len() + lead];
                assert!(m.read_into(off, &mut back[lead..]));
                assert!(back[lead..] == data[..], "read: off {off} lead {lead}");
            }
        }
    }

    #[test]
    fn shared_mem_is_sealed_against_shrinking() {
        let m = SharedMem::create(c"bh-test", 8192).unwrap();
        // SAFETY: ftruncate on our own memfd: must fail because of F_SEAL_SHRINK.
        let rc = unsafe { libc::ftruncate(m.fd().unwrap().as_raw_fd(), 0) };
        assert_eq!(rc, -1);
        assert_eq!(errno(), libc::EPERM);
    }

    #[test]
    fn a_sealed_buffer_can_be_read_but_never_written_through_its_descriptor() {
        let mut b = SealedBuf::create(c"bh-test", 8192).unwrap();
        b.as_mut_slice()[..3].copy_from_slice(b"abc");
        let fd = b.fd().try_clone_to_owned().unwrap();
        // A worker's view: read-only, and it sees the bytes.
        let ro = SharedMem::from_fd(fd.try_clone().unwrap(), 8192, 0, false).unwrap();
        let mut got = [0u8; 3];
        assert!(ro.read_into(0, &mut got));
        assert_eq!(&got, b"abc");
        assert!(
            !ro.write_from(0, b"x"),
            "a read-only mapping refuses writes"
        );
        // Every way to write or resize it fails.
        assert_eq!(
            map_shared(fd.as_fd(), 8192, 0, true)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EPERM),
            "a writable mapping"
        );
        // SAFETY: mprotect of the read-only mapping `ro` owns (a test: the
        // call must fail and change nothing).
        let rc = unsafe {
            libc::mprotect(
                ro.ptr.as_ptr().cast(),
                8192,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        assert_eq!((rc, errno()), (-1, libc::EACCES), "mprotect to writable");
        // SAFETY: write(2) of a valid 1-byte buffer to an open descriptor.
        let rc = unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!((rc, errno()), (-1, libc::EPERM), "write(2)");
        // SAFETY: ftruncate / fallocate of an open descriptor.
        let rc = unsafe { libc::ftruncate(fd.as_raw_fd(), 0) };
        assert_eq!((rc, errno()), (-1, libc::EPERM), "ftruncate");
        // SAFETY: as above.
        let rc = unsafe {
            libc::fallocate(
                fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                0,
                4096,
            )
        };
        assert_eq!((rc, errno()), (-1, libc::EPERM), "punch a hole");
        // Reopened read-write through /proc: the seals are the file's.
        let path = format!("/proc/self/fd/{}\0", fd.as_raw_fd());
        // SAFETY: a NUL-terminated path; the flags are valid.
        let rw = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDWR | libc::O_CLOEXEC) };
        if rw >= 0 {
            let rw = owned(rw);
            assert_eq!(
                map_shared(rw.as_fd(), 8192, 0, true)
                    .unwrap_err()
                    .raw_os_error(),
                Some(libc::EPERM),
                "a writable mapping of a reopened descriptor"
            );
        }
        // The owner still writes through its own mapping.
        b.as_mut_slice()[0] = b'z';
        assert!(ro.read_into(0, &mut got));
        assert_eq!(&got, b"zbc");
    }
}
