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

/// `gate_wait` input (docs/BUNDLED.md, std's gates): the timeout, then the key.
pub fn gate_wait_input(timeout_ms: u32, key: &[u8]) -> Vec<u8> {
    let mut v = timeout_ms.to_le_bytes().to_vec();
    v.extend_from_slice(key);
    v
}

/// Poll std's `gate_count(key)` until `n` calls are inside `gate_wait(key)`; returns how many
/// are. The 30 s deadline only ends a failure. In-process only: isolated, `gate_count` needs a
/// free worker (use [`gate_entries`]).
pub fn await_inside(m: &bridgehost::Module, key: &[u8], n: u32) -> u32 {
    let count = m.method("gate_count").unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let b = count.call(key).unwrap();
        let inside = u32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
        if inside >= n || t0.elapsed() > std::time::Duration::from_secs(30) {
            return inside;
        }
        std::thread::yield_now();
    }
}

/// The "started" signal of std's `gate_wait`, in both modes: each call emits event `gate` with
/// its key on entry, so a key received here is a call inside the module (inside its worker,
/// isolated). Keep the subscription while waiting.
pub fn gate_entries(
    m: &bridgehost::Module,
) -> (bridgehost::Subscription, std::sync::mpsc::Receiver<Vec<u8>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let sub = m
        .subscribe(
            "gate",
            Box::new(move |e| {
                let _ = tx.lock().unwrap().send(e.data.to_vec());
            }),
        )
        .expect("subscribe to gate");
    (sub, rx)
}

/// Compile the C fixture `core/tests/fixtures/<source>` into the module `<out_name>` (in the
/// test target's temporary directory) with the system `cc` (`CC` if set), strict warnings and
/// `extra` arguments after the source (defines, libraries); its path. Each `out_name` is
/// compiled once per test process: tests run in parallel, and a second compile could rewrite the
/// file while another test loads it ("file too short", seen in CI).
pub fn c_fixture_module(source: &str, out_name: &str, extra: &[&str]) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(n, _)| n == out_name) {
        return p.clone();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out_name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = std::process::Command::new(&cc)
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
        ])
        .arg("-fvisibility=hidden")
        .arg(format!("-I{}", root.join("../plugins/include").display()))
        .arg(root.join("tests/fixtures").join(source))
        .args(extra)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(st.success(), "{cc} failed for {source} ({extra:?})");
    built.push((out_name.to_string(), out.clone()));
    out
}
