//! `SOCK_SEQPACKET` control sockets: datagrams with descriptors, kernel
//! send timestamps, and receives that never install an unwanted descriptor.

use super::{cvt, owned, retry};
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
