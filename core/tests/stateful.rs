//! Stateful modules under isolation (issue 12 item 5): a module that declares
//! `BH_MODULE_STATEFUL` runs in one worker (`workers > 1` is refused), keeps
//! no pre-initialised spare, and after any worker restart (crash, timeout,
//! cancel, a CPU-limit recycle, a worker that died while idle) the next call fails exactly once
//! with `StateLost` and the `state_lost` counter moves; later calls run
//! against the fresh instance. In-process, never. A module whose descriptor
//! predates the flag (struct_size 72) is not stateful.
//!
//! Prerequisites: `scripts/build.sh` (the test-only `stateful` module in
//! target/dist, `bridgehost-worker` in target/debug) and a C compiler.
mod isolation_support;

use bridgehost::isolation::Supervision;
use bridgehost::{Error, ErrorKind, Isolation, Module, ModuleOptions};
use isolation_support::*;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// The tests count this process's worker children: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn u64le(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

fn insert(m: &Module) -> Result<u64, Error> {
    m.method("insert")?.call(b"").map(|b| u64le(&b))
}

fn pid(m: &Module) -> u32 {
    u32le(&m.method("pid").unwrap().call(b"").unwrap())
}

fn expect_state_lost(r: Result<u64, Error>, after: &str) {
    match r {
        Err(Error::StateLost(msg)) => {
            assert!(
                msg.contains("stateful") && msg.contains("did not run"),
                "{msg}"
            );
        }
        other => panic!("after {after}: expected StateLost, got {other:?}"),
    }
}

/// After a restart: exactly one StateLost, then calls run against a fresh
/// instance (the counter restarts at 1) in a new worker.
fn expect_lost_once_then_fresh(m: &Module, after: &str, lost_before: u64, old_pid: u32) {
    expect_state_lost(insert(m), after);
    assert_eq!(m.counters().state_lost, lost_before + 1, "after {after}");
    assert_eq!(insert(m).unwrap(), 1, "after {after}: fresh state");
    assert_eq!(insert(m).unwrap(), 2, "after {after}");
    assert_eq!(m.counters().state_lost, lost_before + 1, "reported once");
    assert_ne!(pid(m), old_pid, "after {after}: a new worker");
}

fn wait_for_workers(n: usize) {
    assert!(
        eventually(Duration::from_secs(5), || worker_children().len() == n),
        "expected {n} worker processes, have {:?}",
        worker_children()
    );
}

#[test]
fn the_flag_is_reported_and_a_first_v1_descriptor_is_not_stateful() {
    let _g = serial();
    let dirs = [dist()];
    assert!(bridgehost::inspect("stateful", &dirs).unwrap().stateful);
    assert!(!bridgehost::inspect("std", &dirs).unwrap().stateful);
    assert!(!bridgehost::inspect("faulty", &dirs).unwrap().stateful);
    let host = host();
    let m = host.open("stateful", opts(Isolation::Process)).unwrap();
    assert!(m.info().stateful, "the worker's HELLO carries the flag");
    m.close();

    // Built with struct_size = BH_MODULE_DESC_V1_SIZE while the memory after
    // it still says BH_MODULE_STATEFUL: the host reads only what the module
    // declared, so it is an old module without flags, and it works.
    let old = v1_size_module();
    let spec = old.to_str().unwrap();
    assert!(!bridgehost::inspect(spec, &[]).unwrap().stateful);
    for mode in [Isolation::InProcess, Isolation::Process] {
        let m = host.open(spec, opts(mode)).unwrap();
        assert!(!m.info().stateful, "{mode:?}");
        assert_eq!(insert(&m).unwrap(), 1);
        m.close();
    }
}

#[test]
fn more_than_one_worker_is_refused() {
    let _g = serial();
    let host = host();
    let e = host
        .open(
            "stateful",
            ModuleOptions {
                workers: 4,
                ..ModuleOptions::isolated()
            },
        )
        .expect_err("workers 4 for a stateful module");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("stateful") && msg.contains("workers must be 1") && msg.contains("got 4"),
        "{msg}"
    );
    wait_for_workers(0);
    // The same options are fine for a module that is not stateful.
    let m = host
        .open(
            "faulty",
            ModuleOptions {
                workers: 4,
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    m.close();
}

#[test]
fn no_warm_spare_so_init_runs_once() {
    let _g = serial();
    let host = host();
    let spares = ModuleOptions {
        supervision: Supervision {
            spare_workers: 2,
            ..Supervision::default()
        },
        ..ModuleOptions::isolated()
    };
    // The control: a module that is not stateful gets its spares.
    let f = host.open("faulty", spares.clone()).unwrap();
    wait_for_workers(3);
    f.close();
    wait_for_workers(0);

    let m = host.open("stateful", spares).unwrap();
    assert_eq!(insert(&m).unwrap(), 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(worker_children().len(), 1, "no pre-initialised spare");
    let inits = u32le(&m.method("inits").unwrap().call(b"").unwrap());
    assert_eq!(inits, 1, "init ran once in the one worker");
    // With no spare, a crash is answered by a fresh start (counted).
    assert_eq!(
        m.method("crash").unwrap().call(b"").unwrap_err().kind(),
        ErrorKind::WorkerCrashed
    );
    expect_state_lost(insert(&m), "crash");
    assert_eq!(insert(&m).unwrap(), 1);
    assert!(m.counters().respawns >= 1, "{:?}", m.counters());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(worker_children().len(), 1, "still no spare");
    m.close();
}

#[test]
fn after_a_crash_the_next_call_is_state_lost_once_then_fresh_state() {
    let _g = serial();
    let host = host();
    let m = host.open("stateful", ModuleOptions::isolated()).unwrap();
    for i in 1..=3 {
        assert_eq!(insert(&m).unwrap(), i);
    }
    let before = pid(&m);
    let e = m.method("crash").unwrap().call(b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WorkerCrashed, "{e}");
    assert_eq!(
        m.counters().state_lost,
        0,
        "the crashed call has its own error"
    );
    expect_lost_once_then_fresh(&m, "crash", 0, before);
    // The host's totals carry it too.
    assert_eq!(host.counters().state_lost, 1);
    // And again: every restart is reported.
    let before = pid(&m);
    assert!(m.method("crash").unwrap().call(b"").is_err());
    expect_lost_once_then_fresh(&m, "second crash", 1, before);
    m.close();
}

#[test]
fn a_timeout_a_cancel_and_an_idle_death_are_each_reported() {
    let _g = serial();
    let host = host();
    let m = host
        .open(
            "stateful",
            ModuleOptions {
                // Long enough for the cancelled 1.5 s sleep below to be cancelled, not timed out.
                call_timeout: Some(Duration::from_secs(2)),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let sleep = m.method("sleep").unwrap();
    let ms = |n: u32| n.to_le_bytes().to_vec();

    // Timeout: the worker is killed.
    assert_eq!(insert(&m).unwrap(), 1);
    let before = pid(&m);
    let e = sleep.call(&ms(5000)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    expect_lost_once_then_fresh(&m, "timeout", 0, before);

    // Cancel of a running submitted call: the worker is recycled.
    let before = pid(&m);
    let (started_tx, started) = std::sync::mpsc::channel();
    let started_tx = std::sync::Mutex::new(started_tx);
    let sub = m
        .subscribe(
            "sleep-started",
            Box::new(move |e| {
                let _ = started_tx.lock().unwrap().send(e.data.to_vec());
            }),
        )
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = sleep
        .submit(ms(1500), move |r| {
            let _ = tx.send(r);
        })
        .unwrap();
    // The call's "started" event, emitted from inside the worker: the cancel lands on a running
    // call (this was a 100 ms sleep). It then has the rest of the 1.5 s sleep to arrive.
    assert_eq!(
        started.recv_timeout(Duration::from_secs(30)),
        Ok(ms(1500)),
        "the sleep is running in the worker"
    );
    drop(sub);
    assert!(h.cancel(), "the running call was cancelled");
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Cancelled);
    expect_lost_once_then_fresh(&m, "cancel", 1, before);

    // A worker that dies while idle (here: killed from outside) is replaced.
    let before = pid(&m);
    let respawns = m.counters().respawns;
    let st = std::process::Command::new("kill")
        .args(["-9", &before.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(eventually(Duration::from_secs(5), || !Path::new(&format!(
        "/proc/{before}/stat"
    ))
    .exists()
        || std::fs::read_to_string(format!("/proc/{before}/stat"))
            .is_ok_and(|s| s.contains(") Z "))));
    // The supervisor has reaped it and started its replacement (no sleep decides that): the
    // next call finds the restart, not the dead worker.
    assert!(
        eventually(Duration::from_secs(30), || m.counters().respawns > respawns),
        "the idle death was answered by a respawn: {:?}",
        m.counters()
    );
    expect_lost_once_then_fresh(&m, "idle death", 2, before);
    m.close();
}

#[test]
fn a_worker_recycled_at_its_cpu_limit_is_reported() {
    let _g = serial();
    let host = host();
    let m = host
        .open(
            "stateful",
            ModuleOptions {
                supervision: Supervision {
                    cpu_limit: Some(Duration::from_secs(1)),
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    assert_eq!(insert(&m).unwrap(), 1);
    let before = pid(&m);
    // 1.5 s of CPU: past the soft limit the worker finishes the call and retires.
    let spun = m.method("spin").unwrap().call(&1500u32.to_le_bytes());
    assert!(
        spun.is_ok() || spun.as_ref().unwrap_err().kind() == ErrorKind::ResourceLimit,
        "{spun:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), || !Path::new(&format!(
            "/proc/{before}/stat"
        ))
        .exists()
            || std::fs::read_to_string(format!("/proc/{before}/stat"))
                .is_ok_and(|s| s.contains(") Z "))),
        "the worker retired"
    );
    expect_lost_once_then_fresh(&m, "CPU-limit recycle", 0, before);
    m.close();
}

#[test]
fn in_process_never_reports_state_lost_and_others_are_unchanged() {
    let _g = serial();
    let host = host();
    let m = host.open("stateful", ModuleOptions::default()).unwrap();
    assert!(m.info().stateful);
    for i in 1..=100 {
        assert_eq!(insert(&m).unwrap(), i);
    }
    assert_eq!(m.counters().state_lost, 0);
    m.close();
    // A module that is not stateful: after a crash the next call just runs.
    let f = host.open("faulty", ModuleOptions::isolated()).unwrap();
    assert!(f.method("segfault").unwrap().call(b"").is_err());
    assert_eq!(f.method("ok").unwrap().call(b"x").unwrap(), b"x");
    assert_eq!(f.counters().state_lost, 0);
    f.close();
}

/// `plugins/c/stateful.c` built with `-DSTATEFUL_V1_SIZE`, once per test binary.
fn v1_size_module() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("stateful-v1-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("tmp dir");
            let out = dir.join("libbridgehost_mod_stateful_v1.so");
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
            let status = std::process::Command::new(&cc)
                .args(["-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror"])
                .arg("-DSTATEFUL_V1_SIZE")
                .arg("-I")
                .arg(root.join("../plugins/include"))
                .arg(root.join("../plugins/c/stateful.c"))
                .arg("-o")
                .arg(&out)
                .status()
                .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
            assert!(
                status.success(),
                "building stateful.c -DSTATEFUL_V1_SIZE failed"
            );
            out
        })
        .clone()
}
