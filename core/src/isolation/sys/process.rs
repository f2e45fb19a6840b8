//! Spawning, signalling and reaping worker processes (`posix_spawn`,
//! pidfds, `wait4` on one pid only).

use super::{cvt, cvt_long, owned, retry};
use std::ffi::{c_int, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

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
    // No peak resident set: the kernel's `ru_maxrss` of a child keeps the
    // high-water mark of the image it forked from (the host's, hundreds of
    // MiB under a JVM) across its exec, so it does not measure the worker.
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
            }))
        }
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(Some(ExitInfo {
            kind: ExitKind::Unknown,
            cpu: Duration::ZERO,
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
