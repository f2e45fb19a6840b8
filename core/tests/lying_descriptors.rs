//! Descriptors that lie about memory (`plugins/c/broken/lying.c`): wild pointers, a name that
//! runs into an unmapped page, a method table shorter than its count, a descriptor that is
//! only partly mapped or not at all, an entry symbol or an `init` pointer that is data. Loaded
//! *in-process* (and by `inspect`), each is an `AbiMismatch` naming the file and the lie; the
//! host never takes a signal.
//!
//! Checked against the previous loader (direct reads of the descriptor, no executable check):
//! the first case (`wild_name`) killed this test binary with SIGSEGV.
mod common;

use bridgehost::{Error, ErrorKind, ModuleOptions};

/// (case, a fragment the reason must contain)
const CASES: &[(&str, &str)] = &[
    ("wild_name", "module name points to unreadable memory"),
    (
        "name_into_unmapped",
        "runs into unreadable memory after 3 bytes",
    ),
    (
        "methods_short",
        "method table is shorter than method_count 2",
    ),
    (
        "methods_wild",
        "method table is shorter than method_count 2: only 0",
    ),
    ("desc_partly_mapped", "descriptor is only partly readable"),
    ("desc_unmapped", "is not readable memory"),
    ("entry_is_data", "entry symbol bridgehost_module_v1"),
    ("init_is_data", "init (0x"),
];

#[test]
fn lying_descriptors_are_abi_errors_in_process() {
    let host = common::host();
    let dir = common::dist().join("broken");
    for (case, fragment) in CASES {
        let path = dir.join(format!("liblying_{case}.so"));
        assert!(
            path.is_file(),
            "fixture missing: {} (run scripts/build.sh)",
            path.display()
        );
        let spec = path.to_str().unwrap();
        for round in 0..2 {
            let err = host
                .open(spec, ModuleOptions::default())
                .expect_err(&format!("{case} must be rejected"));
            match &err {
                Error::AbiMismatch { path: p, reason } => {
                    assert!(p.ends_with(&format!("liblying_{case}.so")), "{case}: {p}");
                    assert!(
                        reason.contains(fragment),
                        "{case} (round {round}): reason {reason:?} lacks {fragment:?}"
                    );
                }
                other => panic!("{case}: expected AbiMismatch, got {other:?}"),
            }
            let e = bridgehost::inspect(spec, &[]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AbiMismatch, "{case}: {e}");
        }
    }
    // The host is unharmed.
    let m = host.open("std", ModuleOptions::default()).unwrap();
    assert_eq!(m.method("echo").unwrap().call(b"ok").unwrap(), b"ok");
}
