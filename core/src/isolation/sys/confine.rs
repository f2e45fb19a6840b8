//! Worker side only: rlimits, the user namespace, `no_new_privs` and
//! dropping root.

use super::cvt;
use std::io;

/// Resources the worker limits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rlimit {
    AddressSpace,
    Cpu,
    FileSize,
    OpenFiles,
    Core,
}

fn resource(which: Rlimit) -> libc::__rlimit_resource_t {
    match which {
        Rlimit::AddressSpace => libc::RLIMIT_AS,
        Rlimit::Cpu => libc::RLIMIT_CPU,
        Rlimit::FileSize => libc::RLIMIT_FSIZE,
        Rlimit::OpenFiles => libc::RLIMIT_NOFILE,
        Rlimit::Core => libc::RLIMIT_CORE,
    }
}

/// Set a resource limit (soft, hard; `u64::MAX` = unlimited).
pub(crate) fn set_rlimit(which: Rlimit, soft: u64, hard: u64) -> io::Result<()> {
    let res = resource(which);
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

/// This process's hard limit of `which` (what a worker it starts inherits
/// and can never raise); `None` when unlimited (or unreadable).
pub(crate) fn hard_limit(which: Rlimit) -> Option<u64> {
    let res = resource(which);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out-pointer.
    if unsafe { libc::getrlimit(res, &mut lim) } != 0 || lim.rlim_max == libc::RLIM_INFINITY {
        return None;
    }
    Some(lim.rlim_max)
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
