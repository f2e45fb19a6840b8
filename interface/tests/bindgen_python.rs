//! The Python generator (`bridgehost bindgen --lang python`): the generated module for std and
//! for the golden interface (every type but resources) type-checks with `mypy --strict` against
//! the installed `bridgehost` package, and what the generator refuses it refuses with a reason.
//!
//! The mypy check needs a Python with `bridgehost` and `mypy` installed: `BRIDGEHOST_PYTHON`, else
//! the project's `.venv` or `target/py-test-venv`. Without one the check is skipped with a note
//! (the Python suite, python/tests/test_typed_bindgen.py, runs it too).

use bridgehost_interface::bindgen;
use bridgehost_interface::Interface;
use std::path::PathBuf;
use std::process::Command;

/// golden.wit without its resource (not mapped by the Python generator yet).
fn golden_without_resource() -> String {
    let wit = include_str!("../golden/golden.wit");
    let resource = "    resource blob {\n        constructor();\n    }\n";
    assert!(
        wit.contains(resource),
        "golden.wit's resource changed: update this test"
    );
    wit.replace(resource, "")
}

fn python_with_mypy() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("BRIDGEHOST_PYTHON") {
        candidates.push(p.into());
    }
    candidates.push(root.join(".venv/bin/python"));
    candidates.push(root.join("target/py-test-venv/bin/python"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import bridgehost.typed, mypy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

fn generate(wit: &str, module: &str) -> String {
    let iface = Interface::parse(wit).unwrap();
    let files = bindgen::generate("python", &iface, Some(module)).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, format!("{module}.py"));
    files[0].text.clone()
}

#[test]
fn generated_modules_pass_mypy_strict() {
    let dir = std::env::temp_dir().join(format!("bh-bindgen-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let std_py = generate(include_str!("../../plugins/std/std.wit"), "std_bindings");
    let golden_py = generate(&golden_without_resource(), "golden_bindings");
    assert!(std_py.contains("class Summary:"), "{std_py}");
    assert!(
        std_py.contains("    def add(self, a: int, b: int) -> int:"),
        "{std_py}"
    );
    assert!(
        std_py
            .contains("    async def stats_async(self, values: List[float]) -> Optional[Summary]:"),
        "{std_py}"
    );
    assert!(std_py.contains("module.check_binding(WIT)"), "{std_py}");
    // Functions over every kind of type, results raised as errors, parameters named like the
    // generated code's locals.
    let rich = generate(
        "package t:rich; interface rich {
            record point { x: f64, y: f64, label: option<string> }
            variant shape { circle(f64), poly(list<point>), empty }
            enum color { red, dark-green }
            flags perms { read, write, exec }
            type points = list<point>;
            variant failure { not-found(string), denied(perms), other }
            move: func(p: point, by: tuple<f64, f64>) -> point;
            area: func(s: shape) -> result<f64, failure>;
            paint: func(out: list<shape>, c: option<color>, r: perms, e: option<option<u8>>) -> result<_, string>;
            count: func(ps: points) -> result<u64>;
            pick: func(xs: list<tuple<color, bool>>) -> result<option<color>, failure>;
            both: func(x: result<point, color>) -> tuple<result<u8>, list<u8>, char>;
            deep: func(x: list<tuple<option<option<color>>, result<shape, perms>>>, y: list<result<_, color>>) -> result<_, shape>;
        }",
        "rich_bindings",
    );
    // Arguments the generated code converts are checked on the way (TypeError naming the
    // parameter); the others go to the view as they are.
    assert!(rich.contains("_arg(\"x\", lambda "), "{rich}");
    assert!(rich.contains("self._f_move.call(_arg(\"p\", "), "{rich}");
    assert!(std_py.contains("self._f_add.call(a, b)"), "{std_py}");
    std::fs::write(dir.join("rich_bindings.py"), &rich).unwrap();
    std::fs::write(dir.join("std_bindings.py"), &std_py).unwrap();
    std::fs::write(dir.join("golden_bindings.py"), &golden_py).unwrap();
    let Some(py) = python_with_mypy() else {
        eprintln!("note: no Python with bridgehost and mypy found; mypy --strict not run here");
        return;
    };
    let out = Command::new(&py)
        .current_dir(&dir)
        .args([
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "std_bindings.py",
            "golden_bindings.py",
            "rich_bindings.py",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mypy --strict failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&py)
        .current_dir(&dir)
        .args(["-c", "import std_bindings, golden_bindings, rich_bindings"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generation_is_deterministic() {
    let iface = Interface::parse(&golden_without_resource()).unwrap();
    let a = bindgen::generate("python", &iface, None).unwrap();
    let b = bindgen::generate("python", &iface, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].path, "golden.py");
}

#[test]
fn refusals_say_why() {
    let with_resource = Interface::parse(include_str!("../golden/golden.wit")).unwrap();
    let e = bindgen::generate("python", &with_resource, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("resource types are not mapped by the Python generator"),
        "{e}"
    );
    let clash = "package t:t; interface t { add: func(); add-async: func(); }";
    let e = bindgen::generate("python", &Interface::parse(clash).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("add_async"), "{e}");
    let t = Interface::parse("package t:t; interface t { f: func(); }").unwrap();
    let e = bindgen::generate("python", &t, Some("a.b"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("module name \"a.b\""), "{e}");
    // A binding named like a module it imports would shadow it (found by a docs-only client).
    for shadow in ["bridgehost", "dataclasses", "enum", "typing"] {
        let e = bindgen::generate("python", &t, Some(shadow))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a module the binding imports"), "{shadow}: {e}");
    }
}

#[test]
fn names_that_python_reserves_are_escaped() {
    let wit = "package t:t; interface t {
        record class { %from: u32, to-end: bool }
        enum kind { %if, to-end }
        flags perms { read, write-all }
        %import: func(%record: class, lambda: kind, p: perms) -> kind;
    }";
    let f = &bindgen::generate("python", &Interface::parse(wit).unwrap(), None).unwrap()[0];
    assert!(f.text.contains("class Class:\n"), "{}", f.text);
    assert!(
        f.text.contains("    from_: int\n    to_end: bool\n"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("    IF = \"if\"\n    TO_END = \"to-end\"\n"),
        "{}",
        f.text
    );
    assert!(
        f.text.contains("    READ = 1\n    WRITE_ALL = 2\n"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("    def import_(self, record: Class, lambda_: Kind, p: Perms) -> Kind:"),
        "{}",
        f.text
    );
}
