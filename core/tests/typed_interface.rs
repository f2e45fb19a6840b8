//! A module's embedded typed interface (docs/TYPED.md): read when the module
//! is opened in-process, validated as hostile input (every broken export is
//! an AbiMismatch naming the reason), exposed as `Module::interface()`; a
//! module without the export keeps loading, bytes-only.
//!
//! The C fixture core/tests/fixtures/iface_export.c is compiled here once per
//! case (system `cc`, as the ABI layout test does).
mod common;

use bridgehost::interface::typed::{wire, Value};
use bridgehost::{Error, ErrorKind, Interface, ModuleOptions};
use std::path::PathBuf;

const VALID_TEXT: &str =
    "package t:iface;\ninterface iface {\n  add: func(a: u32, b: u32) -> u32;\n}\n";

/// The text of case `not_a_method` (valid WIT, so its hash is the right one).
const NOT_A_METHOD_TEXT: &str =
    "package t:iface; interface iface { add: func(a: u32, b: u32) -> u32; sub: func(); }";

/// The text of the resource cases.
const RESOURCE_TEXT: &str =
    "package t:iface; interface iface { resource r { constructor(); } add: func(a: u32, b: u32) -> u32; }";

/// The text of case `direct_ineligible`: `add` takes a string.
const INELIGIBLE_TEXT: &str =
    "package t:iface; interface iface { add: func(a: u32, b: string) -> u32; }";

/// The fixture `iface_export.c` compiled for `case` (once per test process:
/// `common::c_fixture_module`).
fn build(case: &str) -> PathBuf {
    let text = match case {
        "not_a_method" => NOT_A_METHOD_TEXT,
        "direct_ineligible" => INELIGIBLE_TEXT,
        "resource" | "resource_without_drop" | "resource_not_stateful" => RESOURCE_TEXT,
        _ => VALID_TEXT,
    };
    let hash = Interface::parse(text).unwrap().hash();
    let init = format!(
        "{{{}}}",
        hash.iter()
            .map(|b| format!("0x{b:02x}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    common::c_fixture_module(
        "iface_export.c",
        &format!("libiface_{case}.so"),
        &[&format!("-DCASE_{case}"), &format!("-DHASH_INIT={init}")],
    )
}

#[test]
fn a_valid_export_is_read_validated_and_exposed() {
    let host = common::host();
    let path = build("valid");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    let iface = m.interface().expect("the module embeds an interface");
    assert_eq!(iface.name, "iface");
    assert_eq!(iface.hash(), Interface::parse(VALID_TEXT).unwrap().hash());
    // A typed call through the unchanged byte path.
    let f = iface.function("add").unwrap();
    let input = wire::encode_params(iface, f, &[Value::U32(40), Value::U32(2)]).unwrap();
    let out = m.method("add").unwrap().call(&input).unwrap();
    assert_eq!(
        wire::decode_result(iface, f, &out).unwrap(),
        Some(Value::U32(42))
    );
    // inspect reads it the same way.
    let info = bridgehost::inspect(path.to_str().unwrap(), &[]).unwrap();
    assert_eq!(info.interface.as_deref(), Some(iface));
}

#[test]
fn a_resource_with_its_drop_method_is_accepted() {
    let host = common::host();
    let path = build("resource");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    let iface = m.interface().unwrap();
    let r: Vec<usize> = iface.resources().collect();
    assert_eq!(r.len(), 1);
    assert_eq!(iface.drop_method(r[0]), "[resource-drop]r");
}

#[test]
fn a_module_without_the_export_stays_bytes_only() {
    let host = common::host();
    let path = build("no_symbol");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    assert!(m.interface().is_none());
    assert_eq!(
        m.method("add")
            .unwrap()
            .call(&[1, 0, 0, 0, 2, 0, 0, 0])
            .unwrap(),
        [3, 0, 0, 0]
    );
    // Neither has the test-only C module faulty; the bundled C module zlib has one.
    assert!(host
        .open("faulty", ModuleOptions::default())
        .unwrap()
        .interface()
        .is_none());
    let zlib = host.open("zlib", ModuleOptions::default()).unwrap();
    let iface = zlib.interface().expect("zlib is typed");
    assert!(iface.function("inflate").is_some(), "{}", iface.name);
}

#[test]
fn every_broken_export_is_an_abi_mismatch_naming_the_reason() {
    let host = common::host();
    for (case, fragment) in [
        ("null_pointer", "null pointer"),
        ("struct_size_small", "struct_size 8"),
        ("bad_format", "unknown format 7"),
        ("null_text", "text is a null pointer"),
        // Pointers into unmapped memory: read through the fault-tolerant probe, not dereferenced
        // (before, the host died with SIGSEGV here).
        ("desc_unmapped", "descriptor at 0x2000 is not readable"),
        ("text_unmapped", "text is not readable"),
        ("empty_text", "text_len 0"),
        ("text_too_long", "text_len 262145"),
        ("bad_utf8", "not valid UTF-8"),
        ("parse_error", "nosuch"),
        ("unsupported", "future"),
        ("not_a_method", "function \"sub\" is not a method"),
        ("hash_mismatch", "hash mismatch"),
        (
            "resource_without_drop",
            "resource \"r\" has no drop method \"[resource-drop]r\"",
        ),
        (
            "resource_not_stateful",
            "resource \"r\" lives in the module instance: the module must declare itself stateful (BH_MODULE_STATEFUL in C, `stateful: true` in the Rust SDK's export_module!)",
        ),
        // Direct entries (docs/TYPED.md, "Direct calls").
        (
            "direct_ineligible",
            "method \"add\" (index 0) has a direct entry but its function is not direct-eligible",
        ),
        ("direct_count", "direct_count is 2, the module has 1 methods"),
        (
            "direct_null_table",
            "direct is a null pointer with direct_count 1",
        ),
        (
            "direct_no_count",
            "direct is not null but direct_count is 0",
        ),
        ("direct_reserved", "reserved is 1, must be 0"),
        (
            "direct_unmapped_table",
            "the direct table is not readable for 1 entries",
        ),
        (
            "direct_not_code",
            "direct entry 0 (0x",
        ),
    ] {
        let path = build(case);
        let err = host
            .open(path.to_str().unwrap(), ModuleOptions::default())
            .expect_err(case);
        match &err {
            Error::AbiMismatch { reason, .. } => {
                assert!(reason.starts_with("typed interface: "), "{case}: {reason}");
                assert!(
                    reason.contains(fragment),
                    "{case}: {reason:?} lacks {fragment:?}"
                );
            }
            other => panic!("{case}: expected AbiMismatch, got {other:?}"),
        }
        assert_eq!(
            bridgehost::inspect(path.to_str().unwrap(), &[])
                .unwrap_err()
                .kind(),
            ErrorKind::AbiMismatch
        );
    }
}

#[test]
fn the_std_module_carries_its_interface() {
    let host = common::host();
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let iface = m.interface().expect("std embeds std.wit");
    assert_eq!(iface.package, "bridgehost:std@0.1.0");
    let f = iface.function("add").unwrap();
    let input = wire::encode_params(iface, f, &[Value::U32(7), Value::U32(8)]).unwrap();
    let out = m.method("add").unwrap().call(&input).unwrap();
    assert_eq!(
        wire::decode_result(iface, f, &out).unwrap(),
        Some(Value::U32(15))
    );
}

#[test]
fn isolated_open_refuses_a_broken_interface_and_reports_a_valid_one() {
    let host = common::host();
    let opts = || ModuleOptions {
        isolation: bridgehost::Isolation::Process,
        ..ModuleOptions::default()
    };
    // The worker loads the module with the same loader: a broken interface
    // fails the open with the reason, whatever the isolation.
    let bad = build("hash_mismatch");
    let err = host.open(bad.to_str().unwrap(), opts()).unwrap_err();
    assert!(err.to_string().contains("hash mismatch"), "{err}");
    // A valid one opens: the worker reports it in its HELLO, the host
    // validates it again, and it is the same interface as in-process.
    let good = build("valid");
    let m = host.open(good.to_str().unwrap(), opts()).unwrap();
    let inproc = host
        .open(good.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    assert_eq!(m.interface(), inproc.interface());
    let iface = m.interface().expect("reported by the worker");
    let f = iface.function("add").unwrap();
    let input = wire::encode_params(iface, f, &[Value::U32(1), Value::U32(2)]).unwrap();
    let out = m.method("add").unwrap().call(&input).unwrap();
    assert_eq!(
        wire::decode_result(iface, f, &out).unwrap(),
        Some(Value::U32(3))
    );
}

/// `call_scalar` on the fixture's `add` (see iface_export.c CASE_direct for
/// the argument values that reveal which entry ran).
fn add(m: &bridgehost::Module, a: u64, b: u64) -> bridgehost::Result<u64> {
    m.method("add").unwrap().call_scalar(&[a, b])
}

#[test]
fn a_direct_entry_runs_in_process_and_agrees_with_the_bytes_entry() {
    let host = common::host();
    let path = build("direct");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    let method = m.method("add").unwrap();
    let sig = method.scalar_signature().expect("add is direct-eligible");
    assert_eq!(sig.params.len(), 2);
    assert_eq!(add(&m, 2, 40).unwrap(), 42);
    assert_eq!(
        add(&m, u64::from(u32::MAX), 1).unwrap(),
        0,
        "wraps like u32"
    );
    // 0xD1: the direct entry answers 1, the bytes entry 0xD1 + b.
    assert_eq!(add(&m, 0xD1, 5).unwrap(), 1, "the direct entry ran");
    let iface = m.interface().unwrap();
    let f = iface.function("add").unwrap();
    let input = wire::encode_params(iface, f, &[Value::U32(0xD1), Value::U32(5)]).unwrap();
    assert_eq!(
        wire::decode_result(iface, f, &method.call(&input).unwrap()).unwrap(),
        Some(Value::U32(0xD6)),
        "the bytes entry is still the one call() runs"
    );
    // Every direct call is a counted call.
    let before = m.counters().calls;
    for i in 0..10 {
        add(&m, i, i).unwrap();
    }
    assert_eq!(m.counters().calls - before, 10);
}

#[test]
fn direct_calls_check_their_arguments_before_any_module_code() {
    let host = common::host();
    let path = build("direct");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    let method = m.method("add").unwrap();
    for (args, want) in [
        (
            vec![1u64 << 32, 0],
            "parameter a: 4294967296 is out of range for u32",
        ),
        (
            vec![0, -1i64 as u64],
            "parameter b: -1 is out of range for u32",
        ),
        (vec![1], "add takes 2 argument(s), got 1"),
        (vec![1, 2, 3], "add takes 2 argument(s), got 3"),
    ] {
        let err = method.call_scalar(&args).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{args:?}: {err}");
        assert!(err.to_string().contains(want), "{args:?}: {err}");
    }
    assert_eq!(m.counters().calls, 0, "no refused call reached the module");
    // A bytes-only module's method has no scalar signature.
    let echo = host.open("std", ModuleOptions::default()).unwrap();
    let e = echo.method("echo").unwrap();
    assert!(e.scalar_signature().is_none());
    assert_eq!(
        e.call_scalar(&[]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    m.close();
    assert_eq!(
        method.call_scalar(&[1, 2]).unwrap_err().kind(),
        ErrorKind::Closed
    );
}

#[test]
fn a_direct_entry_fails_and_lies_as_typed_errors() {
    let host = common::host();
    let path = build("direct");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    match add(&m, 0xDEAD, 0).unwrap_err() {
        Error::Module { code, message } => {
            assert_eq!(code, 7);
            assert_eq!(message, "direct refused");
        }
        other => panic!("expected Module, got {other:?}"),
    }
    // fail() then 0 with a valid result: still the module error (as for the bytes entry,
    // core/tests/fail_status.rs), not the result.
    match add(&m, 0xDEAE, 0).unwrap_err() {
        Error::Module { code, message } => {
            assert_eq!((code, message.as_str()), (8, "failed, then 0"));
        }
        other => panic!("expected Module, got {other:?}"),
    }
    let err = add(&m, 0xBAD, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AbiMismatch, "{err}");
    assert!(
        err.to_string()
            .contains("output of add does not match its interface: direct result slot: 4294967296 is out of range for u32"),
        "{err}"
    );
    assert_eq!(m.counters().errors, 3);
    // The context serves fail() during its own call only, and never write().
    assert_eq!(add(&m, 0x57A, 0).unwrap(), 0);
    assert_eq!(
        add(&m, 0x57B, 0).unwrap(),
        3,
        "a kept token is BH_API_STALE"
    );
    assert_eq!(add(&m, 0x3171E, 0).unwrap(), 1, "write() is BH_API_INVALID");
    assert_eq!(add(&m, 20, 22).unwrap(), 42, "the module still works");
}

#[test]
fn direct_calls_from_many_threads_on_a_serialized_module() {
    let host = common::host();
    let path = build("direct_serialized");
    let m = host
        .open(path.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let m = &m;
            s.spawn(move || {
                for i in 0..2_000u64 {
                    assert_eq!(add(m, t, i).unwrap(), t + i);
                }
            });
        }
    });
    assert_eq!(add(&m, 0xD1, 0).unwrap(), 1, "the direct entry ran");
}

#[test]
fn without_a_usable_direct_entry_call_scalar_takes_the_bytes_entry() {
    let host = common::host();
    // Isolated: the worker runs the bytes entry (0xD1 + 5, not the direct 1).
    let path = build("direct");
    let iso = host
        .open(
            path.to_str().unwrap(),
            ModuleOptions {
                isolation: bridgehost::Isolation::Process,
                ..ModuleOptions::default()
            },
        )
        .unwrap();
    assert_eq!(add(&iso, 0xD1, 5).unwrap(), 0xD6);
    assert_eq!(add(&iso, 2, 40).unwrap(), 42);
    let err = add(&iso, 1 << 32, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    // A single-thread module runs every call on its owner thread.
    let single = build("direct_single");
    let st = host
        .open(single.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    assert_eq!(add(&st, 2, 40).unwrap(), 42);
    // A module built against the first interface struct: the fields past its
    // struct_size (here an unmapped table) are not read.
    let v1 = build("v1_size");
    let old = host
        .open(v1.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    assert_eq!(add(&old, 0xD1, 5).unwrap(), 0xD6);
    // A module without direct entries.
    let plain = build("valid");
    let plain = host
        .open(plain.to_str().unwrap(), ModuleOptions::default())
        .unwrap();
    assert_eq!(add(&plain, 0xD1, 5).unwrap(), 0xD6);
}
