//! What the supervisor counts as a worker failure, as a docs-only client of
//! the supervision settings checked it: a timeout is one at once (before a
//! warm spare can answer the next call), a worker retired at its CPU limit
//! after answering is none.
mod common;

use bridgehost::isolation::Supervision;
use bridgehost::{Error, ErrorKind, ModuleOptions};
use std::time::Duration;

/// One failure opens the breaker for a minute.
fn one_failure_trips() -> Supervision {
    Supervision {
        breaker_failures: 1,
        breaker_cooldown: Duration::from_secs(60),
        ..Supervision::default()
    }
}

#[test]
fn a_timeout_opens_the_breaker_before_the_spare_answers_the_next_call() {
    // The caller that kills a worker for its timeout tells the breaker at
    // once. Before, the failure was counted when the supervisor reaped the
    // worker, after the next call had succeeded on the warm spare, and was
    // then ignored as older than that success.
    let host = common::host();
    for round in 0..5 {
        let m = host
            .open(
                "std",
                ModuleOptions {
                    call_timeout: Some(Duration::from_millis(200)),
                    supervision: one_failure_trips(),
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap();
        let echo = m.method("echo").unwrap();
        assert_eq!(echo.call(b"x").unwrap(), b"x");
        let e = m.method("sleep_ms").unwrap().call(b"5000").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "round {round}: {e}");
        let e = echo.call(b"x").unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Unavailable,
            "round {round}: the call after the timeout: {e}"
        );
        assert_eq!(m.counters().timeouts, 1);
        m.close();
    }
}

#[test]
fn with_the_default_breaker_a_timeout_is_one_failure_of_five() {
    let host = common::host();
    let m = host
        .open(
            "std",
            ModuleOptions {
                call_timeout: Some(Duration::from_millis(200)),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let echo = m.method("echo").unwrap();
    for _ in 0..4 {
        let e = m.method("sleep_ms").unwrap().call(b"5000").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
    }
    // Four failures with no success in between: the breaker is still closed.
    assert_eq!(echo.call(b"x").unwrap(), b"x");
    assert_eq!(m.counters().crashes, 0, "a timeout is not a crash");
}

#[test]
fn a_worker_retired_at_its_cpu_limit_after_answering_is_no_failure() {
    // The worker finishes the call that passed its CPU limit, answers, and
    // exits (EXIT_RETIRED); the supervisor may reap it before its caller has
    // read the answer. Before, that was counted as a crash and a breaker
    // failure (with one failure tripping it, the next call was Unavailable).
    // The `stateful` test module burns CPU on demand (`spin`); being
    // stateful, the call after its worker's replacement reports StateLost.
    let host = common::host();
    for round in 0..3 {
        let m = host
            .open(
                "stateful",
                ModuleOptions {
                    supervision: Supervision {
                        cpu_limit: Some(Duration::from_secs(1)),
                        ..one_failure_trips()
                    },
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap();
        let insert = m.method("insert").unwrap();
        assert!(insert.call(b"").is_ok());
        // 1.2 s of CPU: past the soft limit (1 s), well before the hard one (6 s).
        let spun = m.method("spin").unwrap().call(&1200u32.to_le_bytes());
        assert!(spun.is_ok(), "round {round}: {spun:?}");
        match insert.call(b"") {
            Err(Error::StateLost(_)) => {}
            Err(e @ Error::Unavailable(_)) => {
                panic!("round {round}: the retirement opened the breaker: {e}")
            }
            other => panic!("round {round}: expected StateLost, got {other:?}"),
        }
        assert!(insert.call(b"").is_ok(), "round {round}: a fresh worker");
        assert_eq!(
            m.counters().crashes,
            0,
            "round {round}: a retirement is not a crash"
        );
        m.close();
    }
}

#[test]
fn a_host_closing_its_modules_runs_their_close_graces_together() {
    // Three isolated modules, each with a call in flight that would run
    // 30 s, and a 2 s close grace: the host's close refuses new calls and
    // starts every grace first, so it takes one grace, not three (6 s, as
    // a docs-only client measured before).
    let host = common::host();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut calls = Vec::new();
    let mut subs = Vec::new();
    for i in 0..3 {
        let m = host
            .open(
                "std",
                ModuleOptions {
                    supervision: Supervision {
                        close_grace: Duration::from_secs(2),
                        ..Supervision::default()
                    },
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap();
        let tx = tx.clone();
        // std's gate_wait emits `gate` when the call is inside the module.
        subs.push(
            m.subscribe(
                "gate",
                Box::new(move |_| {
                    let _ = tx.send(i);
                }),
            )
            .unwrap(),
        );
        let wait = m.method("gate_wait").unwrap();
        calls.push(std::thread::spawn(move || {
            let mut input = 30_000u32.to_le_bytes().to_vec();
            input.extend_from_slice(b"grace");
            wait.call(&input)
        }));
    }
    for _ in 0..3 {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("every call is inside its module");
    }
    let t0 = std::time::Instant::now();
    host.close();
    let took = t0.elapsed();
    for c in calls {
        let e = c.join().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    }
    assert!(
        took >= Duration::from_secs(2),
        "the grace was given: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "one grace for all three modules, not one each: {took:?}"
    );
}
