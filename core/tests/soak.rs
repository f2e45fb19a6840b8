//! Soak tests: a long-lived Host must not grow per module, subscription,
//! submit or host cycle (issue 12, item 1). Each test runs a warm-up, then
//! measures resident memory over two equal windows of cycles; the second
//! window must not grow by more than a fixed slack (allocator noise), far
//! below what a per-cycle leak of even a few hundred bytes would add.
//!
//! Short by default (CI); `BRIDGEHOST_SOAK_SECS=N` runs each test for about
//! N seconds instead of a fixed cycle count. With `BRIDGEHOST_SOAK_NO_RSS`
//! (the asan suite) RSS is not judged and each window is 200 cycles.
//!
//! Checked by reverting the fix (the host kept every module's `Counters`):
//! open/close grew 2,073 B/cycle, open/call/close 6,601 B/cycle, isolated
//! open/close 2,130 B/cycle, and those three tests failed; with the fix all
//! stay within a few bytes per cycle.
mod common;

use bridgehost::{Host, HostOptions, Isolation, ModuleOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// RSS is the whole process's: one test of this file at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resident set size in bytes (`/proc/self/statm`, field 2, in pages).
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Run `cycle` `warm` times, then two windows of `n` cycles each (or of
/// `BRIDGEHOST_SOAK_SECS / 2` seconds each); fail when RSS grew by more than
/// `slack` bytes (allocator arenas, page-granular noise) from the end of the
/// first window to the end of the second, and refuse to pass when the window
/// is too short for a 512 B/cycle leak to exceed `slack`.
/// Returns the cycles per window.
fn soak(name: &str, warm: u64, n: u64, slack: u64, mut cycle: impl FnMut(u64)) -> u64 {
    let _serial = serial();
    let secs: Option<f64> = std::env::var("BRIDGEHOST_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    let judge_rss = std::env::var_os("BRIDGEHOST_SOAK_NO_RSS").is_none();
    // Under AddressSanitizer (the asan suite) RSS is not judged, so the cycle counts that a
    // 512 B/cycle leak needs to show above the slack buy nothing there: every cycle runs the
    // same allocations and frees, and one cycle that leaks or touches freed memory fails the
    // run (LeakSanitizer at exit, ASan at the access). A few hundred cycles exercise each path
    // under the sanitizer; the full counts cost five minutes of the suite's eight.
    let (warm, n) = if judge_rss || secs.is_some() {
        (warm, n)
    } else {
        (warm.min(SANITIZER_CYCLES), n.min(SANITIZER_CYCLES))
    };
    let mut i = 0u64;
    for _ in 0..warm {
        cycle(i);
        i += 1;
    }
    let window = |i: &mut u64, cycle: &mut dyn FnMut(u64)| -> u64 {
        let t0 = Instant::now();
        let mut k = 0;
        loop {
            let done = match secs {
                Some(s) => t0.elapsed().as_secs_f64() >= s / 2.0,
                None => k >= n,
            };
            if done {
                break;
            }
            cycle(*i);
            *i += 1;
            k += 1;
        }
        k
    };
    let _ = window(&mut i, &mut cycle);
    let mid = rss();
    let k = window(&mut i, &mut cycle);
    let end = rss();
    let grown = end.saturating_sub(mid);
    if !judge_rss {
        // The asan suite sets this: AddressSanitizer keeps freed memory in its quarantine (up
        // to 256 MiB), so RSS grows whatever the code does. There the cycles still run, and
        // LeakSanitizer (detect_leaks=1) fails the run on anything never freed.
        eprintln!("{name}: {k} cycles per window; RSS not judged under AddressSanitizer");
        return k;
    }
    let per_cycle_limit = 512 * k;
    eprintln!(
        "{name}: {k} cycles per window, rss {} KiB -> {} KiB (+{} B, {:.1} B/cycle)",
        mid / 1024,
        end / 1024,
        grown,
        grown as f64 / k.max(1) as f64
    );
    assert!(
        per_cycle_limit > slack,
        "{name}: too few cycles ({k}) to detect a 512 B/cycle leak"
    );
    assert!(
        grown <= slack,
        "{name}: RSS grew {grown} bytes over {k} cycles ({:.1} B/cycle) after warm-up",
        grown as f64 / k as f64
    );
    k
}

const MIB: u64 = 1 << 20;

/// Warm-up and window cycles per soak when RSS is not judged (see [`soak`]).
const SANITIZER_CYCLES: u64 = 200;

fn opts(isolation: Isolation) -> ModuleOptions {
    ModuleOptions {
        isolation,
        ..ModuleOptions::default()
    }
}

#[test]
fn closed_modules_keep_no_counters_but_stay_summed() {
    // The root cause of the per-module growth, checked directly: the host
    // held every module's `Counters` forever. Now a closed and released
    // module's counters are folded into the host's totals.
    let _serial = serial();
    let host = common::host();
    for _ in 0..50 {
        let m = host.open("std", ModuleOptions::default()).unwrap();
        m.method("echo").unwrap().call(b"x").unwrap();
        m.close();
    }
    let keep = host.open("std", ModuleOptions::default()).unwrap();
    keep.method("echo").unwrap().call(b"x").unwrap();
    assert_eq!(bridgehost::internal::live_module_counters(&host), 1);
    assert_eq!(host.counters().calls, 51);
    drop(keep);
    assert_eq!(bridgehost::internal::live_module_counters(&host), 0);
    assert_eq!(host.counters().calls, 51);
}

#[test]
fn module_open_close_without_calls() {
    let host = common::host();
    soak("open_close", 2_000, 6_000, MIB, |_| {
        let m = host.open("std", ModuleOptions::default()).unwrap();
        m.close();
    });
    assert!(host.counters().calls == 0);
}

#[test]
fn module_open_close_with_calls() {
    let host = common::host();
    let mut cycles = 0u64;
    soak("open_call_close", 2_000, 6_000, MIB, |_| {
        let m = host.open("std", ModuleOptions::default()).unwrap();
        let echo = m.method("echo").unwrap();
        for _ in 0..70 {
            assert_eq!(echo.call(b"abc").unwrap(), b"abc");
        }
        m.close();
        cycles += 1;
    });
    // Counters of closed modules are still summed by the host.
    assert_eq!(host.counters().calls, 70 * cycles);
}

#[test]
fn isolated_open_close_with_calls() {
    let host = common::host();
    soak("isolated_open_close", 20, 300, 128 << 10, |_| {
        let m = host.open("std", opts(Isolation::Process)).unwrap();
        assert_eq!(m.method("echo").unwrap().call(b"x").unwrap(), b"x");
        m.close();
    });
}

#[test]
fn subscribe_unsubscribe() {
    let host = common::host();
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    soak("subscribe", 5_000, 20_000, MIB, |i| {
        let h = Arc::clone(&hits);
        let topic = if i % 2 == 0 { "*" } else { "tick" };
        let s = m
            .subscribe(
                topic,
                Box::new(move |_| {
                    h.fetch_add(1, Ordering::Relaxed);
                }),
            )
            .unwrap();
        s.unsubscribe();
    });
}

#[test]
fn submit_cancel() {
    let host = common::host();
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let echo = m.method("echo").unwrap();
    soak("submit_cancel", 5_000, 20_000, MIB, |_| {
        let (tx, rx) = mpsc::channel();
        let h = echo
            .submit(b"abc".to_vec(), move |r| {
                let _ = tx.send(r.is_ok());
            })
            .unwrap();
        h.cancel();
        // Either ran or was cancelled: the completion always comes.
        rx.recv_timeout(Duration::from_secs(30))
            .expect("completion");
    });
}

#[test]
fn host_create_close() {
    let dirs = vec![common::dist()];
    soak("host_create_close", 200, 2_500, MIB, |_| {
        let host = Host::with_options(HostOptions {
            module_dirs: dirs.clone(),
            ..HostOptions::default()
        })
        .unwrap();
        let m = host.open("std", ModuleOptions::default()).unwrap();
        m.method("echo").unwrap().call(b"a").unwrap();
        host.close();
    });
}
