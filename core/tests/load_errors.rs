//! Load errors say what is wrong (issue 12 item 6): a module whose dependency library is missing
//! is `NotFound` naming that library (not `AbiMismatch`), and a module file in the working
//! directory opens by its bare file name ("libx.so" is that file, not a library-path search).
//!
//! One test function: it changes the process's working directory.

mod common;

use bridgehost::{ErrorKind, ModuleOptions};
use std::path::Path;
use std::process::Command;

fn cc(args: &[&str], dir: &Path) {
    let out = Command::new("cc")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("a C compiler (cc) is needed to build the test libraries");
    assert!(
        out.status.success(),
        "cc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn load_errors_name_the_problem_and_bare_file_names_work() {
    let dist = common::dist();
    let host = common::host();
    let tmp = std::env::temp_dir().join(format!("bh-load-errors-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    // A module that links against libbhdep_missing.so, which is then removed.
    std::fs::write(tmp.join("dep.c"), "int bh_dep_value(void) { return 42; }\n").unwrap();
    std::fs::write(
        tmp.join("needs.c"),
        "extern int bh_dep_value(void);\nint bh_use_dep(void) { return bh_dep_value(); }\n",
    )
    .unwrap();
    cc(
        &["-shared", "-fPIC", "-o", "libbhdep_missing.so", "dep.c"],
        &tmp,
    );
    cc(
        &[
            "-shared",
            "-fPIC",
            "-o",
            "libneeds.so",
            "needs.c",
            "-L.",
            "-lbhdep_missing",
        ],
        &tmp,
    );
    std::fs::remove_file(tmp.join("libbhdep_missing.so")).unwrap();
    let needs = tmp.join("libneeds.so");
    let err = host
        .open(needs.to_str().unwrap(), ModuleOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let text = err.to_string();
    assert!(text.contains("libbhdep_missing.so"), "{text}");
    assert!(text.contains("libneeds.so"), "{text}");
    // inspect says the same.
    let err = bridgehost::inspect(needs.to_str().unwrap(), &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // A file that is not a shared library stays an ABI mismatch.
    std::fs::write(tmp.join("libtext.so"), "not an ELF file").unwrap();
    let err = host
        .open(
            tmp.join("libtext.so").to_str().unwrap(),
            ModuleOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AbiMismatch, "{err}");

    // A module in the working directory, opened by its bare file name, in both modes.
    std::fs::copy(dist.join("libbridgehost_mod_std.so"), tmp.join("libx.so")).unwrap();
    std::env::set_current_dir(&tmp).unwrap();
    let m = host.open("libx.so", ModuleOptions::default()).unwrap();
    assert_eq!(m.method("echo").unwrap().call(b"here").unwrap(), b"here");
    let iso = host.open("libx.so", ModuleOptions::isolated()).unwrap();
    assert_eq!(
        iso.method("echo").unwrap().call(b"there").unwrap(),
        b"there"
    );
    host.close();
    let _ = std::fs::remove_dir_all(&tmp);
}
