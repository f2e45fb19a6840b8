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

/// No `cpu_limit` (`None`: every runtime's "no limit", docs/SYMMETRY.md) sets no RLIMIT_CPU: the
/// worker keeps the soft and hard limits it inherits from this process (unlimited here, unless
/// the test runs under `ulimit -t`), where the default would give it one hour.
#[test]
fn no_cpu_limit_keeps_the_inherited_rlimit_cpu() {
    let host = host();
    let path = hostile_module();
    let cpu = |limit: Option<Duration>| {
        let m = host
            .open(
                path.to_str().unwrap(),
                ModuleOptions {
                    supervision: Supervision {
                        cpu_limit: limit,
                        ..Supervision::default()
                    },
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap();
        let lim = m.method("limits").unwrap().call(b"").unwrap();
        u64::from_le_bytes(lim[8..16].try_into().unwrap())
    };
    let mut own = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `own` is a valid rlimit to write.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CPU, &mut own) }, 0);
    assert_eq!(cpu(None), own.rlim_cur, "inherited RLIMIT_CPU");
    assert_eq!(cpu(Some(Duration::from_secs(60))), 60, "a set cpu_limit");
    if own.rlim_max > 3605 {
        assert_eq!(cpu(Supervision::default().cpu_limit), 3600, "the default");
    }
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

const EACCES: i32 = 13;

/// The Landlock ABI of this kernel, or why there is none (the tests that need it say so and
/// return: the sandbox then runs without a file-system domain and logs a warning).
fn landlock_abi() -> Result<i64, String> {
    // SAFETY: the version query (null attribute, size 0, flag
    // LANDLOCK_CREATE_RULESET_VERSION) reads and writes no memory.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    if v < 0 {
        Err(format!(
            "no Landlock on this kernel ({}): the file-system denials are not enforced, skipped",
            std::io::Error::last_os_error()
        ))
    } else {
        Ok(v)
    }
}

fn denied_with(r: Result<Vec<u8>, Error>, errno: i32, what: &str) {
    match r {
        Err(Error::Module { code, message }) => assert_eq!(code, errno, "{what}: {message}"),
        other => panic!("{what} must be denied with errno {errno}, got {other:?}"),
    }
}

fn unsandboxed() -> ModuleOptions {
    ModuleOptions {
        supervision: Supervision {
            sandbox: false,
            ..Supervision::default()
        },
        ..ModuleOptions::isolated()
    }
}

#[test]
fn a_sandboxed_module_sees_no_host_files_and_lists_no_directory() {
    // Landlock: the worker may read its module file, the library directories and /proc/self,
    // nothing else. Each probe runs against an unsandboxed worker too (the control), so the
    // test fails if the Landlock domain goes (checked by skipping `landlock()` in
    // sandbox::apply: every sandboxed read below then succeeded).
    if let Err(why) = landlock_abi() {
        eprintln!("{why}");
        return;
    }
    let host = host();
    let path = hostile_module();
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::isolated())
        .unwrap();
    let open = host.open(path.to_str().unwrap(), unsandboxed()).unwrap();
    // A host file outside the module's directory, readable by everyone.
    let secret = std::env::temp_dir().join(format!("bh-sandbox-secret-{}", std::process::id()));
    std::fs::write(&secret, b"host secret").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let read = |m: &bridgehost::Module, p: &std::path::Path| {
        m.method("read_file")
            .unwrap()
            .call(p.to_str().unwrap().as_bytes())
    };
    assert_eq!(read(&open, &secret).unwrap(), b"host secret", "control");
    denied_with(read(&m, &secret), EACCES, "reading a host file");
    let _ = std::fs::remove_file(&secret);
    // /etc/shadow: a root worker without the sandbox reads it (the finding).
    let shadow = std::path::Path::new("/etc/shadow");
    if shadow.exists() {
        if is_root() {
            assert!(!read(&open, shadow).unwrap().is_empty(), "control");
        }
        denied_with(read(&m, shadow), EACCES, "reading /etc/shadow");
    }
    // Listing: not the root directory, not the module's own directory.
    let list = |m: &bridgehost::Module, p: &str| m.method("list_dir").unwrap().call(p.as_bytes());
    let module_dir = path.parent().unwrap().to_str().unwrap().to_owned();
    for dir in ["/", "/etc", "/tmp", module_dir.as_str()] {
        let n = list(&open, dir).unwrap();
        assert!(u32::from_le_bytes(n[..4].try_into().unwrap()) >= 2, "{dir}");
        denied_with(list(&m, dir), EACCES, &format!("listing {dir}"));
    }
    // What stays readable: the worker's own /proc entries (the crash reporter needs them).
    assert!(!read(&m, std::path::Path::new("/proc/self/status"))
        .unwrap()
        .is_empty());
    assert_eq!(
        String::from_utf8(m.method("fds").unwrap().call(b"").unwrap()).unwrap(),
        "0 1 2 3"
    );
    assert_eq!(m.counters().crashes, 0);
}

#[test]
fn a_sandboxed_module_writes_nowhere() {
    // Opening for writing is refused by seccomp (EPERM) before Landlock would refuse it too;
    // the control writes the same paths.
    let host = host();
    let path = hostile_module();
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::isolated())
        .unwrap();
    let open = host.open(path.to_str().unwrap(), unsandboxed()).unwrap();
    let name = format!("bh-sandbox-w-{}", std::process::id());
    for dir in [
        std::env::temp_dir(),
        path.parent().unwrap().to_path_buf(),
        std::path::PathBuf::from("/dev/shm"),
    ] {
        if !dir.is_dir() {
            continue;
        }
        let target = dir.join(&name);
        let write = |m: &bridgehost::Module| {
            m.method("write_file")
                .unwrap()
                .call(target.to_str().unwrap().as_bytes())
        };
        denied(write(&m), &format!("writing {}", target.display()));
        assert!(!target.exists(), "the sandboxed module created {target:?}");
        assert_eq!(write(&open).unwrap(), b"opened", "control");
        std::fs::remove_file(&target).unwrap();
    }
}

#[test]
fn a_sandboxed_module_cannot_signal_the_host() {
    let host = host();
    let path = hostile_module();
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::isolated())
        .unwrap();
    denied(m.method("kill_parent").unwrap().call(b""), "kill(host, 0)");
    let open = host.open(path.to_str().unwrap(), unsandboxed()).unwrap();
    assert_eq!(
        open.method("kill_parent").unwrap().call(b"").unwrap(),
        b"ok",
        "control"
    );
}

fn is_root() -> bool {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid of process `pid` as the host sees it (real, effective).
fn host_uids(pid: u32) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let ids: Vec<u32> = line[4..]
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    (ids[0], ids[1])
}

#[test]
fn a_root_host_runs_sandboxed_workers_as_nobody() {
    // Seen from the host (/proc/<worker>/status), not from inside the user namespace (where
    // every unmapped uid reads as 65534 anyway).
    let host = host();
    let path = hostile_module();
    let pid_of = |m: &bridgehost::Module| {
        u32::from_le_bytes(
            m.method("pid").unwrap().call(b"").unwrap()[..4]
                .try_into()
                .unwrap(),
        )
    };
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::isolated())
        .unwrap();
    let open = host.open(path.to_str().unwrap(), unsandboxed()).unwrap();
    // SAFETY: getuid has no arguments and cannot fail.
    let me = unsafe { libc::getuid() };
    assert_eq!(host_uids(pid_of(&open)), (me, me), "control");
    if is_root() {
        assert_eq!(host_uids(pid_of(&m)), (65534, 65534));
    } else {
        eprintln!("not root: the sandboxed worker keeps uid {me} (nothing to drop)");
        assert_eq!(host_uids(pid_of(&m)), (me, me));
    }
}
