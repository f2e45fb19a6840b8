//! Worker side only: taking the control socket, closing stray descriptors,
//! the parent-death signal and the peak memory report.

use super::cvt;
use super::{crash::status_kib, socket::socket_type};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

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
