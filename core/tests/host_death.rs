//! A host process that dies however it dies (here SIGKILL, which runs no close and no exit
//! handler) takes its isolated workers with it (docs/ISOLATION.md, "Lifetime"): each worker asks
//! the kernel for SIGKILL when its parent goes. Found by a docs-only client (issue 12): a root
//! host's worker drops to `nobody`, and that change of credentials cleared the request, so a
//! worker busy in a hung call outlived its host.
//!
//! The test runs this binary again as the host (env `BH_HOST_DEATH_CHILD`): the child opens the
//! stateful test module isolated, prints its worker's pid, starts a 60 s call and waits to be
//! killed.
mod isolation_support;

use bridgehost::Isolation;
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
    let m = host
        .open("stateful", opts(Isolation::Process))
        .expect("open stateful isolated");
    let pid = u32le(&m.method("pid").unwrap().call(b"").unwrap());
    let sleep = m.method("sleep").unwrap();
    let _call = sleep
        .submit(60_000u32.to_le_bytes().to_vec(), |_| {})
        .unwrap();
    // The worker is now busy in the call; tell the parent who it is.
    println!("worker {pid}");
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
    // Let the call reach the worker.
    std::thread::sleep(Duration::from_millis(300));
    assert!(running(worker), "the worker {worker} runs its call");
    child.kill().unwrap(); // SIGKILL: nothing of the host's runs any more
    child.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || !running(worker)),
        "worker {worker} outlived its host (killed with SIGKILL)"
    );
}
