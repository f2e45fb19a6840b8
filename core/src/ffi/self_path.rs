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
    // A relative name is the main program's as it was started ("bridgehost" found on PATH):
    // relative to nothing this process can rely on. The kernel knows the file behind the
    // mapping.
    let path = if path.is_absolute() {
        path
    } else {
        mapped_file(addr as usize).unwrap_or(path)
    };
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.to_path_buf())
}

/// The absolute path of the file mapped at `addr`, from `/proc/self/maps`.
fn mapped_file(addr: usize) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| mapping_path(line, addr))
}

/// `Some(path)` if the `/proc/self/maps` line maps `addr` from an absolute path
/// (`start-end perms offset dev inode path`; the path may contain spaces).
fn mapping_path(line: &str, addr: usize) -> Option<PathBuf> {
    let (range, mut rest) = line.split_once(' ')?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    );
    if !(start..end).contains(&addr) {
        return None;
    }
    for _ in 0..4 {
        rest = rest.trim_start().split_once(' ')?.1;
    }
    let path = rest.trim_start();
    path.starts_with('/').then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maps_line_names_its_file_only_for_its_own_range() {
        let line = "5581c000-5581d000 r-xp 00001000 fd:01 1234   /opt/my app/bin/bridgehost";
        assert_eq!(
            mapping_path(line, 0x5581c800),
            Some(PathBuf::from("/opt/my app/bin/bridgehost"))
        );
        assert_eq!(mapping_path(line, 0x5581d000), None);
        assert_eq!(mapping_path(line, 0x5581bfff), None);
        assert_eq!(
            mapping_path(
                "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]",
                0x7ffd1000
            ),
            None
        );
        assert_eq!(
            mapping_path("7f000000-7f001000 rw-p 00000000 00:00 0", 0x7f000000),
            None
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc/self/maps")]
    fn this_code_is_mapped_from_an_absolute_file() {
        let addr = library_dir as fn() -> Option<PathBuf> as usize;
        let path = mapped_file(addr).expect("our own code is in /proc/self/maps");
        assert!(path.is_absolute() && path.is_file(), "{path:?}");
    }
}
