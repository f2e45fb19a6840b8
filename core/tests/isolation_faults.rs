//! Supervision under faults: every faulty-module method gets its typed error and the next
//! call succeeds; a mixed load with faults interleaved returns the right bytes for every
//! non-faulting call; deadlines, memory and CPU limits; the circuit breaker; calls queued
//! behind a crashed worker; start-up failures; the same validation as in-process.
//!
//! Prerequisites: `scripts/build.sh` (modules in target/dist, `bridgehost-worker` in
//! target/debug) and a C compiler (the hostile fixture is built on the fly).
mod common;
mod isolation_support;

use bridgehost::isolation::Supervision;
use bridgehost::{Error, ErrorKind, Isolation, ModuleOptions};
use isolation_support::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const EPERM: i32 = 1;

fn faulty_options() -> ModuleOptions {
    ModuleOptions {
        // Long enough for `leak` to reach the memory limit on a loaded
        // machine (500 ms was not: it failed with Timeout under load); the
        // `hang` check below still bounds the kill at this plus 1.5 s.
        call_timeout: Some(Duration::from_millis(1500)),
        memory_limit: Some(256 << 20),
        max_output: 1 << 20,
        ..ModuleOptions::isolated()
    }
}

fn expect_kind(r: Result<Vec<u8>, Error>, kind: ErrorKind, what: &str) -> Error {
    match r {
        Err(e) if e.kind() == kind => e,
        other => panic!("{what}: expected {kind}, got {other:?}"),
    }
}

#[test]
fn fault_battery_every_method_has_its_typed_error_and_the_next_call_succeeds() {
    let host = host();
    let m = host.open("faulty", faulty_options()).unwrap();
    let ok = m.method("ok").unwrap();
    let call = |name: &str, input: &[u8]| m.method(name).unwrap().call(input);
    let next_ok = |after: &str| {
        assert_eq!(
            ok.call(after.as_bytes()).unwrap(),
            after.as_bytes(),
            "call after {after}"
        );
    };

    let t0 = Instant::now();
    match expect_kind(call("segfault", b""), ErrorKind::WorkerCrashed, "segfault") {
        Error::WorkerCrashed { signal, detail } => {
            assert_eq!(signal, 11);
            assert!(
                detail.contains("SIGSEGV") && detail.contains("segfault"),
                "{detail}"
            );
        }
        _ => unreachable!(),
    }
    next_ok("segfault");
    assert_eq!(
        expect_kind(call("abort", b""), ErrorKind::WorkerCrashed, "abort").detail_code(),
        6
    );
    next_ok("abort");
    assert_eq!(
        expect_kind(
            call("stack_overflow", b""),
            ErrorKind::WorkerCrashed,
            "stack_overflow"
        )
        .detail_code(),
        11
    );
    next_ok("stack_overflow");
    assert_eq!(
        call("exit", b"").unwrap_err(),
        Error::WorkerExited { status: 3 }
    );
    next_ok("exit");
    let t_hang = Instant::now();
    assert_eq!(
        call("hang", b"").unwrap_err(),
        Error::Timeout(Duration::from_millis(1500))
    );
    assert!(
        t_hang.elapsed() < Duration::from_secs(3),
        "{:?}",
        t_hang.elapsed()
    );
    next_ok("hang");
    let e = expect_kind(
        call("leak", &1024u32.to_le_bytes()),
        ErrorKind::ResourceLimit,
        "leak",
    );
    assert!(e.to_string().contains("memory limit"), "{e}");
    next_ok("leak");
    expect_kind(
        call("oversized_output", b""),
        ErrorKind::ResourceLimit,
        "oversized_output",
    );
    next_ok("oversized_output");
    // Misuse of the host API: the same answers as in-process.
    let inproc = host
        .open(
            "faulty",
            ModuleOptions {
                max_output: 1 << 20,
                ..ModuleOptions::default()
            },
        )
        .unwrap();
    for (name, input) in [
        ("bogus_write", &b""[..]),
        ("bad_fail", b""),
        ("bad_fail", b"utf8"),
    ] {
        let here = call(name, input);
        let there = inproc.method(name).unwrap().call(input);
        assert_eq!(here, there, "{name}({input:?}) differs between modes");
        next_ok(name);
    }
    // Garbage on stdout/stderr breaks nothing.
    assert_eq!(call("print_garbage", b"still fine").unwrap(), b"still fine");
    next_ok("print_garbage");
    // A thread that emits after destroy: harmless in a worker.
    call("emit_after_destroy", &50u32.to_le_bytes()).unwrap();
    next_ok("emit_after_destroy");
    // Every sandbox probe reports EPERM.
    for probe in ["fork", "exec", "open_write", "socket", "ptrace"] {
        match call(probe, b"") {
            Err(Error::Module { code, message }) => {
                assert_eq!(code, EPERM, "{probe}: {message}");
                assert!(message.contains("not permitted"), "{probe}: {message}");
            }
            other => panic!("{probe} must be denied, got {other:?}"),
        }
        next_ok(probe);
    }
    let c = m.counters();
    assert!(c.crashes >= 4, "{c:?}");
    assert_eq!(c.timeouts, 1, "{c:?}");
    assert!(c.respawns >= 5, "{c:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "battery took {:?}",
        t0.elapsed()
    );
}

#[test]
fn mixed_load_with_faults_interleaved_returns_the_right_bytes() {
    let host = host();
    let m = host
        .open(
            "faulty",
            ModuleOptions {
                // One worker per calling thread. `call_timeout` also bounds a call's wait for a
                // free or restarting worker (issue 12 item 3), so with fewer workers than
                // threads a non-faulting call queued behind a `hang` waits out the hang's whole
                // deadline and fails `Timeout` itself (it did under ASan and on a loaded
                // machine). With four, a call finds a free worker or waits only for a respawn.
                // Calls queued behind a dying worker have their own test below.
                workers: 4,
                // A call may wait for a respawn: 300 ms was too short for one on a loaded
                // machine (a non-faulting call failed Timeout); each hang costs this.
                call_timeout: Some(Duration::from_millis(1000)),
                supervision: Supervision {
                    breaker_failures: 10_000,
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let ok = m.method("ok").unwrap();
    let faults = [
        (m.method("segfault").unwrap(), ErrorKind::WorkerCrashed),
        (m.method("abort").unwrap(), ErrorKind::WorkerCrashed),
        (m.method("exit").unwrap(), ErrorKind::WorkerExited),
        (
            m.method("stack_overflow").unwrap(),
            ErrorKind::WorkerCrashed,
        ),
        (m.method("hang").unwrap(), ErrorKind::Timeout),
    ];
    let faults = Arc::new(faults);
    let good = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(4));
    let hs: Vec<_> = (0..4u64)
        .map(|t| {
            let (ok, faults, good, bad, start) = (
                ok.clone(),
                Arc::clone(&faults),
                Arc::clone(&good),
                Arc::clone(&bad),
                Arc::clone(&start),
            );
            thread::spawn(move || {
                start.wait();
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1);
                for i in 0..250u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let roll = x % 100;
                    if roll < 12 {
                        // 12% faults; hangs are rarer (each costs the deadline).
                        let k = if roll == 0 { 4 } else { (x / 100 % 4) as usize };
                        let (method, kind) = &faults[k];
                        match method.call(b"") {
                            Err(e) => assert_eq!(e.kind(), *kind, "fault {k}: {e}"),
                            Ok(v) => panic!("fault {k} returned Ok({v:?})"),
                        }
                        bad.fetch_add(1, Ordering::Relaxed);
                    } else {
                        let n = [1usize, 16, 1000, 70_000][(x % 4) as usize];
                        let input: Vec<u8> = (0..n).map(|j| (j as u64 ^ x ^ i) as u8).collect();
                        let out = ok
                            .call(&input)
                            .unwrap_or_else(|e| panic!("non-faulting call {t}/{i} failed: {e}"));
                        assert!(
                            out == input,
                            "non-faulting call {t}/{i} returned other bytes"
                        );
                        good.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let (g, b) = (good.load(Ordering::Relaxed), bad.load(Ordering::Relaxed));
    assert_eq!(g + b, 1000);
    assert!(b >= 60, "the mix must contain faults: {b}");
    let c = m.counters();
    assert_eq!(c.calls, 1000, "{c:?}");
    assert_eq!(c.errors as usize, b, "{c:?}");
}

#[test]
fn calls_queued_behind_a_dying_worker_are_served_by_its_replacement() {
    let host = host();
    // One deadline covers a call's wait for a worker and its run: the calls
    // queued behind the hang are made 1.6 s into its 2 s deadline, so its
    // replacement has 1.6 s to serve them (with 300 ms and a 50 ms head
    // start, 50 ms was too little for a respawn on a loaded machine; a
    // respawn takes milliseconds).
    //
    // The hang is a 60 s wait in std's gate (faulty's `hang` has no "started"
    // signal): its "gate" event says it holds the only worker, so the calls are
    // queued behind it, not by a sleep that might end first. The 1.6 s after
    // that event is the head start above (a lower bound on time, not an
    // order: made later, after the hang's timeout, the calls go to the
    // replacement directly and still succeed).
    let std = host
        .open("std", isolated(Some(Duration::from_millis(2000))))
        .unwrap();
    let hang = std.method("gate_wait").unwrap();
    let echo = std.method("echo").unwrap();
    let (_sub, entered) = common::gate_entries(&std);
    let h = thread::spawn(move || hang.call(&common::gate_wait_input(60_000, b"hang")));
    assert_eq!(
        entered.recv_timeout(Duration::from_secs(30)).as_deref(),
        Ok(&b"hang"[..]),
        "the hang holds the worker"
    );
    thread::sleep(Duration::from_millis(1600));
    let queued: Vec<_> = (0..3u8)
        .map(|i| {
            let echo = echo.clone();
            thread::spawn(move || echo.call(&[i; 100]))
        })
        .collect();
    assert_eq!(h.join().unwrap().unwrap_err().kind(), ErrorKind::Timeout);
    for (i, q) in queued.into_iter().enumerate() {
        assert_eq!(
            q.join().unwrap().unwrap(),
            vec![i as u8; 100],
            "queued call {i} lost"
        );
    }
    // Same with a crash instead of a timeout.
    let m = host
        .open("faulty", isolated(Some(Duration::from_millis(1000))))
        .unwrap();
    let ok = m.method("ok").unwrap();
    let segv = m.method("segfault").unwrap();
    let start = Arc::new(Barrier::new(5));
    let s2 = Arc::clone(&start);
    let crash = thread::spawn(move || {
        s2.wait();
        segv.call(b"")
    });
    let queued: Vec<_> = (0..4u8)
        .map(|i| {
            let (ok, start) = (ok.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                ok.call(&[i + 10; 7])
            })
        })
        .collect();
    assert_eq!(
        crash.join().unwrap().unwrap_err().kind(),
        ErrorKind::WorkerCrashed
    );
    for (i, q) in queued.into_iter().enumerate() {
        assert_eq!(q.join().unwrap().unwrap(), vec![i as u8 + 10; 7]);
    }
}

#[test]
fn a_worker_killed_while_idle_is_replaced_and_no_call_fails() {
    let host = host();
    let before = worker_children();
    let m = host.open("std", ModuleOptions::isolated()).unwrap();
    let echo = m.method("echo").unwrap();
    assert_eq!(echo.call(b"a").unwrap(), b"a");
    assert!(eventually(Duration::from_secs(5), || worker_children()
        .len()
        >= before.len() + 2));
    let mine: Vec<u32> = worker_children()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    for pid in &mine {
        // SIGKILL from outside, e.g. the kernel's OOM killer.
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
    }
    // Large inputs first: the region announcement may meet a dead socket, and the call is
    // then re-dispatched instead of failing.
    for i in 0..20u8 {
        let input = vec![i; if i < 3 { 200_000 } else { 1 }];
        assert_eq!(
            echo.call(&input).unwrap(),
            input,
            "call {i} after the pool was killed"
        );
    }
    let c = m.counters();
    assert!(c.crashes >= 1 && c.respawns >= 1, "{c:?}");
    assert_eq!(c.errors, 0, "{c:?}");
}

#[test]
fn circuit_breaker_opens_on_a_crash_storm_refuses_fast_and_recovers() {
    // Long enough for the checks made while it is open (the 100 refused calls and the message:
    // 700 ms left a stalled test thread little margin); its end is observed, not slept past.
    const COOLDOWN: Duration = Duration::from_secs(2);
    let host = host();
    let m = host
        .open(
            "faulty",
            ModuleOptions {
                supervision: Supervision {
                    breaker_failures: 3,
                    breaker_window: Duration::from_secs(30),
                    breaker_cooldown: COOLDOWN,
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let segv = m.method("segfault").unwrap();
    let ok = m.method("ok").unwrap();
    let mut third = Instant::now();
    for i in 0..3 {
        if i == 2 {
            // The breaker opens when this crash is recorded: no earlier than now.
            third = Instant::now();
        }
        assert_eq!(segv.call(b"").unwrap_err().kind(), ErrorKind::WorkerCrashed);
    }
    // Open: refused at once, nothing is spawned.
    let respawns = m.counters().respawns;
    for _ in 0..100 {
        assert_eq!(ok.call(b"x").unwrap_err().kind(), ErrorKind::Unavailable);
    }
    // Answered without a worker (this was "took < 200 ms", which load can break): no call
    // spawned one. (All 100 refused also says they came within the cool-down.)
    assert_eq!(
        m.counters().respawns,
        respawns,
        "the open breaker answered without spawning"
    );
    let e = ok.call(b"x").unwrap_err();
    assert!(e.to_string().contains("circuit breaker"), "{e}");
    // The supervisor starts a worker when the cool-down ends (this was a 300 ms watch, then a
    // 600 ms sleep past the end): wait for that respawn, which must come no earlier than a
    // cool-down after the third crash began (none while the breaker is open).
    assert!(
        eventually(Duration::from_secs(30), || m.counters().respawns > respawns),
        "no respawn after the cool-down: {:?}",
        m.counters()
    );
    let open_for = third.elapsed();
    assert!(
        open_for >= COOLDOWN,
        "a worker was respawned while the breaker was open ({open_for:?} after the third crash)"
    );
    // After the cool-down: half-open, a success closes it.
    assert_eq!(ok.call(b"back").unwrap(), b"back");
    assert_eq!(ok.call(b"again").unwrap(), b"again");
}

#[test]
fn a_module_that_keeps_crashing_while_idle_does_not_spin_the_cpu() {
    let host = host();
    // The module's thread crashes 20 ms after init. On a loaded machine the worker's start-up
    // can take longer than that, and then the open fails, rightly, with WorkerCrashed during
    // start-up: open again (the CPU clock restarts with each attempt), this test is about the
    // crashes that follow a successful open.
    let mut attempts = 0;
    let (m, cpu0) = loop {
        let cpu0 = process_cpu_time();
        let opened = host.open(
            hostile_module().to_str().unwrap(),
            ModuleOptions {
                config: b"crash_after_ms:20".to_vec(),
                supervision: Supervision {
                    breaker_failures: 5,
                    breaker_window: Duration::from_secs(30),
                    breaker_cooldown: Duration::from_secs(5),
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        );
        attempts += 1;
        match opened {
            Ok(m) => break (m, cpu0),
            Err(Error::WorkerCrashed { ref detail, .. })
                if detail.contains("start-up") && attempts < 20 => {}
            Err(e) => panic!("open failed after {attempts} attempts: {e:?}"),
        }
    };
    // Wait (no fixed sleep: under ASan on a loaded machine five start-ups and crashes can take
    // longer than the 1.5 s this slept) until five crashes opened the breaker, then watch the
    // idle module for at least the rest of those 1.5 s: no respawn storm follows.
    let t0 = Instant::now();
    assert!(
        eventually(Duration::from_secs(30), || m.counters().crashes >= 5),
        "{:?}",
        m.counters()
    );
    thread::sleep(Duration::from_millis(1500).saturating_sub(t0.elapsed()));
    let c = m.counters();
    // Five failures open the breaker; back-off spaces the respawns before that.
    assert!(c.crashes >= 5, "{c:?}");
    assert!(c.respawns <= 8, "respawn storm: {c:?}");
    assert_eq!(
        m.method("ok").unwrap().call(b"x").unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    let cpu = process_cpu_time() - cpu0;
    if cpu_bounds_judged("a crash storm while idle", cpu) {
        assert!(
            cpu < Duration::from_millis(700),
            "crash storm burned {cpu:?} of CPU in 1.5 s"
        );
    }
}

#[test]
fn start_up_failures_fail_open_with_a_typed_error() {
    let host = host();
    let e = host
        .open(
            hostile_module().to_str().unwrap(),
            ModuleOptions {
                config: b"crash_in_init".to_vec(),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap_err();
    match e {
        Error::WorkerCrashed { signal, detail } => {
            assert_eq!(signal, 11);
            assert!(detail.contains("start-up"), "{detail}");
        }
        e => panic!("expected WorkerCrashed, got {e:?}"),
    }
    // A module that is not a module, in the worker: the same ABI error as in-process.
    for case in [
        "not_a_module",
        "wrong_magic",
        "null_init",
        "duplicate_method_names",
        "method_name_too_long",
    ] {
        let path = dist().join(format!("broken/libbroken_{case}.so"));
        let path = path.to_str().unwrap();
        let there = host.open(path, ModuleOptions::default()).unwrap_err();
        let here = host.open(path, ModuleOptions::isolated()).unwrap_err();
        assert_eq!(
            here, there,
            "{case}: isolated and in-process validation disagree"
        );
        assert_eq!(here.kind(), ErrorKind::AbiMismatch);
    }
    // Worker executable problems are clear errors at open.
    let e = host
        .open(
            "std",
            ModuleOptions {
                worker_path: Some("/nonexistent/bridgehost-worker".into()),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // A worker without its execute bit (what unzipping a package by hand
    // leaves): the error says so and how to fix it.
    let copy = std::env::temp_dir().join(format!("bh-worker-noexec-{}", std::process::id()));
    let worker = bridgehost::internal::locate::resolve_worker(None).expect("a built worker");
    std::fs::copy(&worker, &copy).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let e = host
        .open(
            "std",
            ModuleOptions {
                worker_path: Some(copy.clone()),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap_err();
    let _ = std::fs::remove_file(&copy);
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("chmod +x"), "{e}");
    let e = host
        .open(
            "std",
            ModuleOptions {
                worker_path: Some(dist().join("libbridgehost_mod_std.so")),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
    assert!(e.to_string().contains("handshake"), "{e}");
    // Options that make no sense are refused before anything starts.
    for bad in [
        ModuleOptions {
            memory_limit: Some(1 << 20),
            ..ModuleOptions::isolated()
        },
        ModuleOptions {
            supervision: Supervision {
                open_files: 1,
                ..Supervision::default()
            },
            ..ModuleOptions::isolated()
        },
    ] {
        assert_eq!(
            host.open("std", bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}

/// An output that grows toward the default max_output (256 MiB) in a worker
/// whose address space is limited to the same 256 MiB: the shared output
/// region cannot be mapped. That is the call's resource limit, not a broken
/// channel (it used to end the worker with EXIT_CHANNEL: `WorkerExited`).
#[test]
fn an_output_region_beyond_the_memory_limit_is_a_resource_limit() {
    let host = host();
    let m = host
        .open(
            "faulty",
            ModuleOptions {
                memory_limit: Some(256 << 20),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let e = m.method("oversized_output").unwrap().call(b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceLimit, "{e}");
    assert_eq!(m.method("ok").unwrap().call(b"after").unwrap(), b"after");
}

#[test]
fn cpu_limit_ends_a_runaway_call_with_resource_limit() {
    let host = host();
    let m = host
        .open(
            hostile_module().to_str().unwrap(),
            ModuleOptions {
                supervision: Supervision {
                    cpu_limit: Some(Duration::from_secs(1)),
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let t = Instant::now();
    let e = m.method("spin").unwrap().call(b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceLimit, "{e}");
    assert!(e.to_string().contains("CPU"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(m.method("ok").unwrap().call(b"z").unwrap(), b"z");
}

#[test]
fn timeouts_are_per_call_and_counted() {
    let host = host();
    // A deadline far below the sleep it cuts short: the bound on the elapsed
    // time (10 s) separates "cut at the deadline" from "ran to its end"
    // (60 s) with room for any load, and the calls that must succeed have a
    // whole second.
    let m = host
        .open("std", isolated(Some(Duration::from_millis(1000))))
        .unwrap();
    let sleep = m.method("sleep_ms").unwrap();
    assert_eq!(sleep.call(b"20").unwrap(), b"");
    let t = Instant::now();
    assert_eq!(
        sleep.call(b"60000").unwrap_err(),
        Error::Timeout(Duration::from_millis(1000))
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(sleep.call(b"20").unwrap(), b"");
    let c = m.counters();
    assert_eq!((c.timeouts, c.crashes), (1, 0), "{c:?}");
    // In-process a deadline cannot be enforced, so it is refused.
    let e = host.open(
        "std",
        ModuleOptions {
            call_timeout: Some(Duration::from_millis(10)),
            isolation: Isolation::InProcess,
            ..ModuleOptions::default()
        },
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidArgument);
}

/// A worker asked to shut down at close that hangs up its control channel and is slow to exit
/// (the faulty module's destroy closes its descriptors, then sleeps 600 ms: longer than the
/// 250 ms a worker gets to exit after an unasked hangup) did what it was asked: no protocol
/// violation is logged or counted, and it is not killed for one. Checked without the fix
/// (`shutdown_posted` in `supervisor/mod.rs`): `unblamed_violations` is 1.
#[test]
fn a_worker_slow_to_exit_after_its_shutdown_is_no_violation() {
    let host = host();
    let m = host.open("faulty", faulty_options()).unwrap();
    m.method("slow_exit")
        .unwrap()
        .call(&600u32.to_le_bytes())
        .unwrap();
    m.close();
    let c = host.counters();
    assert_eq!((c.unblamed_violations, c.crashes), (0, 0), "{c:?}");
}
