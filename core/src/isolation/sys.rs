//! The isolation boundary: every system call that process isolation makes.
//!
//! This is the only file under `isolation/` that contains `unsafe`. It wraps
//! descriptors in [`OwnedFd`] as soon as the kernel returns them (so nothing
//! leaks on an error path), creates every descriptor close-on-exec (another
//! thread of the host may fork/exec at any moment), and exposes small safe
//! functions to the rest of the module.
//!
//! Shared memory ([`SharedMem`]) is treated like I/O memory: the host never
//! creates a Rust reference into it. Bytes move with volatile loads and
//! stores, control words with atomics. A worker is untrusted and may write to
//! the mapping at any time; the host copies what it needs into private memory
//! first and validates the copy, never the shared bytes themselves. The host
//! seals every region (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) before a
//! worker sees it, so a worker cannot truncate a mapping under the host and
//! turn a host read into `SIGBUS`.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void, CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

fn cvt(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn cvt_long(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Retry `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Take ownership of a descriptor the kernel just returned.
fn owned(fd: c_int) -> OwnedFd {
    debug_assert!(fd >= 0);
    // SAFETY: every caller passes a descriptor that a successful system call
    // returned a moment ago and that nothing else owns yet.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    }
}

// ------------------------------------------------------------ shared memory

/// A `MAP_SHARED` mapping of a memfd, accessed only with volatile copies and
/// atomics (see the module docs).
pub(crate) struct SharedMem {
    /// Kept by the host (to send to a worker); a worker closes it once mapped.
    fd: Option<OwnedFd>,
    ptr: NonNull<u8>,
    len: usize,
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
        if len == 0 || len > isize::MAX as usize {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: name is a valid NUL-terminated string; the flags are valid.
        let fd = cvt(unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        })?;
        let fd = owned(fd);
        // SAFETY: fd is a memfd we own; len fits in off_t (checked above).
        cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) })?;
        // SAFETY: F_ADD_SEALS on our own memfd with valid seal bits.
        cvt(unsafe {
            libc::fcntl(
                fd.as_raw_fd(),
                libc::F_ADD_SEALS,
                libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
            )
        })?;
        Self::map(fd, len, true)
    }

    /// Map a region the host sent (worker side) and close its descriptor
    /// (the mapping stays). The file must be at least `len` bytes.
    pub(crate) fn from_fd(fd: OwnedFd, len: usize) -> io::Result<SharedMem> {
        if len == 0 || len > isize::MAX as usize {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fd is open; st is a valid out-pointer.
        cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
        // SAFETY: fstat succeeded and initialised st.
        let st = unsafe { st.assume_init() };
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || (st.st_size as u64) < len as u64 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Self::map(fd, len, false)
    }

    fn map(fd: OwnedFd, len: usize, keep_fd: bool) -> io::Result<SharedMem> {
        // SAFETY: a fresh shared mapping of an fd we own; the kernel picks the
        // address, so no existing memory is replaced.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(SharedMem {
            fd: keep_fd.then_some(fd),
            ptr,
            len,
        })
    }

    /// Size of the mapping in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The memfd (to send to a worker); None for a worker's mapping.
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        use std::os::fd::AsFd;
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
        // SAFETY: the range is inside the live mapping (checked above); every
        // access is volatile, as for I/O memory, because a worker may write
        // the same bytes concurrently; dst is private memory we exclusively
        // borrow. Loads of u64 are done only at 8-byte aligned addresses.
        unsafe {
            let src = self.ptr.as_ptr().add(off);
            let n = dst.len();
            let d = dst.as_mut_ptr();
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
        true
    }

    /// Copy `src` into the mapping at `off`. False (and nothing copied) when
    /// the range is outside the mapping.
    pub(crate) fn write_from(&self, off: usize, src: &[u8]) -> bool {
        if !self.in_bounds(off, src.len()) {
            return false;
        }
        // SAFETY: the range is inside the live mapping (checked above); the
        // stores are volatile (see read_into); src is borrowed private memory.
        // u64 stores are done only at 8-byte aligned addresses.
        unsafe {
            let dst = self.ptr.as_ptr().add(off);
            let n = src.len();
            let s = src.as_ptr();
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
            off.is_multiple_of(4) && self.in_bounds(off, 4),
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
    /// host's caller is blocked waiting for the result), so the slice is not
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

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe the mapping created in `map`; nothing can
        // use it after drop (all accessors borrow self).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast::<c_void>(), self.len);
        }
    }
}

// ------------------------------------------------------------ futex

/// Sleep while `*word == expected`, at most `timeout` (None: until woken).
/// Returns on a wake, a timeout, a signal or if the value already differs:
/// callers re-check their condition. Shared (not process-private) futex, so
/// the other process can wake it.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: word points to a live, aligned u32 (it is an &AtomicU32); ts_ptr
    // is null or points to a timespec on this stack frame.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wake up to `n` waiters sleeping on `word` (in any process).
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: word points to a live, aligned u32; FUTEX_WAKE only reads the
    // address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

// ------------------------------------------------------------ sockets

/// A connected `AF_UNIX`/`SOCK_SEQPACKET` pair (message boundaries kept,
/// peer close seen as end of file), close-on-exec.
pub(crate) fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds is a valid out-array of two ints.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    Ok((owned(fds[0]), owned(fds[1])))
}

/// The socket type of `fd` (`SOCK_SEQPACKET`, ...), or an error if it is not
/// a socket.
pub(crate) fn socket_type(fd: BorrowedFd<'_>) -> io::Result<c_int> {
    let mut ty: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: ty/len are valid out-pointers of the sizes given.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut c_int).cast::<c_void>(),
            &mut len,
        )
    })?;
    Ok(ty)
}

/// Ask for socket buffers of `bytes` each way (the kernel may grant less).
pub(crate) fn set_socket_buffers(fd: BorrowedFd<'_>, bytes: usize) {
    let v = bytes.min(c_int::MAX as usize) as c_int;
    for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: v is a valid int option value of the size given. Failure is
        // harmless (the default buffer stays).
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&v as *const c_int).cast::<c_void>(),
                std::mem::size_of::<c_int>() as libc::socklen_t,
            );
        }
    }
}

const MAX_FDS_PER_PACKET: usize = 4;
const CMSG_SPACE: usize = 64; // >= CMSG_SPACE(4 * sizeof(int)) on every Linux ABI

#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_SPACE]);

/// Send one datagram, with up to 4 descriptors attached. `nonblocking`:
/// fail with `WouldBlock` instead of waiting for buffer space. Never raises
/// `SIGPIPE`.
pub(crate) fn send_packet(
    fd: BorrowedFd<'_>,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
    nonblocking: bool,
) -> io::Result<()> {
    if fds.len() > MAX_FDS_PER_PACKET {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast::<c_void>(),
        iov_len: data.len(),
    };
    let mut cbuf = CmsgBuf([0; CMSG_SPACE]);
    // SAFETY: an all-zero msghdr is a valid empty message header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let payload = (fds.len() * std::mem::size_of::<c_int>()) as u32;
        // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations.
        let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
        debug_assert!(space <= CMSG_SPACE);
        msg.msg_control = cbuf.0.as_mut_ptr().cast::<c_void>();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points to `space` writable, 8-aligned bytes, so
        // CMSG_FIRSTHDR returns a valid header pointer inside cbuf, and the
        // CMSG_DATA area holds fds.len() ints (space was computed for it).
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(payload) as _;
            let p = libc::CMSG_DATA(c).cast::<c_int>();
            for (i, f) in fds.iter().enumerate() {
                p.add(i).write_unaligned(f.as_raw_fd());
            }
        }
    }
    let flags = libc::MSG_NOSIGNAL | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    let n = retry(|| {
        // SAFETY: msg points to a valid iovec over `data` and (optionally) a
        // control buffer on this frame; both outlive the call.
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    })?;
    if n != data.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short datagram send",
        ));
    }
    Ok(())
}

/// One received datagram.
#[derive(Debug)]
pub(crate) struct Packet {
    /// Bytes stored in the caller's buffer.
    pub(crate) len: usize,
    /// The datagram was longer than the buffer (the rest was discarded).
    pub(crate) truncated: bool,
    /// Descriptors were attached that did not fit (or were not wanted): the
    /// kernel discarded them.
    pub(crate) ctrunc: bool,
    /// Descriptors received (close-on-exec).
    pub(crate) fds: Vec<OwnedFd>,
    /// When the peer sent it: `CLOCK_REALTIME`, ns since the epoch, stamped
    /// by the kernel as the datagram was queued ([`recv_packet_stamped`]).
    pub(crate) sent_ns: Option<u64>,
}

/// Have the kernel stamp every datagram queued on `fd` with the time it was
/// sent (`SO_TIMESTAMPNS`), for [`recv_packet_stamped`]. Set it before the
/// peer can send anything.
pub(crate) fn enable_timestamps(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one: c_int = 1;
    // SAFETY: `one` is a valid int option value of the size given.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const c_int).cast::<c_void>(),
            std::mem::size_of::<c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Control buffer room for exactly one `SCM_TIMESTAMPNS` message.
const STAMP_SPACE: usize = 32; // CMSG_SPACE(sizeof(struct timespec)) on LP64

/// [`recv_packet`] without descriptors, plus when the datagram was sent, on a
/// socket set up with [`enable_timestamps`]. The control buffer has room for
/// the timestamp only, which the kernel writes before any descriptors, so
/// none is installed (they are discarded and reported as `ctrunc`); one that
/// somehow is installed is closed at once and reported the same way.
pub(crate) fn recv_packet_stamped(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    nonblocking: bool,
) -> io::Result<Option<Packet>> {
    recv_with(fd, buf, Control::Stamp, nonblocking)
}

/// Receive one datagram into `buf`. `Ok(None)`: end of file (the peer closed,
/// or sent an empty datagram, which this protocol never does). With
/// `accept_fds == false` no descriptor is ever installed in this process:
/// the kernel discards any that were attached and reports `ctrunc`.
pub(crate) fn recv_packet(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    accept_fds: bool,
    nonblocking: bool,
) -> io::Result<Option<Packet>> {
    let control = if accept_fds {
        Control::Fds
    } else {
        Control::None
    };
    recv_with(fd, buf, control, nonblocking)
}

/// What ancillary data a receive asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Control {
    None,
    Fds,
    Stamp,
}

fn recv_with(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    control: Control,
    nonblocking: bool,
) -> io::Result<Option<Packet>> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast::<c_void>(),
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; CMSG_SPACE]);
    // SAFETY: an all-zero msghdr is a valid empty message header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    match control {
        Control::None => {}
        Control::Fds => {
            msg.msg_control = cbuf.0.as_mut_ptr().cast::<c_void>();
            msg.msg_controllen = CMSG_SPACE as _;
        }
        Control::Stamp => {
            msg.msg_control = cbuf.0.as_mut_ptr().cast::<c_void>();
            msg.msg_controllen = STAMP_SPACE as _;
        }
    }
    let flags = libc::MSG_CMSG_CLOEXEC | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    let n = retry(|| {
        // SAFETY: msg points to an iovec over `buf` and a control buffer on
        // this frame, both valid for the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    })?;
    let mut fds = Vec::new();
    let mut sent_ns = None;
    if control != Control::None && msg.msg_controllen > 0 {
        // SAFETY: the kernel filled msg_control with well-formed cmsg headers
        // of total length msg_controllen; CMSG_FIRSTHDR/NXTHDR stay inside it.
        // Each SCM_RIGHTS entry holds (cmsg_len - CMSG_LEN(0)) / 4 descriptors
        // that are now installed in this process and owned by nobody else; an
        // SCM_TIMESTAMPNS entry holds one timespec (read unaligned).
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data_len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    let count = data_len / std::mem::size_of::<c_int>();
                    let p = libc::CMSG_DATA(c).cast::<c_int>();
                    for i in 0..count {
                        let raw = p.add(i).read_unaligned();
                        if raw >= 0 {
                            fds.push(owned(raw));
                        }
                    }
                } else if (*c).cmsg_level == libc::SOL_SOCKET
                    && (*c).cmsg_type == libc::SCM_TIMESTAMPNS
                    && (*c).cmsg_len as usize
                        >= libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize
                {
                    let ts = libc::CMSG_DATA(c).cast::<libc::timespec>().read_unaligned();
                    sent_ns = u64::try_from(ts.tv_sec)
                        .ok()
                        .and_then(|s| s.checked_mul(1_000_000_000))
                        .and_then(|s| s.checked_add(u64::try_from(ts.tv_nsec).ok()?));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    let mut ctrunc = msg.msg_flags & libc::MSG_CTRUNC != 0;
    if control == Control::Stamp && !fds.is_empty() {
        // Never wanted here: closed at once (dropped), reported as refused.
        fds.clear();
        ctrunc = true;
    }
    if n == 0 && fds.is_empty() && !ctrunc {
        return Ok(None);
    }
    Ok(Some(Packet {
        len: n,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        ctrunc,
        fds,
        sent_ns,
    }))
}

// ------------------------------------------------------------ pipes, eventfd, poll

/// A close-on-exec pipe `(read, write)`; the read end is non-blocking.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds is a valid out-array of two ints.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    let (r, w) = (owned(fds[0]), owned(fds[1]));
    set_nonblocking(r.as_raw_fd())?;
    Ok((r, w))
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    unsafe {
        let fl = cvt(libc::fcntl(fd, libc::F_GETFL))?;
        cvt(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK))?;
    }
    Ok(())
}

/// Read what is available (non-blocking descriptor). `Ok(0)`: end of file.
pub(crate) fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: buf is a valid writable buffer of buf.len() bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast::<c_void>(), buf.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    })
}

/// An eventfd used to wake a poll loop; closed explicitly when its owner
/// closes (a closed module holds no descriptor, even while the `Module`
/// object lives on).
#[derive(Debug)]
pub(crate) struct EventFd(crate::sync::RwLock<Option<OwnedFd>>);

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: plain eventfd creation with valid flags.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        Ok(EventFd(crate::sync::RwLock::new(Some(owned(fd)))))
    }

    /// Make the descriptor readable (no-op once closed).
    pub(crate) fn signal(&self) {
        let one: u64 = 1;
        if let Some(fd) = self.0.read().as_ref() {
            // SAFETY: writes 8 bytes from a valid u64 to our open eventfd.
            // Failure (counter saturated) still leaves it readable.
            unsafe {
                libc::write(fd.as_raw_fd(), (&one as *const u64).cast::<c_void>(), 8);
            }
        }
    }

    /// Reset to not readable.
    pub(crate) fn drain(&self) {
        let mut v: u64 = 0;
        if let Some(fd) = self.0.read().as_ref() {
            // SAFETY: reads 8 bytes into a valid u64; EAGAIN when already zero.
            unsafe {
                libc::read(fd.as_raw_fd(), (&mut v as *mut u64).cast::<c_void>(), 8);
            }
        }
    }

    /// The descriptor number, for poll (None once closed).
    pub(crate) fn raw(&self) -> Option<RawFd> {
        self.0.read().as_ref().map(|f| f.as_raw_fd())
    }

    /// Close the descriptor (after the poll loop using it has stopped).
    pub(crate) fn close(&self) {
        self.0.write().take();
    }
}

/// A set of descriptors to poll.
#[derive(Debug, Default)]
pub(crate) struct PollSet {
    fds: Vec<libc::pollfd>,
}

/// What poll reported for one descriptor.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ready {
    pub(crate) readable: bool,
    pub(crate) hangup: bool,
}

impl PollSet {
    pub(crate) fn clear(&mut self) {
        self.fds.clear();
    }

    /// Watch `fd` for input; returns its index. The caller keeps the
    /// descriptor open until the next `clear` (poll only reads the number).
    pub(crate) fn add(&mut self, fd: RawFd) -> usize {
        self.fds.push(libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        self.fds.len() - 1
    }

    /// Wait up to `timeout` (None: forever).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let ms = match timeout {
            None => -1,
            // Rounded up, so a sub-millisecond wait does not spin.
            Some(d) => (d.as_millis().min(i32::MAX as u128) as c_int)
                .saturating_add(i32::from(d.subsec_nanos() % 1_000_000 != 0)),
        };
        // SAFETY: fds is a valid array of pollfd of the given length.
        let rc = unsafe { libc::poll(self.fds.as_mut_ptr(), self.fds.len() as libc::nfds_t, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
            for f in &mut self.fds {
                f.revents = 0;
            }
        }
        Ok(())
    }

    pub(crate) fn ready(&self, index: usize) -> Ready {
        let r = self.fds.get(index).map_or(0, |f| f.revents);
        Ready {
            readable: r & libc::POLLIN != 0,
            hangup: r & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0,
        }
    }
}

// ------------------------------------------------------------ processes

/// A spawned worker process.
#[derive(Debug)]
pub(crate) struct Child {
    pub(crate) pid: i32,
    /// Refers to exactly this process (immune to pid reuse); readable once it
    /// has exited.
    pub(crate) pidfd: OwnedFd,
}

struct SpawnAttrs {
    fa: libc::posix_spawn_file_actions_t,
    attr: libc::posix_spawnattr_t,
}

impl Drop for SpawnAttrs {
    fn drop(&mut self) {
        // SAFETY: both were initialised in spawn_worker before SpawnAttrs was
        // built, and are destroyed exactly once here.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.fa);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

fn dup_high(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor.
    let n = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) })?;
    Ok(owned(n))
}

fn check_spawn(rc: c_int) -> io::Result<()> {
    if rc != 0 {
        Err(io::Error::from_raw_os_error(rc))
    } else {
        Ok(())
    }
}

/// Start the worker executable with `posix_spawn` (never a bare fork of the
/// host): an empty environment, its own session, every signal at its default
/// disposition and none blocked, stdin/stdout on `/dev/null`, stderr on
/// `stderr_w`, the control socket on descriptor 3, and every other
/// descriptor closed (`closefrom(4)`), whatever the host process has open.
pub(crate) fn spawn_worker(
    exe: &Path,
    ctrl: BorrowedFd<'_>,
    stderr_w: BorrowedFd<'_>,
) -> io::Result<Child> {
    let path = CString::new(exe.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let arg0 = c"bridgehost-worker";
    let arg1 = c"--bridgehost-worker-v1";
    let argv: [*mut libc::c_char; 3] = [
        arg0.as_ptr().cast_mut(),
        arg1.as_ptr().cast_mut(),
        std::ptr::null_mut(),
    ];
    let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    // Move the two descriptors above the range the child's file actions
    // write (0..=3), so no action clobbers a source before it is duplicated.
    let ctrl_hi = dup_high(ctrl)?;
    let err_hi = dup_high(stderr_w)?;
    let mut attrs = SpawnAttrs {
        // SAFETY: zeroed storage is what posix_spawn*_init expect to
        // initialise; they are initialised right below before any use.
        fa: unsafe { std::mem::zeroed() },
        // SAFETY: as above.
        attr: unsafe { std::mem::zeroed() },
    };
    // SAFETY: initialising the two objects in place; if either fails we
    // return before SpawnAttrs' Drop could destroy an uninitialised object
    // (mem::forget below).
    let init_rc = unsafe {
        let a = libc::posix_spawn_file_actions_init(&mut attrs.fa);
        let b = libc::posix_spawnattr_init(&mut attrs.attr);
        (a, b)
    };
    if init_rc != (0, 0) {
        std::mem::forget(attrs);
        return Err(io::Error::from_raw_os_error(if init_rc.0 != 0 {
            init_rc.0
        } else {
            init_rc.1
        }));
    }
    let devnull = c"/dev/null";
    // SAFETY: attrs.fa/attr are initialised; every pointer argument is a
    // valid NUL-terminated string or sigset on this frame, alive until
    // posix_spawn returns.
    unsafe {
        check_spawn(libc::posix_spawn_file_actions_addopen(
            &mut attrs.fa,
            0,
            devnull.as_ptr(),
            libc::O_RDONLY,
            0,
        ))?;
        check_spawn(libc::posix_spawn_file_actions_addopen(
            &mut attrs.fa,
            1,
            devnull.as_ptr(),
            libc::O_WRONLY,
            0,
        ))?;
        check_spawn(libc::posix_spawn_file_actions_adddup2(
            &mut attrs.fa,
            err_hi.as_raw_fd(),
            2,
        ))?;
        check_spawn(libc::posix_spawn_file_actions_adddup2(
            &mut attrs.fa,
            ctrl_hi.as_raw_fd(),
            3,
        ))?;
        check_spawn(libc::posix_spawn_file_actions_addclosefrom_np(
            &mut attrs.fa,
            4,
        ))?;
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigdelset(&mut all, libc::SIGKILL);
        libc::sigdelset(&mut all, libc::SIGSTOP);
        check_spawn(libc::posix_spawnattr_setsigmask(&mut attrs.attr, &empty))?;
        check_spawn(libc::posix_spawnattr_setsigdefault(&mut attrs.attr, &all))?;
        check_spawn(libc::posix_spawnattr_setflags(
            &mut attrs.attr,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short
                | libc::POSIX_SPAWN_SETSID,
        ))?;
    }
    let mut pid: libc::pid_t = 0;
    // SAFETY: all arguments are initialised and valid for the call; argv and
    // envp are NULL-terminated arrays of valid C strings. glibc implements
    // posix_spawn with CLONE_VM|CLONE_VFORK, which is safe in a
    // multi-threaded host and reports exec failures as the return value.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            &attrs.fa,
            &attrs.attr,
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    drop(attrs);
    drop(ctrl_hi);
    drop(err_hi);
    check_spawn(rc)?;
    // SAFETY: pidfd_open on the pid we just created and have not reaped, so
    // it still names our child.
    match cvt_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) }) {
        Ok(fd) => Ok(Child {
            pid,
            pidfd: owned(fd as c_int),
        }),
        Err(e) => {
            // No pidfd (kernel < 5.3): do not leave the child behind.
            // SAFETY: pid is our unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            Err(e)
        }
    }
}

/// Send `sig` to the process behind `pidfd` (no-op once it has exited).
pub(crate) fn pidfd_kill(pidfd: BorrowedFd<'_>, sig: c_int) {
    // SAFETY: pidfd_send_signal with a valid pidfd and no siginfo; a pidfd
    // cannot name a recycled pid, so this never signals a stranger.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        );
    }
}

/// True when the child behind `pidfd` is stopped (`SIGSTOP`, `SIGTSTP`,
/// ...): `waitid(P_PIDFD, WSTOPPED | WNOHANG | WNOWAIT)`, which neither
/// blocks nor consumes anything the reaper waits for (it waits with
/// `WEXITED`). One system call, no allocation.
pub(crate) fn pidfd_is_stopped(pidfd: BorrowedFd<'_>) -> bool {
    const P_PIDFD: libc::idtype_t = 3;
    // SAFETY: an all-zero siginfo_t is a valid value (plain integers and
    // unions of them).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into `info`, a live siginfo_t; WNOHANG
    // makes it return at once and WNOWAIT leaves the child's state for the
    // reaper. A pidfd names exactly our child, never a recycled pid.
    let rc = unsafe {
        libc::waitid(
            P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // With WNOHANG and nothing to report, si_pid stays 0.
    // SAFETY: reading si_pid/si_code of the siginfo the kernel filled (or
    // left zeroed).
    rc == 0 && unsafe { info.si_pid() } != 0 && info.si_code == libc::CLD_STOPPED
}

/// How a reaped worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal.
    Signaled(i32),
    /// Reaped by someone else (e.g. the host ignores SIGCHLD): unknown.
    Unknown,
}

/// Exit status and resource usage of a reaped worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExitInfo {
    pub(crate) kind: ExitKind,
    /// User + system CPU time.
    pub(crate) cpu: Duration,
    /// Peak resident set, KiB.
    pub(crate) max_rss_kib: u64,
}

/// Reap `pid` (our child). `block == false`: `Ok(None)` if it has not exited.
/// Only this pid is waited for, never "any child": the host process may have
/// children of its own.
pub(crate) fn reap(pid: i32, block: bool) -> io::Result<Option<ExitInfo>> {
    let mut status: c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    let r = retry(|| {
        // SAFETY: status and ru are valid out-pointers; pid is our child.
        cvt(unsafe { libc::wait4(pid, &mut status, flags, &mut ru) })
    });
    match r {
        Ok(0) => Ok(None),
        Ok(_) => {
            let kind = if libc::WIFEXITED(status) {
                ExitKind::Exited(libc::WEXITSTATUS(status))
            } else if libc::WIFSIGNALED(status) {
                ExitKind::Signaled(libc::WTERMSIG(status))
            } else {
                ExitKind::Unknown
            };
            let tv = |t: libc::timeval| {
                Duration::new(
                    t.tv_sec.max(0) as u64,
                    (t.tv_usec.clamp(0, 999_999) as u32) * 1000,
                )
            };
            Ok(Some(ExitInfo {
                kind,
                cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
                max_rss_kib: ru.ru_maxrss.max(0) as u64,
            }))
        }
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(Some(ExitInfo {
            kind: ExitKind::Unknown,
            cpu: Duration::ZERO,
            max_rss_kib: 0,
        })),
        Err(e) => Err(e),
    }
}

/// This process's id.
pub(crate) fn own_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The parent process's id.
pub(crate) fn parent_pid() -> i32 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
}

// ------------------------------------------------------------ worker side

/// This process's peak address-space size in bytes (`VmPeak`), if known.
pub(crate) fn vm_peak_bytes() -> Option<u64> {
    let status = std::fs::read("/proc/self/status").ok()?;
    match status_kib(&status, b"VmPeak:") {
        0 => None,
        k => Some(k.saturating_mul(1024)),
    }
}

/// The descriptor number the host puts the control socket on.
pub(crate) const WORKER_CONTROL_FD: RawFd = 3;

/// Take the control socket the host passed on descriptor 3, after checking
/// that it is a `SOCK_SEQPACKET` socket (so that running the worker by hand
/// fails cleanly instead of reading a terminal).
pub(crate) fn take_control_socket() -> io::Result<OwnedFd> {
    // SAFETY: only used for the getsockopt below, while fd 3 is open or not;
    // on a closed descriptor getsockopt fails with EBADF.
    let probe = unsafe { BorrowedFd::borrow_raw(WORKER_CONTROL_FD) };
    if socket_type(probe)? != libc::SOCK_SEQPACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "descriptor 3 is not a SOCK_SEQPACKET socket",
        ));
    }
    // SAFETY: descriptor 3 is open (getsockopt succeeded) and, by the
    // spawn contract, belongs to nobody else in this process.
    let fd = unsafe { OwnedFd::from_raw_fd(WORKER_CONTROL_FD) };
    // Close-on-exec for good measure (exec is denied by the sandbox anyway).
    // SAFETY: F_SETFD on our own descriptor.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
    }
    Ok(fd)
}

/// Close every descriptor above `keep` (defence in depth: the spawn already
/// closed them).
pub(crate) fn close_fds_above(keep: RawFd) {
    // SAFETY: close_range on descriptors this process does not otherwise use
    // (the worker owns only 0..=keep at this point).
    unsafe {
        libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
    }
}

/// Ask the kernel to SIGKILL this process when the host thread that spawned
/// it exits (the host's supervisor thread, which lives as long as the module).
pub(crate) fn set_parent_death_signal() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG with a valid signal number.
    cvt(unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    })?;
    Ok(())
}

/// Resources the worker limits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rlimit {
    AddressSpace,
    Cpu,
    FileSize,
    OpenFiles,
    Core,
}

/// Set a resource limit (soft, hard; `u64::MAX` = unlimited).
pub(crate) fn set_rlimit(which: Rlimit, soft: u64, hard: u64) -> io::Result<()> {
    let res = match which {
        Rlimit::AddressSpace => libc::RLIMIT_AS,
        Rlimit::Cpu => libc::RLIMIT_CPU,
        Rlimit::FileSize => libc::RLIMIT_FSIZE,
        Rlimit::OpenFiles => libc::RLIMIT_NOFILE,
        Rlimit::Core => libc::RLIMIT_CORE,
    };
    let v = |x: u64| {
        if x == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            x as libc::rlim_t
        }
    };
    let lim = libc::rlimit {
        rlim_cur: v(soft),
        rlim_max: v(hard),
    };
    // SAFETY: lim is a valid rlimit.
    cvt(unsafe { libc::setrlimit(res, &lim) })?;
    Ok(())
}

/// The current hard limit of open files (to never raise it).
pub(crate) fn open_files_hard_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0
        || lim.rlim_max == libc::RLIM_INFINITY
    {
        return u64::MAX;
    }
    lim.rlim_max
}

/// Move this process into a new user namespace. It keeps its uid for file
/// access, but loses every capability in the host's namespace, and the
/// kernel's ptrace access check (which also guards `/proc/<pid>/mem`,
/// `environ`, `maps`, ...) then refuses it access to the host and to every
/// other process outside the namespace, even with the same uid. Must be
/// called while the process is single-threaded.
pub(crate) fn enter_user_namespace() -> io::Result<()> {
    // SAFETY: unshare with a constant flag; no memory is passed.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWUSER) })?;
    Ok(())
}

/// `PR_SET_NO_NEW_PRIVS`: no exec can ever gain privileges (also required
/// for an unprivileged seccomp filter).
pub(crate) fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with valid constant arguments.
    cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

/// The unprivileged identity a worker of a root host drops to (`nobody`).
pub(crate) const UNPRIVILEGED_ID: u32 = 65534;

/// The effective uid of this process (in the namespace it runs in).
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// Give up root: no supplementary groups, then gid and uid `id` (real,
/// effective and saved), then mark the process dumpable again (a uid change
/// clears the flag, which would make `/proc/self` owned by root and unreadable
/// to the process itself; core dumps stay off through `RLIMIT_CORE` 0).
pub(crate) fn drop_privileges(id: u32) -> io::Result<()> {
    // SAFETY: setgroups with a count of 0 reads no memory.
    cvt(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: setresgid/setresuid take plain integers.
    cvt(unsafe { libc::setresgid(id, id, id) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::setresuid(id, id, id) })?;
    // SAFETY: prctl with valid constant arguments.
    cvt(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) })?;
    Ok(())
}

// ---- Landlock (uapi <linux/landlock.h>) ----

/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version.
const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
/// `LANDLOCK_RULE_PATH_BENEATH`.
const LANDLOCK_RULE_PATH_BENEATH: c_int = 1;

/// `struct landlock_ruleset_attr` (all fields up to ABI 6; the size passed to
/// the kernel says how many it reads).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// `struct landlock_path_beneath_attr` (packed in the uapi header: 12 bytes).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version this kernel offers (`Err` when Landlock is not
/// built in or is disabled at boot).
pub(crate) fn landlock_abi() -> io::Result<u32> {
    // SAFETY: with a null attribute and size 0 the version query reads no
    // memory.
    let v = cvt_long(unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    })?;
    u32::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// A Landlock ruleset being built; [`Ruleset::restrict_self`] enforces it on
/// the calling thread (and the threads it creates later).
pub(crate) struct Ruleset {
    fd: OwnedFd,
}

impl Ruleset {
    /// A ruleset that handles these access rights; `abi` decides how much of
    /// the attribute the kernel is given (net from 4, scopes from 6), so the
    /// caller must pass only rights this ABI knows.
    pub(crate) fn new(abi: u32, fs: u64, net: u64, scoped: u64) -> io::Result<Ruleset> {
        let attr = RulesetAttr {
            handled_access_fs: fs,
            handled_access_net: net,
            scoped,
        };
        let size = match abi {
            0..=3 => 8usize,
            4 | 5 => 16,
            _ => std::mem::size_of::<RulesetAttr>(),
        };
        // SAFETY: attr is a live repr(C) struct of at least `size` bytes; the
        // kernel only reads it.
        let fd = cvt_long(unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                size,
                0u32,
            )
        })?;
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: the kernel returned a new descriptor (close-on-exec) that
        // nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Ruleset { fd })
    }

    /// Allow `access` on `path` and, for a directory, everything beneath it.
    /// `Err(NotFound)` when the path does not exist.
    pub(crate) fn allow(&self, path: &Path, access: u64) -> io::Result<()> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: c is a valid C string; O_PATH opens neither for reading nor
        // writing and the result is wrapped at once.
        let raw = cvt(unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) })?;
        // SAFETY: a fresh descriptor owned by nothing else.
        let parent = unsafe { OwnedFd::from_raw_fd(raw) };
        let rule = PathBeneathAttr {
            allowed_access: access,
            parent_fd: parent.as_raw_fd(),
        };
        // SAFETY: rule is a live packed struct of the layout the kernel
        // expects for LANDLOCK_RULE_PATH_BENEATH; it is only read.
        cvt_long(unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                self.fd.as_raw_fd(),
                LANDLOCK_RULE_PATH_BENEATH,
                &rule as *const PathBeneathAttr,
                0u32,
            )
        })?;
        Ok(())
    }

    /// Enforce the ruleset (requires no_new_privs). Irreversible.
    pub(crate) fn restrict_self(self) -> io::Result<()> {
        // SAFETY: a valid ruleset descriptor and flags 0.
        cvt_long(unsafe {
            libc::syscall(libc::SYS_landlock_restrict_self, self.fd.as_raw_fd(), 0u32)
        })?;
        Ok(())
    }
}

/// Read `errno` of the calling thread.
fn errno() -> c_int {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

// ---- crash reporter (async-signal-safe) ----

static REPORT_FD: AtomicI32 = AtomicI32::new(-1);
static REPORTED: AtomicBool = AtomicBool::new(false);
static CPU_LIMIT_REACHED: AtomicBool = AtomicBool::new(false);

/// Signals whose default action kills the worker with a crash.
pub(crate) const FATAL_SIGNALS: [c_int; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// Parse the value of `key` (e.g. `b"VmPeak:"`) in kB from a
/// `/proc/self/status` buffer. No allocation: signal-handler safe.
fn status_kib(buf: &[u8], key: &[u8]) -> u64 {
    let mut i = 0;
    while i + key.len() <= buf.len() {
        let at_line_start = i == 0 || buf.get(i - 1) == Some(&b'\n');
        if at_line_start && buf.get(i..i + key.len()) == Some(key) {
            let mut j = i + key.len();
            let mut v: u64 = 0;
            while let Some(&c) = buf.get(j) {
                if c.is_ascii_digit() {
                    v = v.saturating_mul(10).saturating_add(u64::from(c - b'0'));
                } else if c == b'\n' {
                    break;
                }
                j += 1;
            }
            return v;
        }
        i += 1;
    }
    0
}

extern "C" fn on_fatal_signal(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // Runs on the crashing thread, possibly with a corrupted heap: only
    // system calls and stack memory below. SA_RESETHAND already restored the
    // default action, so re-raising at the end kills the process with `sig`.
    let err = errno();
    if !REPORTED.swap(true, Ordering::SeqCst) {
        let fd = REPORT_FD.load(Ordering::Relaxed);
        let mut status = [0u8; 2048];
        let mut n: isize = 0;
        // SAFETY: open/read/close on a constant path into a stack buffer;
        // all async-signal-safe.
        unsafe {
            let f = libc::open(
                c"/proc/self/status".as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            );
            if f >= 0 {
                n = libc::read(f, status.as_mut_ptr().cast::<c_void>(), status.len());
                libc::close(f);
            }
        }
        let text = status.get(..n.max(0) as usize).unwrap_or(&[]);
        let (code, addr) = if info.is_null() {
            (0, 0)
        } else {
            // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO
            // handler; si_addr is meaningful for fault signals and merely
            // informational otherwise.
            unsafe { ((*info).si_code, (*info).si_addr() as usize as u64) }
        };
        let words = super::protocol::LastWords {
            signal: sig,
            code,
            errno: err,
            vm_peak_kib: status_kib(text, b"VmPeak:"),
            vm_size_kib: status_kib(text, b"VmSize:"),
            fault_addr: addr,
        };
        let packet = words.encode();
        if fd >= 0 {
            // SAFETY: send on the control socket from a stack buffer;
            // async-signal-safe, never blocks, never raises SIGPIPE.
            unsafe {
                libc::send(
                    fd,
                    packet.as_ptr().cast::<c_void>(),
                    packet.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                );
            }
        }
    }
    // SAFETY: re-raise on this thread; the disposition is SIG_DFL now
    // (SA_RESETHAND) and SA_NODEFER leaves it unblocked, so this terminates
    // the process with the original signal.
    unsafe {
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig);
    }
}

extern "C" fn on_sigxcpu(_sig: c_int) {
    CPU_LIMIT_REACHED.store(true, Ordering::SeqCst);
}

/// Install handlers that send a last-words datagram (signal, code, errno,
/// peak address space) on `report_fd` before the worker dies of a fatal
/// signal, and a `SIGXCPU` handler that only sets a flag (the worker retires
/// after its current call).
pub(crate) fn install_signal_handlers(report_fd: RawFd) -> io::Result<()> {
    REPORT_FD.store(report_fd, Ordering::Relaxed);
    // A generous alternate stack for the main thread (where calls run), so
    // the handler also runs after a stack overflow. Never freed: the worker
    // exits with it.
    const ALT: usize = 256 << 10;
    // SAFETY: a fresh private anonymous mapping; the kernel picks the address.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            ALT,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if stack != libc::MAP_FAILED {
        let ss = libc::stack_t {
            ss_sp: stack,
            ss_flags: 0,
            ss_size: ALT,
        };
        // SAFETY: ss describes the live mapping above, which is never unmapped.
        unsafe {
            libc::sigaltstack(&ss, std::ptr::null_mut());
        }
    }
    for sig in FATAL_SIGNALS {
        // SAFETY: a zeroed sigaction is valid; we fill handler, mask and
        // flags. The handler is an extern "C" fn with the SA_SIGINFO
        // signature and never unwinds (it contains no panicking code).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fatal_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags =
                libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESETHAND | libc::SA_NODEFER;
            cvt(libc::sigaction(sig, &sa, std::ptr::null_mut()))?;
        }
    }
    // SAFETY: as above; this handler only stores to a static atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigxcpu as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = libc::SA_RESTART;
        cvt(libc::sigaction(libc::SIGXCPU, &sa, std::ptr::null_mut()))?;
    }
    Ok(())
}

/// True once the worker exceeded its soft CPU limit.
pub(crate) fn cpu_limit_reached() -> bool {
    CPU_LIMIT_REACHED.load(Ordering::SeqCst)
}

/// The name of a signal (`"SIGSEGV"`), or `"signal N"`.
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// `strsignal`-like description for the common crash signals.
pub(crate) fn signal_description(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "segmentation fault",
        libc::SIGBUS => "bus error",
        libc::SIGILL => "illegal instruction",
        libc::SIGFPE => "arithmetic exception",
        libc::SIGABRT => "aborted",
        libc::SIGTRAP => "trace/breakpoint trap",
        libc::SIGSYS => "bad system call",
        libc::SIGKILL => "killed",
        libc::SIGTERM => "terminated",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "file size limit exceeded",
        libc::SIGPIPE => "broken pipe",
        _ => "signal",
    }
}

/// Signal numbers used when classifying a death.
pub(crate) const SIGKILL: i32 = libc::SIGKILL;
/// See [`SIGKILL`].
pub(crate) const SIGXCPU: i32 = libc::SIGXCPU;
/// See [`SIGKILL`].
pub(crate) const SIGXFSZ: i32 = libc::SIGXFSZ;

/// `ENOMEM`, for classifying a crash as memory exhaustion.
pub(crate) const ENOMEM: i32 = libc::ENOMEM;

#[cfg(test)]
mod tests {
    use super::*;

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
    fn shared_mem_is_sealed_against_shrinking() {
        let m = SharedMem::create(c"bh-test", 8192).unwrap();
        // SAFETY: ftruncate on our own memfd: must fail because of F_SEAL_SHRINK.
        let rc = unsafe { libc::ftruncate(m.fd().unwrap().as_raw_fd(), 0) };
        assert_eq!(rc, -1);
        assert_eq!(errno(), libc::EPERM);
    }

    #[test]
    fn status_parser() {
        let s = b"Name:\tx\nVmPeak:\t  123456 kB\nVmSize:\t 42 kB\n";
        assert_eq!(status_kib(s, b"VmPeak:"), 123456);
        assert_eq!(status_kib(s, b"VmSize:"), 42);
        assert_eq!(status_kib(s, b"VmRSS:"), 0);
        assert_eq!(status_kib(b"", b"VmPeak:"), 0);
    }

    #[test]
    fn seqpacket_keeps_boundaries_and_refuses_fds_when_asked() {
        let (a, b) = seqpacket_pair().unwrap();
        use std::os::fd::AsFd;
        send_packet(a.as_fd(), b"one", &[], false).unwrap();
        send_packet(a.as_fd(), b"two!", &[b.as_fd()], false).unwrap();
        let mut buf = [0u8; 16];
        let p = recv_packet(b.as_fd(), &mut buf, false, true)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..p.len], b"one");
        let p = recv_packet(b.as_fd(), &mut buf, false, true)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..p.len], b"two!");
        assert!(
            p.ctrunc && p.fds.is_empty(),
            "descriptors are discarded, never installed"
        );
        send_packet(a.as_fd(), &[7u8; 32], &[], false).unwrap();
        let p = recv_packet(b.as_fd(), &mut buf, false, true)
            .unwrap()
            .unwrap();
        assert!(p.truncated);
        drop(a);
        assert!(recv_packet(b.as_fd(), &mut buf, false, true)
            .unwrap()
            .is_none());
    }

    /// Stamped receives report when each datagram was sent (the blame for a
    /// violation depends on it) and still install no descriptor.
    #[test]
    fn stamped_receive_reports_the_send_time_and_refuses_fds() {
        use std::os::fd::AsFd;
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        };
        // SAFETY: CMSG_SPACE is a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::timespec>() as u32) };
        assert_eq!(space as usize, STAMP_SPACE);
        let (a, b) = seqpacket_pair().unwrap();
        enable_timestamps(b.as_fd()).unwrap();
        let t0 = now();
        send_packet(a.as_fd(), b"one", &[], false).unwrap();
        let t1 = now();
        std::thread::sleep(Duration::from_millis(20));
        send_packet(a.as_fd(), b"two", &[a.as_fd(), b.as_fd()], false).unwrap();
        let mut buf = [0u8; 16];
        let p = recv_packet_stamped(b.as_fd(), &mut buf, true)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..p.len], b"one");
        let sent = p.sent_ns.expect("a timestamp");
        assert!(t0 <= sent && sent <= t1, "{t0} <= {sent} <= {t1}");
        let p = recv_packet_stamped(b.as_fd(), &mut buf, true)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..p.len], b"two");
        assert!(p.ctrunc && p.fds.is_empty());
        assert!(p.sent_ns.expect("a timestamp") >= sent + 20_000_000);
        drop(a);
        assert!(recv_packet_stamped(b.as_fd(), &mut buf, true)
            .unwrap()
            .is_none());
    }
}
