//! The worker's sandbox: an unprivileged identity, a user namespace, a
//! Landlock domain and a seccomp policy (built with `seccompiler`).
//!
//! The seccomp policy is an allow-list: every system call not listed fails
//! with `EPERM`, so a module sees an ordinary error (and can report it)
//! instead of being killed. What the list leaves out, on purpose:
//!
//! * creating processes: `fork`, `vfork`, `clone` without `CLONE_THREAD`
//!   (threads are allowed), `clone3` (answered with `ENOSYS` so that glibc
//!   falls back to `clone`, whose flags a filter can inspect);
//! * running programs: `execve`, `execveat`;
//! * writing files: `open`/`openat` with any of `O_WRONLY`, `O_RDWR`,
//!   `O_CREAT`, `O_TRUNC`, `O_APPEND`, `O_TMPFILE`; `creat`, `truncate`,
//!   `rename`, `unlink`, `mkdir`, `link`, `chmod`, `chown`, ... (opening
//!   for reading passes the filter: which files is Landlock's business);
//! * the network and IPC: `socket`, `socketpair`, `connect`, `bind`, ...
//!   (the inherited control socket is usable, no new one can be made);
//! * other processes: `ptrace`, `process_vm_readv/writev`, `kill`/`tgkill`
//!   of anything but this process, `pidfd_*`;
//! * the kernel's larger attack surface: `bpf`, `perf_event_open`,
//!   `io_uring_*`, `userfaultfd`, `keyctl`, namespaces, mounts, module
//!   loading, `setrlimit`/`prlimit64` with a new limit, `memfd_create`.
//!
//! Seccomp cannot see paths. The file system is Landlock's ([`landlock`]):
//! the worker may read its module file, the standard library directories
//! (where the dynamic linker finds the module's dependencies) and its own
//! `/proc/self`, and nothing else: no other file, no directory listing.
//! Without Landlock (kernel < 5.13 or disabled) the worker logs a warning
//! and runs with the other layers only.
//!
//! A worker of a root host first drops to uid/gid 65534 (`nobody`): a user
//! namespace alone would leave it the owner of root's files (`/etc/shadow`).
//! Then it enters a new user namespace: without one a module could open
//! `/proc/<host pid>/mem` and read the host's memory (same uid, no Yama); in
//! its own user namespace the kernel's ptrace access check refuses that.
//!
//! All of it is installed in the worker after its rlimits and before the
//! module is loaded, so the module's ELF constructors already run inside
//! the sandbox.
#![forbid(unsafe_code)]

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
    SeccompCondition as Cond, SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::path::Path;

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

// Landlock access rights (uapi <linux/landlock.h>).
const FS_EXECUTE: u64 = 1 << 0;
const FS_READ_FILE: u64 = 1 << 2;
const FS_READ_DIR: u64 = 1 << 3;
const NET_BIND_AND_CONNECT_TCP: u64 = 0b11;
const SCOPE_ABSTRACT_UNIX_AND_SIGNAL: u64 = 0b11;

/// Every file-system right the given Landlock ABI knows: ABI 1 has 13
/// (execute .. make_sym), 2 adds refer, 3 truncate, 5 ioctl_dev.
fn handled_fs(abi: u32) -> u64 {
    match abi {
        0 | 1 => (1 << 13) - 1,
        2 => (1 << 14) - 1,
        3 | 4 => (1 << 15) - 1,
        _ => (1 << 16) - 1,
    }
}

/// Where the dynamic linker finds a module's shared-library dependencies:
/// the standard directories and the cache that indexes them. Read-only,
/// without listing (the linker opens by name).
const LIBRARY_PATHS: &[&str] = &[
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/usr/local/lib",
    "/etc/ld.so.cache",
];

/// The Landlock domain of a worker: read access to the module file, the
/// library directories and the worker's own `/proc/self`; nothing else of the
/// file system (no reading, listing, writing, creating, removing anywhere);
/// no TCP bind/connect (ABI 4+); no signals to and no abstract unix sockets
/// of processes outside the domain (ABI 6+). `Err` says why it could not be
/// applied; the caller decides whether that is fatal.
pub(crate) fn landlock(module: &Path) -> Result<u32, String> {
    let abi = super::sys::landlock_abi().map_err(|e| format!("Landlock unavailable: {e}"))?;
    let net = if abi >= 4 {
        NET_BIND_AND_CONNECT_TCP
    } else {
        0
    };
    let scoped = if abi >= 6 {
        SCOPE_ABSTRACT_UNIX_AND_SIGNAL
    } else {
        0
    };
    let rs = super::sys::Ruleset::new(abi, handled_fs(abi), net, scoped)
        .map_err(|e| format!("landlock_create_ruleset: {e}"))?;
    rs.allow(module, FS_READ_FILE | FS_EXECUTE)
        .map_err(|e| format!("landlock rule for {}: {e}", module.display()))?;
    for p in LIBRARY_PATHS {
        match rs.allow(Path::new(p), FS_READ_FILE | FS_EXECUTE) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            r => r.map_err(|e| format!("landlock rule for {p}: {e}"))?,
        }
    }
    rs.allow(Path::new("/proc/self"), FS_READ_FILE | FS_READ_DIR)
        .map_err(|e| format!("landlock rule for /proc/self: {e}"))?;
    rs.restrict_self()
        .map_err(|e| format!("landlock_restrict_self: {e}"))?;
    Ok(abi)
}

/// Whether a process without privileges (uid `nobody`, no groups) can open
/// `path` for reading: the file is readable by others and every directory
/// above it searchable by others. (ACLs are not consulted.)
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(full) = std::fs::canonicalize(path) else {
        return false;
    };
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode());
    if !matches!(mode(&full), Ok(m) if m & 0o004 != 0) {
        return false;
    }
    full.ancestors()
        .skip(1)
        .all(|d| matches!(mode(d), Ok(m) if m & 0o001 != 0))
}

/// Install the sandbox on the calling thread (the worker is single-threaded
/// at this point; threads created later inherit it), in this order:
///
/// 1. a root worker drops to uid/gid 65534 (`nobody`, no supplementary
///    groups) when the module file is readable by others;
/// 2. a new user namespace (best effort);
/// 3. no_new_privs, and the parent-death signal again (the credential
///    changes of 1 and 2 clear it);
/// 4. the Landlock domain ([`landlock`], best effort);
/// 5. the seccomp filters.
///
/// Returns the warnings for what was not available (the caller logs them);
/// `Err` only when no_new_privs or seccomp fail.
pub(crate) fn apply(own_pid: i32, module: &Path) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let uid = super::sys::effective_uid();
    if uid == 0 {
        if readable_by_others(module) {
            super::sys::drop_privileges(super::sys::UNPRIVILEGED_ID)
                .map_err(|e| format!("cannot drop root: {e}"))?;
        } else {
            warnings.push(format!(
                "the worker keeps uid 0: {} is not readable by other users",
                module.display()
            ));
        }
    }
    if let Err(e) = super::sys::enter_user_namespace() {
        warnings.push(format!(
            "no user namespace for the worker ({e}): a module can read the memory of processes of the same user through /proc"
        ));
    }
    super::sys::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    // A change of credentials (the uid drop, the user namespace) clears the parent-death
    // signal the worker set at start: set it again, before seccomp (which refuses prctl but
    // PR_SET_NAME and PR_SET_VMA), or a worker would outlive a host killed with SIGKILL. The
    // caller then checks that the host did not die in between.
    super::sys::set_parent_death_signal().map_err(|e| format!("parent-death signal: {e}"))?;
    if let Err(e) = landlock(module) {
        warnings.push(format!(
            "no file-system sandbox for the worker ({e}): a module can read every file its uid can read"
        ));
    }
    for f in filters(own_pid)? {
        seccompiler::apply_filter(&f).map_err(|e| format!("seccomp: {e}"))?;
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landlock_handles_every_fs_right_of_each_abi() {
        // ABI 1: execute .. make_sym (13 rights); 2: + refer; 3: + truncate; 5: + ioctl_dev.
        assert_eq!(handled_fs(1).count_ones(), 13);
        assert_eq!(handled_fs(2), handled_fs(1) | 1 << 13);
        assert_eq!(handled_fs(3), handled_fs(2) | 1 << 14);
        assert_eq!(handled_fs(4), handled_fs(3));
        assert_eq!(handled_fs(5), handled_fs(4) | 1 << 15);
        assert_eq!(handled_fs(7), handled_fs(5));
        // What the module gets is a subset of what is handled, and never a write.
        let granted = FS_READ_FILE | FS_READ_DIR | FS_EXECUTE;
        assert_eq!(handled_fs(1) & granted, granted);
        assert_eq!(granted & (1 << 1), 0, "WRITE_FILE");
    }

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
            // The Landlock domain and the dropped uid cannot be undone or widened.
            libc::SYS_landlock_create_ruleset,
            libc::SYS_landlock_add_rule,
            libc::SYS_landlock_restrict_self,
            libc::SYS_setuid,
            libc::SYS_setresuid,
            libc::SYS_setgid,
            libc::SYS_setresgid,
            libc::SYS_setgroups,
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
