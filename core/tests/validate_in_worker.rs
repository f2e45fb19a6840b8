//! The validate step runs the module's loading in a worker: constructors that exit (status
//! 0 too) or crash, an entry function that never returns, and lying descriptors are typed
//! errors, never "valid", and never touch this process. `ModuleOptions::validate_in_worker`
//! puts the same step in front of an in-process open. The CLI's `inspect`/`validate` (which
//! use it by default) exit non-zero for each.
//!
//! Checked without the mechanism: `bridgehost inspect --in-process` (what `inspect` did before)
//! of `hostile/libhostile_ctor_exit.so` prints nothing and exits 0, and an in-process open of
//! it runs the same constructor in the caller's process.
mod isolation_support;

use bridgehost::{ErrorKind, ModuleOptions};
use isolation_support::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn hostile(case: &str) -> String {
    let p = dist().join("hostile").join(format!("libhostile_{case}.so"));
    assert!(p.is_file(), "{} missing: run scripts/build.sh", p.display());
    p.to_str().unwrap().to_string()
}

fn lying(case: &str) -> String {
    dist()
        .join("broken")
        .join(format!("liblying_{case}.so"))
        .to_str()
        .unwrap()
        .to_string()
}

/// (module, deadline, expected kind)
fn cases() -> Vec<(String, ErrorKind)> {
    vec![
        (hostile("ctor_exit"), ErrorKind::WorkerExited),
        (hostile("ctor_crash"), ErrorKind::WorkerCrashed),
        (hostile("entry_hangs"), ErrorKind::Timeout),
        (lying("wild_name"), ErrorKind::AbiMismatch),
        (lying("entry_is_data"), ErrorKind::AbiMismatch),
    ]
}

const DEADLINE: Duration = Duration::from_secs(2);

#[test]
fn validate_reports_every_hostile_load_as_a_typed_error() {
    require_worker();
    for (spec, kind) in cases() {
        let t = Instant::now();
        let e = bridgehost::validate(&spec, &[], Some(DEADLINE)).unwrap_err();
        assert_eq!(e.kind(), kind, "{spec}: {e}");
        // Bounded by the deadline (+ the worker's start and reaping).
        assert!(
            t.elapsed() < DEADLINE * 10,
            "{spec}: took {:?}",
            t.elapsed()
        );
    }
    // A good module validates, with the same description as an in-process inspect.
    let info = bridgehost::validate("std", &[dist()], None).unwrap();
    let here = bridgehost::inspect("std", &[dist()]).unwrap();
    assert_eq!(
        (&info.name, &info.version, &info.methods),
        (&here.name, &here.version, &here.methods)
    );
    assert_eq!(info.thread_model, here.thread_model);
}

#[test]
fn validate_in_worker_guards_an_in_process_open() {
    let host = host();
    let opts = |t: Duration| {
        let mut o = ModuleOptions {
            validate_in_worker: true,
            ..ModuleOptions::default()
        };
        o.supervision.startup_timeout = t;
        o
    };
    for (spec, kind) in cases() {
        let e = host.open(&spec, opts(DEADLINE)).unwrap_err();
        assert_eq!(e.kind(), kind, "{spec}: {e}");
    }
    // A good module passes and is then loaded in-process as usual.
    let m = host.open("std", opts(Duration::from_secs(10))).unwrap();
    assert_eq!(m.method("echo").unwrap().call(b"hi").unwrap(), b"hi");
}

#[test]
fn cli_inspect_and_validate_exit_non_zero_for_hostile_loads() {
    require_worker();
    let cli: PathBuf = dist().join("bridgehost");
    assert!(
        cli.is_file(),
        "{} missing: run scripts/build.sh",
        cli.display()
    );
    for (spec, kind) in cases() {
        for cmd in ["inspect", "validate"] {
            let out = Command::new(&cli)
                .args([cmd, "--timeout-ms", "2000", &spec])
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(10 + kind.code()),
                "{cmd} {spec}: {out:?}"
            );
            assert!(out.stdout.is_empty(), "{cmd} {spec}: {out:?}");
        }
    }
    let out = Command::new(&cli)
        .args(["inspect", "std"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("name:          std"));
}

/// `Host::inspect` is the validate step with the host's module directories (what the Java and
/// .NET `inspect` call); `inspect_in_process` loads the file here. `encode_info` is the form the
/// C ABI and the JNI bridge hand to their runtimes.
#[test]
fn host_inspect_is_the_validate_step() {
    let host = host();
    for (spec, kind) in cases() {
        let e = host.inspect(&spec, Some(DEADLINE)).unwrap_err();
        assert_eq!(e.kind(), kind, "{spec}: {e}");
    }
    let info = host.inspect("std", None).unwrap();
    let here = host.inspect_in_process("std").unwrap();
    assert_eq!(
        (&info.name, &info.version, &info.methods, info.stateful),
        (&here.name, &here.version, &here.methods, here.stateful)
    );
    // The inspect deadline's one rule (`Span::InspectDeadline`): positive, at most one year.
    assert_eq!(
        host.inspect("std", Some(Duration::ZERO))
            .unwrap_err()
            .to_string(),
        "invalid argument: inspect deadline must be positive and at most one year, got 0 ns"
    );
    assert_eq!(
        host.inspect("std", Some(Duration::from_secs(366 * 86400)))
            .unwrap_err()
            .to_string(),
        "invalid argument: inspect deadline must be positive and at most one year, got 31622400000000000 ns"
    );
    assert_eq!(
        host.inspect("no-such-module", None).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // The encoding: four u32, three strings, then each method's flags and name.
    let b = bridgehost::encode_info(&info);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    assert_eq!(u32_at(0), info.abi_version);
    assert_eq!(u32_at(4), info.thread_model.to_abi());
    assert_eq!(u32_at(8) & 1, u32::from(info.stateful));
    assert_eq!(u32_at(8) >> 1 & 1, u32::from(info.interface.is_some()));
    assert_eq!(u32_at(12) as usize, info.methods.len());
    let mut o = 16;
    let str_at = |o: &mut usize| {
        let n = u32_at(*o) as usize;
        let s = std::str::from_utf8(&b[*o + 4..*o + 4 + n])
            .unwrap()
            .to_string();
        *o += 4 + n;
        s
    };
    assert_eq!(str_at(&mut o), info.name);
    assert_eq!(str_at(&mut o), info.version);
    assert_eq!(str_at(&mut o), info.path);
    for m in &info.methods {
        assert_eq!(u32_at(o), m.flags);
        o += 4;
        assert_eq!(str_at(&mut o), m.name);
    }
    assert_eq!(o, b.len());

    host.close();
    assert_eq!(
        host.inspect("std", None).unwrap_err().kind(),
        ErrorKind::Closed
    );
    assert_eq!(
        host.inspect_in_process("std").unwrap_err().kind(),
        ErrorKind::Closed
    );
}
