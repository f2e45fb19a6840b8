//! Helpers for the isolation tests: locating the staged modules and the worker, building the
//! hostile fixture module, and counting this process's children and descriptors.
#![allow(dead_code)]

use bridgehost::{Host, HostOptions, Isolation, ModuleOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The staged module directory (`scripts/build.sh` fills it): `BRIDGEHOST_MODULE_PATH`'s first
/// entry, else `<workspace>/target/dist`.
pub fn dist() -> PathBuf {
    let dir = std::env::var_os("BRIDGEHOST_MODULE_PATH")
        .and_then(|v| std::env::split_paths(&v).next())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist"));
    assert!(
        dir.join("libbridgehost_mod_std.so").is_file()
            && dir.join("libbridgehost_mod_faulty.so").is_file(),
        "bundled modules not found in {}: run scripts/build.sh first",
        dir.display()
    );
    dir
}

/// Fails the test with the command to run when the worker executable is missing.
pub fn require_worker() -> PathBuf {
    match bridgehost::internal::locate::resolve_worker(None) {
        Ok(p) => p,
        Err(e) => panic!("{e}\n(build it: cargo build -p bridgehost-worker, or scripts/build.sh)"),
    }
}

/// A host that finds the staged modules (and checks that the worker exists).
pub fn host() -> Host {
    require_worker();
    Host::with_options(HostOptions {
        module_dirs: vec![dist()],
        ..HostOptions::default()
    })
    .expect("host")
}

/// Options for `mode`.
pub fn opts(mode: Isolation) -> ModuleOptions {
    ModuleOptions {
        isolation: mode,
        ..ModuleOptions::default()
    }
}

/// Isolated options with a call deadline.
pub fn isolated(timeout: Option<Duration>) -> ModuleOptions {
    ModuleOptions {
        call_timeout: timeout,
        ..ModuleOptions::isolated()
    }
}

/// Build `fixtures/hostile.c` once per test binary; returns the module path.
pub fn hostile_module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("hostile-{}", std::process::id()));
            std::fs::create_dir_all(&out_dir).expect("tmp dir");
            let out = out_dir.join("libbridgehost_mod_hostile.so");
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
            let status = std::process::Command::new(&cc)
                .args([
                    "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror", "-I",
                ])
                .arg(root.join("../plugins/include"))
                .arg(root.join("tests/fixtures/hostile.c"))
                .arg("-o")
                .arg(&out)
                .status()
                .unwrap_or_else(|e| panic!("cannot run {cc} to build the hostile fixture: {e}"));
            assert!(status.success(), "building tests/fixtures/hostile.c failed");
            out
        })
        .clone()
}

/// Pids of this process's `bridgehost-worker` children (live or zombie).
pub fn worker_children() -> Vec<u32> {
    children()
        .into_iter()
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains("(bridgehost-work") || s.contains("(bridgehost-worker)"))
                .unwrap_or(false)
        })
        .collect()
}

/// Pids of all children of this process (every thread's children).
pub fn children() -> Vec<u32> {
    let mut out = Vec::new();
    let me = std::process::id();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{me}/task")) {
        for t in tasks.flatten() {
            if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(c.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Children that are zombies (exited, not reaped).
pub fn zombies() -> Vec<u32> {
    children()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
                .unwrap_or(false)
        })
        .collect()
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Wait until `f` holds (polling), at most `limit`.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    f()
}

/// Whether bounds on the host's CPU time are judged in this run. Not where
/// `BRIDGEHOST_NO_CPU_BOUNDS` is set: the asan suite, whose instrumentation multiplies the cost
/// of every instruction those bounds were set for (spawning a worker from an instrumented host
/// included). The rust suite judges every such bound on the same tests; the counted budgets
/// (datagrams, bytes, events, respawns) are judged in both.
pub fn cpu_bounds_judged(what: &str, cpu: Duration) -> bool {
    if std::env::var_os("BRIDGEHOST_NO_CPU_BOUNDS").is_some() {
        eprintln!("CPU bound not judged here (BRIDGEHOST_NO_CPU_BOUNDS): {cpu:?} on {what}");
        return false;
    }
    true
}

/// CPU time (user + system) used so far by this whole process.
pub fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let rest = &stat[stat.rfind(')').expect(")") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// CPU time of process `pid` (children included once reaped: cutime/cstime).
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

pub fn u32le(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}
