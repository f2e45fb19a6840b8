//! A hostile module attacks the isolation protocol from inside its worker: garbage, forged
//! and oversized datagrams, descriptors, a second HELLO, forged results and counters in the
//! shared control block, a closed control socket, floods of events and stdio. Each attack
//! fails the call that ran it with `Protocol` (the worker is killed and replaced), the host
//! never crashes or hangs, and the next call succeeds.
mod isolation_support;

use bridgehost::{ErrorKind, ModuleOptions};
use isolation_support::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The host (which must outlive the module: dropping it closes its modules) and the module.
fn hostile(timeout: Option<Duration>) -> (bridgehost::Host, bridgehost::Module) {
    let host = host();
    let m = host
        .open(
            hostile_module().to_str().unwrap(),
            ModuleOptions {
                call_timeout: timeout,
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    (host, m)
}

#[test]
fn every_protocol_attack_is_a_protocol_error_and_the_next_call_succeeds() {
    let (_host, m) = hostile(None);
    let ok = m.method("ok").unwrap();
    for attack in [
        "sock_garbage",
        "send_fd",
        "huge_packet",
        "second_hello",
        "oversized_rec",
        "bad_counter",
        "bad_length",
        "bad_region",
        "bad_seq",
        "bad_ready",
        "short_after_ready",
        "unseen_ready",
        "close_ctl",
    ] {
        let t = Instant::now();
        let e = m.method(attack).unwrap().call(b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{attack}: {e}");
        // Each attacker sleeps for 3 s afterwards: the host does not wait for it.
        assert!(
            t.elapsed() < Duration::from_millis(2000),
            "{attack} took {:?}",
            t.elapsed()
        );
        assert_eq!(
            ok.call(attack.as_bytes()).unwrap(),
            attack.as_bytes(),
            "after {attack}"
        );
    }
    let c = m.counters();
    assert!(c.crashes >= 12, "{c:?}");
}

#[test]
fn floods_of_events_are_bounded_and_counted() {
    let (_host, m) = hostile(None);
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = Arc::clone(&seen);
    let _sub = m
        .subscribe(
            "flood",
            Box::new(move |_| {
                s2.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .unwrap();
    let n = 200_000u32;
    let out = m
        .method("event_flood")
        .unwrap()
        .call(&n.to_le_bytes())
        .unwrap();
    let accepted = u32le(&out[..4]);
    let refused = u32le(&out[4..]);
    assert_eq!(accepted + refused, n);
    // Every event is accounted for: the ones the worker refused to the module
    // are counted as refused (exactly those the module saw refused), the
    // accepted ones were delivered or, if the host queue was full, dropped.
    assert!(
        eventually(Duration::from_secs(20), || {
            let c = m.counters();
            c.events_refused == u64::from(refused)
                && c.events_emitted + c.events_dropped == u64::from(accepted)
        }),
        "{:?}",
        m.counters()
    );
    assert!(eventually(
        Duration::from_secs(20),
        || seen.load(Ordering::Relaxed) as u64 == m.counters().events_emitted
    ));
    assert_eq!(m.method("ok").unwrap().call(b"alive").unwrap(), b"alive");
}

#[test]
fn junk_on_stdout_and_stderr_breaks_nothing() {
    let (_host, m) = hostile(None);
    let spam = m.method("spam_stdio").unwrap();
    for _ in 0..3 {
        // 4 MiB to each of stdout and stderr per call.
        assert_eq!(
            spam.call(&4096u32.to_le_bytes()).unwrap(),
            4096u32.to_le_bytes()
        );
    }
    assert_eq!(m.method("ok").unwrap().call(b"quiet").unwrap(), b"quiet");
    assert_eq!(m.counters().crashes, 0);
}

#[test]
fn a_hostile_worker_cannot_stall_a_caller_past_its_deadline() {
    // `spin` never returns: any finite bound separates "cut at the deadline"
    // from "stalled", so the bound is loose (10 s) and the deadline leaves the
    // next call's respawn a whole second.
    let (_host, m) = hostile(Some(Duration::from_millis(1000)));
    let t = Instant::now();
    let e = m.method("spin").unwrap().call(b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(m.method("ok").unwrap().call(b"next").unwrap(), b"next");
}
