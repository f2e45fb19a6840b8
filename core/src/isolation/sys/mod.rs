//! The isolation boundary: every system call that process isolation makes.
//!
//! The files of this directory are the only ones under `isolation/` that
//! contain `unsafe`. It wraps
//! descriptors in [`OwnedFd`] as soon as the kernel returns them (so nothing
//! leaks on an error path), creates every descriptor close-on-exec (another
//! thread of the host may fork/exec at any moment), and exposes small safe
//! functions to the rest of the module.
//!
//! Shared memory ([`SharedMem`]) is treated like I/O memory: the host never
//! creates a Rust reference into it. Bytes move with volatile loads and
//! stores, control words with atomics. A worker is untrusted and may write to
//! the mapping at any time; the host copies what it needs into private memory
//! first and validates the copy, never the shared bytes themselves. The host
//! seals every region (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) before a
//! worker sees it, so a worker cannot truncate a mapping under the host and
//! turn a host read into `SIGBUS`.
//!
//! One file per concern. Used by the host (and the worker): [`shm`] shared
//! memory, [`futex`], [`socket`] control-socket datagrams, [`poll`] pipes,
//! eventfds and poll, [`process`] spawn / pidfd / reap, [`signals`] how a
//! death is named. Used only by the worker process (`worker_main`), so the
//! linker drops them from the libraries the JVM, CPython and .NET load:
//! [`worker_setup`] (control socket, stray descriptors, parent-death signal),
//! [`confine`] (rlimits, user namespace, no_new_privs, dropping root),
//! [`landlock`] and [`crash`] (the worker's async-signal-safe crash reporter).
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

fn cvt(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn cvt_long(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Retry `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Take ownership of a descriptor the kernel just returned.
fn owned(fd: c_int) -> OwnedFd {
    debug_assert!(fd >= 0);
    // SAFETY: every caller passes a descriptor that a successful system call
    // returned a moment ago and that nothing else owns yet.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    }
}

/// Read `errno` of the calling thread.
fn errno() -> c_int {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

mod futex;
mod poll;
mod process;
mod shm;
mod signals;
mod socket;

// Used only by the worker process (`worker_main`): the libraries the JVM,
// CPython and .NET load never call them, and the linker drops them there.
mod confine;
mod crash;
mod landlock;
mod worker_setup;

pub(crate) use confine::*;
pub(crate) use crash::*;
pub(crate) use futex::*;
pub(crate) use landlock::*;
pub(crate) use poll::*;
pub(crate) use process::*;
pub(crate) use shm::*;
// Public for `crate::internal` (a front end's copies of caller memory).
pub use shm::{copy_from_shared, copy_to_shared};
pub(crate) use signals::*;
pub(crate) use socket::*;
pub(crate) use worker_setup::*;
