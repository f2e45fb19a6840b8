//! `bridgehost call --json`, `bridgehost inspect` and `bridgehost wit` on the
//! staged std module (scripts/build.sh fills target/dist).

use std::path::PathBuf;
use std::process::{Command, Output};

fn dist() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist");
    assert!(
        d.join("libbridgehost_mod_std.so").is_file(),
        "run scripts/build.sh first"
    );
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bridgehost"))
        .args(args)
        .env("BRIDGEHOST_MODULE_PATH", dist())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str], code: i32, fragment: &str) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(fragment), "{args:?}: {err}");
}

#[test]
fn typed_calls_encode_json_and_print_json() {
    assert_eq!(
        ok(&["call", "std", "add", "--json", "[4000000000, 300000000]"]),
        "5032704\n"
    );
    assert_eq!(
        ok(&["call", "std", "stats", "--json", "[[1.5, -2, 7]]"]),
        "{\"count\":3,\"min\":-2.0,\"max\":7.0,\"mean\":2.1666666666666665}\n"
    );
    assert_eq!(ok(&["call", "std", "stats", "--json", "[[]]"]), "null\n");
    assert_eq!(
        ok(&["call", "std", "echo", "--json", "[[0, 255]]"]),
        "[0,255]\n"
    );
    assert_eq!(ok(&["call", "std", "sleep", "--json", "[0]"]), "null\n");
    // The same through a sandboxed worker.
    assert_eq!(
        ok(&["call", "--isolated", "std", "add", "--json", "[2, 3]"]),
        "5\n"
    );
}

/// `bridgehost call std METHOD --json -` with `input` on stdin (written from another thread, so a
/// large input cannot deadlock against the output).
fn call_stdin(method: &str, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bridgehost"))
        .args(["call", "std", method, "--json", "-"])
        .env("BRIDGEHOST_MODULE_PATH", dist())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    o
}

/// `--json -` reads the arguments from stdin: an argument list far beyond
/// what a command line can carry (Linux: 128 KiB per argument).
#[test]
fn json_arguments_from_stdin() {
    let big = "x".repeat(1 << 20);
    let o = call_stdin("echo-string", format!("[\"{big}\"]").as_bytes());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, format!("\"{big}\"\n").into_bytes());
    // Still JSON through the same checks: a refused value keeps its exit code.
    let o = call_stdin("echo-string", b"[1]");
    assert_eq!(o.status.code(), Some(11));
    assert!(String::from_utf8_lossy(&o.stderr).contains("parameter s"));
}

/// An error in JSON read from stdin (`--json -`) names stdin as where it is, not `--json` (its
/// line and column are stdin's); the same JSON given as `--json ARGS` names `--json`.
#[test]
fn json_errors_name_stdin_when_it_came_from_stdin() {
    let cases: [(&str, &str, &str); 3] = [
        (
            "add",
            "[1,\n 2",
            " is not valid JSON: EOF while parsing a list at line 2 column 2",
        ),
        (
            "stats",
            "[[1e400]]",
            ": the number at line 1 column 7 is out of range for every WIT number type",
        ),
        (
            "echo-string",
            r#"["\ud800"]"#,
            r": the string escape \ud800 at line 1 column 9 is an unpaired surrogate",
        ),
    ];
    for (method, json, tail) in cases {
        let o = call_stdin(method, json.as_bytes());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(11), "{method} {json}: {err}");
        assert!(err.contains(&format!("stdin (--json -){tail}")), "{err}");
        assert!(
            !err.contains("--json:") && !err.contains("--json is"),
            "{err}"
        );
        let o = run(&["call", "std", method, "--json", json]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(11), "{method} {json}: {err}");
        assert!(err.contains(&format!("--json{tail}")), "{err}");
        assert!(!err.contains("stdin"), "{err}");
    }
    // Bytes that are not UTF-8 cannot be JSON text: said of stdin too.
    let o = call_stdin("add", b"[1, \xff]");
    assert_eq!(o.status.code(), Some(11));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "bridgehost: invalid argument: reading stdin (--json -): stream did not contain valid UTF-8\n"
    );
}

#[test]
fn typed_call_errors_have_their_exit_codes() {
    // 11 invalid argument, 12 not found, 14 module error.
    fails(
        &["call", "std", "add", "--json", "[1]"],
        11,
        "add takes 2 argument(s) (a: u32, b: u32), got 1",
    );
    fails(
        &["call", "std", "add", "--json", "[1, -1]"],
        11,
        "out of range for u32",
    );
    fails(
        &["call", "std", "add", "--json", "[1, 2"],
        11,
        "not valid JSON",
    );
    fails(
        &["call", "std", "nosuch", "--json", "[]"],
        12,
        "function \"nosuch\"",
    );
    fails(
        &["call", "faulty", "ok", "--json", "[]"],
        11,
        "no typed interface",
    );
    // An integer beyond 64 bits is out of range, not "not a u32" (serde reads it as a float),
    // and the message shows it as typed, not rounded (found by a docs-only client:
    // `1.8446744073709552e+19 (an integer beyond 64 bits)`), at any depth, negative too.
    fails(
        &["call", "std", "add", "--json", "[18446744073709551616, 1]"],
        11,
        "parameter a: 18446744073709551616 (an integer beyond 64 bits) is out of range for u32",
    );
    fails(
        &["call", "std", "add", "--json", "[1, -9223372036854775809]"],
        11,
        "parameter b: -9223372036854775809 (an integer beyond 64 bits) is out of range for u32",
    );
    fails(
        &[
            "call",
            "std",
            "echo",
            "--json",
            r#"[[1, 123456789012345678901234567890]]"#,
        ],
        11,
        "parameter data: element 1: 123456789012345678901234567890 (an integer beyond 64 bits) \
         is out of range for u8",
    );
    // Digits in a string are not a literal; two different literals that round to the same f64
    // cannot be told apart, so the message keeps the rounded number.
    fails(
        &[
            "call",
            "std",
            "tick",
            "--json",
            r#"[18446744073709551616, 1, "18446744073709551617 \" 18446744073709551618"]"#,
        ],
        11,
        "parameter count: 18446744073709551616 (an integer beyond 64 bits) is out of range for u32",
    );
    fails(
        &[
            "call",
            "std",
            "echo",
            "--json",
            "[[18446744073709551617, 18446744073709551616]]",
        ],
        11,
        "parameter data: element 0: 1.8446744073709552e+19 (an integer beyond 64 bits)",
    );
    // A number with a fraction or exponent is a non-integer number, not one beyond 64 bits
    // (serde reads it as a float too).
    fails(
        &["call", "std", "add", "--json", "[1.5, 1]"],
        11,
        "parameter a: 1.5 is a non-integer number: u32 takes integers only",
    );
    fails(
        &["call", "std", "add", "--json", "[1, 1.0]"],
        11,
        "parameter b: 1.0 is a non-integer number: u32 takes integers only",
    );
    // An unpaired surrogate escape is a string the runtimes refuse too (invalid argument), not a
    // JSON syntax error.
    fails(
        &["call", "std", "echo-string", "--json", r#"["\ud800"]"#],
        11,
        r"invalid argument: value does not match its type: --json: the string escape \ud800 at line 1 column 9 is an unpaired surrogate (U+D800 is not a Unicode scalar value)",
    );
    fails(
        &["call", "std", "stats", "--json", "[[1e400]]"],
        11,
        "--json: the number at line 1 column 7 is out of range for every WIT number type",
    );
    fails(
        &["call", "std", "sleep", "--json", "[70000]"],
        14,
        "exceeds",
    );
}

#[test]
fn inspect_and_wit_print_the_interface_and_the_same_hash() {
    let info = ok(&["inspect", "std"]);
    assert!(
        info.contains("interface:     bridgehost:std@0.1.0 (sha256 "),
        "{info}"
    );
    assert!(info.contains("add: func(a: u32, b: u32) -> u32"), "{info}");
    let hash_of = |text: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("hash: "))
            .unwrap()
            .to_string()
    };
    let wit = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/std/std.wit");
    let listing = ok(&["wit", wit.to_str().unwrap()]);
    assert_eq!(hash_of(&info), hash_of(&listing));
    assert_eq!(hash_of(&listing).len(), 64);
    // The test-only faulty module is bytes-only (std and zlib, the bundled ones, are typed).
    assert!(ok(&["inspect", "faulty"]).contains("interface:     none (bytes-only module)"));
    fails(&["wit", "/dev/null"], 11, "no `package` header");
}

#[test]
fn every_command_answers_help() {
    for flag in ["--help", "-h"] {
        let text = ok(&["bindgen", flag]);
        for lang in ["java", "python", "csharp", "c ", "rust"] {
            assert!(text.contains(&format!("--lang {lang}")), "{text}");
        }
        for cmd in ["inspect", "validate", "call", "wit"] {
            assert!(ok(&[cmd, flag]).starts_with("usage:"), "{cmd} {flag}");
        }
    }
}

/// `call --json` of a direct-eligible function makes the call every runtime's binding makes
/// (docs/TYPED.md, "Direct calls"): the module's direct entry in-process, the bytes entry in a
/// worker. The core's test fixture answers 1 from its direct entry for `add(0xD1, _)` and
/// 0xD1 + b from its bytes entry, so the output shows which one ran.
#[test]
fn a_direct_eligible_function_takes_the_direct_call() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = "package t:iface;\ninterface iface {\n  add: func(a: u32, b: u32) -> u32;\n}\n";
    let hash = bridgehost::Interface::parse(text).unwrap().hash();
    let init = format!(
        "{{{}}}",
        hash.iter()
            .map(|b| format!("0x{b:02x}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let so = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libcli_direct.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let st = Command::new(&cc)
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
        ])
        .arg(format!("-I{}", root.join("plugins/include").display()))
        .arg("-DCASE_direct")
        .arg(format!("-DHASH_INIT={init}"))
        .arg(root.join("core/tests/fixtures/iface_export.c"))
        .arg("-o")
        .arg(&so)
        .status()
        .unwrap();
    assert!(st.success(), "{cc} failed");
    let so = so.to_str().unwrap();
    assert_eq!(ok(&["call", so, "add", "--json", "[209, 5]"]), "1\n");
    assert_eq!(ok(&["call", so, "add", "--json", "[2, 40]"]), "42\n");
    assert_eq!(
        ok(&["call", "--isolated", so, "add", "--json", "[209, 5]"]),
        "214\n"
    );
    // A lying result slot is the documented ABI mismatch.
    fails(
        &["call", so, "add", "--json", "[2989, 0]"],
        13,
        "output of add does not match its interface: direct result slot",
    );
}
