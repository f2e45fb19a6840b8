//! Worker side only: the async-signal-safe crash reporter (last words on
//! a fatal signal) and the `SIGXCPU` flag.

use super::{cvt, errno};
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

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
pub(super) fn status_kib(buf: &[u8], key: &[u8]) -> u64 {
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
        let words = crate::isolation::protocol::LastWords {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parser() {
        let s = b"Name:\tx\nVmPeak:\t  123456 kB\nVmSize:\t 42 kB\n";
        assert_eq!(status_kib(s, b"VmPeak:"), 123456);
        assert_eq!(status_kib(s, b"VmSize:"), 42);
        assert_eq!(status_kib(s, b"VmRSS:"), 0);
        assert_eq!(status_kib(b"", b"VmPeak:"), 0);
    }
}
