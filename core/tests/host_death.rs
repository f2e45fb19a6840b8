//! A host process that dies however it dies (here SIGKILL, which runs no close and no exit
//! handler) takes its isolated workers with it (docs/ISOLATION.md, "Lifetime"): each worker asks
//! the kernel for SIGKILL when its parent goes. Found by a docs-only client (issue 12): a root
//! host's worker drops to `nobody`, and that change of credentials cleared the request, so a
//! worker busy in a hung call outlived its host.
//!
//! The test runs this binary again as the host (env `BH_HOST_DEATH_CHILD`): the child opens std
//! isolated with one worker and no spare, starts a 60 s call in std's gate, and once the gate's
//! "started" event says the call is inside that worker, prints the worker's pid and waits to be
//! killed.
mod common;
mod isolation_support;

use bridgehost::isolation::Supervision;
use bridgehost::ModuleOptions;
use isolation_support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD: &str = "BH_HOST_DEATH_CHILD";

/// Gone, or a zombie waiting for its new parent to reap it: the process no longer runs.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

#[test]
fn the_child_host() {
    if std::env::var_os(CHILD).is_none() {
        return; // only when run as the child of the test below
    }
    let host = host();
    // One worker, no spare: the only worker child is the one that runs the call.
    let m = host
        .open(
            "std",
            ModuleOptions {
                supervision: Supervision {
                    spare_workers: 0,
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .expect("open std isolated");
    let (_sub, entered) = common::gate_entries(&m);
    let _call = m
        .method("gate_wait")
        .unwrap()
        .submit(common::gate_wait_input(60_000, b"held"), |_| {})
        .unwrap();
    // The gate's "started" event: the call is inside the worker (no sleep decides that).
    assert_eq!(
        entered.recv_timeout(Duration::from_secs(30)).as_deref(),
        Ok(&b"held"[..]),
        "the call reached the worker"
    );
    let workers = worker_children();
    assert_eq!(workers.len(), 1, "one worker, no spare: {workers:?}");
    // The worker is busy in the call; tell the parent who it is.
    println!("worker {}", workers[0]);
    // Waits to be killed by the parent (it is never meant to wake up).
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_host_killed_with_sigkill_takes_its_busy_worker_with_it() {
    require_worker();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_child_host",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("BRIDGEHOST_MODULE_PATH", dist())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let worker: u32 = loop {
        let line = lines
            .next()
            .expect("the child host printed its worker's pid")
            .unwrap();
        // libtest's "test the_child_host ... " precedes it on the same line.
        if let Some((_, pid)) = line.split_once("worker ") {
            break pid.trim().parse().unwrap();
        }
    };
    // The child printed the pid once the call was inside the worker.
    assert!(running(worker), "the worker {worker} runs its call");
    child.kill().unwrap(); // SIGKILL: nothing of the host's runs any more
    child.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || !running(worker)),
        "worker {worker} outlived its host (killed with SIGKILL)"
    );
}
