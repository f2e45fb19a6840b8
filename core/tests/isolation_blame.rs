//! Blame the right call: a worker that stops itself (`SIGSTOP`) while idle is detected before
//! it is handed a call, replaced, and the next (innocent) call is served by a fresh worker.
//!
//! Checked by removing the check in `remote.rs` (`Worker::call`): the innocent call then ran
//! into its 5 s `call_timeout` (`Timeout`), and without a timeout it would hang.
mod isolation_support;

use bridgehost::ModuleOptions;
use isolation_support::*;
use std::time::{Duration, Instant};

/// True when the stop of child `pid` is reported to its parent (this process): the group stop
/// is complete, which is what the host checks (`waitid(WSTOPPED)` on the worker's pidfd). The
/// main thread alone can show `T` in /proc while the worker's other threads still run (seen
/// under load), so /proc's state is not enough.
fn stop_is_reported(pid: i32) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value (plain integers and unions of them).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into `info`; WNOHANG returns at once and WNOWAIT leaves the
    // state for the host's own checks and reaper.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: reading si_pid of the siginfo the kernel filled (or left zeroed).
    rc == 0 && unsafe { info.si_pid() } == pid && info.si_code == libc::CLD_STOPPED
}

/// Pids of this process's children that are stopped (state `T`, every thread).
fn stopped_children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<i32>().ok()));
        if state == Some("T") && ppid == Some(me) && stop_is_reported(pid) {
            v.push(pid);
        }
    }
    v
}

#[test]
fn a_worker_that_stops_itself_while_idle_does_not_fail_the_next_call() {
    let host = host();
    let m = host
        .open(
            "faulty",
            ModuleOptions {
                call_timeout: Some(Duration::from_secs(5)),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let ok = m.method("ok").unwrap();
    assert_eq!(ok.call(b"before").unwrap(), b"before");
    m.method("stop_when_idle").unwrap().call(b"").unwrap();
    // Wait (bounded) until the worker has actually stopped: the call above returned first.
    let t0 = Instant::now();
    while stopped_children().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the worker never stopped"
        );
        std::thread::yield_now();
    }
    let t = Instant::now();
    assert_eq!(ok.call(b"innocent").unwrap(), b"innocent");
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "the innocent call waited {:?} (for the stopped worker?)",
        t.elapsed()
    );
    // The stopped worker was killed (and is reaped by the supervisor).
    let t0 = Instant::now();
    while !stopped_children().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "stopped worker left behind"
        );
        std::thread::yield_now();
    }
}
