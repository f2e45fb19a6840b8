//! Re-entrancy is a typed error, not a deadlock. A module's call reaches back into the host on
//! the calling thread (here: the module logs, and the process log sink, which runs on that
//! thread inside the call, acts on the module). From there, closing the module, closing the
//! host, or calling the module again when its thread model forbids it (serialized: the lock is
//! held further up this very stack; single-thread: this IS the owner thread) would wait for
//! itself. Each is refused with `InvalidArgument` and leaves everything usable.
//!
//! The log sink is process-global, so everything runs in one test, in sequence.
//! Checked by reverting the detection (`Backend::reentered` returning false, the serial holder
//! and owner-thread checks removed): the first case hung forever (timeout 120 s).
mod isolation_support;

use bridgehost::logging::{set_log_sink, LogLevel};
use bridgehost::{ErrorKind, Host, Isolation, Module};
use isolation_support::*;
use std::sync::{Arc, Mutex};

type Action = Box<dyn Fn() -> Vec<(String, Option<ErrorKind>)> + Send + Sync>;

/// What the sink does when it sees the marker message; what it observed.
struct Probe {
    action: Mutex<Option<Action>>,
    seen: Mutex<Vec<(String, Option<ErrorKind>)>>,
}

fn kind<T>(r: bridgehost::Result<T>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

/// Run `action` from inside `method("log")` of `m` (the sink runs on the thread serving the log)
/// and return what it observed.
fn from_inside(probe: &Probe, m: &Module, action: Action) -> Vec<(String, Option<ErrorKind>)> {
    *probe.action.lock().unwrap() = Some(action);
    probe.seen.lock().unwrap().clear();
    m.method("log").unwrap().call(b"reenter-now").unwrap();
    // In-process the sink ran inside the call; isolated, on the supervisor thread, possibly
    // after the call returned: wait for its report (bounded).
    let t0 = std::time::Instant::now();
    loop {
        let seen = probe.seen.lock().unwrap().clone();
        if !seen.is_empty() {
            *probe.action.lock().unwrap() = None;
            return seen;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "sink never ran"
        );
        std::thread::yield_now();
    }
}

fn expect(seen: &[(String, Option<ErrorKind>)], what: &str, want: Option<ErrorKind>) {
    let got = seen.iter().find(|(w, _)| w == what).map(|(_, k)| *k);
    assert_eq!(got, Some(want), "{what}: {seen:?}");
}

#[test]
fn closes_and_forbidden_calls_from_inside_a_call_are_typed_errors() {
    let probe = Arc::new(Probe {
        action: Mutex::new(None),
        seen: Mutex::new(Vec::new()),
    });
    let p = Arc::clone(&probe);
    set_log_sink(
        LogLevel::Info,
        Some(Arc::new(move |_lvl, _target: &str, msg: &str| {
            if !msg.contains("reenter-now") {
                return;
            }
            if let Some(a) = p.action.lock().unwrap().take() {
                let r = a();
                p.seen.lock().unwrap().extend(r);
            }
        })),
    )
    .unwrap();

    let host: Host = host();
    let cases: [(&str, Isolation, bool); 4] = [
        ("std", Isolation::InProcess, false),
        ("serial", Isolation::InProcess, true),
        ("single", Isolation::InProcess, true),
        ("std", Isolation::Process, false),
    ];
    for (name, mode, forbids_own_calls) in cases {
        let m = host.open(name, opts(mode)).unwrap();
        let (m2, h2) = (m.clone(), host.clone());
        let seen = from_inside(
            &probe,
            &m,
            Box::new(move || {
                let own = if m2.info().name == "std" {
                    "echo"
                } else {
                    "tid"
                };
                vec![
                    ("close module".into(), kind(m2.try_close())),
                    ("close host".into(), kind(h2.try_close())),
                    ("own call".into(), kind(m2.method(own).unwrap().call(b"x"))),
                ]
            }),
        );
        let what = format!("{name} {mode:?}");
        expect(&seen, "close module", Some(ErrorKind::InvalidArgument));
        expect(&seen, "close host", Some(ErrorKind::InvalidArgument));
        if forbids_own_calls {
            expect(&seen, "own call", Some(ErrorKind::InvalidArgument));
        } else {
            // A thread-safe module may be called re-entrantly.
            expect(&seen, "own call", None);
        }
        // Nothing was closed: the module and the host still work.
        assert!(!m.is_closed() && !host.is_closed(), "{what}");
        let own = if name == "std" { "echo" } else { "tid" };
        m.method(own).unwrap().call(b"x").unwrap();
        // `close()` (no Result) from inside: logged, nothing closed, no hang.
        let m3 = m.clone();
        from_inside(
            &probe,
            &m,
            Box::new(move || {
                m3.close();
                vec![("closed".into(), None)]
            }),
        );
        assert!(!m.is_closed(), "{what}");
        // From outside the call the same close works.
        m.try_close().unwrap();
        assert!(m.is_closed(), "{what}");
    }
    set_log_sink(LogLevel::Info, None).unwrap();
    host.try_close().unwrap();
}
