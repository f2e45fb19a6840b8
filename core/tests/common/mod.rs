//! Shared helpers for the core integration tests.
#![allow(dead_code)]

use bridgehost::{Host, HostOptions};
use std::path::PathBuf;

/// The staged module directory (`scripts/build.sh` fills it): `BRIDGEHOST_MODULE_PATH`'s first
/// entry, else `<workspace>/target/dist`.
pub fn dist() -> PathBuf {
    let dir = std::env::var_os("BRIDGEHOST_MODULE_PATH")
        .and_then(|v| std::env::split_paths(&v).next())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist"));
    assert!(
        dir.join("libbridgehost_mod_std.so").is_file(),
        "bundled modules not found in {}: run scripts/build.sh first",
        dir.display()
    );
    dir
}

/// A host that finds the staged modules.
pub fn host() -> Host {
    Host::with_options(HostOptions {
        module_dirs: vec![dist()],
        ..HostOptions::default()
    })
    .expect("host")
}
