//! The worker's sandbox, proven from inside a module: each denial (exec, opening a file for
//! writing, creating a socket, ptrace, fork) reports EPERM in a worker and works in-process or
//! with the sandbox switched off (so the test would fail without the filter); the worker has a
//! clean environment, no inherited descriptors, no_new_privs, a seccomp filter and its rlimits;
//! and what modules legitimately need (threads, zlib, reading files) still works.
mod isolation_support;

use bridgehost::isolation::Supervision;
use bridgehost::{Error, ErrorKind, ModuleOptions};
use isolation_support::*;
use std::time::Duration;

const EPERM: i32 = 1;

fn denied(r: Result<Vec<u8>, Error>, what: &str) {
    match r {
        Err(Error::Module { code, message }) => {
            assert_eq!(code, EPERM, "{what}: {message}");
            assert!(message.contains("not permitted"), "{what}: {message}");
        }
        other => panic!("{what} must be denied with EPERM, got {other:?}"),
    }
}

#[test]
fn each_denial_is_reported_from_inside_the_module() {
    let host = host();
    let m = host.open("faulty", ModuleOptions::isolated()).unwrap();
    for probe in ["exec", "open_write", "socket", "ptrace", "fork"] {
        denied(m.method(probe).unwrap().call(b""), probe);
    }
    // The worker is still the same healthy process after the denials.
    assert_eq!(m.counters().crashes, 0);
    assert_eq!(m.method("ok").unwrap().call(b"fine").unwrap(), b"fine");
    let h = host
        .open(
            hostile_module().to_str().unwrap(),
            ModuleOptions::isolated(),
        )
        .unwrap();
    let target = std::env::temp_dir().join(format!("bh-sandbox-{}", std::process::id()));
    denied(
        h.method("write_file")
            .unwrap()
            .call(target.to_str().unwrap().as_bytes()),
        "write_file",
    );
    assert!(
        !target.exists(),
        "the sandboxed module created {}",
        target.display()
    );
}

#[test]
fn the_same_probes_succeed_without_the_sandbox() {
    // The control: the probes really do what they say, so the denials above come from the
    // sandbox. (exec and ptrace would replace or stop the test process in-process; they run
    // in an unsandboxed worker instead.)
    let host = host();
    let inproc = host.open("faulty", ModuleOptions::default()).unwrap();
    for probe in ["open_write", "socket", "fork"] {
        assert_eq!(
            inproc.method(probe).unwrap().call(b"").unwrap(),
            b"ok",
            "{probe} in-process"
        );
    }
    let open = host
        .open(
            "faulty",
            ModuleOptions {
                supervision: Supervision {
                    sandbox: false,
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    for probe in ["open_write", "socket", "fork"] {
        assert_eq!(
            open.method(probe).unwrap().call(b"").unwrap(),
            b"ok",
            "{probe} unsandboxed"
        );
    }
    // exec replaces the unsandboxed worker with /bin/true, which exits 0.
    assert_eq!(
        open.method("exec").unwrap().call(b"").unwrap_err(),
        Error::WorkerExited { status: 0 }
    );
    assert_eq!(open.method("ok").unwrap().call(b"x").unwrap(), b"x");
}

#[test]
fn the_worker_has_a_clean_environment_no_inherited_descriptors_and_its_limits() {
    let host = host();
    let path = hostile_module();
    let m = host
        .open(
            path.to_str().unwrap(),
            ModuleOptions {
                memory_limit: Some(512 << 20),
                supervision: Supervision {
                    cpu_limit: Some(Duration::from_secs(60)),
                    open_files: 32,
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let call = |name: &str, input: &[u8]| m.method(name).unwrap().call(input).unwrap();
    assert_eq!(
        call("environ", b""),
        b"",
        "the worker's environment must be empty"
    );
    // stdin, stdout (/dev/null), stderr (a pipe to the host), the control socket: nothing else,
    // whatever this test process has open.
    let _extra = std::fs::File::open("/dev/null").unwrap(); // not inherited (close-on-exec or not)
    assert_eq!(String::from_utf8(call("fds", b"")).unwrap(), "0 1 2 3");
    let lim = call("limits", b"");
    let field = |i: usize| u64::from_le_bytes(lim[i * 8..i * 8 + 8].try_into().unwrap());
    assert_eq!(field(0), 512 << 20, "RLIMIT_AS");
    assert_eq!(field(1), 60, "RLIMIT_CPU");
    assert_eq!(field(2), 0, "RLIMIT_FSIZE");
    assert_eq!(field(3), 32, "RLIMIT_NOFILE");
    assert_eq!(field(4), 0, "RLIMIT_CORE");
    let status = String::from_utf8(call("status", b"")).unwrap();
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
    // In-process the same module sees the host's environment: the emptiness above is the
    // worker's doing.
    let inproc = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    assert!(!inproc
        .method("environ")
        .unwrap()
        .call(b"")
        .unwrap()
        .is_empty());
}

#[test]
fn what_modules_legitimately_need_still_works() {
    let host = host();
    // zlib: compress and decompress 1 MiB through the sandbox.
    let z = host.open("zlib", ModuleOptions::isolated()).unwrap();
    let data: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
        .collect();
    let packed = z.method("compress").unwrap().call(&data).unwrap();
    assert!(packed.len() < data.len());
    assert!(z.method("decompress").unwrap().call(&packed).unwrap() == data);
    // Threads: the std ticker runs on a module-owned thread.
    let s = host.open("std", ModuleOptions::isolated()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let _sub = s
        .subscribe(
            "tick",
            Box::new(move |_| {
                let _ = tx.lock().unwrap().send(());
            }),
        )
        .unwrap();
    s.method("ticker")
        .unwrap()
        .call(&50u32.to_le_bytes())
        .unwrap();
    for _ in 0..50 {
        rx.recv_timeout(Duration::from_secs(5))
            .expect("tick from the module thread");
    }
    // Reading files is allowed (the dynamic linker needs it).
    let h = host
        .open(
            hostile_module().to_str().unwrap(),
            ModuleOptions::isolated(),
        )
        .unwrap();
    assert!(!h
        .method("read_file")
        .unwrap()
        .call(b"/proc/self/status")
        .unwrap()
        .is_empty());
    // And memory up to the limit.
    let f = host
        .open(
            "faulty",
            ModuleOptions {
                memory_limit: Some(256 << 20),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    assert_eq!(
        f.method("leak")
            .unwrap()
            .call(&64u32.to_le_bytes())
            .unwrap(),
        64u32.to_le_bytes()
    );
    assert_eq!(
        f.method("leak")
            .unwrap()
            .call(&1024u32.to_le_bytes())
            .unwrap_err()
            .kind(),
        ErrorKind::ResourceLimit
    );
}

#[test]
fn a_worker_cannot_read_the_host_processes_memory() {
    // Same uid, no Yama: without a user namespace a module could read /proc/<host>/mem.
    let host = host();
    let path = hostile_module();
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::isolated())
        .unwrap();
    match m.method("peek_parent").unwrap().call(b"") {
        Err(Error::Module { code, message }) => {
            assert!(
                code == 13 || code == EPERM,
                "EACCES or EPERM expected: {code} {message}"
            )
        }
        other => panic!("the worker read the host's memory: {other:?}"),
    }
    // The control: an unsandboxed worker can (so the test fails if the defence goes).
    let open = host
        .open(
            path.to_str().unwrap(),
            ModuleOptions {
                supervision: Supervision {
                    sandbox: false,
                    ..Supervision::default()
                },
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    assert_eq!(
        open.method("peek_parent").unwrap().call(b"").unwrap().len(),
        16
    );
}
