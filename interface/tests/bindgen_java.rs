//! The Java generator (`bridgehost bindgen --lang java`): the bindings the Java tests compile
//! and run are exactly what the generator produces today (run with `BRIDGEHOST_BLESS=1` to
//! rewrite them after a deliberate change), and what it refuses it refuses with a reason.

use bridgehost_interface::bindgen;
use bridgehost_interface::Interface;
use std::path::PathBuf;

fn java_test_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../java/src/test/java")
}

/// golden.wit without its resource (a decoded handle is an object that calls an open module:
/// the handle vectors cannot run as plain codecs; ResourcesTest covers handles) and with one
/// `type <section>-<i> = <expr>;` alias per vector whose type does not use the resource, numbered
/// as in vectors.json (the Java golden test finds a vector's codec by that number).
fn golden_for_java() -> String {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../golden/vectors.json")).unwrap();
    let wit = include_str!("../golden/golden.wit");
    let resource = "    resource blob {\n        constructor();\n    }\n";
    assert!(
        wit.contains(resource),
        "golden.wit's resource changed: update this test"
    );
    let wit = wit.replace(resource, "");
    let mut aliases = String::new();
    for section in ["valid", "decode_only", "invalid_bytes"] {
        for (i, v) in doc[section].as_array().unwrap().iter().enumerate() {
            let ty = v["type"].as_str().unwrap();
            if ty.contains("blob") {
                continue;
            }
            aliases.push_str(&format!(
                "    type {}-{i} = {ty};\n",
                section.replace('_', "-")
            ));
        }
    }
    let end = wit.rfind('}').unwrap();
    format!("{}{}{}", &wit[..end], aliases, &wit[end..])
}

/// Types whose Java form holds `byte[]`, directly and inside `List`, `Optional`, `Result`,
/// `Tuple` and an alias: TypedTest checks that their generated records compare, hash and print
/// the bytes by value. `blob`'s field `java` would hide package `java` inside the record.
const BYTE_VALUES_WIT: &str = "package bridgehost:values@1.0.0;

interface values {
    type bytes = list<u8>;
    record blob {
        name: string,
        data: list<u8>,
        chunks: list<list<u8>>,
        maybe: option<list<u8>>,
        nested: list<option<bytes>>,
        outcome: result<bytes, string>,
        pair: tuple<u8, list<u8>>,
        ratio: f64,
        java: u32,
    }
    record plain { x: u32, label: string, chunks: list<string> }
    record holder { inner: blob, many: list<blob> }
    variant payload { raw(bytes), many(list<list<u8>>), text(string), none }
}
";

/// counter.wit (the resource test module's interface) with a record holding owned handles,
/// which no function uses: compatible with the module (the Java tests bind it to the counter
/// module), and its `Codec.decodePair` makes objects from handles, so a malformed payload after
/// them shows what becomes of the objects already made. Also unused: types named as the
/// `java.lang` types the generated code names (`error`, `runtime-exception`, `auto-closeable`):
/// nested in the binding, they would hide them; and a variant whose cases are named as the
/// types they carry (`pair(pair)`, a case record `Pair` that would hide the outer `Pair`) and as
/// the class itself (`counter`). The Java tests compile this file.
fn handles_wit() -> String {
    let wit = include_str!("../../plugins/c/counter.wit");
    let anchor = "    /// The sum of two counters' values.";
    assert!(
        wit.contains(anchor),
        "counter.wit changed: update this test"
    );
    wit.replace(
        anchor,
        &format!(
            "    record pair {{ a: counter, b: option<counter> }}\n    \
             variant error {{ bad(string), worse }}\n    \
             record runtime-exception {{ a: u32 }}\n    \
             record auto-closeable {{ a: u32 }}\n    \
             variant shape {{ pair(pair), error(error), counter(counter), \
             many(list<pair>), shape(option<error>), none }}\n{anchor}"
        ),
    )
}

fn check_or_bless(wit: &str, package: &str) {
    let iface = Interface::parse(wit).unwrap();
    let files = bindgen::generate("java", &iface, Some(package)).unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    let path = java_test_root().join(&f.path);
    if std::env::var_os("BRIDGEHOST_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &f.text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with BRIDGEHOST_BLESS=1 to generate)",
            path.display()
        )
    });
    assert!(
        committed == f.text,
        "{} is not what the generator produces now: run `BRIDGEHOST_BLESS=1 cargo test -p \
         bridgehost-interface --test bindgen_java` and review the diff",
        path.display()
    );
}

#[test]
fn committed_java_bindings_are_the_generators_output() {
    check_or_bless(
        include_str!("../../plugins/std/std.wit"),
        "io.bridgehost.gen.std",
    );
    check_or_bless(&golden_for_java(), "io.bridgehost.gen.golden");
    check_or_bless(BYTE_VALUES_WIT, "io.bridgehost.gen.values");
    check_or_bless(
        include_str!("../../plugins/c/counter.wit"),
        "io.bridgehost.gen.counter",
    );
    check_or_bless(&handles_wit(), "io.bridgehost.gen.handles");
}

#[test]
fn resources_are_classes_owning_their_handle() {
    let iface = Interface::parse(&handles_wit()).unwrap();
    let t = &bindgen::generate("java", &iface, Some("a.b")).unwrap()[0].text;
    // The class is nested in the binding; the binding and the resource share the name counter.
    assert!(
        t.contains("    public static final class Counter_ implements java.lang.AutoCloseable {"),
        "{t}"
    );
    // Its handle is owned through the runtime: the Cleaner action holds the drop Method and the
    // handle only (io.bridgehost.typed.OwnedHandle).
    assert!(
        t.contains("this._h = io.bridgehost.typed.OwnedHandle.own(this, binding.d_counter, \"counter\", handle);"),
        "{t}"
    );
    assert!(
        t.contains("this.d_counter = module.method(\"[resource-drop]counter\");"),
        "{t}"
    );
    // The binding's close leaves the drop method open.
    assert!(!t.contains("d_counter.close()"), "{t}");
    // Constructor and static functions on the binding, methods on the object.
    for s in [
        "    public Counter_ newCounter(long start) {",
        "    public java.util.concurrent.CompletableFuture<Counter_> newCounterAsync(long start) {",
        "    public Counter_ counterNamed(String name, long start) {",
        "    public java.util.List<Counter_> counterMany(java.util.List<Long> starts) {",
        "        public long add(long n) {",
        "        public java.util.concurrent.CompletableFuture<Counter_> forkAsync(long delta) {",
        "        public long slowGet(long ms) {",
        "    public long sum(Counter_ a, Counter_ b) {",
    ] {
        assert!(t.contains(s), "{s}\n{t}");
    }
    // Borrowed objects are checked open and of the binding's module when encoded, and kept
    // reachable for the call.
    assert!(
        t.contains(
            "_w.handle(io.bridgehost.typed.WireWriter.require(a, \"parameter a\")._handleIn(_b, \"parameter a\"));"
        ),
        "{t}"
    );
    assert!(
        t.contains("            java.lang.ref.Reference.reachabilityFence(a);\n            java.lang.ref.Reference.reachabilityFence(b);"),
        "{t}"
    );
    // own<R> in a result becomes an object as it is decoded, through the binding.
    assert!(
        t.contains("_r.<Counter_>list(8, _r0 -> new Counter_(_b, _r0.handle()))"),
        "{t}"
    );
    // A record holding own<R> only decodes (taking the binding); it never travels to the module.
    assert!(
        t.contains("public static Pair decodePair(Counter _b, io.bridgehost.typed.WireReader r) {"),
        "{t}"
    );
    assert!(!t.contains("encodePair"), "{t}");
}

#[test]
fn records_holding_bytes_get_value_equality() {
    let iface = Interface::parse(BYTE_VALUES_WIT).unwrap();
    let f = &bindgen::generate("java", &iface, Some("a.b")).unwrap()[0];
    let t = &f.text;
    // byte[] anywhere in a component (here through an alias, an option, a result, a tuple):
    // equals, hashCode and toString through the class's helpers.
    assert!(
        t.contains(
            "            return _other instanceof Blob _o && _eq(name, _o.name) && _eq(data, _o.data)"
        ),
        "{t}"
    );
    assert!(
        t.contains("            _h = 31 * _h + _hash(java);\n"),
        "{t}"
    );
    assert!(
        t.contains("            return \"Blob[name=\" + _str(name) + \", data=\" + _str(data)"),
        "{t}"
    );
    assert!(
        t.contains("        record Raw(byte[] value) implements Payload {\n            @Override"),
        "{t}"
    );
    assert!(
        t.contains("    private static boolean _eq(Object a, Object b) {"),
        "{t}"
    );
    // No byte[] of their own: Java's record members are already value-based.
    assert!(
        t.contains("public record Plain(long x, String label, java.util.List<String> chunks) {}"),
        "{t}"
    );
    assert!(
        t.contains("public record Holder(Blob inner, java.util.List<Blob> many) {}"),
        "{t}"
    );
    assert!(
        t.contains("        record Text(String value) implements Payload {}"),
        "{t}"
    );
    // An interface without such records gets no helpers.
    let std = Interface::parse(include_str!("../../plugins/std/std.wit")).unwrap();
    let s = &bindgen::generate("java", &std, None).unwrap()[0].text;
    assert!(!s.contains("_eq("), "{s}");
}

#[test]
fn generation_is_deterministic() {
    let iface = Interface::parse(&golden_for_java()).unwrap();
    let a = bindgen::generate("java", &iface, None).unwrap();
    let b = bindgen::generate("java", &iface, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].path, "bridgehost/golden/Golden.java");
}

#[test]
fn refusals_say_why() {
    // Handles where the Java mapping has no place for them (docs/TYPED.md, "Resources
    // (handles)"): own<R> in a parameter, borrow<R> inside another type or in a result, a
    // handle in an event payload.
    let res = "resource r { constructor(); }";
    for (body, why) in [
        ("f: func(x: r);", "own<R> in a parameter"),
        ("f: func(x: option<r>);", "own<R> in a parameter"),
        ("record h { x: r } f: func(x: h);", "own<R> in a parameter"),
        (
            "f: func(x: list<borrow<r>>);",
            "borrow<R> inside another type",
        ),
        (
            "f: func(x: tuple<u8, borrow<r>>);",
            "borrow<R> inside another type",
        ),
        ("record h { x: borrow<r> }", "type \"h\" holds a borrow<R>"),
    ] {
        let wit = format!("package t:t; interface t {{ {res} {body} }}");
        let e = bindgen::generate("java", &Interface::parse(&wit).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{wit}: {e}");
    }
    let wit = format!(
        "package t:t; interface t {{ {res} }} interface events {{ use t.{{r}}; made: func(x: r); }}"
    );
    let e = bindgen::generate("java", &Interface::parse(&wit).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("event \"made\": a resource handle in an event payload"),
        "{e}"
    );
    // A method's clash with the resource class's own members.
    let wit = "package t:t; interface t { resource r { close: func(); } }";
    let e = bindgen::generate("java", &Interface::parse(wit).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("maps to the Java member close"), "{e}");

    let big = "package t:t; interface t { f: func(x: tuple<u8, u8, u8, u8, u8, u8, u8, u8, u8>); }";
    let e = bindgen::generate("java", &Interface::parse(big).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a tuple of 9 elements (at most 8)"), "{e}");

    let clash = "package t:t; interface t { add: func(); add-async: func(); }";
    let e = bindgen::generate("java", &Interface::parse(clash).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("addAsync"), "{e}");

    let t = Interface::parse("package t:t; interface t { f: func(); }").unwrap();
    let e = bindgen::generate("java", &t, Some("com.example.class"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a Java package name"), "{e}");
    let e = bindgen::generate("cobol", &t, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bindgen language \"cobol\""), "{e}");
}

#[test]
fn names_that_java_reserves_are_escaped() {
    let wit = "package t:t; interface t {
        record class { new: u32, hash-code: string, to-end: bool }
        variant codec { codec, %string(string) }
        enum long { %if, to-end }
        default: func(%record: class, p: codec, q: long) -> long;
    }";
    let f = &bindgen::generate("java", &Interface::parse(wit).unwrap(), Some("a.b")).unwrap()[0];
    assert!(
        f.text
            .contains("public record Class_(long new_, String hashCode_, boolean toEnd) {}"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("public sealed interface Codec_ permits Codec_.Codec__, Codec_.String_"),
        "{}",
        f.text
    );
    assert!(f.text.contains("public enum Long_ {"), "{}", f.text);
    assert!(
        f.text
            .contains("        IF(\"if\"),\n        TO_END(\"to-end\");"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("CompletableFuture<Long_> defaultAsync(Class_ record_"),
        "{}",
        f.text
    );
    assert!(
        f.text
            .contains("public Long_ default_(Class_ record_, Codec_ p, Long_ q)"),
        "{}",
        f.text
    );
    // The generated class builds its WIT text with a StringBuilder: a type of that name would
    // shadow it.
    let wit =
        "package t:t; interface t { record string-builder { a: u32 } f: func(x: string-builder); }";
    let f = &bindgen::generate("java", &Interface::parse(wit).unwrap(), Some("a.b")).unwrap()[0];
    assert!(
        f.text.contains("public record StringBuilder_(long a)"),
        "{}",
        f.text
    );
}
