//! `bridgehost inspect` says when a module declares itself stateful (and says nothing for the
//! others), and `help` lists state_lost's exit code (10 + 16). Needs the staged modules
//! (scripts/build.sh fills target/dist with the test-only stateful module).
use std::path::PathBuf;
use std::process::Command;

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist")
}

fn inspect(spec: &str, in_process: bool) -> String {
    let mut args = vec!["inspect"];
    if in_process {
        args.push("--in-process");
    }
    args.push(spec);
    let out = Command::new(env!("CARGO_BIN_EXE_bridgehost"))
        .args(&args)
        .env("BRIDGEHOST_MODULE_PATH", dist())
        .output()
        .expect("run bridgehost");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn inspect_shows_the_stateful_flag_only_when_set() {
    assert!(
        dist().join("libbridgehost_mod_stateful.so").is_file(),
        "run scripts/build.sh first"
    );
    // In a worker (the default) and in-process.
    for in_process in [false, true] {
        let s = inspect("stateful", in_process);
        assert!(s.contains("stateful:      yes"), "{s}");
        let s = inspect("std", in_process);
        assert!(!s.contains("stateful"), "{s}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_bridgehost"))
        .arg("help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains(" 26  state_lost"), "{help}");
}
