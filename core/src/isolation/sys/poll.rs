//! Pipes, eventfds and `poll(2)`: the supervisor's wait loop.

use super::{cvt, owned, retry};
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

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
