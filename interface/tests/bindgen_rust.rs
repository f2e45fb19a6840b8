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
    assert_eq!((e.offset, e.reason.as_str()), (0, "variant shape has 3 cases, got discriminant 3"));
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
                        "err {m} {h}00 {m}: malformed typed payload at byte {}: 1 trailing byte",
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
                    // The module side words every failure as the host does: the vector's
                    // own message, exactly.
                    let error = v["error"].as_str().unwrap();
                    let trailing = v["why"].as_str().unwrap().contains("trailing");
                    let want = if trailing {
                        format!("{m}: {error}")
                    } else {
                        format!("{m}: parameter v: {error}")
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
        "err mix 07000000ffffffff mix: parameter s: malformed typed payload at byte 4: string length 4294967295 needs at least 4294967295 bytes, 0 left"
    );
    let _ = writeln!(
        o,
        "err mix 0700000002000000c328 mix: parameter s: malformed typed payload at byte 8: string is not valid UTF-8"
    );
    let _ = writeln!(
        o,
        "err mix 0700000000000000ffffff7f mix: parameter b: malformed typed payload at byte 8: list length 2147483647 needs at least"
    );
    let _ = writeln!(
        o,
        "err mix 070000000000000000000000020000000000000000000000000000000000000000000000 mix: parameter o: malformed typed payload at byte 12: option tag 2"
    );
    let _ = writeln!(o, "ok nothing  ");
    let _ = writeln!(
        o,
        "err nothing 00 nothing: malformed typed payload at byte 0: 1 trailing byte"
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

/// Build the guide's example crate `name` (its WIT in block `wit`, its `src/lib.rs` in block
/// `lib`), clippy `-D warnings`, and run its one test.
fn guide_example(name: &str, wit: &str, lib: &str) {
    let ws = workspace();
    let doc = std::fs::read_to_string(ws.join("docs/MODULES.md")).unwrap();
    let iface = Interface::parse(&doc_block(&doc, wit)).unwrap();
    // `bridgehost bindgen --lang rust NAME.wit -o src` writes src/NAME_wit.rs.
    let files = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(files[0].path, format!("{name}_wit.rs"));
    let dir = ws.join("target/bindgen-rust").join(name);
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\nbridgehost-module-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("plugins/sdk-rust").display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src").join(&files[0].path), &files[0].text).unwrap();
    std::fs::write(dir.join("src/lib.rs"), doc_block(&doc, lib)).unwrap();
    let target = ws.join("target/bindgen-rust/target");
    run(
        &mut cargo(
            &dir,
            &target,
            "clippy",
            &["--all-targets", "--", "-D", "warnings"],
        ),
        &format!("cargo clippy on the guide's {name} module"),
    );
    let out = run(
        &mut cargo(&dir, &target, "test", &[]),
        &format!("cargo test of the guide's {name} module"),
    );
    assert!(out.contains("test result: ok. 1 passed"), "{out}");
}

#[test]
fn the_typed_module_of_the_modules_guide_builds_and_passes_its_test() {
    guide_example("greet", "greet.wit", "src/lib.rs");
}

#[test]
fn the_resource_module_of_the_modules_guide_builds_and_passes_its_test() {
    guide_example("notes", "notes.wit", "notes/src/lib.rs");
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
    // Resources: what docs/TYPED.md says every generator refuses, and Rust name clashes.
    let r = "resource r { constructor(); }";
    let with_r = |rest: &str| format!("package a:b; interface i {{ {r} {rest} }}");
    let e = refuse(&with_r("f: func(x: r);"), None);
    assert!(
        e.contains("rust bindings: function f: parameter x is own<r>: passing ownership into the module is not mapped"),
        "{e}"
    );
    let e = refuse(&with_r("f: func(x: list<borrow<r>>);"), None);
    assert!(
        e.contains("function f: parameter x (list<borrow<r>>) holds a handle inside another type: only a direct borrow<R> parameter is mapped"),
        "{e}"
    );
    let e = refuse(&with_r("f: func(x: option<r>);"), None);
    assert!(e.contains("parameter x (option<r>) holds a handle"), "{e}");
    let e = refuse(&with_r("type rs = list<r>; f: func(x: rs);"), None);
    assert!(e.contains("parameter x (rs) holds a handle"), "{e}");
    let e = refuse(&with_r("record p { c: r } f: func(x: p);"), None);
    assert!(
        e.contains("function f: parameter x (p) holds a handle inside another type"),
        "{e}"
    );
    let e = refuse(&with_r("record p { c: borrow<r> } f: func(x: p);"), None);
    assert!(
        e.contains(
            "type p holds a borrow<R>: a borrowed handle is only mapped as a direct parameter"
        ),
        "{e}"
    );
    let e = refuse(
        &with_r("variant v { c(option<borrow<r>>), none } f: func(x: u8);"),
        None,
    );
    assert!(e.contains("type v holds a borrow<R>"), "{e}");
    let e = refuse(&with_r("record p { c: r } record p-wire { x: u8 }"), None);
    assert!(
        e.contains("\"p-wire\" and \"p\" both map to the Rust name PWire"),
        "{e}"
    );
    let e = refuse(
        &with_r("record counter-resource { x: u8 } resource counter;"),
        None,
    );
    assert!(
        e.contains(
            "\"counter-resource\" and \"counter\" both map to the Rust name CounterResource"
        ),
        "{e}"
    );
    let e = refuse(
        "package a:b; interface i { resource r { constructor(); new: static func() -> r; } }",
        None,
    );
    assert!(
        e.contains(
            "functions \"[constructor]r\" and \"[static]r.new\" both map to the Rust name r_new"
        ),
        "{e}"
    );
    let e = refuse(&with_r("r-new: func();"), None);
    assert!(
        e.contains("functions \"[constructor]r\" and \"r-new\" both map to the Rust name r_new"),
        "{e}"
    );
    let e = refuse(
        "package a:b; interface i { resource r { constructor(); } } interface events { use i.{r}; e: func(x: r); }",
        None,
    );
    assert!(
        e.contains("rust bindings: event e: resource handles in event payloads are not mapped"),
        "{e}"
    );
    let e = refuse(
        "package a:b; interface i { resource r { constructor(); } record p { c: option<r> } } interface events { use i.{p}; e: func(x: list<p>); }",
        None,
    );
    assert!(
        e.contains("event e: resource handles in event payloads are not mapped"),
        "{e}"
    );
    // A typed emitter is `emit_<topic>`: a function of that name clashes.
    let e = refuse(
        "package a:b; interface i { emit-tick: func(); } interface events { tick: func(seq: u64); }",
        None,
    );
    assert!(
        e.contains(
            "functions \"emit-tick\" and \"event tick\" both map to the Rust name emit_tick"
        ),
        "{e}"
    );
    // (A borrow<R> in a result is refused by the WIT parser itself.)
    let e = refuse(&with_r("tables: func();"), None);
    assert!(
        e.contains(
            "functions \"tables\" and \"the trait's tables()\" both map to the Rust name tables"
        ),
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

// ---------------------------------------------------------------------------------------------
// Resources: plugins/c/counter.wit implemented in Rust on generated bindings, driven through the
// host (bridgehost core) with typed wire values, in-process and isolated.

/// The committed golden file (and the bindings the counter module is built on) must be exactly
/// what the generator produces from plugins/c/counter.wit. `BRIDGEHOST_BLESS=1` rewrites it.
fn counter_bindings() -> String {
    let ws = workspace();
    let wit = std::fs::read_to_string(ws.join("plugins/c/counter.wit")).unwrap();
    let iface = Interface::parse(&wit).unwrap();
    let files = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "counter_wit.rs");
    let path = ws.join("interface/tests/fixtures/rust/counter_wit.rs");
    if std::env::var_os("BRIDGEHOST_BLESS").is_some() {
        std::fs::write(&path, &files[0].text).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (BRIDGEHOST_BLESS=1 generates it)", path.display()));
    assert!(
        committed == files[0].text,
        "{} is not what the generator produces from counter.wit: run `BRIDGEHOST_BLESS=1 cargo \
         test -p bridgehost-interface --test bindgen_rust` and review the diff",
        path.display()
    );
    committed
}

#[test]
fn counter_bindings_are_the_committed_golden_file() {
    let text = counter_bindings();
    // The shapes the author implements.
    for want in [
        "pub trait Counter: Sized {",
        "    type Counter: CounterResource<Self>;",
        "    fn tables(&self) -> &Tables<Self>;",
        "    fn sum(&self, a: &Self::Counter, b: &Self::Counter) -> Result<u64, ModuleError>;",
        "pub trait CounterResource<M: Counter>: Sized + Send + Sync + 'static {",
        "    fn new(module: &M, start: u64) -> Result<Self, ModuleError>;",
        "    fn add(&self, module: &M, n: u64) -> Result<Result<u64, String>, ModuleError>;",
        "    fn fork(&self, module: &M, delta: u64) -> Result<Self, ModuleError>;",
        "    fn named(module: &M, name: &str, start: u64) -> Result<Result<Self, String>, ModuleError>;",
        "    fn many(module: &M, starts: Vec<u64>) -> Result<Vec<Self>, ModuleError>;",
        "    pub counter: bridgehost_module_sdk::resource::Table<M::Counter>,",
        "pub fn counter_drop<M: Counter>(",
        "        \"[resource-drop]counter\" => counter_drop(module, input, out),",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Build a module crate on the counter bindings (clippy `-D warnings`, then `cargo build`); the
/// cdylib's path.
fn build_counter_crate(name: &str, lib: &str) -> PathBuf {
    build_crate(name, "counter_wit.rs", &counter_bindings(), lib)
}

/// Build a module crate (`src/lib.rs` = `lib`, `src/<file>` = `bindings`) with clippy `-D
/// warnings`, then `cargo build`; the cdylib's path.
fn build_crate(name: &str, file: &str, bindings: &str, lib: &str) -> PathBuf {
    let ws = workspace();
    let dir = ws.join("target/bindgen-rust").join(name);
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nbridgehost-module-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("plugins/sdk-rust").display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src").join(file), bindings).unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    let target = ws.join("target/bindgen-rust/target");
    run(
        &mut cargo(
            &dir,
            &target,
            "clippy",
            &["--all-targets", "--", "-D", "warnings"],
        ),
        &format!("cargo clippy on {name}"),
    );
    run(
        &mut cargo(&dir, &target, "build", &[]),
        &format!("cargo build of {name}"),
    );
    let so = target.join(format!("debug/lib{}.so", name.replace('-', "_")));
    assert!(so.is_file(), "{} was not built", so.display());
    so
}

fn counter_lib() -> String {
    std::fs::read_to_string(workspace().join("interface/tests/fixtures/rust/counter_lib.rs"))
        .unwrap()
}

/// The counter module (interface/tests/fixtures/rust/counter_lib.rs), built once per run.
fn counter_module() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| build_counter_crate("counter-rs", &counter_lib()))
        .clone()
}

/// Without `stateful: true` the host refuses the module, in both modes: its resources live in
/// the instance.
#[test]
fn a_resource_module_that_is_not_stateful_is_refused() {
    let lib = counter_lib();
    assert!(lib.contains("    stateful: true,\n"));
    let so = build_counter_crate(
        "counter-rs-stateless",
        &lib.replace("    stateful: true,\n", ""),
    );
    let host = host();
    for isolation in [Isolation::InProcess, Isolation::Process] {
        match host.open(so.to_str().unwrap(), options(isolation)) {
            Err(HostError::AbiMismatch { reason, .. }) => assert!(
                reason.contains(
                    "resource \"counter\" lives in the module instance: the module must declare itself stateful (BH_MODULE_STATEFUL in C, `stateful: true` in the Rust SDK's export_module!)"
                ),
                "{reason}"
            ),
            Err(e) => panic!("{isolation:?}: {e}"),
            Ok(_) => panic!("{isolation:?}: a stateless module with resources was opened"),
        }
    }
}

use bridgehost::{Error as HostError, Isolation, Module, ModuleOptions};
use bridgehost_interface::wire::{self, Value};

/// A typed call through the host: the arguments encoded and the result decoded as the module's
/// interface says.
struct Typed<'a> {
    m: &'a Module,
    iface: Interface,
}

impl Typed<'_> {
    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, HostError> {
        let f = self
            .iface
            .function(name)
            .unwrap_or_else(|| panic!("no function {name}"));
        let input = wire::encode_params(&self.iface, f, args).expect("arguments match");
        let out = self.m.method(name)?.call(&input)?;
        Ok(wire::decode_result(&self.iface, f, &out).expect("the output decodes"))
    }

    fn raw(&self, name: &str, input: &[u8]) -> Result<Vec<u8>, HostError> {
        self.m.method(name)?.call(input)
    }

    fn new_counter(&self, start: u64) -> u64 {
        handle(
            self.call("[constructor]counter", &[Value::U64(start)])
                .unwrap(),
        )
    }

    fn get(&self, h: u64) -> Result<u64, HostError> {
        self.call("[method]counter.get", &[Value::Handle(h)])
            .map(|v| match v {
                Some(Value::U64(x)) => x,
                other => panic!("get returned {other:?}"),
            })
    }

    fn drop_counter(&self, h: u64) -> Result<(), HostError> {
        self.raw("[resource-drop]counter", &h.to_le_bytes())
            .map(|out| assert!(out.is_empty()))
    }

    fn u64_of(&self, name: &str) -> u64 {
        match self.call(name, &[]).unwrap() {
            Some(Value::U64(x)) => x,
            Some(Value::U32(x)) => u64::from(x),
            other => panic!("{name} returned {other:?}"),
        }
    }
}

fn handle(v: Option<Value>) -> u64 {
    match v {
        Some(Value::Handle(h)) => h,
        other => panic!("expected a handle, got {other:?}"),
    }
}

fn expect_stale(r: Result<impl std::fmt::Debug, HostError>, h: u64) {
    match r {
        Err(HostError::Module { code, message }) => {
            assert_eq!(code, 22, "{message}");
            assert_eq!(
                message,
                format!("stale handle: no live counter has handle {h:#018x}")
            );
        }
        other => panic!("handle {h:#x}: expected a stale handle error, got {other:?}"),
    }
}

fn host() -> bridgehost::Host {
    bridgehost::Host::new().expect("host")
}

fn options(isolation: Isolation) -> ModuleOptions {
    ModuleOptions {
        isolation,
        ..ModuleOptions::default()
    }
}

fn open(host: &bridgehost::Host, isolation: Isolation) -> Module {
    let so = counter_module();
    host.open(so.to_str().unwrap(), options(isolation))
        .unwrap_or_else(|e| panic!("open {} ({isolation:?}): {e}", so.display()))
}

fn typed(m: &Module) -> Typed<'_> {
    let text = m
        .interface()
        .expect("the module has its interface")
        .source()
        .to_string();
    Typed {
        m,
        iface: Interface::parse(&text).unwrap(),
    }
}

/// Constructor, methods, statics, own<counter> in results (direct, in a result, in a list),
/// borrow parameters, result errors, stale handles after a drop, a double drop, unknown
/// handles, hostile input, and handles of another instance.
fn resources_round_trip(isolation: Isolation) {
    let host = host();
    let m = open(&host, isolation);
    assert!(
        m.info().stateful,
        "the SDK's `stateful: true` declares BH_MODULE_STATEFUL"
    );
    let t = typed(&m);
    assert_eq!(t.u64_of("live"), 0);

    let c = t.new_counter(5);
    assert_ne!(c & 0xffff_ffff, 0, "the low half is slot + 1");
    assert_eq!(t.get(c).unwrap(), 5);
    let add = |h: u64, n: u64| t.call("[method]counter.add", &[Value::Handle(h), Value::U64(n)]);
    assert_eq!(
        add(c, 3).unwrap(),
        Some(Value::Result(Ok(Some(Box::new(Value::U64(8))))))
    );
    match add(c, u64::MAX).unwrap() {
        Some(Value::Result(Err(Some(e)))) => {
            assert_eq!(
                *e,
                Value::String(format!("overflow: 8 + {} does not fit in u64", u64::MAX))
            )
        }
        other => panic!("add overflow: {other:?}"),
    }
    assert_eq!(t.get(c).unwrap(), 8, "a failed add leaves the value");
    assert_eq!(
        t.call("[method]counter.name", &[Value::Handle(c)]).unwrap(),
        Some(Value::Option(None))
    );

    let f = handle(
        t.call("[method]counter.fork", &[Value::Handle(c), Value::U64(10)])
            .unwrap(),
    );
    assert_ne!(f, c);
    assert_eq!(t.get(f).unwrap(), 18);

    let named = t
        .call(
            "[static]counter.named",
            &[Value::String("x".into()), Value::U64(7)],
        )
        .unwrap();
    let n = match named {
        Some(Value::Result(Ok(Some(h)))) => handle(Some(*h)),
        other => panic!("named: {other:?}"),
    };
    assert_eq!(
        t.call("[method]counter.name", &[Value::Handle(n)]).unwrap(),
        Some(Value::Option(Some(Box::new(Value::String("x".into())))))
    );
    match t
        .call(
            "[static]counter.named",
            &[Value::String(String::new()), Value::U64(1)],
        )
        .unwrap()
    {
        Some(Value::Result(Err(Some(e)))) => assert!(matches!(*e, Value::String(_))),
        other => panic!("named(\"\"): {other:?}"),
    }

    let many = match t
        .call(
            "[static]counter.many",
            &[Value::List(vec![
                Value::U64(1),
                Value::U64(2),
                Value::U64(3),
            ])],
        )
        .unwrap()
    {
        Some(Value::List(v)) => v.into_iter().map(|h| handle(Some(h))).collect::<Vec<_>>(),
        other => panic!("many: {other:?}"),
    };
    assert_eq!(many.len(), 3);
    for (k, h) in many.iter().enumerate() {
        assert_eq!(t.get(*h).unwrap(), k as u64 + 1);
    }
    let mut all = vec![c, f, n];
    all.extend(&many);
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), all.len(), "{all:x?}");
    assert_eq!(
        t.call("sum", &[Value::Handle(c), Value::Handle(f)])
            .unwrap(),
        Some(Value::U64(26))
    );
    assert_eq!(
        t.call("sum", &[Value::Handle(c), Value::Handle(c)])
            .unwrap(),
        Some(Value::U64(16)),
        "one object borrowed twice"
    );
    assert_eq!(t.u64_of("live"), 6);

    // Drop: the handle is stale from then on, for methods, borrows and a second drop.
    let destroyed = t.u64_of("destroyed-total");
    t.drop_counter(c).unwrap();
    assert_eq!(t.u64_of("live"), 5);
    assert_eq!(t.u64_of("destroyed-total"), destroyed + 1);
    expect_stale(t.get(c), c);
    expect_stale(t.call("sum", &[Value::Handle(f), Value::Handle(c)]), c);
    expect_stale(t.drop_counter(c), c);
    assert_eq!(t.u64_of("live"), 5, "a double drop drops nothing");
    assert_eq!(t.u64_of("destroyed-total"), destroyed + 1);
    // The freed slot is reused with the next generation; the old handle stays stale.
    let c2 = t.new_counter(1);
    assert_eq!(c2 & 0xffff_ffff, c & 0xffff_ffff, "slot reused");
    assert_eq!(
        c2 >> 32,
        (c >> 32).wrapping_add(1) & 0xffff_ffff,
        "next generation"
    );
    expect_stale(t.get(c), c);
    assert_eq!(t.get(c2).unwrap(), 1);
    // Never issued: 0, a slot beyond the table, a live slot with another generation.
    for h in [0, (c2 & !0xffff_ffff) | 0xffff_fff0, c2 ^ (1 << 40)] {
        expect_stale(t.get(h), h);
        expect_stale(t.drop_counter(h), h);
    }
    // Hostile input: a short handle, trailing bytes.
    match t.raw("[resource-drop]counter", &[1, 2, 3]) {
        Err(HostError::Module { code: 22, message }) => assert!(
            message.starts_with("[resource-drop]counter: parameter handle: malformed typed payload at byte 0: truncated"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    let mut long = c2.to_le_bytes().to_vec();
    long.push(0);
    match t.raw("[method]counter.get", &long) {
        Err(HostError::Module { code: 22, message }) => assert_eq!(
            message,
            "[method]counter.get: malformed typed payload at byte 8: 1 trailing byte"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.get(c2).unwrap(), 1);

    // Another instance has its own table with its own random first generation: this
    // instance's handles are stale there.
    let m2 = open(&host, isolation);
    let t2 = typed(&m2);
    let other = t2.new_counter(9);
    assert_ne!(
        other >> 32,
        c2 >> 32,
        "random first generation per instance"
    );
    for h in &all[1..] {
        expect_stale(t2.get(*h), *h);
    }
    assert_eq!(t2.u64_of("live"), 1);
    m2.close();
    m.close();
}

#[test]
fn resources_in_process() {
    resources_round_trip(Isolation::InProcess);
}

#[test]
fn resources_isolated() {
    resources_round_trip(Isolation::Process);
}

/// A drop while a call borrows the object (slow-get on another thread). In-process the calls
/// run concurrently: the drop succeeds and the handle is stale at once (`live()` counts handles
/// not dropped, as plugins/c/counter.c does), the object is destroyed only when slow-get
/// returns (`destroyed-total`), and slow-get still returns the value. Isolated, the stateful
/// module's one worker runs one call at a time (docs/ISOLATION.md, "Pool"): the drop waits for
/// slow-get, which returns the value, and then destroys the object.
fn drop_during_a_call(isolation: Isolation) {
    let host = host();
    let m = open(&host, isolation);
    let t = typed(&m);
    let h = t.new_counter(42);
    let destroyed = t.u64_of("destroyed-total");
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        let slow = s.spawn(|| {
            t.call(
                "[method]counter.slow-get",
                &[Value::Handle(h), Value::U32(1500)],
            )
        });
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert!(!slow.is_finished(), "slow-get is still running");
        t.drop_counter(h).unwrap();
        if isolation == Isolation::InProcess {
            expect_stale(t.get(h), h);
            assert_eq!(t.u64_of("live"), 0, "the handle is dropped");
            assert_eq!(
                t.u64_of("destroyed-total"),
                destroyed,
                "the object is still borrowed by slow-get"
            );
            assert!(
                !slow.is_finished(),
                "the checks ran while slow-get was running"
            );
        } else {
            // One worker runs one call at a time: the drop was served after slow-get's 1.5 s
            // (whether the slow thread has taken its answer yet is a matter of scheduling).
            assert!(
                started.elapsed() >= std::time::Duration::from_millis(1500),
                "the worker ran the drop after slow-get"
            );
        }
        assert_eq!(slow.join().unwrap().unwrap(), Some(Value::U64(42)));
    });
    expect_stale(t.get(h), h);
    assert_eq!(t.u64_of("live"), 0);
    assert_eq!(
        t.u64_of("destroyed-total"),
        destroyed + 1,
        "destroyed when slow-get returned"
    );
    m.close();
}

#[test]
fn drop_during_a_call_in_process() {
    drop_during_a_call(Isolation::InProcess);
}

#[test]
fn drop_during_a_call_isolated() {
    drop_during_a_call(Isolation::Process);
}

/// Closing the instance destroys every live object. In-process the process-wide count shows
/// it (the library stays loaded); isolated, the next instance starts empty and the old handles
/// are stale.
#[test]
fn closing_the_instance_destroys_live_objects() {
    let host = host();
    let m = open(&host, Isolation::InProcess);
    let t = typed(&m);
    let handles: Vec<u64> = (0..4).map(|k| t.new_counter(k)).collect();
    t.drop_counter(handles[0]).unwrap();
    let before = t.u64_of("destroyed-total");
    assert_eq!(t.u64_of("live"), 3);
    m.close();
    let m = open(&host, Isolation::InProcess);
    let t = typed(&m);
    assert_eq!(t.u64_of("destroyed-total"), before + 3);
    assert_eq!(t.u64_of("live"), 0);
    for h in &handles {
        expect_stale(t.get(*h), *h);
    }
    m.close();

    let m = open(&host, Isolation::Process);
    let t = typed(&m);
    let handles: Vec<u64> = (0..3).map(|k| t.new_counter(k)).collect();
    m.close();
    let m = open(&host, Isolation::Process);
    let t = typed(&m);
    assert_eq!(t.u64_of("live"), 0);
    for h in &handles {
        expect_stale(t.get(*h), *h);
    }
    m.close();
}

/// An isolated worker restart (a call past its deadline): the next call fails once with
/// StateLost, then the handles the caller held are stale.
#[test]
fn a_worker_restart_makes_handles_stale() {
    let host = host();
    let so = counter_module();
    let m = host
        .open(
            so.to_str().unwrap(),
            ModuleOptions {
                call_timeout: Some(std::time::Duration::from_millis(500)),
                ..options(Isolation::Process)
            },
        )
        .unwrap();
    let t = typed(&m);
    let h = t.new_counter(3);
    match t.call(
        "[method]counter.slow-get",
        &[Value::Handle(h), Value::U32(5000)],
    ) {
        Err(HostError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    match t.get(h) {
        Err(HostError::StateLost(_)) => {}
        other => panic!("expected StateLost, got {other:?}"),
    }
    expect_stale(t.get(h), h);
    assert_eq!(t.u64_of("live"), 0);
    m.close();
}

/// Every place a handle is mapped (interface/tests/fixtures/rust/shapes.wit: own<R> directly and
/// inside option, result, list, tuple and an alias, from constructors, methods, statics and plain
/// functions; borrows of the same and another resource; two resources): the generated module
/// compiles warning-free (clippy `-D warnings`) and its own test drives it through the SDK's test
/// host, including a result too large for the output (its objects are dropped again) and the
/// instance's destroy dropping every live object.
#[test]
fn every_handle_shape_compiles_and_runs() {
    let ws = workspace();
    let fixtures = ws.join("interface/tests/fixtures/rust");
    let iface =
        Interface::parse(&std::fs::read_to_string(fixtures.join("shapes.wit")).unwrap()).unwrap();
    let files = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(files[0].path, "shapes_wit.rs");
    let text = &files[0].text;
    for want in [
        "    fn tag(&self, module: &M, module_: &M::Tag, n: u32) -> Result<M::Tag, ModuleError>;",
        "    fn pair(module: &M, a: &str, b: &str) -> Result<(Self, Self, u32), ModuleError>;",
        "    fn refuse(&self, module: &M, n: &M::Node) -> Result<Result<(), M::Node>, ModuleError>;",
        "    fn make_nodes(&self, n: u32) -> Result<Vec<Self::Node>, ModuleError>;",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(
        !text.contains("pub type Nodes"),
        "an alias holding handles is spelled out"
    );
    let dir = ws.join("target/bindgen-rust/shapes");
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\nbridgehost-module-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("plugins/sdk-rust").display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/shapes_wit.rs"), text).unwrap();
    std::fs::copy(fixtures.join("shapes_lib.rs"), dir.join("src/lib.rs")).unwrap();
    let target = ws.join("target/bindgen-rust/target");
    run(
        &mut cargo(
            &dir,
            &target,
            "clippy",
            &["--all-targets", "--", "-D", "warnings"],
        ),
        "cargo clippy on the shapes module",
    );
    let out = run(
        &mut cargo(&dir, &target, "test", &[]),
        "cargo test of the shapes module",
    );
    assert!(out.contains("test result: ok. 1 passed"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Typed events: interface/tests/fixtures/rust/events.wit's module (fixtures/rust/events_lib.rs)
// emits every event through the generated `emit_<topic>` functions; the host delivers them and
// core's `decode_event` decodes them.

fn events_wit() -> String {
    std::fs::read_to_string(workspace().join("interface/tests/fixtures/rust/events.wit")).unwrap()
}

fn events_bindings() -> String {
    let iface = Interface::parse(&events_wit()).unwrap();
    let files = bindgen::generate("rust", &iface, None).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "emitter_wit.rs");
    files[0].text.clone()
}

/// The events module, built once per run (clippy `-D warnings` on the generated code too).
fn events_module() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let lib = std::fs::read_to_string(
                workspace().join("interface/tests/fixtures/rust/events_lib.rs"),
            )
            .unwrap();
            build_crate("events-rs", "emitter_wit.rs", &events_bindings(), &lib)
        })
        .clone()
}

#[test]
fn event_emitters_have_the_documented_signatures() {
    let text = events_bindings();
    for want in [
        "pub fn emit_ping(host: &bridgehost_module_sdk::Host) -> Result<(), bridgehost_module_sdk::EmitError> {\n    host.emit(\"ping\", &[])\n}",
        "pub fn emit_tick(host: &bridgehost_module_sdk::Host, payload: &u64) -> Result<(), bridgehost_module_sdk::EmitError> {\n    host.emit_with(\"tick\", |w| w.write(payload))\n}",
        "pub fn emit_note(host: &bridgehost_module_sdk::Host, payload: &str)",
        "pub fn emit_moved(host: &bridgehost_module_sdk::Host, payload: &Point)",
        "pub fn emit_path(host: &bridgehost_module_sdk::Host, payload: &[Point])",
        // `bytes` is an alias of list<u8>.
        "pub fn emit_blob(host: &bridgehost_module_sdk::Host, payload: &[u8])",
        "pub fn emit_shaped(host: &bridgehost_module_sdk::Host, payload: &Shape)",
        "pub fn emit_maybe(host: &bridgehost_module_sdk::Host, payload: &Option<u32>)",
        "pub fn emit_granted(host: &bridgehost_module_sdk::Host, payload: &Perms)",
        "pub fn emit_pair(host: &bridgehost_module_sdk::Host, payload: &(i8, char))",
        // Flags with bits the type does not define are refused, not encoded.
        "        if self.0 & !0x7 != 0 {\n            return Err(WriteError::Invalid);\n        }",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    // An interface without events gets no emitter (counter.wit declares one since its
    // slow-get-started signal).
    let quiet = Interface::parse("package a:b;\ninterface i {\n    f: func(x: u64);\n}\n").unwrap();
    let quiet = &bindgen::generate("rust", &quiet, None).unwrap()[0].text;
    assert!(!quiet.contains("pub fn emit_"), "{quiet}");
    assert!(counter_bindings().contains(
        "pub fn emit_slow_get_started(host: &bridgehost_module_sdk::Host, payload: &u64)"
    ));
}

/// The events `fire` emits, in order, with their expected values (as the interface's `wire`
/// models them).
fn expected_events() -> Vec<(&'static str, Option<Value>)> {
    let f = Value::F64;
    let s = |x: &str| Value::String(x.into());
    let a = Value::Record(vec![f(1.5), f(-2.0), s("a")]);
    let b = Value::Record(vec![f(f64::NAN), f(0.0), s("")]);
    vec![
        ("ping", None),
        ("tick", Some(Value::U64(u64::MAX))),
        ("tick", Some(Value::U64(7))),
        ("note", Some(s("grüße \u{1F980}"))),
        ("note", Some(s(""))),
        ("moved", Some(a.clone())),
        ("path", Some(Value::List(vec![a, b]))),
        ("path", Some(Value::List(vec![]))),
        ("blob", Some(Value::Bytes(vec![0, 255, 1]))),
        (
            "shaped",
            Some(Value::Variant {
                case: 1,
                payload: Some(Box::new(Value::Tuple(vec![f(3.0), f(4.0)]))),
            }),
        ),
        (
            "shaped",
            Some(Value::Variant {
                case: 2,
                payload: None,
            }),
        ),
        ("maybe", Some(Value::Option(Some(Box::new(Value::U32(42)))))),
        ("maybe", Some(Value::Option(None))),
        ("granted", Some(Value::Flags(0b101))),
        (
            "pair",
            Some(Value::Tuple(vec![Value::S8(-128), Value::Char('é')])),
        ),
    ]
}

type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

fn wait_for(got: &Received, n: usize) -> Vec<(String, Vec<u8>)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = got.lock().unwrap().clone();
        if v.len() >= n || std::time::Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn typed_events(isolation: Isolation) {
    let so = events_module();
    let host = host();
    let m = host
        .open(so.to_str().unwrap(), options(isolation))
        .unwrap_or_else(|e| panic!("open {} ({isolation:?}): {e}", so.display()));
    let t = typed(&m);
    let iface = t.iface.clone();
    let got: Received = Default::default();
    let sink = std::sync::Arc::clone(&got);
    let _sub = m
        .subscribe(
            "*",
            Box::new(move |e| {
                sink.lock()
                    .unwrap()
                    .push((e.topic.to_string(), e.data.to_vec()))
            }),
        )
        .unwrap();
    let want = expected_events();
    let n = want.len();
    // From the calling thread, then from a thread the module starts.
    t.call("fire", &[Value::Bool(false)]).unwrap();
    wait_for(&got, n);
    t.call("fire", &[Value::Bool(true)]).unwrap();
    wait_for(&got, 2 * n);
    // Flags with an undefined bit: refused by the emitter (BH_API_INVALID), nothing emitted.
    assert_eq!(
        t.call("bad-flags", &[]).unwrap(),
        Some(Value::S32(-1)),
        "{isolation:?}"
    );
    t.call("fire", &[Value::Bool(false)]).unwrap();
    let events = wait_for(&got, 3 * n);
    // Nothing more arrives (in particular not the refused `granted`).
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(got.lock().unwrap().len(), 3 * n, "{isolation:?}");
    for (k, ((topic, data), (want_topic, want_value))) in
        events.iter().zip(want.iter().cycle()).enumerate()
    {
        assert_eq!(topic, want_topic, "{isolation:?}: event {k}");
        let index = bridgehost::interface::event_index(&iface, topic).unwrap();
        // The bytes are the golden encoding of the value ...
        let mut golden = Vec::new();
        if let Some(ty) = &iface.events[index].payload {
            wire::encode(&iface, ty, want_value.as_ref().unwrap(), &mut golden).unwrap();
        }
        assert_eq!(data, &golden, "{isolation:?}: event {k} ({topic})");
        // ... and the core decodes them to it (Debug: NaN compares equal there).
        let decoded = bridgehost::interface::decode_event("events-rs", &iface, index, data)
            .unwrap_or_else(|e| panic!("{isolation:?}: event {k} ({topic}): {e}"));
        assert_eq!(
            format!("{decoded:?}"),
            format!("{want_value:?}"),
            "{isolation:?}: event {k} ({topic})"
        );
    }
    // The NaN went out as the canonical NaN.
    let path = &events[6].1;
    assert_eq!(
        path[4 + 8 + 8 + 4 + 1..4 + 8 + 8 + 4 + 1 + 8],
        wire::CANONICAL_NAN_F64.to_le_bytes()
    );
    m.close();
}

#[test]
fn typed_events_in_process() {
    typed_events(Isolation::InProcess);
}

#[test]
fn typed_events_isolated() {
    typed_events(Isolation::Process);
}
