//! A worker inherits the host's hard resource limits and cannot raise them
//! (docs/ISOLATION.md, "Supervision settings"). A docs-only client found
//! that under `ulimit -t 100` every isolated open failed ("cannot set
//! resource limits"), defaults included. Now a default above an inherited
//! hard limit is lowered to it, and a limit the caller set above one is
//! `ResourceLimit` at open.
//!
//! The limits are lowered in a child copy of this test binary (`sh -c
//! 'ulimit ...; exec'`), so no other test runs under them.
mod common;

use bridgehost::isolation::Supervision;
use bridgehost::{Error, ModuleOptions};
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "BH_INHERITED_LIMITS_CHILD";
/// Hard limits of the child: CPU seconds (below the default cpu_limit of
/// 3600 s plus its 5 s grace) and open files.
const CPU_HARD: u64 = 3000;
const FILES_HARD: u64 = 4096;

#[test]
fn isolated_modules_run_under_lower_inherited_hard_limits() {
    if std::env::var_os(CHILD).is_some() {
        return under_lowered_limits();
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -t {CPU_HARD} && ulimit -n {FILES_HARD} && exec \"$0\" --exact \
             isolated_modules_run_under_lower_inherited_hard_limits --nocapture --test-threads 1"
        ))
        .arg(&exe)
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the child failed: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("checked under lowered limits"),
        "the child ran the checks: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn under_lowered_limits() {
    let host = common::host();
    // The defaults (cpu_limit 3600 s + 5 s > 3000 s) are lowered: the module runs.
    let m = host.open("std", ModuleOptions::isolated()).unwrap();
    assert_eq!(m.method("echo").unwrap().call(b"x").unwrap(), b"x");
    m.close();
    // So does a module validated in a worker before an in-process load.
    let v = host
        .open(
            "std",
            ModuleOptions {
                validate_in_worker: true,
                ..ModuleOptions::in_process()
            },
        )
        .unwrap();
    assert_eq!(v.method("echo").unwrap().call(b"y").unwrap(), b"y");
    let with = |s: Supervision| ModuleOptions {
        supervision: s,
        ..ModuleOptions::isolated()
    };
    // Chosen within the inherited limits: accepted.
    let ok = host
        .open(
            "std",
            with(Supervision {
                cpu_limit: Some(Duration::from_secs(CPU_HARD - 5)),
                open_files: FILES_HARD,
                ..Supervision::default()
            }),
        )
        .unwrap();
    assert_eq!(ok.method("echo").unwrap().call(b"z").unwrap(), b"z");
    // No cpu_limit: nothing to check against the inherited hard limit, which the worker keeps.
    let none = host
        .open(
            "std",
            with(Supervision {
                cpu_limit: None,
                ..Supervision::default()
            }),
        )
        .unwrap();
    assert_eq!(none.method("echo").unwrap().call(b"n").unwrap(), b"n");
    none.close();
    // Chosen above them: refused at open, naming both.
    match host.open(
        "std",
        with(Supervision {
            cpu_limit: Some(Duration::from_secs(CPU_HARD - 4)),
            ..Supervision::default()
        }),
    ) {
        Err(Error::ResourceLimit(m)) => assert!(
            m.starts_with(&format!(
                "cpu_limit of {} s (plus 5 s to finish its call) needs a hard limit of {} s, above this process's {CPU_HARD} s",
                CPU_HARD - 4,
                CPU_HARD + 1
            )),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    match host.open(
        "std",
        with(Supervision {
            open_files: FILES_HARD + 1,
            ..Supervision::default()
        }),
    ) {
        Err(Error::ResourceLimit(m)) => assert!(
            m.starts_with(&format!(
                "open_files of {} needs a hard limit of {} descriptors, above this process's {FILES_HARD} descriptors",
                FILES_HARD + 1,
                FILES_HARD + 1
            )),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    println!("checked under lowered limits");
}
