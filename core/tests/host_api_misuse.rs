//! The host API (`bh_host_api`) under misuse from the C `faulty` module, in both isolation
//! modes: one length and UTF-8 policy for every callback (a lying length is refused before any
//! byte is read: the message sits right before an inaccessible page, so a host that reads past
//! it dies with SIGSEGV in-process, or reports `WorkerCrashed` isolated), and a call context used
//! after its call returned is `BH_API_STALE` from any thread, never a write into another call.
//!
//! Checked by running these tests against a worker still built from the previous
//! `ffi/callbacks/` (fail/log clamped a claimed length to 4 KiB and read that much; a call
//! context was a raw stack pointer checked by a magic word): `bad_lengths("log")` killed the
//! worker with SIGSEGV, `use_saved`'s late `fail` failed the *next* call (`Module { code: 7,
//! message: "late" }`), and `race_result` hung (the racer's writes into the returned call kept
//! succeeding).
mod isolation_support;

use bridgehost::{Error, ErrorKind, Isolation, Module};
use isolation_support::*;

const API_INVALID: i32 = -1;
const API_TOO_LARGE: i32 = -2;
const API_STALE: i32 = -3;

fn i32s(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn status(m: &Module, case: &str) -> i32 {
    let out = m
        .method("bad_lengths")
        .unwrap()
        .call(case.as_bytes())
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let v = i32s(&out);
    assert_eq!(v.len(), 1, "{case}: {out:?}");
    v[0]
}

fn each_mode(f: impl Fn(Isolation, &Module)) {
    let host = host();
    for mode in [Isolation::InProcess, Isolation::Process] {
        let m = host.open("faulty", opts(mode)).unwrap();
        f(mode, &m);
        // The module is still healthy after the misuse.
        assert_eq!(m.method("ok").unwrap().call(b"fine").unwrap(), b"fine");
        m.close();
    }
}

#[test]
fn lying_lengths_are_refused_before_any_byte_is_read() {
    each_mode(|mode, m| {
        assert_eq!(status(m, "log"), API_TOO_LARGE, "{mode:?} log(SIZE_MAX)");
        assert_eq!(
            status(m, "emit"),
            API_TOO_LARGE,
            "{mode:?} emit topic SIZE_MAX"
        );
        assert_eq!(
            status(m, "log_utf8"),
            API_INVALID,
            "{mode:?} log(non-UTF-8)"
        );
        assert_eq!(
            status(m, "topic_utf8"),
            API_INVALID,
            "{mode:?} emit(non-UTF-8 topic)"
        );
        // fail(43, msg, SIZE_MAX): the call fails with the module's code and a host message
        // saying why its text was refused (never bytes from past the message).
        match m.method("bad_lengths").unwrap().call(b"fail") {
            Err(Error::Module { code, message }) => {
                assert_eq!(code, 43, "{mode:?}");
                assert!(message.contains("refused"), "{mode:?}: {message}");
                assert!(!message.contains("hostile"), "{mode:?}: {message}");
            }
            other => panic!("{mode:?} fail(SIZE_MAX): {other:?}"),
        }
        match m.method("bad_lengths").unwrap().call(b"fail_utf8") {
            Err(Error::Module { code, message }) => {
                assert_eq!(code, 43, "{mode:?}");
                assert!(message.contains("not UTF-8"), "{mode:?}: {message}");
            }
            other => panic!("{mode:?} fail(non-UTF-8): {other:?}"),
        }
        // write(SIZE_MAX): the same policy (refused, the output limit counts as exceeded).
        let e = m.method("bad_lengths").unwrap().call(b"write").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceLimit, "{mode:?}: {e}");
    });
}

#[test]
fn a_context_used_after_its_call_returned_is_stale_from_any_thread() {
    each_mode(|mode, m| {
        assert!(m.method("save_ctx").unwrap().call(b"").unwrap().is_empty());
        // Same thread, a later call (whose own context may sit at the very same stack address).
        let out = m.method("use_saved").unwrap().call(b"").unwrap();
        assert_eq!(i32s(&out), [API_STALE, API_STALE], "{mode:?} use_saved");
        // Another thread.
        let out = m.method("use_saved_thread").unwrap().call(b"").unwrap();
        assert_eq!(
            i32s(&out),
            [API_STALE, API_STALE],
            "{mode:?} use_saved_thread"
        );
        // The late `fail`s did not fail these calls (they succeeded above) and nothing leaked
        // into their output (exactly two statuses each).
    });
}

#[test]
fn a_writer_racing_the_end_of_its_call_gets_stale_never_a_crash() {
    each_mode(|mode, m| {
        let race = m.method("race_late_write").unwrap();
        let result = m.method("race_result").unwrap();
        for round in 0..20 {
            let out = race.call(b"").unwrap();
            // Only bytes written while the call was live, each one 'x'.
            assert!(out.iter().all(|&b| b == b'x'), "{mode:?} round {round}");
            assert!(
                !out.is_empty(),
                "{mode:?} round {round}: the racer wrote once before return"
            );
            let v = i32s(&result.call(b"").unwrap());
            assert_eq!(v[0], API_STALE, "{mode:?} round {round}: final status");
            assert!(
                v[1] as usize >= out.len(),
                "{mode:?} round {round}: {v:?} vs {}",
                out.len()
            );
        }
    });
}
