//! Cancelling a synchronous call (issue 12, item 3; what Python's Ctrl-C
//! uses): a running isolated call ends on `CallCancel::cancel` from another
//! thread, or when its `CancelPoll` says so while it waits; the worker is
//! replaced and `cancelled` counts it. A running in-process call cannot be
//! interrupted. Checked by removing the polls from the isolation waits: the
//! poll test waited for the whole call.
mod common;
#[path = "isolation_support/mod.rs"]
mod support;

use bridgehost::{CallCancel, CancelPoll, ErrorKind, ModuleOptions};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn isolated_std() -> (bridgehost::Host, bridgehost::Module) {
    let host = support::host();
    let mut opts = ModuleOptions::isolated();
    opts.workers = 1;
    let m = host.open("std", opts).unwrap();
    // Warm: the worker is up before the clock starts.
    assert_eq!(m.method("echo").unwrap().call(b"x").unwrap(), b"x");
    (host, m)
}

#[test]
fn cancel_from_another_thread_ends_a_running_isolated_call() {
    let (_host, m) = isolated_std();
    // The call waits 20 s in std's gate, whose "gate" event says it is running in the
    // worker: the cancel comes then, not after a sleep that might end before the call
    // reached the worker (a cancel while it waits for one is another path).
    let wait = m.method("gate_wait").unwrap();
    let (_sub, entered) = common::gate_entries(&m);
    let token = CallCancel::new();
    let t = token.clone();
    let canceller = thread::spawn(move || {
        let key = entered
            .recv_timeout(Duration::from_secs(30))
            .expect("the call reached the worker");
        assert_eq!(key, b"cancel");
        t.cancel()
    });
    let t0 = Instant::now();
    let mut out = Vec::new();
    let r = wait.call_cancellable(
        &common::gate_wait_input(20_000, b"cancel"),
        &mut out,
        &token,
        None,
    );
    assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::Cancelled));
    assert!(canceller.join().unwrap(), "the cancel took effect");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(m.counters().cancelled, 1);
    assert_eq!(m.counters().crashes, 0);
    assert!(!token.cancel(), "the call is over");
    // The worker was replaced.
    assert_eq!(m.method("echo").unwrap().call(b"alive").unwrap(), b"alive");
}

#[test]
fn a_poll_that_says_cancel_ends_the_call_promptly() {
    let (_host, m) = isolated_std();
    let sleep = m.method("sleep_ms").unwrap();
    let asked = Arc::new(AtomicU32::new(0));
    let a = Arc::clone(&asked);
    let t0 = Instant::now();
    let poll: CancelPoll = Arc::new(move || {
        a.fetch_add(1, Ordering::SeqCst);
        t0.elapsed() > Duration::from_millis(300)
    });
    let mut out = Vec::new();
    // The sleep is 60 s: the bound (15 s) separates "ended when the poll
    // said cancel" from "ran to its end" with room for any load.
    let r = sleep.call_cancellable(b"60000", &mut out, &CallCancel::new(), Some(poll));
    let took = t0.elapsed();
    assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::Cancelled));
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(asked.load(Ordering::SeqCst) >= 3, "asked every ~50 ms");
    assert_eq!(m.counters().cancelled, 1);
    // A poll that never says cancel changes nothing.
    let never: CancelPoll = Arc::new(|| false);
    sleep
        .call_cancellable(b"200", &mut out, &CallCancel::new(), Some(never))
        .unwrap();
    assert_eq!(m.counters().cancelled, 1);
}

#[test]
fn a_token_cancelled_before_the_call_stops_it_and_in_process_calls_cannot_be_cancelled() {
    let (_host, m) = isolated_std();
    let echo = m.method("echo").unwrap();
    let token = CallCancel::new();
    assert!(token.cancel(), "before the call: it will not run");
    let mut out = Vec::new();
    let r = echo.call_cancellable(b"x", &mut out, &token, None);
    assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::Cancelled));

    let host = support::host();
    let local = host.open("std", ModuleOptions::default()).unwrap();
    // The call waits in std's gate; the canceller sees it inside (gate_count), cancels, and
    // only then opens the gate: the cancel provably came while the call ran (no sleep
    // decides that), and the call still ends as released by the gate.
    let wait = local.method("gate_wait").unwrap();
    let token = CallCancel::new();
    let t = token.clone();
    let l2 = local.clone();
    let canceller = thread::spawn(move || {
        assert_eq!(common::await_inside(&l2, b"run", 1), 1, "the call runs");
        let cancelled = t.cancel();
        l2.method("gate_open").unwrap().call(b"run").unwrap();
        cancelled
    });
    out.clear();
    wait.call_cancellable(
        &common::gate_wait_input(60_000, b"run"),
        &mut out,
        &token,
        None,
    )
    .expect("an in-process call runs to its end");
    assert_eq!(out, [1], "released by gate_open, after the cancel");
    assert!(
        !canceller.join().unwrap(),
        "a running in-process call cannot be cancelled"
    );
    assert_eq!(local.counters().cancelled, 0);
}
