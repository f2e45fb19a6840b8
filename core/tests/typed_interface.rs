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
use std::process::Command;

const VALID_TEXT: &str =
    "package t:iface;\ninterface iface {\n  add: func(a: u32, b: u32) -> u32;\n}\n";

/// The text of case `not_a_method` (valid WIT, so its hash is the right one).
const NOT_A_METHOD_TEXT: &str =
    "package t:iface; interface iface { add: func(a: u32, b: u32) -> u32; sub: func(); }";

/// The text of the resource cases.
const RESOURCE_TEXT: &str =
    "package t:iface; interface iface { resource r { constructor(); } add: func(a: u32, b: u32) -> u32; }";

fn build(case: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("libiface_{case}.so"));
    let text = match case {
        "not_a_method" => NOT_A_METHOD_TEXT,
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
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = Command::new(&cc)
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fPIC",
            "-shared",
            "-fvisibility=hidden",
        ])
        .arg(format!("-I{}", root.join("../plugins/include").display()))
        .arg(format!("-DCASE_{case}"))
        .arg(format!("-DHASH_INIT={init}"))
        .arg(root.join("tests/fixtures/iface_export.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(st.success(), "{cc} failed for case {case}");
    out
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
            "resource \"r\" lives in the module instance: the module must declare BH_MODULE_STATEFUL",
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
