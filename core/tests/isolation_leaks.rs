//! No zombies, no leaked processes, no leaked descriptors: counted before and after a crash
//! storm, timeouts, protocol violations and many open/close cycles. One test in its own test
//! binary, so nothing else runs in this process while it counts.
mod isolation_support;

use bridgehost::isolation::Supervision;
use bridgehost::{ErrorKind, ModuleOptions};
use isolation_support::*;
use std::time::Duration;

#[test]
fn close_kills_and_reaps_every_worker_and_closes_every_descriptor() {
    let hostile = hostile_module(); // built before counting
    let host = host();
    // Warm up lazily created process-wide state (the logging bridge, thread pools) once.
    host.open("std", ModuleOptions::isolated()).unwrap().close();
    let (fds0, children0) = (open_fds(), children());
    for round in 0..6 {
        let std_mod = host
            .open(
                "std",
                ModuleOptions {
                    workers: 2,
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap();
        assert_eq!(
            std_mod
                .method("echo")
                .unwrap()
                .call(&vec![1u8; 200_000])
                .unwrap()
                .len(),
            200_000
        );
        let faulty = host
            .open(
                "faulty",
                ModuleOptions {
                    call_timeout: Some(Duration::from_millis(100)),
                    supervision: Supervision {
                        breaker_failures: 1000,
                        ..Supervision::default()
                    },
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap();
        for fault in [
            "segfault",
            "abort",
            "exit",
            "hang",
            "segfault",
            "stack_overflow",
        ] {
            assert!(faulty.method(fault).unwrap().call(b"").is_err());
        }
        let h = host
            .open(hostile.to_str().unwrap(), ModuleOptions::isolated())
            .unwrap();
        assert_eq!(
            h.method("bad_length")
                .unwrap()
                .call(b"")
                .unwrap_err()
                .kind(),
            ErrorKind::Protocol
        );
        assert_eq!(
            h.method("close_ctl").unwrap().call(b"").unwrap_err().kind(),
            ErrorKind::Protocol
        );
        assert!(!worker_children().is_empty());
        if round % 2 == 0 {
            std_mod.close();
            faulty.close();
            h.close();
        } else {
            drop((std_mod, faulty, h)); // closing by drop
        }
        assert!(
            zombies().is_empty(),
            "zombies after round {round}: {:?}",
            zombies()
        );
        assert_eq!(
            children(),
            children0,
            "worker processes left after round {round}"
        );
        assert_eq!(open_fds(), fds0, "descriptors leaked in round {round}");
    }
    // Host close with modules still open closes them all.
    for _ in 0..3 {
        host.open("std", ModuleOptions::isolated()).unwrap();
    }
    let m = host.open("faulty", ModuleOptions::isolated()).unwrap();
    assert!(m.method("segfault").unwrap().call(b"").is_err());
    host.close();
    assert!(zombies().is_empty());
    assert_eq!(children(), children0);
    assert_eq!(open_fds(), fds0);
}
