//! Where is the library that contains this code? (`dladdr`)
//!
//! The bundled modules and the worker executable ship beside the bridge
//! library (the `.so` a JVM, CPython or .NET loaded), so the core asks the
//! dynamic linker which file contains one of its own functions.

use std::ffi::CStr;
use std::path::PathBuf;

/// The directory of the shared object (or executable) that contains the core.
pub(crate) fn library_dir() -> Option<PathBuf> {
    // Any function of this crate works as an address inside our object.
    let addr = library_dir as fn() -> Option<PathBuf> as *const libc::c_void;
    // SAFETY: dladdr only reads the dynamic linker's tables; `info` is a
    // plain C struct for which all-zero bytes are a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: addr is a valid code address in this process; info is a valid
    // out-pointer for the call's duration.
    let rc = unsafe { libc::dladdr(addr, &mut info) };
    if rc == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: on success dli_fname is a NUL-terminated path owned by the
    // dynamic linker, valid while the object stays loaded (it is: it is us).
    let fname = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = PathBuf::from(std::ffi::OsStr::new(
        std::str::from_utf8(fname.to_bytes()).ok()?,
    ));
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    path.parent().map(|p| p.to_path_buf())
}
