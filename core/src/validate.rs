//! The "validate" step: load a module in a worker process, validate its
//! descriptor there, and report what it declares, without running its
//! `init` and without loading it into this process.
//!
//! Loading a shared library runs its ELF constructors and its entry
//! function, which are the module's own code: in-process, no check can stop
//! a constructor that calls `_exit`, crashes, or never returns (nor an entry
//! function that hangs). In a worker, each of those is a typed error here:
//! a death by signal is `WorkerCrashed`, an exit (even with status 0) is
//! `WorkerExited`, silence past the deadline (`startup_timeout`) is
//! `Timeout`, a descriptor that fails validation is `AbiMismatch`. Only a
//! worker that reports a validated descriptor is success.
#![forbid(unsafe_code)]

use crate::counters::Counters;
use crate::error::Result;
use crate::ffi::loader::ModuleInfo;
use crate::options::ModuleOptions;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Validate the module `spec` (path or bundled name, resolved as
/// [`Host::open`](crate::Host::open) does) in a worker process, with
/// `deadline` for the worker to load it and answer (the default of
/// `Supervision::startup_timeout` when `None`; else positive and at most
/// one year, the rule of [`Span::InspectDeadline`](crate::options::Span::InspectDeadline)
/// that [`Host::inspect`](crate::Host::inspect) applies too).
pub fn validate(
    spec: &str,
    module_dirs: &[PathBuf],
    deadline: Option<Duration>,
) -> Result<ModuleInfo> {
    if let Some(d) = deadline {
        crate::options::Span::InspectDeadline.check(d)?;
    }
    let path = crate::locate::resolve_module(spec, module_dirs)?;
    let mut options = ModuleOptions::isolated();
    if let Some(d) = deadline {
        options.supervision.startup_timeout = d;
    }
    validate_path(&path, &options)
}

/// [`validate`] of a resolved `path` with the worker settings of `options`
/// (worker executable, sandbox, memory limit, startup timeout).
pub(crate) fn validate_path(path: &Path, options: &ModuleOptions) -> Result<ModuleInfo> {
    let mut opts = options.clone();
    opts.workers = 1;
    opts.supervision.spare_workers = 0;
    // One attempt: a module that dies while loading is reported, not retried.
    opts.supervision.breaker_failures = 1;
    let (info, backend) = crate::isolation::open_with(
        path,
        &opts,
        0,
        Weak::new(),
        Arc::new(Counters::default()),
        true,
    )?;
    backend.close();
    Ok(info)
}

/// `info` as bytes, the form in which the C ABI (`bh_inspect`) and the JNI
/// bridge hand a module's description to their runtimes (which decode it
/// into their own `ModuleInfo` type). All integers little-endian; a string
/// is a `u32` byte length then its UTF-8 bytes:
///
/// ```text
/// u32 abi_version, u32 thread_model (BH_THREAD_*), u32 flags (bit 0: stateful,
/// bit 1: embeds a typed interface), u32 method_count,
/// str name, str version, str path,
/// method_count x { u32 BH_METHOD_* flags, str name }
/// ```
pub fn encode_info(info: &ModuleInfo) -> Vec<u8> {
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn str(out: &mut Vec<u8>, s: &str) {
        // Names, versions and paths are far below 4 GiB (the loader bounds them).
        u32le(out, u32::try_from(s.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = Vec::with_capacity(64 + info.path.len() + 32 * info.methods.len());
    u32le(&mut out, info.abi_version);
    u32le(&mut out, info.thread_model.to_abi());
    let flags = u32::from(info.stateful) | (u32::from(info.interface.is_some()) << 1);
    u32le(&mut out, flags);
    u32le(
        &mut out,
        u32::try_from(info.methods.len()).unwrap_or(u32::MAX),
    );
    str(&mut out, &info.name);
    str(&mut out, &info.version);
    str(&mut out, &info.path);
    for m in &info.methods {
        u32le(&mut out, m.flags);
        str(&mut out, &m.name);
    }
    out
}
