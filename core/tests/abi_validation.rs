//! Every broken module is a typed ABI error naming the file and the reason — never a crash.
mod common;

use bridgehost::{Error, ErrorKind, ModuleOptions};

/// (fixture, a fragment the reason must contain)
const CASES: &[(&str, &str)] = &[
    ("not_a_module", "missing entry symbol"),
    ("entry_returns_null", "null descriptor"),
    ("wrong_magic", "wrong magic"),
    ("wrong_abi_version", "ABI version"),
    ("struct_size_small", "struct_size"),
    ("unknown_thread_model", "thread model"),
    ("null_module_name", "module name is a null pointer"),
    ("non_utf8_module_name", "module name is not valid UTF-8"),
    ("null_init", "init"),
    ("null_call", "call"),
    ("null_destroy", "destroy"),
    ("null_methods", "method table is a null pointer"),
    ("method_count_zero", "method_count 0"),
    ("method_count_huge", "method_count"),
    ("null_method_name", "name is a null pointer"),
    ("empty_method_name", "name is empty"),
    ("non_utf8_method_name", "not valid UTF-8"),
    ("duplicate_method_names", "duplicate method name"),
    ("method_name_too_long", "longer than 128 bytes"),
    ("unknown_flags", "unknown flag bits"),
    ("reserved_nonzero", "reserved"),
    (
        "unknown_module_flags",
        "unknown module flag bits 0x80000001",
    ),
    ("module_reserved_nonzero", "reserved field is non-zero"),
];

#[test]
fn every_broken_fixture_is_a_typed_abi_error() {
    let host = common::host();
    let dir = common::dist().join("broken");
    for (case, fragment) in CASES {
        let path = dir.join(format!("libbroken_{case}.so"));
        assert!(path.is_file(), "fixture missing: {}", path.display());
        let spec = path.to_str().unwrap();
        let err = host
            .open(spec, ModuleOptions::default())
            .expect_err(&format!("{case} must be rejected"));
        match &err {
            Error::AbiMismatch { path: p, reason } => {
                assert!(
                    p.ends_with(&format!("libbroken_{case}.so")),
                    "{case}: path {p}"
                );
                assert!(
                    reason.contains(fragment),
                    "{case}: reason {reason:?} lacks {fragment:?}"
                );
            }
            other => panic!("{case}: expected AbiMismatch, got {other:?}"),
        }
        assert_eq!(err.kind(), ErrorKind::AbiMismatch);
        // inspect (no instance) rejects it the same way
        assert_eq!(
            bridgehost::inspect(spec, &[]).unwrap_err().kind(),
            ErrorKind::AbiMismatch
        );
    }
    // The host is unharmed.
    let m = host.open("std", ModuleOptions::default()).unwrap();
    assert_eq!(m.method("echo").unwrap().call(b"ok").unwrap(), b"ok");
}

#[test]
fn files_that_are_not_modules() {
    let host = common::host();
    let tmp = std::env::temp_dir().join(format!("bh-notlib-{}", std::process::id()));
    std::fs::write(&tmp, b"\x7fELF but not really").unwrap();
    let spec = tmp.to_str().unwrap().to_string();
    let e = host.open(&spec, ModuleOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AbiMismatch, "{e}");
    assert!(
        e.to_string().contains("not a loadable shared library"),
        "{e}"
    );
    std::fs::remove_file(&tmp).unwrap();
    let e = host
        .open("/nonexistent/dir/libx.so", ModuleOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = host.open("/tmp", ModuleOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = host
        .open("no_such_bundled", ModuleOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = host
        .open("../etc/passwd", ModuleOptions::default())
        .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::Internal, "{e}");
}
