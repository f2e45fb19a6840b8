//! Resolving bundled module names and the worker executable.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Environment variable: extra module directories (`:`-separated).
pub const ENV_MODULE_PATH: &str = "BRIDGEHOST_MODULE_PATH";
/// Environment variable: the worker executable.
pub const ENV_WORKER: &str = "BRIDGEHOST_WORKER";
/// File name of the worker executable.
pub const WORKER_FILE: &str = "bridgehost-worker";

/// The file name of bundled module `name`.
pub fn module_file_name(name: &str) -> String {
    format!("libbridgehost_mod_{name}.so")
}

/// The directory of the bridge library (or executable) the core is linked into.
pub fn library_dir() -> Option<PathBuf> {
    crate::ffi::self_path::library_dir()
}

fn is_bundled_name(spec: &str) -> bool {
    !spec.is_empty()
        && spec.len() <= 64
        && spec
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Directories searched for bundled modules, in order.
pub fn module_search_dirs(extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = extra.to_vec();
    if let Some(v) = std::env::var_os(ENV_MODULE_PATH) {
        dirs.extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(d) = library_dir() {
        dirs.push(d);
    }
    dirs
}

/// Resolve a module spec: a path (contains `/` or ends in `.so`) or a bundled
/// name (`[A-Za-z0-9_-]{1,64}`).
pub fn resolve_module(spec: &str, extra_dirs: &[PathBuf]) -> Result<PathBuf> {
    if spec.contains('\0') {
        return Err(Error::InvalidArgument("module spec contains NUL".into()));
    }
    if spec.contains('/') || spec.ends_with(".so") {
        // Absolute, so that the dynamic linker takes it as a file (a name without a `/`, such as
        // "libx.so", would otherwise be searched on the library path, not in the working
        // directory) and a worker process, whatever its own working directory, finds the same file.
        return std::path::absolute(spec)
            .map_err(|e| Error::InvalidArgument(format!("module path {spec:?}: {e}")));
    }
    if !is_bundled_name(spec) {
        return Err(Error::InvalidArgument(format!(
            "{spec:?} is neither a path nor a bundled module name ([A-Za-z0-9_-], 1..=64)"
        )));
    }
    let file = module_file_name(spec);
    let dirs = module_search_dirs(extra_dirs);
    for d in &dirs {
        let p = d.join(&file);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::NotFound(format!(
        "bundled module {spec:?} ({file}) not found in: {}",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Resolve the worker executable: the option, then `BRIDGEHOST_WORKER`, then
/// `bridgehost-worker` beside the bridge library, then beside the current executable.
pub fn resolve_worker(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = explicit {
        candidates.push(p.to_path_buf());
    } else if let Some(v) = std::env::var_os(ENV_WORKER) {
        candidates.push(PathBuf::from(v));
    } else {
        if let Some(d) = library_dir() {
            candidates.push(d.join(WORKER_FILE));
        }
        if let Ok(exe) = std::env::current_exe() {
            if let Some(d) = exe.parent() {
                candidates.push(d.join(WORKER_FILE));
                if let Some(up) = d.parent() {
                    candidates.push(up.join(WORKER_FILE));
                }
            }
        }
    }
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        tried.push(c.display().to_string());
    }
    Err(Error::NotFound(format!(
        "worker executable not found (tried: {}); set {ENV_WORKER} or ModuleOptions.worker_path",
        tried.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_names_cannot_traverse() {
        assert!(matches!(
            resolve_module("..", &[]),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            resolve_module("a b", &[]),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            resolve_module("", &[]),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            resolve_module("no_such_module_xyz", &[]),
            Err(Error::NotFound(_))
        ));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(resolve_module("./x.so", &[]).unwrap(), cwd.join("x.so"));
        // A file name in the working directory is that file, not a library-path search.
        assert_eq!(resolve_module("libx.so", &[]).unwrap(), cwd.join("libx.so"));
        assert_eq!(
            resolve_module("/opt/m/libx.so", &[]).unwrap(),
            PathBuf::from("/opt/m/libx.so")
        );
    }
}
