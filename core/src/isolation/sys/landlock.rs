//! Worker side only: Landlock rulesets (uapi `<linux/landlock.h>`).

use super::{cvt, cvt_long};
use std::ffi::{c_int, c_void, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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
