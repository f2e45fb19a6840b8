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
//!
//! Typed calls and WIT resources soak too: every typed shape of std on one
//! module, sqlite's connections and statements opened, used and dropped on
//! one module, and sqlite closed with its objects live, in-process and
//! isolated. Checked by leaving the drops out of the long-lived sqlite soak:
//! RSS grew 32,047 B/cycle and the test failed.
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

/// Typed call `f` of `m` with `args` (a JSON array), the way every runtime makes one: JSON to
/// wire values, encoded against the module's interface, the output decoded against it.
fn typed(
    m: &bridgehost::Module,
    f: &str,
    args: &str,
) -> Option<bridgehost::interface::typed::Value> {
    use bridgehost::interface::typed::{json, wire};
    let iface = m.interface().expect("typed module");
    let func = iface
        .function(f)
        .unwrap_or_else(|| panic!("no function {f}"));
    let values = json::args_from_json(iface, func, &args.parse().expect("test JSON")).unwrap();
    let input = wire::encode_params(iface, func, &values).unwrap();
    let out = m.method(f).unwrap().call(&input).unwrap();
    wire::decode_result(iface, func, &out).unwrap_or_else(|e| panic!("{f}: {e}"))
}

/// The handle inside an `ok(handle)` result.
fn handle(v: Option<bridgehost::interface::typed::Value>) -> u64 {
    use bridgehost::interface::typed::Value;
    match v {
        Some(Value::Result(Ok(Some(b)))) => match *b {
            Value::Handle(h) => h,
            other => panic!("not a handle: {other:?}"),
        },
        other => panic!("expected ok(handle), got {other:?}"),
    }
}

/// One sqlite round: a connection, a table, rows in with parameters, rows out by query and by a
/// statement's cursor, an error as a typed value; `drop` says whether the objects are dropped
/// (`[resource-drop]R`) or left live for the module's close to destroy.
fn sqlite_round(m: &bridgehost::Module, i: u64, drop: bool) {
    use bridgehost::interface::typed::Value;
    let c = handle(typed(
        m,
        "[static]connection.open",
        r#"[":memory:", "create"]"#,
    ));
    typed(
        m,
        "[method]connection.execute",
        &format!(r#"[{c}, "create table t(a integer, b text, c blob)", []]"#),
    );
    for k in 0..4 {
        typed(
            m,
            "[method]connection.execute",
            &format!(
                r#"[{c}, "insert into t values(?, ?, ?)", [{{"integer": {}}}, {{"text": "row {k} of cycle {i} \u00e9\u4e2d"}}, {{"blob": [1, 2, {k}]}}]]"#,
                i + k
            ),
        );
    }
    match typed(
        m,
        "[method]connection.query",
        &format!(r#"[{c}, "select * from t", []]"#),
    ) {
        Some(Value::Result(Ok(Some(_)))) => {}
        other => panic!("query: {other:?}"),
    }
    // An SQL error comes back as the interface's error variant, not a failed call.
    match typed(
        m,
        "[method]connection.query",
        &format!(r#"[{c}, "select * from nowhere", []]"#),
    ) {
        Some(Value::Result(Err(Some(_)))) => {}
        other => panic!("expected a typed error, got {other:?}"),
    }
    let s = handle(typed(
        m,
        "[method]connection.prepare",
        &format!(r#"[{c}, "select b from t"]"#),
    ));
    let mut rows = 0;
    while let Some(Value::Result(Ok(Some(row)))) =
        typed(m, "[method]statement.step", &format!("[{s}]"))
    {
        match *row {
            Value::Option(Some(_)) => rows += 1,
            Value::Option(None) => break,
            other => panic!("step: {other:?}"),
        }
    }
    assert_eq!(rows, 4);
    if drop {
        for (resource, h) in [("statement", s), ("connection", c)] {
            let out = m
                .method(&format!("[resource-drop]{resource}"))
                .unwrap()
                .call(&h.to_le_bytes())
                .unwrap();
            assert!(out.is_empty());
        }
    }
}

/// Typed calls of every shape std has, on one long-lived module: the direct scalar call, a
/// string, a list of records and a list<u8> through the wire codec, an option of a record.
#[test]
fn typed_calls_on_a_long_lived_module() {
    use bridgehost::interface::typed::Value;
    let host = common::host();
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let add = m.method("add").unwrap();
    let text = "bridgehost \u{e9}\u{4e2d}\u{1f600} ".repeat(40);
    let text_json = format!("[{:?}]", text);
    soak("typed_calls", 1_000, 8_000, MIB, |i| {
        let a = i & 0xffff;
        assert_eq!(add.call_scalar(&[a, 3]).unwrap(), a + 3);
        match typed(&m, "echo-string", &text_json) {
            Some(Value::String(s)) => assert_eq!(s, text),
            other => panic!("echo-string: {other:?}"),
        }
        let points = r#"[[{"x": 1.5, "y": -0.0, "label": "a"}, {"x": 1e300, "y": 2, "label": "\u00e9\u4e2d"}]]"#;
        match typed(&m, "echo-points", points) {
            Some(Value::List(l)) => assert_eq!(l.len(), 2),
            other => panic!("echo-points: {other:?}"),
        }
        match typed(&m, "stats", "[[1, 2, 3.5]]") {
            Some(Value::Option(Some(_))) => {}
            other => panic!("stats: {other:?}"),
        }
        match typed(&m, "crc32c", "[[1, 2, 3, 4, 5, 6, 7, 8]]") {
            Some(Value::U32(_)) => {}
            other => panic!("crc32c: {other:?}"),
        }
    });
}

/// Resources on one long-lived module, in-process: every object opened in a cycle is dropped
/// in it, so the module's handle tables and the host hold nothing per cycle.
#[test]
fn sqlite_resources_opened_used_and_dropped() {
    let host = common::host();
    let m = host.open("sqlite", ModuleOptions::default()).unwrap();
    soak("sqlite_resources", 100, 2_500, MIB, |i| {
        sqlite_round(&m, i, true)
    });
}

/// The sqlite module opened, used and closed with its objects still live, in-process: its
/// close destroys them (no drop is sent), and nothing stays behind per cycle.
#[test]
fn sqlite_module_closed_with_live_objects() {
    let host = common::host();
    soak("sqlite_close_live", 50, 1_200, 512 << 10, |i| {
        let m = host.open("sqlite", ModuleOptions::default()).unwrap();
        sqlite_round(&m, i, false);
        m.close();
    });
}

/// The same, isolated: the host side of typed calls and of a stateful module's worker
/// (its wire payloads, its interface validated again per open) grows nothing per cycle.
#[test]
fn isolated_sqlite_open_use_close() {
    let host = common::host();
    soak("isolated_sqlite", 10, 260, 128 << 10, |i| {
        let m = host.open("sqlite", opts(Isolation::Process)).unwrap();
        sqlite_round(&m, i, i % 2 == 0);
        m.close();
    });
}
