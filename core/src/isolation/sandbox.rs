//! The worker's seccomp policy (built with `seccompiler`).
//!
//! An allow-list: every system call not listed fails with `EPERM`, so a
//! module sees an ordinary error (and can report it) instead of being
//! killed. What the list leaves out, on purpose:
//!
//! * creating processes: `fork`, `vfork`, `clone` without `CLONE_THREAD`
//!   (threads are allowed), `clone3` (answered with `ENOSYS` so that glibc
//!   falls back to `clone`, whose flags a filter can inspect);
//! * running programs: `execve`, `execveat`;
//! * writing files: `open`/`openat` with any of `O_WRONLY`, `O_RDWR`,
//!   `O_CREAT`, `O_TRUNC`, `O_APPEND`, `O_TMPFILE`; `creat`, `truncate`,
//!   `rename`, `unlink`, `mkdir`, `link`, `chmod`, `chown`, ... (reading
//!   files stays possible: the dynamic linker and many libraries need it);
//! * the network and IPC: `socket`, `socketpair`, `connect`, `bind`, ...
//!   (the inherited control socket is usable, no new one can be made);
//! * other processes: `ptrace`, `process_vm_readv/writev`, `kill`/`tgkill`
//!   of anything but this process, `pidfd_*`;
//! * the kernel's larger attack surface: `bpf`, `perf_event_open`,
//!   `io_uring_*`, `userfaultfd`, `keyctl`, namespaces, mounts, module
//!   loading, `setrlimit`/`prlimit64` with a new limit, `memfd_create`.
//!
//! The worker first enters a new user namespace: seccomp cannot see paths,
//! and without it a module could open `/proc/<host pid>/mem` read-only and
//! read the host's memory (same uid, no Yama). In its own user namespace the
//! kernel's ptrace access check refuses that.
//!
//! The filters are installed in the worker after its rlimits and before the
//! module is loaded, so the module's ELF constructors already run inside
//! the sandbox.
#![forbid(unsafe_code)]

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
    SeccompCondition as Cond, SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

fn cond(arg: u8, len: Len, op: Op, value: u64) -> Result<Cond, String> {
    Cond::new(arg, len, op, value).map_err(|e| e.to_string())
}

fn rule(conds: Vec<Cond>) -> Result<SeccompRule, String> {
    SeccompRule::new(conds).map_err(|e| e.to_string())
}

/// Flags that make an `open` write, create or truncate. (`O_TMPFILE`
/// includes `O_DIRECTORY`, which reading a directory needs: only its own bit
/// counts.)
const WRITE_FLAGS: u64 = (libc::O_WRONLY
    | libc::O_RDWR
    | libc::O_CREAT
    | libc::O_TRUNC
    | libc::O_APPEND
    | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u64;

/// System calls allowed with any arguments.
const ALLOWED: &[i64] = &[
    // memory
    libc::SYS_brk,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    libc::SYS_msync,
    libc::SYS_mincore,
    libc::SYS_membarrier,
    // descriptors this process already has, and reading files
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_preadv,
    libc::SYS_pwritev,
    libc::SYS_lseek,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_fcntl,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_fstatfs,
    libc::SYS_statfs,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlinkat,
    libc::SYS_getdents64,
    libc::SYS_getcwd,
    libc::SYS_pipe2,
    libc::SYS_eventfd2,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_timerfd_create,
    libc::SYS_timerfd_settime,
    libc::SYS_timerfd_gettime,
    // the inherited control socket
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_getsockopt,
    libc::SYS_shutdown,
    // threads and synchronisation
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_set_tid_address,
    libc::SYS_rseq,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_sched_getparam,
    libc::SYS_sched_getscheduler,
    libc::SYS_sched_get_priority_max,
    libc::SYS_sched_get_priority_min,
    libc::SYS_getpriority,
    // signals
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigpending,
    libc::SYS_rt_sigtimedwait,
    libc::SYS_rt_sigsuspend,
    libc::SYS_sigaltstack,
    libc::SYS_signalfd4,
    // time
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    // identity and information
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getpgid,
    libc::SYS_getsid,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_getrusage,
    libc::SYS_times,
    libc::SYS_getcpu,
    libc::SYS_getrandom,
    // exit
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_restart_syscall,
];

#[cfg(target_arch = "x86_64")]
const ALLOWED_ARCH: &[i64] = &[
    libc::SYS_arch_prctl,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_access,
    libc::SYS_readlink,
    libc::SYS_poll,
    libc::SYS_select,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_create,
    libc::SYS_pipe,
    libc::SYS_dup2,
    libc::SYS_getrlimit,
    libc::SYS_time,
    libc::SYS_getpgrp,
];

#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_ARCH: &[i64] = &[];

fn allow_list(own_pid: i32) -> Result<Rules, String> {
    let mut rules: Rules = BTreeMap::new();
    for &nr in ALLOWED.iter().chain(ALLOWED_ARCH) {
        rules.insert(nr, vec![]);
    }
    // Threads only: clone must carry CLONE_THREAD.
    let thread = libc::CLONE_THREAD as u64;
    rules.insert(
        libc::SYS_clone,
        vec![rule(vec![cond(
            0,
            Len::Qword,
            Op::MaskedEq(thread),
            thread,
        )?])?],
    );
    // Open for reading only.
    rules.insert(
        libc::SYS_openat,
        vec![rule(vec![cond(
            2,
            Len::Dword,
            Op::MaskedEq(WRITE_FLAGS),
            0,
        )?])?],
    );
    #[cfg(target_arch = "x86_64")]
    rules.insert(
        libc::SYS_open,
        vec![rule(vec![cond(
            1,
            Len::Dword,
            Op::MaskedEq(WRITE_FLAGS),
            0,
        )?])?],
    );
    // Signals to this process only (abort() and raise() use tgkill).
    let me = own_pid as u32 as u64;
    rules.insert(
        libc::SYS_tgkill,
        vec![rule(vec![cond(0, Len::Dword, Op::Eq, me)?])?],
    );
    rules.insert(
        libc::SYS_kill,
        vec![rule(vec![cond(0, Len::Dword, Op::Eq, me)?])?],
    );
    // Reading limits is fine, changing them is not.
    rules.insert(
        libc::SYS_prlimit64,
        vec![rule(vec![
            cond(0, Len::Dword, Op::Eq, 0)?,
            cond(2, Len::Qword, Op::Eq, 0)?,
        ])?],
    );
    // Thread names and the like; nothing that changes privileges or dumps.
    let prctl_ok = [
        libc::PR_SET_NAME,
        libc::PR_GET_NAME,
        libc::PR_GET_DUMPABLE,
        0x5356_4d41, /* PR_SET_VMA */
    ];
    let mut prctl_rules = Vec::new();
    for op in prctl_ok {
        prctl_rules.push(rule(vec![cond(0, Len::Dword, Op::Eq, op as u64)?])?);
    }
    rules.insert(libc::SYS_prctl, prctl_rules);
    Ok(rules)
}

fn arch() -> Result<TargetArch, String> {
    std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())
}

/// The two filters, in installation order. The first answers `clone3` and
/// `openat2` with `ENOSYS` (their flags live in a struct a filter cannot
/// read; `ENOSYS` makes glibc fall back to `clone`/`openat`, which the
/// allow-list inspects) and allows everything else. The second is the
/// allow-list (default `EPERM`); it lists `clone3`/`openat2` so that only the
/// first filter's answer applies to them (the kernel takes the most severe
/// result of all filters, and `ALLOW` is the least severe).
pub(crate) fn filters(own_pid: i32) -> Result<Vec<BpfProgram>, String> {
    let arch = arch()?;
    let mut nosys: Rules = BTreeMap::new();
    nosys.insert(libc::SYS_clone3, vec![]);
    nosys.insert(libc::SYS_openat2, vec![]);
    let nosys = SeccompFilter::new(
        nosys,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let mut rules = allow_list(own_pid)?;
    rules.insert(libc::SYS_clone3, vec![]);
    rules.insert(libc::SYS_openat2, vec![]);
    let allow = SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch,
    )
    .map_err(|e| e.to_string())?;
    let a: BpfProgram = nosys
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let b: BpfProgram = allow
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    Ok(vec![a, b])
}

/// Install the sandbox on the calling thread (the worker is single-threaded
/// at this point; threads created later inherit it): a new user namespace
/// (best effort: `Err` names what is missing, the caller logs it),
/// no_new_privs, then the filters.
pub(crate) fn apply(own_pid: i32) -> Result<Option<String>, String> {
    let warning = super::sys::enter_user_namespace().err().map(|e| {
        format!(
            "no user namespace for the worker ({e}): a module can read the memory of processes of the same user through /proc"
        )
    });
    super::sys::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    for f in filters(own_pid)? {
        seccompiler::apply_filter(&f).map_err(|e| format!("seccomp: {e}"))?;
    }
    Ok(warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_for_this_arch() {
        let f = filters(1234).unwrap();
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|p| !p.is_empty()));
    }

    #[test]
    fn dangerous_calls_are_not_on_the_list() {
        let rules = allow_list(1).unwrap();
        for nr in [
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_fork,
            libc::SYS_vfork,
            libc::SYS_ptrace,
            libc::SYS_socket,
            libc::SYS_socketpair,
            libc::SYS_connect,
            libc::SYS_memfd_create,
            libc::SYS_setrlimit,
            libc::SYS_process_vm_readv,
            libc::SYS_unshare,
            libc::SYS_bpf,
            libc::SYS_tkill,
            libc::SYS_ioctl,
        ] {
            assert!(!rules.contains_key(&nr), "syscall {nr} must not be allowed");
        }
        // Conditional entries really are conditional.
        for nr in [
            libc::SYS_clone,
            libc::SYS_openat,
            libc::SYS_tgkill,
            libc::SYS_kill,
            libc::SYS_prlimit64,
        ] {
            assert!(!rules[&nr].is_empty(), "syscall {nr} must have conditions");
        }
    }
}
