//! The Python generator (`bridgehost bindgen --lang python`): the generated module for std, for
//! the golden interface and for the resource test module (counter) type-checks with
//! `mypy --strict` against the installed `bridgehost` package; the counter bindings the Python
//! tests run (python/tests/counter_bindings.py) are exactly what the generator produces today (run
//! with `BRIDGEHOST_BLESS=1` to rewrite them after a deliberate change); and what the generator
//! refuses it refuses with a reason.
//!
//! The mypy check needs a Python with `bridgehost` and `mypy` installed: `BRIDGEHOST_PYTHON`, else
//! the project's `.venv` or `target/py-test-venv`. Without one the check is skipped with a note
//! (the Python suite, python/tests/test_typed_bindgen.py, runs it too).

use bridgehost_interface::bindgen;
use bridgehost_interface::Interface;
use std::path::PathBuf;
use std::process::Command;

const COUNTER_WIT: &str = include_str!("../../plugins/c/counter.wit");

fn counter_bindings_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python/tests/counter_bindings.py")
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

/// The names a generated module defines at top level without a leading `_` (classes, functions,
/// assignments: each such statement starts a line), triple-quoted strings skipped.
fn defined_public_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_string = false;
    for line in text.lines() {
        let was_in_string = in_string;
        if line.matches("\"\"\"").count() % 2 == 1 {
            in_string = !in_string;
        }
        if was_in_string || line.starts_with(' ') || line.starts_with('"') {
            continue;
        }
        let rest = line
            .strip_prefix("class ")
            .or_else(|| line.strip_prefix("def "))
            .unwrap_or(line);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = rest[name.len()..].trim_start();
        let defines = rest.len() < line.len() || after.starts_with('=') || after.starts_with(':');
        if !name.is_empty() && !name.starts_with('_') && defines {
            names.push(name);
        }
    }
    names
}

/// The names listed in the module's `__all__`.
fn all_names(text: &str) -> Vec<String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("__all__ = ["))
        .unwrap_or_else(|| panic!("no __all__:\n{text}"));
    line.trim_end_matches(']')
        .split(", ")
        .map(|n| n.trim_matches('"').to_string())
        .collect()
}

/// `__all__` lists every public name the module defines (variant case classes too: found by a
/// docs-only client, `from binding import *` lost `XmlEventStart`), each once, and nothing else.
fn assert_all_is_complete(text: &str) {
    let mut all = all_names(text);
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a name twice in __all__:\n{text}");
    let mut defined = defined_public_names(text);
    defined.sort();
    defined.dedup();
    assert_eq!(
        all, defined,
        "__all__ (left) is not the public names (right):\n{text}"
    );
}

#[test]
fn generated_modules_pass_mypy_strict() {
    let dir = std::env::temp_dir().join(format!("bh-bindgen-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let std_py = generate(include_str!("../../plugins/std/std.wit"), "std_bindings");
    let golden_py = generate(include_str!("../golden/golden.wit"), "golden_bindings");
    let counter_py = generate(COUNTER_WIT, "counter_bindings");
    assert!(golden_py.contains("class Blob(Resource):"), "{golden_py}");
    assert!(
        golden_py.contains("    def new_blob(self) -> Blob:"),
        "{golden_py}"
    );
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
    // own<R> nested in results (records, variants, aliases, lists, options, results, tuples),
    // borrow<R> parameters of plain functions (python/tests/test_typed_resources.py runs the same
    // shapes through an echo module).
    let nest = generate(
        "package t:nest; interface nest {
            resource thing { constructor(h: u64); peek: func(other: borrow<thing>) -> u64; }
            record holder { name: string, main: thing, more: list<thing> }
            variant pick { one(thing), none }
            type things = list<option<thing>>;
            hold: func(name: string, h: u64, more: list<u64>) -> holder;
            choose: func(c: option<u64>) -> pick;
            wrap: func(x: result<u64, string>) -> result<thing, holder>;
            opts: func(x: list<option<u64>>) -> things;
            pair: func(x: borrow<thing>, y: u32) -> tuple<thing, u32, option<holder>>;
        }",
        "nest_bindings",
    );
    assert!(
        nest.contains("def _from_holder(b: Nest, v: Any) -> Holder:"),
        "{nest}"
    );
    assert!(!nest.contains("def _to_holder"), "{nest}");
    for text in [&std_py, &golden_py, &counter_py, &rich, &nest] {
        assert_all_is_complete(text);
    }
    for want in [
        "ShapeCircle",
        "ShapeEmpty",
        "FailureDenied",
        "Points",
        "Perms",
        "Rich",
    ] {
        assert!(
            all_names(&rich).contains(&want.to_string()),
            "{want}: {rich}"
        );
    }
    for want in ["PickOne", "PickNone", "Thing", "Things", "WIT", "HASH"] {
        assert!(
            all_names(&nest).contains(&want.to_string()),
            "{want}: {nest}"
        );
    }
    std::fs::write(dir.join("nest_bindings.py"), &nest).unwrap();
    std::fs::write(dir.join("counter_bindings.py"), &counter_py).unwrap();
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
            "counter_bindings.py",
            "nest_bindings.py",
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
        .args([
            "-c",
            "import std_bindings, golden_bindings, rich_bindings, counter_bindings, nest_bindings",
        ])
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
    let iface = Interface::parse(include_str!("../golden/golden.wit")).unwrap();
    let a = bindgen::generate("python", &iface, None).unwrap();
    let b = bindgen::generate("python", &iface, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].path, "golden.py");
}

#[test]
fn refusals_say_why() {
    // Resources: own<R> in a parameter (anywhere in it), borrow<R> inside another type (in a
    // parameter or a type definition) are refused with the reason (docs/TYPED.md, "Resources").
    let res = |body: &str| {
        let wit = format!(
            "package t:t; interface t {{ resource r {{ constructor(); get: func() -> u32; }} {body} }}"
        );
        bindgen::generate("python", &Interface::parse(&wit).unwrap(), None)
            .unwrap_err()
            .to_string()
    };
    for (body, why) in [
        (
            "give: func(x: r);",
            "parameter x: own<R> in a parameter passes ownership",
        ),
        (
            "give: func(x: list<r>);",
            "parameter x: own<R> in a parameter",
        ),
        (
            "record w { x: r } give: func(x: option<w>);",
            "parameter x: own<R> in a parameter",
        ),
        (
            "lend: func(x: list<borrow<r>>);",
            "parameter x: borrow<R> inside another type",
        ),
        (
            "lend: func(x: option<borrow<r>>);",
            "parameter x: borrow<R> inside another type",
        ),
        (
            "record w { x: borrow<r> }",
            "type w: borrow<R> inside another type",
        ),
        (
            "new-r: func();",
            "function new-r: the Python name new_r is taken",
        ),
    ] {
        let e = res(body);
        assert!(e.contains(why), "{body}: {e}");
    }
    let e = bindgen::generate(
        "python",
        &Interface::parse(
            "package t:t; interface t { resource r { constructor(); close: func(); } }",
        )
        .unwrap(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("the Python name close is taken"), "{e}");
    // Events: on_<topic> taken by a function; a handle in a payload.
    for (wit, why) in [
        (
            "package t:t; interface t { on-tick: func(); } interface events { tick: func(); }",
            "event tick: the Python name on_tick is taken",
        ),
        (
            "package t:t; interface t { resource r { constructor(); } } \
             interface events { use t.{r}; made: func(x: r); }",
            "event made: a resource handle in an event payload",
        ),
    ] {
        let e = bindgen::generate("python", &Interface::parse(wit).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{wit}: {e}");
    }
    // A variant case class named like another type (`a` case `b`, record `a-b`: both `AB`).
    let e = bindgen::generate(
        "python",
        &Interface::parse(
            "package t:t; interface t { variant a { b, c } record a-b { x: u8 } f: func(x: a, y: a-b); }",
        )
        .unwrap(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("two types map to the Python name AB"), "{e}");
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
    // A class named like a builtin would shadow it (`from binding import *` too).
    let builtins = "package t:t; interface t {
        record syntax-error { line: u32 }
        variant value-error { bad(string) }
        enum warning { low, high }
        f: func(e: syntax-error, v: value-error) -> warning;
    }";
    let b = &bindgen::generate("python", &Interface::parse(builtins).unwrap(), None).unwrap()[0];
    for c in ["class SyntaxError_", "class ValueError_", "class Warning_"] {
        assert!(b.text.contains(c), "{c}: {}", b.text);
    }
    // A variant case class too (`value` + `error`), and it is what `__all__` exports.
    let cases = "package t:t; interface t {
        variant value { error(string), ok }
        f: func(v: value) -> value;
    }";
    let c = &bindgen::generate("python", &Interface::parse(cases).unwrap(), None).unwrap()[0];
    assert!(c.text.contains("class ValueError_:"), "{}", c.text);
    assert!(
        c.text.contains("Value = Union[ValueError_, ValueOk]"),
        "{}",
        c.text
    );
    assert!(!c.text.contains("class ValueError:"), "{}", c.text);
    assert_all_is_complete(&c.text);
    assert_all_is_complete(&b.text);
    assert_all_is_complete(&f.text);
    for c in [
        "class SyntaxError:",
        "class SyntaxError(",
        "class ValueError:",
        "class ValueError(",
        "class Warning(",
    ] {
        assert!(!b.text.contains(c), "{c} shadows the builtin");
    }
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

#[test]
fn committed_counter_bindings_are_the_generators_output() {
    let text = generate(COUNTER_WIT, "counter_bindings");
    let path = counter_bindings_path();
    if std::env::var_os("BRIDGEHOST_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with BRIDGEHOST_BLESS=1 to generate)",
            path.display()
        )
    });
    assert!(
        committed == text,
        "{} is not what the generator produces now: run `BRIDGEHOST_BLESS=1 cargo test -p \
         bridgehost-interface --test bindgen_python` and review the diff",
        path.display()
    );
    // The mapping of docs/TYPED.md, "Resources (handles)": the interface and the resource are
    // both named counter, so the resource class gets a `_`.
    for want in [
        "class Counter_(Resource):",
        "    def new_counter(self, start: int) -> Counter_:",
        "    async def new_counter_async(self, start: int) -> Counter_:",
        "    def counter_named(self, name: str, start: int) -> Counter_:",
        "    def counter_many(self, starts: List[int]) -> List[Counter_]:",
        "    def fork(self, delta: int) -> Counter_:",
        "    async def slow_get_async(self, ms: int) -> int:",
        "    def sum(self, a: Counter_, b: Counter_) -> int:",
        "module.method(\"[resource-drop]counter\")",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
}
