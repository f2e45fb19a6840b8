//! The Rust generator (`bridgehost bindgen --lang rust`): module-side bindings generated for an
//! interface that uses every supported type (golden.wit's types, one echo function per golden
//! vector, functions with several borrowed and owned parameters and without a result) are
//! compiled in a scratch cargo project against plugins/sdk-rust (offline, `#![deny(warnings)]`,
//! clippy `-D warnings`) and run through the SDK's test host: every valid golden vector must come
//! back byte for byte, every decode-only vector canonically, and every invalid vector, truncation,
//! trailing byte and huge length must be module error 22 naming the method and parameter, never
//! a panic. What the generator refuses, it refuses with a reason.

use bridgehost_interface::bindgen;
use bridgehost_interface::Interface;
use bridgehost_interface::Type;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../golden/vectors.json")).unwrap()
}

const RESOURCE: &str = "    resource blob {\n        constructor();\n    }\n";

/// golden.wit without its resource, plus: one function `<section>-<i>: func(v: T) -> T` per
/// golden vector of a type without the resource, and a few functions of several parameters.
fn golden_for_rust() -> String {
    let doc = vectors();
    let wit = include_str!("../golden/golden.wit");
    assert!(
        wit.contains(RESOURCE),
        "golden.wit's resource changed: update this test"
    );
    let wit = wit.replace(RESOURCE, "");
    let mut funcs = String::new();
    for section in ["valid", "decode_only", "invalid_bytes"] {
        for (i, v) in doc[section].as_array().unwrap().iter().enumerate() {
            let ty = v["type"].as_str().unwrap();
            if ty.contains("blob") {
                continue;
            }
            let _ = writeln!(
                funcs,
                "    {}-{i}: func(v: {ty}) -> {ty};",
                section.replace('_', "-")
            );
        }
    }
    funcs.push_str(
        "    /// Several parameters, borrowed (string, list<u8>) and owned.\n    /// ```\n    /// not a doctest\r, a bare CR\n    /// ~~~\n    /// ```\n    mix: func(a: u32, s: string, b: list<u8>, o: option<point>, t: type-bytes) -> tuple<u32, string, list<u8>, option<point>, type-bytes>;\n    // A comment with \"# and \"## in it (the WIT text is a raw string literal).\n    nothing: func();\n    fallible: func(ok: bool) -> result<list<shape>, string>;\n    %type: func(match: char) -> char;\n    type-bytes-len: func(b: type-bytes) -> u32;\n    type bytes = list<u8>;\n    type type-bytes = bytes;\n",
    );
    let end = wit.rfind('}').unwrap();
    format!("{}{}{}", &wit[..end], funcs, &wit[end..])
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The scratch program: the generated module, a trait implementation that returns every
/// argument, the module exported with every function as a method, and a driver that runs the
/// cases file through the SDK's test host.
fn program(iface: &Interface) -> String {
    let mut o = String::from(
        "#![deny(warnings)]\n#![deny(clippy::all)]\n\n#[rustfmt::skip]\nmod golden_wit;\n\nuse bridgehost_module_sdk::{export_module, Host, Module, ModuleError, ThreadModel};\nuse golden_wit::*;\n\n#[derive(Debug)]\nstruct Golden {\n    _host: Host,\n}\n\nimpl Module for Golden {\n    fn init(host: Host, _config: &[u8]) -> Result<Self, ModuleError> {\n        Ok(Golden { _host: host })\n    }\n}\n\nimpl golden_wit::Golden for Golden {\n",
    );
    for f in &iface.functions {
        let name = f.name.replace('-', "_");
        let name = if name == "type" { "type_".into() } else { name };
        match f.name.as_str() {
            "mix" => o.push_str(
                "    fn mix(&self, a: u32, s: &str, b: &[u8], o: Option<Point>, t: &[u8]) -> Result<(u32, String, Vec<u8>, Option<Point>, TypeBytes), ModuleError> {\n        Ok((a, s.to_owned(), b.to_vec(), o, t.to_vec()))\n    }\n",
            ),
            "nothing" => o.push_str("    fn nothing(&self) -> Result<(), ModuleError> {\n        Ok(())\n    }\n"),
            "fallible" => o.push_str(
                "    fn fallible(&self, ok: bool) -> Result<Result<Vec<Shape>, String>, ModuleError> {\n        Ok(if ok {\n            Ok(vec![Shape::Circle(1.5), Shape::Rect((3, 4)), Shape::None])\n        } else {\n            Err(\"no\".into())\n        })\n    }\n",
            ),
            "type" => o.push_str(
                "    fn type_(&self, match_: char) -> Result<char, ModuleError> {\n        Ok(match_)\n    }\n",
            ),
            "type-bytes-len" => o.push_str(
                "    fn type_bytes_len(&self, b: &[u8]) -> Result<u32, ModuleError> {\n        Ok(b.len() as u32)\n    }\n",
            ),
            _ => {
                let ty = &f.params[0].ty;
                let resolved = iface.resolve(ty);
                let (param, ret, body) = if *resolved == Type::String {
                    ("&str", "String".to_string(), "v.to_owned()")
                } else if *resolved == Type::List(Box::new(Type::U8)) {
                    ("&[u8]", "Vec<u8>".to_string(), "v.to_vec()")
                } else {
                    ("", String::new(), "v")
                };
                if param.is_empty() {
                    let _ = writeln!(
                        o,
                        "    fn {name}(&self, v: {t}) -> Result<{t}, ModuleError> {{\n        Ok(v)\n    }}",
                        t = rust_type(iface, ty)
                    );
                } else {
                    let _ = writeln!(
                        o,
                        "    fn {name}(&self, v: {param}) -> Result<{ret}, ModuleError> {{\n        Ok({body})\n    }}"
                    );
                }
            }
        }
    }
    o.push_str("}\n\nexport_module! {\n    module: Golden,\n    name: \"golden\",\n    version: \"1\",\n    thread_model: ThreadModel::ThreadSafe,\n    methods: [\n");
    for f in &iface.functions {
        let name = f.name.replace('-', "_");
        let name = if name == "type" { "type_".into() } else { name };
        let _ = writeln!(
            o,
            "        ({:?}, 0, golden_wit::{name}::<Golden>),",
            f.name
        );
    }
    o.push_str("    ],\n    interface: golden_wit::WIT,\n}\n");
    o.push_str(DRIVER);
    o
}

/// The Rust spelling of the vectors' types (what the generator must produce for them).
fn rust_type(iface: &Interface, ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "i8".into(),
        Type::S16 => "i16".into(),
        Type::S32 => "i32".into(),
        Type::S64 => "i64".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "String".into(),
        Type::List(e) => format!("Vec<{}>", rust_type(iface, e)),
        Type::Option(e) => format!("Option<{}>", rust_type(iface, e)),
        Type::Result { ok, err } => format!(
            "Result<{}, {}>",
            ok.as_deref().map_or("()".into(), |t| rust_type(iface, t)),
            err.as_deref().map_or("()".into(), |t| rust_type(iface, t))
        ),
        Type::Tuple(ts) => format!(
            "({},)",
            ts.iter()
                .map(|t| rust_type(iface, t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Named(i) => {
            let n = &iface.typedef(*i).name;
            n.split('-')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect()
        }
        Type::Own(_) | Type::Borrow(_) => unreachable!("no resources here"),
    }
}

/// Reads `cases.txt` (`ok METHOD IN OUT` / `err METHOD IN EXPECTED-PREFIX`), calls each through
/// the test host, and checks the typed Rust values of a few known encodings.
const DRIVER: &str = r#"
fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn typed_values() {
    use bridgehost_module_sdk::wire::Reader;
    let mut p = Vec::new();
    p.extend_from_slice(&1.0f64.to_le_bytes());
    p.extend_from_slice(&(-2.0f64).to_le_bytes());
    p.extend_from_slice(&[1, 0, 0, 0, b'a']);
    let mut r = Reader::new(&p);
    let point: Point = r.read().expect("point");
    r.finish().expect("no trailing bytes");
    assert_eq!(point, Point { x: 1.0, y: -2.0, label: "a".into() });
    assert_eq!(Reader::new(&[1]).read::<Color>(), Ok(Color::Green));
    assert_eq!(Reader::new(&[5]).read::<Perms>(), Ok(Perms::READ | Perms::EXEC));
    assert!(Perms::ALL.contains(Perms::WRITE) && !Perms::EMPTY.contains(Perms::WRITE));
    assert_eq!(Reader::new(&[1, 1]).read::<Wide>(), Ok(Wide::F0 | Wide::F8));
    assert_eq!(
        Reader::new(&[1, 3, 0, 0, 0, 4, 0, 0, 0]).read::<Shape>(),
        Ok(Shape::Rect((3, 4)))
    );
    assert_eq!(Reader::new(&[2]).read::<Shape>(), Ok(Shape::None));
    let e = Reader::new(&[3]).read::<Shape>().expect_err("bad discriminant");
    assert_eq!((e.offset, e.reason.as_str()), (0, "variant shape: unknown discriminant 3"));
}

fn main() {
    typed_values();
    let path = std::env::args().nth(1).expect("cases file");
    let cases = std::fs::read_to_string(path).expect("read cases");
    // SAFETY: the descriptor was generated by export_module! above.
    let host = unsafe { bridgehost_module_sdk::testing::TestHost::new(bridgehost_module_v1()) };
    let inst = host.instantiate(b"").expect("instantiate");
    let (mut n, mut failures) = (0, Vec::new());
    for line in cases.lines() {
        let mut parts = line.splitn(4, ' ');
        let (kind, method, input, want) = (
            parts.next().expect("kind"),
            parts.next().expect("method"),
            unhex(parts.next().expect("input")),
            parts.next().unwrap_or(""),
        );
        n += 1;
        match (kind, inst.call(method, &input)) {
            ("ok", Ok(out)) if out == unhex(want) => {}
            ("err", Err(e)) if e.code == 22 && e.message.starts_with(want) => {}
            (_, got) => failures.push(format!("{line}: got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{} of {n} cases failed:\n{}", failures.len(), failures.join("\n"));
    println!("{n} cases passed");
}
"#;

/// The cases the driver runs: golden vectors, plus truncation, trailing bytes and huge lengths.
fn cases() -> String {
    let doc = vectors();
    let mut o = String::new();
    for section in ["valid", "decode_only", "invalid_bytes"] {
        for (i, v) in doc[section].as_array().unwrap().iter().enumerate() {
            if v["type"].as_str().unwrap().contains("blob") {
                continue;
            }
            let m = format!("{}-{i}", section.replace('_', "-"));
            let h = v["hex"].as_str().unwrap();
            match section {
                "valid" => {
                    let _ = writeln!(o, "ok {m} {h} {h}");
                    let b = hex(h);
                    // One byte more is a trailing byte; one less is truncated (or, for a
                    // variable-size value, some other decode error of the parameter).
                    let _ = writeln!(
                        o,
                        "err {m} {h}00 {m}: malformed typed payload at byte {}: 1 trailing byte(s)",
                        b.len()
                    );
                    if !b.is_empty() {
                        let _ = writeln!(
                            o,
                            "err {m} {} {m}: parameter v: malformed typed payload",
                            to_hex(&b[..b.len() - 1])
                        );
                    }
                }
                "decode_only" => {
                    let _ = writeln!(o, "ok {m} {h} {}", v["canonical_hex"].as_str().unwrap());
                }
                _ => {
                    let trailing = v["why"].as_str().unwrap().contains("trailing");
                    let want = if trailing {
                        format!("{m}: malformed typed payload")
                    } else {
                        format!("{m}: parameter v: malformed typed payload")
                    };
                    let _ = writeln!(o, "err {m} {h} {want}");
                }
            }
        }
    }
    // mix(7, "é😀", [1, 2], some(point(1, 2, "p")), [9]) and its echo.
    let mut mix = Vec::new();
    mix.extend_from_slice(&7u32.to_le_bytes());
    let s = "é😀".as_bytes();
    mix.extend_from_slice(&(s.len() as u32).to_le_bytes());
    mix.extend_from_slice(s);
    mix.extend_from_slice(&[2, 0, 0, 0, 1, 2, 1]);
    mix.extend_from_slice(&1.0f64.to_le_bytes());
    mix.extend_from_slice(&2.0f64.to_le_bytes());
    mix.extend_from_slice(&[1, 0, 0, 0, b'p', 1, 0, 0, 0, 9]);
    let _ = writeln!(o, "ok mix {} {}", to_hex(&mix), to_hex(&mix));
    // A huge length for the string: refused before anything is allocated.
    let _ = writeln!(
        o,
        "err mix 07000000ffffffff mix: parameter s: malformed typed payload at byte 4: length 4294967295 exceeds the 0 byte(s) that remain"
    );
    let _ = writeln!(
        o,
        "err mix 0700000002000000c328 mix: parameter s: malformed typed payload at byte 8: string is not valid UTF-8"
    );
    let _ = writeln!(
        o,
        "err mix 0700000000000000ffffff7f mix: parameter b: malformed typed payload at byte 8: length 2147483647 exceeds"
    );
    let _ = writeln!(
        o,
        "err mix 070000000000000000000000020000000000000000000000000000000000000000000000 mix: parameter o: malformed typed payload at byte 12: option tag 2"
    );
    let _ = writeln!(o, "ok nothing  ");
    let _ = writeln!(
        o,
        "err nothing 00 nothing: malformed typed payload at byte 0: 1 trailing byte(s)"
    );
    // result<list<shape>, string>: ok [circle(1.5), rect(3, 4), none] / err "no".
    let mut shapes = vec![0u8, 3, 0, 0, 0, 0];
    shapes.extend_from_slice(&1.5f64.to_le_bytes());
    shapes.extend_from_slice(&[1, 3, 0, 0, 0, 4, 0, 0, 0, 2]);
    let _ = writeln!(o, "ok fallible 01 {}", to_hex(&shapes));
    let _ = writeln!(o, "ok fallible 00 01020000006e6f");
    let _ = writeln!(
        o,
        "err fallible 02 fallible: parameter ok: malformed typed payload at byte 0: bool byte 2 is neither 0 nor 1"
    );
    let _ = writeln!(o, "ok type 00f60100 00f60100");
    let _ = writeln!(
        o,
        "err type 00d80000 type: parameter match: malformed typed payload at byte 0: 0xd800 is not a Unicode scalar value"
    );
    let _ = writeln!(o, "ok type-bytes-len 03000000010203 03000000");
    o
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn cargo(dir: &Path, target: &Path, sub: &str, args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(dir)
        .args([sub, "--offline", "--quiet"])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    c
}

#[test]
fn generated_module_compiles_without_warnings_and_round_trips_the_golden_vectors() {
    let ws = workspace();
    let iface = Interface::parse(&golden_for_rust()).unwrap();
    let files = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "golden_wit.rs");

    let dir = ws.join("target/bindgen-rust/golden");
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"golden-rust-bindings\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nbridgehost-module-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("plugins/sdk-rust").display().to_string()
        ),
    )
    .unwrap();
    // The workspace's lock file: the same dependency versions, available offline.
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/golden_wit.rs"), &files[0].text).unwrap();
    std::fs::write(dir.join("src/main.rs"), program(&iface)).unwrap();
    let case_text = cases();
    let case_file = dir.join("cases.txt");
    std::fs::write(&case_file, &case_text).unwrap();
    let target = ws.join("target/bindgen-rust/target");

    run(
        &mut cargo(
            &dir,
            &target,
            "clippy",
            &["--all-targets", "--", "-D", "warnings"],
        ),
        "cargo clippy on the generated module",
    );
    let out = run(
        cargo(&dir, &target, "run", &["--"]).arg(&case_file),
        "the generated module's driver",
    );
    let n = case_text.lines().count();
    assert!(out.contains(&format!("{n} cases passed")), "{out}");
}

/// The code block after `<!-- typed-rust-example: NAME -->` in docs/MODULES.md.
fn doc_block(doc: &str, name: &str) -> String {
    let marker = format!("<!-- typed-rust-example: {name} -->\n");
    let at = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker:?} in docs/MODULES.md"));
    let rest = &doc[at + marker.len()..];
    let body = &rest[rest.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_typed_module_of_the_modules_guide_builds_and_passes_its_test() {
    let ws = workspace();
    let doc = std::fs::read_to_string(ws.join("docs/MODULES.md")).unwrap();
    let iface = Interface::parse(&doc_block(&doc, "greet.wit")).unwrap();
    // `bridgehost bindgen --lang rust greet.wit -o src` writes src/greet_wit.rs.
    let files = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(files[0].path, "greet_wit.rs");
    let dir = ws.join("target/bindgen-rust/greet");
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"greet\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\nbridgehost-module-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("plugins/sdk-rust").display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/greet_wit.rs"), &files[0].text).unwrap();
    std::fs::write(dir.join("src/lib.rs"), doc_block(&doc, "src/lib.rs")).unwrap();
    let target = ws.join("target/bindgen-rust/target");
    run(
        &mut cargo(
            &dir,
            &target,
            "clippy",
            &["--all-targets", "--", "-D", "warnings"],
        ),
        "cargo clippy on the guide's typed module",
    );
    let out = run(
        &mut cargo(&dir, &target, "test", &[]),
        "cargo test of the guide's typed module",
    );
    assert!(out.contains("test result: ok. 1 passed"), "{out}");
}

#[test]
fn generation_is_deterministic_and_named() {
    let iface = Interface::parse(&golden_for_rust()).unwrap();
    let a = bindgen::generate("rust", &iface, None).unwrap();
    let b = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(a, b);
    let c = bindgen::generate("rust", &iface, Some("my_types")).unwrap();
    assert_eq!(c[0].path, "my_types.rs");
    assert!(a[0]
        .text
        .contains(&format!("pub const HASH: &str = \"{}\";", iface.hash_hex())));
    // Keywords get a `_`: `type` (function), `match` (parameter); `none` is a plain case.
    assert!(a[0]
        .text
        .contains("fn type_(&self, match_: char) -> Result<char, ModuleError>;"));
    assert!(a[0].text.contains("    None,\n"));
    // The WIT text is a raw string with enough `#`s (an escaped one when it holds a CR).
    let hashes =
        Interface::parse("package a:b;\ninterface i {\n    // \"# and \"##\n    f: func();\n}\n")
            .unwrap();
    let t = &bindgen::generate("rust", &hashes, None).unwrap()[0].text;
    assert!(
        t.contains("pub const WIT: &str = r###\"package a:b;\n"),
        "{t}"
    );
    assert!(a[0].text.contains("pub const WIT: &str = \"// The types"));
    // Doc comments never hold a code fence (a doctest in a library) or a bare CR.
    assert!(a[0]
        .text
        .contains("    /// '''\n    /// not a doctest , a bare CR\n    /// ---\n"));
}

#[test]
fn refusals_say_why() {
    let refuse = |wit: &str, package: Option<&str>| -> String {
        let iface = Interface::parse(wit).unwrap();
        bindgen::generate("rust", &iface, package)
            .unwrap_err()
            .to_string()
    };
    let with_resource = include_str!("../golden/golden.wit");
    let e = refuse(with_resource, None);
    assert!(
        e.contains("rust bindings: resource types are not mapped"),
        "{e}"
    );
    let e = refuse(
        "package a:b; interface i { f: func(t: tuple<u8,u8,u8,u8,u8,u8,u8,u8,u8,u8,u8,u8,u8>); }",
        None,
    );
    assert!(e.contains("a tuple of 13 elements"), "{e}");
    // (WIT itself refuses names that differ only in dashes, `a1` and `a-1`.)
    let e = refuse("package a:b; interface i { record i { x: u8 } }", None);
    assert!(
        e.contains("the interface and types \"i\" and \"i\" both map to the Rust name I"),
        "{e}"
    );
    let e = refuse("package a:b; interface i { f: func(); }", Some("not-ok"));
    assert!(
        e.contains("--package \"not-ok\" is not a plain Rust module name"),
        "{e}"
    );
    let e = refuse("package a:b; interface i { f: func(); }", Some("fn"));
    assert!(e.contains("--package \"fn\""), "{e}");
}

#[test]
fn names_rust_reserves_are_escaped() {
    let iface = Interface::parse(
        "package a:b; interface i { record %option { %self: u8 } record reader { x: u8 } dispatch: func(o: %option) -> reader; variant v { %self, none } flags f { all, empty, x } }",
    )
    .unwrap();
    let t = &bindgen::generate("rust", &iface, None).unwrap()[0].text;
    assert!(t.contains("pub struct Option_ {\n"), "{t}");
    assert!(t.contains("pub self_: u8,"), "{t}");
    assert!(t.contains("pub struct Reader_ {\n"), "{t}");
    assert!(t.contains("pub const ALL_: F = F(1 << 0);"), "{t}");
    assert!(t.contains("pub const EMPTY_: F = F(1 << 1);"), "{t}");
    assert!(t.contains("pub const ALL: F = F(0x7);"), "{t}");
    assert!(t.contains("pub enum V {\n    /// WIT case `self`.\n    Self_,\n    /// WIT case `none`.\n    None,\n}"), "{t}");
    assert!(
        t.contains("fn dispatch_(&self, o: Option_) -> Result<Reader_, ModuleError>;"),
        "{t}"
    );
}
