//! C header vs Rust mirror: compiles tests/abi_layout/layout.c with the
//! system C compiler (`$CC`, else `cc`), runs it, and compares every size,
//! alignment, field offset and constant with this crate. Fails on any drift
//! and on any key present on one side only.
//!
//! Without a C compiler the test prints a loud SKIP and passes, unless
//! `BH_REQUIRE_CC=1` is set (then it fails).

use bridgehost_module_abi::*;
use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

fn rust_side() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        assert!(m.insert(k.to_string(), v).is_none(), "duplicate key {k}");
    };
    macro_rules! size {
        ($c:literal, $t:ty) => {
            put(concat!("size.", $c), size_of::<$t>().to_string());
            put(concat!("align.", $c), align_of::<$t>().to_string());
        };
    }
    macro_rules! off {
        ($c:literal, $t:ty, $cf:literal, $f:ident) => {
            put(
                concat!("off.", $c, ".", $cf),
                offset_of!($t, $f).to_string(),
            );
        };
    }
    size!("bh_host_api", HostApi);
    off!("bh_host_api", HostApi, "struct_size", struct_size);
    off!("bh_host_api", HostApi, "abi_version", abi_version);
    off!("bh_host_api", HostApi, "instance_token", instance_token);
    off!("bh_host_api", HostApi, "write", write);
    off!("bh_host_api", HostApi, "fail", fail);
    off!("bh_host_api", HostApi, "emit", emit);
    off!("bh_host_api", HostApi, "log", log);

    size!("bh_method_desc", MethodDesc);
    off!("bh_method_desc", MethodDesc, "name", name);
    off!("bh_method_desc", MethodDesc, "flags", flags);
    off!("bh_method_desc", MethodDesc, "reserved", reserved);

    size!("bh_module_desc", ModuleDesc);
    off!("bh_module_desc", ModuleDesc, "magic", magic);
    off!("bh_module_desc", ModuleDesc, "abi_version", abi_version);
    off!("bh_module_desc", ModuleDesc, "struct_size", struct_size);
    off!("bh_module_desc", ModuleDesc, "thread_model", thread_model);
    off!("bh_module_desc", ModuleDesc, "method_count", method_count);
    off!("bh_module_desc", ModuleDesc, "name", name);
    off!("bh_module_desc", ModuleDesc, "version", version);
    off!("bh_module_desc", ModuleDesc, "methods", methods);
    off!("bh_module_desc", ModuleDesc, "init", init);
    off!("bh_module_desc", ModuleDesc, "call", call);
    off!("bh_module_desc", ModuleDesc, "destroy", destroy);
    off!("bh_module_desc", ModuleDesc, "module_flags", module_flags);
    off!("bh_module_desc", ModuleDesc, "reserved", reserved);
    assert_eq!(
        std::mem::offset_of!(ModuleDesc, module_flags),
        DESC_V1_SIZE,
        "module_flags is appended right after the first v1 descriptor"
    );

    size!("bh_module_interface", InterfaceDesc);
    off!(
        "bh_module_interface",
        InterfaceDesc,
        "struct_size",
        struct_size
    );
    off!("bh_module_interface", InterfaceDesc, "format", format);
    off!("bh_module_interface", InterfaceDesc, "text", text);
    off!("bh_module_interface", InterfaceDesc, "text_len", text_len);
    off!("bh_module_interface", InterfaceDesc, "hash", hash);
    off!("bh_module_interface", InterfaceDesc, "direct", direct);
    off!(
        "bh_module_interface",
        InterfaceDesc,
        "direct_count",
        direct_count
    );
    off!("bh_module_interface", InterfaceDesc, "reserved", reserved);
    assert_eq!(
        std::mem::offset_of!(InterfaceDesc, direct),
        INTERFACE_V1_SIZE,
        "direct is appended right after the first interface struct"
    );

    put("size.fnptr", size_of::<EntryFn>().to_string());
    put("size.size_t", size_of::<usize>().to_string());
    // Option<fn> must be pointer-sized (null-pointer optimisation).
    assert_eq!(size_of::<Option<InitFn>>(), size_of::<EntryFn>());

    put("const.BH_MODULE_MAGIC", MAGIC.to_string());
    put("const.BH_MODULE_ABI_VERSION", ABI_VERSION.to_string());
    put("const.BH_MODULE_MAX_METHODS", MAX_METHODS.to_string());
    put("const.BH_MODULE_MAX_NAME_LEN", MAX_NAME_LEN.to_string());
    put("const.BH_THREAD_SAFE", THREAD_SAFE.to_string());
    put("const.BH_THREAD_SERIALIZED", THREAD_SERIALIZED.to_string());
    put("const.BH_THREAD_SINGLE", THREAD_SINGLE.to_string());
    put(
        "const.BH_METHOD_NONBLOCKING",
        METHOD_NONBLOCKING.to_string(),
    );
    put("const.BH_MODULE_STATEFUL", MODULE_STATEFUL.to_string());
    put("const.BH_MODULE_DESC_V1_SIZE", DESC_V1_SIZE.to_string());
    put(
        "const.BH_MODULE_INTERFACE_V1_SIZE",
        INTERFACE_V1_SIZE.to_string(),
    );
    put("const.BH_DIRECT_MAX_PARAMS", DIRECT_MAX_PARAMS.to_string());
    put("const.BH_API_OK", API_OK.to_string());
    put("const.BH_API_INVALID", API_INVALID.to_string());
    put("const.BH_API_TOO_LARGE", API_TOO_LARGE.to_string());
    put("const.BH_API_STALE", API_STALE.to_string());
    put("const.BH_API_OVERLOADED", API_OVERLOADED.to_string());
    let sym = ENTRY_SYMBOL
        .strip_suffix(b"\0")
        .expect("ENTRY_SYMBOL is NUL-terminated");
    assert!(!sym.contains(&0), "ENTRY_SYMBOL has an interior NUL");
    put(
        "const.BH_MODULE_ENTRY_SYMBOL",
        String::from_utf8(sym.to_vec()).unwrap(),
    );
    put(
        "const.BH_INTERFACE_FORMAT_WIT",
        INTERFACE_FORMAT_WIT.to_string(),
    );
    put(
        "const.BH_INTERFACE_MAX_TEXT",
        INTERFACE_MAX_TEXT.to_string(),
    );
    let isym = INTERFACE_SYMBOL
        .strip_suffix(b"\0")
        .expect("INTERFACE_SYMBOL is NUL-terminated");
    put(
        "const.BH_MODULE_INTERFACE_SYMBOL",
        String::from_utf8(isym.to_vec()).unwrap(),
    );
    m
}

fn c_side() -> Option<BTreeMap<String, String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = root.join("tests/abi_layout/layout.c");
    let include = root.join("plugins/include");
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bh_abi_layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", include.display()))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status();
    match built {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let msg = format!(
                "no C compiler `{cc}` on PATH: the C/Rust ABI layout comparison did NOT run"
            );
            if std::env::var_os("BH_REQUIRE_CC").is_some_and(|v| v == "1") {
                panic!("{msg} (BH_REQUIRE_CC=1)");
            }
            // Straight to the process's stderr: libtest's capture would hide
            // an eprintln! of a passing test.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("\n{0}\n*** SKIP: {msg} ***\n{0}\n", "*".repeat(78)).as_bytes(),
            );
            return None;
        }
        Err(e) => panic!("running {cc}: {e}"),
        Ok(s) => assert!(s.success(), "{cc} failed to compile {}", src.display()),
    }
    let out = Command::new(&exe).output().expect("run the layout program");
    assert!(
        out.status.success(),
        "layout program failed: {:?}",
        out.status
    );
    let text = String::from_utf8(out.stdout).expect("layout output is UTF-8");
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!(
            m.insert(k.to_string(), v.to_string()).is_none(),
            "duplicate C key {k}"
        );
    }
    Some(m)
}

#[test]
fn c_header_and_rust_mirror_agree() {
    let rust = rust_side();
    let Some(c) = c_side() else { return };
    let mut problems = Vec::new();
    for (k, cv) in &c {
        match rust.get(k) {
            None => problems.push(format!(
                "{k}: in the C header ({cv}) but not checked on the Rust side"
            )),
            Some(rv) if rv != cv => problems.push(format!("{k}: C {cv} != Rust {rv}")),
            Some(_) => {}
        }
    }
    for (k, rv) in &rust {
        if !c.contains_key(k) {
            problems.push(format!(
                "{k}: on the Rust side ({rv}) but not printed by layout.c"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "ABI layout drift:\n  {}",
        problems.join("\n  ")
    );
    assert!(c.len() >= 40, "suspiciously few keys: {}", c.len());
}

#[test]
fn descriptor_header_prefix() {
    // The host reads DESC_HEADER_SIZE bytes (magic, abi_version, struct_size)
    // before trusting struct_size.
    assert_eq!(offset_of!(ModuleDesc, thread_model), DESC_HEADER_SIZE);
}
