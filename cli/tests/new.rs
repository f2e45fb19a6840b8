//! `bridgehost new` creates projects that build and pass their own tests (through the SDK's
//! TestHost and this CLI). Each project builds in a temporary directory with its own target dir.
//! Checked to fail: with the SDK path dependency dropped from the Rust template, or a C template
//! method renamed, the project's own tests fail and so does this one.
use std::path::{Path, PathBuf};
use std::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_bridgehost");

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bh-new-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn new(lang: &str, name: &str, dir: &Path) {
    run(Command::new(CLI)
        .args(["new", "--lang", lang, name, "--dir"])
        .arg(dir));
}

#[test]
fn rust_project_builds_and_passes_its_tests() {
    let d = tmpdir("rust");
    let proj = d.join("greeter");
    new("rust", "greeter", &proj);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let text = run(Command::new(cargo)
        .args(["test", "--offline"])
        .current_dir(&proj)
        .env("CARGO_TARGET_DIR", d.join("target"))
        .env("BRIDGEHOST_CLI", CLI)
        .env_remove("RUSTFLAGS"));
    assert!(text.contains("through_the_sdk_test_host ... ok"), "{text}");
    assert!(
        text.contains("call_in_process_and_isolated ... ok"),
        "{text}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn c_project_builds_and_passes_its_tests() {
    let d = tmpdir("c");
    let proj = d.join("cgreeter");
    new("c", "cgreeter", &proj);
    let text = run(Command::new("make")
        .args(["-s", "test"])
        .arg(format!("BRIDGEHOST_CLI={CLI}"))
        .current_dir(&proj));
    assert!(text.contains("cgreeter: 3 passed"), "{text}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_names_and_existing_directories_are_refused() {
    let d = tmpdir("bad");
    let out = Command::new(CLI)
        .args(["new", "--lang", "c", "Bad-Name", "--dir"])
        .arg(d.join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "invalid argument");
    assert!(!d.join("x").exists());
    let out = Command::new(CLI)
        .args(["new", "--lang", "rust", "ok", "--dir"])
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "existing directory");
    let out = Command::new(CLI).args(["new", "ok"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage: no --lang");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn new_help_prints_the_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let out = Command::new(CLI).args(["new", flag]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "new {flag}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("usage: bridgehost new --lang c|rust NAME"),
            "{text}"
        );
        assert!(text.contains("--sdk PATH"), "{text}");
    }
}

#[test]
fn a_missing_sdk_is_refused_and_a_relative_one_made_absolute() {
    let d = tmpdir("sdk");
    let out = Command::new(CLI)
        .args([
            "new",
            "--lang",
            "c",
            "m",
            "--sdk",
            "/nonexistent/bh-sdk",
            "--dir",
        ])
        .arg(d.join("p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "nonexistent --sdk");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--sdk /nonexistent/bh-sdk: no such directory"),
        "{err}"
    );
    assert!(!d.join("p").exists());
    // A directory without the header is refused too, naming what is missing.
    std::fs::create_dir_all(d.join("empty")).unwrap();
    let out = Command::new(CLI)
        .args(["new", "--lang", "c", "m", "--sdk", "empty", "--dir", "p"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "--sdk without the header");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bridgehost_module.h there"));
    // A relative --sdk is relative to where the command ran, not to the project: it builds.
    let header =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/include/bridgehost_module.h");
    std::fs::create_dir_all(d.join("inc")).unwrap();
    std::fs::copy(header, d.join("inc/bridgehost_module.h")).unwrap();
    run(Command::new(CLI)
        .args(["new", "--lang", "c", "m", "--sdk", "inc", "--dir", "p"])
        .current_dir(&d));
    let makefile = std::fs::read_to_string(d.join("p/Makefile")).unwrap();
    let inc = d.join("inc");
    assert!(
        makefile.contains(&format!("BH_INCLUDE ?= {}\n", inc.display())),
        "{makefile}"
    );
    run(Command::new("make").args(["-s"]).current_dir(d.join("p")));
    assert!(d.join("p/libbridgehost_mod_m.so").is_file());
    // No header anywhere: make stops with a message, never runs cc with an empty -I.
    let out = Command::new("make")
        .args(["-s", "-B", "BH_INCLUDE="])
        .current_dir(d.join("p"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bridgehost_module.h not found"), "{err}");
    assert!(err.contains("BH_INCLUDE"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_bundled_modules_name_is_refused() {
    let d = tmpdir("bundled");
    for name in ["std", "zlib", "sqlite"] {
        let out = Command::new(CLI)
            .args(["new", "--lang", "c", name, "--dir"])
            .arg(d.join(name))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(11), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{name:?} is a bundled module's name")),
            "{err}"
        );
        assert!(!d.join(name).exists());
    }
    std::fs::remove_dir_all(&d).unwrap();
}
