//! Sandboxed file access, the difference between the modes a module author meets first
//! (docs/ISOLATION.md, "Same semantics, and the differences that remain"): SQLite inside a
//! module works in-process, while isolated an on-disk database and even a temporary database
//! that spills to a temporary file fail (no file can be created in the worker); an in-memory
//! database with `PRAGMA temp_store = MEMORY` works in both modes.
//!
//! Needs a C compiler and SQLite's development files (`libsqlite3-dev`, installed by
//! scripts/setup.sh).
mod isolation_support;

use bridgehost::{Error, Isolation, Module};
use isolation_support::*;
use std::path::{Path, PathBuf};

fn sqlite_probe() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let out = dir.join("libbridgehost_mod_sqlite_probe.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = std::process::Command::new(&cc)
        .args([
            "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror", "-I",
        ])
        .arg(root.join("../plugins/include"))
        .arg(root.join("tests/fixtures/sqlite_probe.c"))
        .arg("-o")
        .arg(&out)
        .arg("-lsqlite3")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        status.success(),
        "building tests/fixtures/sqlite_probe.c failed (is libsqlite3-dev installed? scripts/setup.sh installs it)"
    );
    out
}

fn call(m: &Module, method: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
    m.method(method)?.call(input)
}

#[test]
fn sqlite_files_work_in_process_and_fail_only_when_isolated() {
    let module = sqlite_probe();
    let spec = module.to_str().unwrap();
    let host = host();
    let db = module.with_file_name(format!("probe-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);

    let local = host.open(spec, opts(Isolation::InProcess)).unwrap();
    assert_eq!(
        call(&local, "ondisk", db.to_str().unwrap().as_bytes()).unwrap(),
        b"ok"
    );
    assert!(db.is_file());
    std::fs::remove_file(&db).unwrap();
    assert_eq!(call(&local, "tempfile", b"").unwrap(), b"ok");
    assert_eq!(call(&local, "memory", b"").unwrap(), b"ok");

    let iso = host.open(spec, opts(Isolation::Process)).unwrap();
    match call(&iso, "ondisk", db.to_str().unwrap().as_bytes()) {
        Err(Error::Module { code, message }) => {
            // SQLITE_CANTOPEN (14) and its extended codes.
            eprintln!("isolated on-disk database: {code}: {message}");
            assert_eq!(code & 0xff, 14, "{code}: {message}");
        }
        other => panic!("an on-disk database in the sandbox: {other:?}"),
    }
    assert!(!db.exists(), "nothing was created");
    match call(&iso, "tempfile", b"") {
        Err(Error::Module { code, message }) => {
            // The spill to a temporary file fails: SQLITE_CANTOPEN or SQLITE_IOERR (10).
            eprintln!("isolated temporary database: {code}: {message}");
            assert!(matches!(code & 0xff, 14 | 10), "{code}: {message}");
        }
        other => panic!("a temporary database that spills in the sandbox: {other:?}"),
    }
    assert_eq!(
        call(&iso, "memory", b"").unwrap(),
        b"ok",
        "temp_store = MEMORY works isolated"
    );
}
