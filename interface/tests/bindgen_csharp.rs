//! The C# generator (`bridgehost bindgen --lang csharp`): the bindings the C# tests compile and
//! run (csharp/tests/gen/) are exactly what the generator produces today (run with
//! `BRIDGEHOST_BLESS=1` to rewrite them after a deliberate change), and what it refuses it
//! refuses with a reason.

use bridgehost_interface::bindgen;
use bridgehost_interface::Interface;
use std::path::PathBuf;

fn gen_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../csharp/tests/gen")
}

/// golden.wit without its resource (the C# generator does not map resources yet) and with one
/// `type <section>-<i> = <expr>;` alias per vector whose type does not use the resource, numbered
/// as in vectors.json (the C# golden test finds a vector's codec, `Codec.DecodeValid3`, by that
/// number).
fn golden_for_csharp() -> String {
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

/// Checks (or, with `BRIDGEHOST_BLESS`, writes) `csharp/tests/gen/<saved_as>`, the generated
/// `<Class>.cs` of `wit` in `namespace`.
fn check_or_bless(wit: &str, namespace: &str, file: &str, saved_as: &str) {
    let iface = Interface::parse(wit).unwrap();
    let files = bindgen::generate("csharp", &iface, Some(namespace)).unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f.path, file);
    let path = gen_dir().join(saved_as);
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
         bridgehost-interface --test bindgen_csharp` and review the diff",
        path.display()
    );
}

#[test]
fn committed_csharp_bindings_are_the_generators_output() {
    let std = include_str!("../../plugins/std/std.wit");
    check_or_bless(std, "BridgeHost.Gen", "Std.cs", "Std.cs");
    // zlib's inflate returns result<list<u8>, zlib-error>: the C# tests throw and catch its
    // TypedModuleException<ZlibError> from real calls.
    let zlib = include_str!("../../plugins/c/zlib.wit");
    check_or_bless(zlib, "BridgeHost.Gen", "Zlib.cs", "Zlib.cs");
    // The resource test module's interface: the C# tests (ResourceTests.cs) call its counters.
    let counter = include_str!("../../plugins/c/counter.wit");
    check_or_bless(counter, "BridgeHost.Gen", "Counter.cs", "Counter.cs");
    check_or_bless(
        &golden_for_csharp(),
        "BridgeHost.Gen",
        "Golden.cs",
        "Golden.cs",
    );
    // Bindings from an interface the std module does not serve: the C# tests open std with them
    // and expect AbiMismatchException naming the first difference.
    let add = "add: func(a: u32, b: u32) -> u32;";
    assert!(std.contains(add), "std.wit's add changed: update this test");
    check_or_bless(
        &std.replace(add, "add: func(a: u32, b: string) -> u32;"),
        "BridgeHost.Gen.Mismatch",
        "Std.cs",
        "StdMismatch.cs",
    );
}

#[test]
fn generation_is_deterministic_and_names_its_namespace() {
    let iface = Interface::parse(&golden_for_csharp()).unwrap();
    let a = bindgen::generate("csharp", &iface, None).unwrap();
    let b = bindgen::generate("csharp", &iface, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].path, "Golden.cs");
    assert!(
        a[0].text.contains("namespace Bridgehost.Golden\n"),
        "{}",
        a[0].text
    );
}

#[test]
fn refusals_say_why() {
    // The resource rules (docs/TYPED.md, "Resources (handles)"): a borrow only as a direct
    // parameter, no owned handle into the module, no handle in an event payload.
    for (body, want) in [
        (
            "resource r; f: func(x: r);",
            "function \"f\": parameter x passes an owned handle (r) into the module",
        ),
        (
            "resource r; f: func(x: option<r>);",
            "function \"f\": parameter x passes an owned handle (option<r>) into the module",
        ),
        (
            "resource r { m: func(other: r); }",
            "function \"[method]r.m\": parameter other passes an owned handle",
        ),
        (
            "resource r; f: func(x: list<borrow<r>>);",
            "function \"f\": parameter x holds a borrow<...> inside list<borrow<r>>",
        ),
        (
            "resource r; record h { r: borrow<r> } f: func() -> u8;",
            "type \"h\" holds a borrow<...>",
        ),
        (
            "resource r { dispose: func(); }",
            "function \"[method]r.dispose\" maps to the C# member Dispose of resource \"r\", which is already taken",
        ),
        (
            "resource r { handle: func() -> u64; }",
            "maps to the C# member Handle of resource \"r\"",
        ),
        (
            "resource r { constructor(); } new-r: func();",
            "maps to the C# member NewR, which is already taken",
        ),
        (
            "resource r { make: static func() -> r; } r-make: func();",
            "maps to the C# member RMake, which is already taken",
        ),
    ] {
        let wit = format!("package t:t; interface t {{ {body} }}");
        let e = bindgen::generate("csharp", &Interface::parse(&wit).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{body}: {e}");
    }
    let event = "package t:t; interface t { resource r; record h { r: r } }
        interface events { use t.{h}; made: func(h: h); }";
    let e = bindgen::generate("csharp", &Interface::parse(event).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("event \"made\": a resource handle in an event payload (h) is not mapped"),
        "{e}"
    );

    let big = "package t:t; interface t { f: func(x: tuple<u8, u8, u8, u8, u8, u8, u8, u8>); }";
    let e = bindgen::generate("csharp", &Interface::parse(big).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a tuple of 8 elements (at most 7)"), "{e}");

    let clash = "package t:t; interface t { add: func(); add-async: func(); }";
    let e = bindgen::generate("csharp", &Interface::parse(clash).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("function \"add-async\" maps to the C# member AddAsync, which is already taken"),
        "{e}"
    );
    for member in ["open", "dispose", "to-string", "t"] {
        let wit = format!("package t:t; interface t {{ {member}: func(); }}");
        let e = bindgen::generate("csharp", &Interface::parse(&wit).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("which is already taken"), "{member}: {e}");
    }

    let event = "package t:t; interface t { on-tick: func(); } interface events { tick: func(); }";
    let e = bindgen::generate("csharp", &Interface::parse(event).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("event \"tick\" maps to the C# member OnTick, which is already taken"),
        "{e}"
    );

    let t = Interface::parse("package t:t; interface t { f: func(); }").unwrap();
    for bad in ["My.class", "", "A..B", "1A", "A-B"] {
        let e = bindgen::generate("csharp", &t, Some(bad))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a C# namespace name"), "{bad}: {e}");
    }
    let e = bindgen::generate("cobol", &t, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("generates c, csharp, java, python and rust"),
        "{e}"
    );
}

/// Compiles `text` with mcs as the C# tests do (`-langversion:7.2 -warnaserror+`, and `-doc`)
/// against the library that `scripts/dotnet.sh build` wrote to target/dotnet/lib. Returns false
/// (and says so) when mcs or the library is not there.
fn mcs_compiles(name: &str, text: &str) -> bool {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dll = root.join("target/dotnet/lib/BridgeHost.dll");
    let has_mcs = std::process::Command::new("mcs")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_mcs || !dll.exists() {
        eprintln!(
            "skipping the mcs compile of {name}: needs mcs and {} (scripts/dotnet.sh build)",
            dll.display()
        );
        return false;
    }
    let dir = std::env::temp_dir().join(format!("bh-cs-gen-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("{name}.cs"));
    std::fs::write(&src, text).unwrap();
    let out = std::process::Command::new("mcs")
        .arg("-langversion:7.2")
        .arg("-warnaserror+")
        .arg("-target:library")
        .arg(format!("-doc:{}", dir.join("doc.xml").display()))
        .arg(format!("-r:{}", dll.display()))
        .arg(format!(
            "-out:{}",
            dir.join(format!("{name}.dll")).display()
        ))
        .arg(&src)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "mcs refused the generated {name}:\n{}{}\n--\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn names_that_csharp_reserves_are_escaped() {
    let wit = "package t:t; interface t {
        record point { point: u32, to-string: string, %class: bool }
        variant codec { codec, value(u8), equals }
        flags modes { none, fast }
        enum run-async { a }
        run: func(%class: point, p: codec, cancellation-token: modes) -> run-async;
    }";
    let f = &bindgen::generate("csharp", &Interface::parse(wit).unwrap(), Some("A.B")).unwrap()[0];
    let has = |s: &str| assert!(f.text.contains(s), "{s}\n--\n{}", f.text);
    has("public Point(uint point, string toString, bool @class)");
    has("public uint Point_ { get; }");
    has("public string ToString_ { get; }");
    has("public bool Class { get; }");
    has("public abstract class Codec_");
    has("public sealed class Codec : Codec_");
    has("public sealed class Value_ : Codec_");
    has("public sealed class Equals_ : Codec_");
    has("None = 0,");
    has("None_ = 1u << 0,");
    has("Fast = 1u << 1,");
    has("public enum RunAsync_");
    has("public global::A.B.T.RunAsync_ Run(global::A.B.T.Point @class, global::A.B.T.Codec_ p, global::A.B.T.Modes cancellationToken_)");
    has("RunAsync(global::A.B.T.Point @class, global::A.B.T.Codec_ p, global::A.B.T.Modes cancellationToken_, global::System.Threading.CancellationToken cancellationToken = ");
    mcs_compiles("Escapes", &f.text);
}

#[test]
fn nested_names_cannot_capture_the_interfaces_types() {
    // A variant case named like a record and like the binding class; a record field and a
    // namespace part named like the library's namespace.
    let wit = "package t:t; interface box {
        record circle { r: f64 }
        record bridge-host { system: u8 }
        variant shape { circle(circle), box(list<circle>), bridge-host(bridge-host) }
        flags f { a }
        enum e { x }
        area: func(s: shape, c: option<circle>, e: e, f: f) -> result<shape, tuple<circle, e>>;
        reset: func() -> result<_, string>;
        check: func(x: result<u8>) -> result;
        pick: func(x: tuple<u8>, y: option<option<list<circle>>>) -> result<list<u8>>;
    }
    interface events {
        use box.{circle};
        moved: func(to: circle);
        tick: func();
    }";
    let f = &bindgen::generate(
        "csharp",
        &Interface::parse(wit).unwrap(),
        Some("BridgeHost.System"),
    )
    .unwrap()[0];
    assert!(
        f.text
            .contains("public Circle(global::BridgeHost.System.Box.Circle value)"),
        "{}",
        f.text
    );
    assert!(
        f.text.contains("public sealed class BridgeHost_"),
        "{}",
        f.text
    );
    for sig in [
        "public void Reset()",
        "public global::System.Threading.Tasks.Task ResetAsync(",
        "throw new global::BridgeHost.TypedModuleException<string>(\"reset\", _res.Error);",
        "public void Check(global::BridgeHost.Typed.Result<byte, global::BridgeHost.Typed.Unit> x)",
        "throw new global::BridgeHost.TypedModuleException<global::BridgeHost.Typed.Unit>(\"check\", _res.Error);",
        "public byte[] Pick(global::System.ValueTuple<byte> x, global::BridgeHost.Typed.Option<global::BridgeHost.Typed.Option<global::System.Collections.Generic.IReadOnlyList<global::BridgeHost.System.Box.Circle>>> y)",
    ] {
        assert!(f.text.contains(sig), "{sig}\n--\n{}", f.text);
    }
    assert!(
        f.text.contains(
            "public global::BridgeHost.Subscription OnMoved(global::System.Action<global::BridgeHost.System.Box.Circle> listener)"
        ),
        "{}",
        f.text
    );
    assert!(
        f.text.contains(
            "public global::BridgeHost.Subscription OnTick(global::System.Action listener)"
        ),
        "{}",
        f.text
    );
    mcs_compiles("Capture", &f.text);
}

#[test]
fn owned_handles_anywhere_in_a_result_become_objects() {
    // Handles inside option, result, list, tuple, record and variant, through an alias; a record
    // holding one gets a private decoder instead of Codec methods; borrows as direct parameters.
    let wit = "package t:t; interface t {
        resource r {
            constructor();
            twin: func(other: borrow<r>) -> tuple<r, option<r>>;
            pair: static func(a: borrow<r>, b: borrow<r>) -> result<list<r>, string>;
        }
        type rs = list<r>;
        record holder { name: string, all: rs, one: option<r> }
        variant pick { none, one(r), many(holder) }
        take: func() -> pick;
        hold: func(n: u32) -> result<holder, u8>;
        plain: func(p: pick-plain) -> pick-plain;
        record pick-plain { x: u8 }
        resource bare { constructor(); }
        resource made { make: static func() -> made; }
    }";
    let f = &bindgen::generate("csharp", &Interface::parse(wit).unwrap(), Some("A.B")).unwrap()[0];
    let has = |s: &str| assert!(f.text.contains(s), "{s}\n--\n{}", f.text);
    let hasnt = |s: &str| assert!(!f.text.contains(s), "{s}\n--\n{}", f.text);
    has("public sealed class R : global::System.IDisposable");
    has("public global::A.B.T.R NewR()");
    has("public global::System.Threading.Tasks.Task<global::A.B.T.R> NewRAsync(");
    has("public global::System.Collections.Generic.IReadOnlyList<global::A.B.T.R> RPair(global::A.B.T.R a, global::A.B.T.R b)");
    has("if (a == null) throw new global::System.ArgumentNullException(nameof(a));");
    has("public global::System.ValueTuple<global::A.B.T.R, global::BridgeHost.Typed.Option<global::A.B.T.R>> Twin(global::A.B.T.R other)");
    has("_w.U64(_self.Handle);");
    has("new global::A.B.T.R(this, _r0.U64())");
    has("private global::A.B.T.Holder Dec_Holder(global::BridgeHost.Typed.WireReader r)");
    has("private global::A.B.T.Pick Dec_Pick(global::BridgeHost.Typed.WireReader r)");
    hasnt("public static void EncodeHolder(");
    hasnt("public static global::A.B.T.Pick DecodePick(");
    has("public static global::A.B.T.PickPlain DecodePickPlain(global::BridgeHost.Typed.WireReader r)");
    has("global::System.GC.KeepAlive(other);");
    // Every resource holds its binding: a borrowed object must be of the module of the binding
    // the call goes through (HandleIn reads it, so a resource without methods has no unread field).
    has("public sealed class Bare : global::System.IDisposable\n        {\n            private readonly global::A.B.T _b;\n            private readonly global::BridgeHost.Typed.ResourceHandle _h;");
    has("_w.U64(a.HandleIn(_b, \"parameter a\"));");
    has("private static byte[] In_RPair(global::A.B.T _b, global::A.B.T.R a, global::A.B.T.R b)");
    has("public global::A.B.T.Made MadeMake()");
    mcs_compiles("Handles", &f.text);
}
