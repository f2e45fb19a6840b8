//! Fault-tolerant reads of module memory, for validating a descriptor that
//! may lie.
//!
//! A module's descriptor, its strings and its method table are read only
//! through [`ForeignReader`]: the bytes are copied by the kernel (`write(2)`
//! of the address into a private pipe, then `read(2)` back), so an address
//! that is unmapped or unreadable makes the system call fail with `EFAULT`
//! (or copy only the readable prefix) instead of raising `SIGSEGV` in the
//! host. `process_vm_readv(2)` on our own pid would do the same, but the
//! isolated worker's seccomp filter denies it; `pipe2`/`write`/`read` are
//! allowed everywhere.
//!
//! Everything is copied once and validated as a copy: a module thread that
//! rewrites its descriptor while the host reads it can make the copy
//! inconsistent, never make the host read an address it did not check.
//!
//! [`ExecutableMaps`] tells whether an address lies in an executable mapping
//! of this process (from `/proc/self/maps`), so an entry symbol or a
//! function pointer that points at data is refused before it is called.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Bytes copied per round trip through the pipe: at most `PIPE_BUF`, so a
/// write into the (empty) pipe is never split or blocked.
const CHUNK: usize = 4096;

/// The system page size (at least 4096 is assumed if it cannot be read).
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(p)
            .ok()
            .filter(|&p| p >= 4096)
            .unwrap_or(4096)
    })
}

/// A private pipe used to copy module memory through the kernel.
pub(crate) struct ForeignReader {
    r: OwnedFd,
    w: OwnedFd,
}

impl ForeignReader {
    pub(crate) fn new() -> io::Result<ForeignReader> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the 2-element array.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created by pipe2 and are owned
        // by nobody else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(ForeignReader { r, w })
    }

    /// Copy the readable prefix of `buf.len()` bytes at `addr` into `buf`;
    /// returns how many bytes were readable (stops at the first byte that
    /// is not). Never dereferences `addr` in this process.
    pub(crate) fn read_prefix(&self, addr: usize, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let Some(src) = addr.checked_add(done) else {
                return Ok(done);
            };
            // Never cross a page boundary in one write: the kernel fails a
            // write that faults part-way as a whole (EFAULT), and
            // readability changes only at page boundaries, so page-sized
            // steps make the readable prefix exact.
            let to_page_end = page_size() - src % page_size();
            let n = (buf.len() - done).min(CHUNK).min(to_page_end);
            // SAFETY: write(2) reads `n` bytes at `src` in the kernel, which
            // reports an unreadable address as EFAULT (or copies only the
            // readable prefix) instead of faulting this process. `w` is our
            // pipe's write end.
            let wrote = unsafe { libc::write(self.w.as_raw_fd(), src as *const libc::c_void, n) };
            if wrote < 0 {
                let e = io::Error::last_os_error();
                return match e.raw_os_error() {
                    Some(libc::EFAULT) => Ok(done),
                    Some(libc::EINTR) => continue,
                    _ => Err(e),
                };
            }
            let wrote = wrote as usize;
            let mut got = 0;
            while got < wrote {
                let dst = &mut buf[done + got..done + wrote];
                // SAFETY: read(2) into `dst`, a live mutable slice of
                // exactly dst.len() bytes; `r` is our pipe's read end.
                let rc =
                    unsafe { libc::read(self.r.as_raw_fd(), dst.as_mut_ptr().cast(), dst.len()) };
                if rc < 0 {
                    let e = io::Error::last_os_error();
                    if e.raw_os_error() == Some(libc::EINTR) {
                        continue;
                    }
                    return Err(e);
                }
                if rc == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "probe pipe closed",
                    ));
                }
                got += rc as usize;
            }
            done += wrote;
            if wrote < n {
                return Ok(done); // the next byte is not readable
            }
        }
        Ok(done)
    }

    /// Copy exactly `buf.len()` bytes at `addr`, or `false` if any of them
    /// is not readable.
    pub(crate) fn read_exact(&self, addr: usize, buf: &mut [u8]) -> io::Result<bool> {
        Ok(self.read_prefix(addr, buf)? == buf.len())
    }
}

/// The executable mappings of this process at one moment, from
/// `/proc/self/maps`: read once per module load (the file is one line per
/// mapping, thousands in a JVM, and the kernel formats it on every read), then
/// asked about each function pointer the module hands over.
pub(crate) struct ExecutableMaps {
    ranges: Vec<(usize, usize)>,
}

impl ExecutableMaps {
    pub(crate) fn read() -> io::Result<ExecutableMaps> {
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        let mut ranges = Vec::new();
        for line in maps.lines() {
            let mut parts = line.split_whitespace();
            let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
                continue;
            };
            if perms.as_bytes().get(2) != Some(&b'x') {
                continue;
            }
            let Some((lo, hi)) = range.split_once('-') else {
                continue;
            };
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                ranges.push((lo, hi));
            }
        }
        Ok(ExecutableMaps { ranges })
    }

    /// True when `addr` lay in an executable mapping when the maps were read.
    pub(crate) fn contains(&self, addr: usize) -> bool {
        self.ranges.iter().any(|&(lo, hi)| (lo..hi).contains(&addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "pipe/mmap system calls")]
    fn reads_stop_at_unreadable_memory_without_a_signal() {
        let r = ForeignReader::new().unwrap();
        let data = *b"hello, world";
        let mut buf = [0u8; 12];
        assert!(r.read_exact(data.as_ptr() as usize, &mut buf).unwrap());
        assert_eq!(&buf, b"hello, world");
        // Page 0 is never mapped.
        assert_eq!(r.read_prefix(8, &mut buf).unwrap(), 0);
        // A read that runs into an unreadable page returns the readable prefix.
        let page = page_size();
        // SAFETY: a private anonymous mapping of two pages, the second made
        // inaccessible; only the first is written, and it is unmapped below.
        let map = unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(m, libc::MAP_FAILED);
            assert_eq!(
                libc::mprotect(m.cast::<u8>().add(page).cast(), page, libc::PROT_NONE),
                0
            );
            m.cast::<u8>()
                .add(page - 3)
                .copy_from_nonoverlapping(b"abc".as_ptr(), 3);
            m
        };
        let mut buf8 = [0u8; 8];
        assert_eq!(
            r.read_prefix(map as usize + page - 3, &mut buf8).unwrap(),
            3
        );
        assert_eq!(&buf8[..3], b"abc");
        // SAFETY: the mapping created above, no longer used.
        assert_eq!(unsafe { libc::munmap(map, 2 * page) }, 0);
        // A big read of real memory crosses several chunks.
        let big: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
        let mut copy = vec![0u8; big.len()];
        assert!(r.read_exact(big.as_ptr() as usize, &mut copy).unwrap());
        assert_eq!(copy, big);
        assert!(!r.read_exact(usize::MAX - 4, &mut buf).unwrap());
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc/self/maps")]
    fn code_is_executable_and_data_is_not() {
        let f: fn() -> io::Result<ForeignReader> = ForeignReader::new;
        let maps = ExecutableMaps::read().unwrap();
        assert!(maps.contains(f as usize));
        static DATA: [u8; 8] = [0; 8];
        assert!(!maps.contains(DATA.as_ptr() as usize));
        assert!(!maps.contains(8));
    }
}
