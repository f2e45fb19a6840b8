//! The CLI's error line names the error once: the error's own text already says its kind
//! ("module error 42: ...", "invalid argument: ..."), and the exit status is 10 + kind.
//! Uses the staged std module (scripts/build.sh fills target/dist).
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn call(args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist");
    assert!(
        dist.join("libbridgehost_mod_std.so").is_file(),
        "run scripts/build.sh first"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_bridgehost"))
        .args(args)
        .env("BRIDGEHOST_MODULE_PATH", dist)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_module_error_is_said_once() {
    let (code, err) = call(&["call", "std", "fail"], b"boom");
    assert_eq!(code, Some(14));
    assert_eq!(err, "bridgehost: module error 42: boom\n");
}

#[test]
fn other_errors_are_said_once_too() {
    let (code, err) = call(&["call", "std", "add", "--json", "[1]"], b"");
    assert_eq!(code, Some(11));
    assert!(
        err.starts_with("bridgehost: invalid argument: value does not match its type"),
        "{err}"
    );
    let (code, err) = call(&["call", "std", "nosuch"], b"");
    assert_eq!(code, Some(12));
    assert!(err.starts_with("bridgehost: not found: "), "{err}");
    assert_eq!(err.matches("not found").count(), 1, "{err}");
}

/// A reader that went away (`bridgehost inspect std | head -1`) ends the CLI quietly with
/// success, as Unix filters do; it used to panic ("failed printing to stdout: Broken pipe",
/// exit 101). The read end is closed at once, long before the CLI has opened the module and
/// writes its first line.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bridgehost"))
        .args(["inspect", "--in-process", "std"])
        .env("BRIDGEHOST_MODULE_PATH", dist)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Started by name from PATH, in another working directory, with no BRIDGEHOST_MODULE_PATH,
/// the CLI finds the bundled modules beside its own file (as the archive's bin/ and lib/ and
/// target/dist lay them out): its location comes from the kernel, not from argv[0].
#[test]
fn started_from_path_it_finds_the_modules_beside_itself() {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist");
    let dist = dist.canonicalize().expect("run scripts/build.sh first");
    let cli = dist.join("bridgehost");
    assert!(cli.is_file(), "run scripts/build.sh first");
    let elsewhere = std::env::temp_dir();
    let out = Command::new("bridgehost")
        .args(["inspect", "std"])
        .env("PATH", &dist)
        .env_remove("BRIDGEHOST_MODULE_PATH")
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("libbridgehost_mod_std.so"), "{stdout}");
}

/// `--timeout-ms` is parsed here and judged by the core's inspect-deadline rule, with the
/// message every runtime shows (docs/SYMMETRY.md, `inspect_deadline`).
#[test]
fn an_inspect_deadline_out_of_range_is_the_cores_refusal() {
    for cmd in ["inspect", "validate"] {
        let (code, err) = call(&[cmd, "--timeout-ms", "0", "std"], b"");
        assert_eq!(code, Some(11), "{cmd}: {err}");
        assert_eq!(
            err,
            "bridgehost: invalid argument: inspect deadline must be positive and at most one year, got 0 ns\n",
            "{cmd}"
        );
    }
    let (code, err) = call(
        &[
            "bindgen",
            "--lang",
            "python",
            "--timeout-ms",
            "40000000000",
            "std",
            "-o",
            "/nonexistent",
        ],
        b"",
    );
    assert_eq!(code, Some(11), "{err}");
    assert!(
        err.ends_with(
            "inspect deadline must be positive and at most one year, got 40000000000000000 ns\n"
        ),
        "{err}"
    );
    let (code, err) = call(&["inspect", "--timeout-ms", "soon", "std"], b"");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--timeout-ms needs a number of milliseconds"),
        "{err}"
    );
}

/// An argument beyond a command's positional ones is a usage error (exit 2) that names it; `call
/// std add --json - extra` used to say "call needs MODULE and METHOD", which were both given.
#[test]
fn an_extra_argument_is_named() {
    let cases: [&[&str]; 8] = [
        &["call", "std", "add", "--json", "-", "extra"],
        &["call", "std", "add", "extra"],
        &["call", "--isolated", "std", "echo", "extra", "more"],
        &["inspect", "std", "extra"],
        &["validate", "std", "extra"],
        &["wit", "a.wit", "extra"],
        &[
            "bindgen",
            "--lang",
            "c",
            "std",
            "extra",
            "-o",
            "/nonexistent",
        ],
        &["new", "--lang", "c", "name", "extra"],
    ];
    for args in cases {
        let (code, err) = call(args, b"");
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("bridgehost: unexpected argument \"extra\"\nusage:"),
            "{args:?}: {err}"
        );
    }
    // Quoted, so that an empty one shows.
    let (code, err) = call(&["call", "std", "add", ""], b"");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("bridgehost: unexpected argument \"\"\n"),
        "{err}"
    );
    // Too few is still said as such.
    let (code, err) = call(&["call", "std"], b"");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("bridgehost: call needs MODULE and METHOD\n"),
        "{err}"
    );
    let (code, err) = call(&["inspect"], b"");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("bridgehost: needs exactly one MODULE\n"),
        "{err}"
    );
}

/// An argument that is not UTF-8 (a module path or `--json` text in another encoding) is a usage
/// error naming it (exit 2), not a panic (it was exit 101 with a backtrace).
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist");
    for args in [&["call", "std", "add", "--json"][..], &["inspect"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_bridgehost"))
            .args(args)
            .arg(std::ffi::OsStr::from_bytes(b"[1, \xff]"))
            .env("BRIDGEHOST_MODULE_PATH", &dist)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("bridgehost: argument \"[1, \u{fffd}]\" is not valid UTF-8\nusage:"),
            "{args:?}: {err}"
        );
    }
}

/// `--json` twice would drop one array of arguments unseen: a usage error.
#[test]
fn json_given_twice_is_a_usage_error() {
    let (code, err) = call(
        &["call", "std", "add", "--json", "[1, 2]", "--json", "[3, 4]"],
        b"",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("bridgehost: --json given more than once\nusage:"),
        "{err}"
    );
}
