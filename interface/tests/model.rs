//! Parsing and validating WIT as hostile input; the model; the hash.

use bridgehost_interface::{limits, Error, FunctionKind, Interface, Type, TypeDefKind};

const DEMO: &str = include_str!("wit/demo.wit");

fn refused(text: &str) -> Error {
    match Interface::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn pkg(body: &str) -> String {
    format!("package t:t;\ninterface t {{\n{body}\n}}\n")
}

#[test]
fn demo_resolves_to_the_model() {
    let i = Interface::parse(DEMO).unwrap();
    assert_eq!(i.package, "demo:shapes@1.0.0");
    assert_eq!(i.name, "shapes");
    assert_eq!(i.docs.as_deref(), Some("Shapes and counters."));
    let names: Vec<&str> = i.types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["point", "color", "perms", "shape", "bytes", "counter"]
    );
    assert!(matches!(&i.types[0].kind, TypeDefKind::Record(f) if f.len() == 2 && f[1].name == "y"));
    assert_eq!(i.types[5].kind, TypeDefKind::Resource);
    let ctor = i.function("[constructor]counter").unwrap();
    assert_eq!(ctor.kind, FunctionKind::Constructor(5));
    assert_eq!(ctor.result, Some(Type::Own(5)));
    let add = i.function("[method]counter.add").unwrap();
    assert_eq!(add.kind, FunctionKind::Method(5));
    assert_eq!(add.params[0].ty, Type::Borrow(5));
    assert_eq!(
        i.signature(i.function("paint").unwrap()),
        "paint: func(p: point, c: color, perms: perms) -> option<option<u32>>"
    );
    // list<u8> through an alias is bytes on the wire.
    let echo = i.function("echo").unwrap();
    assert_eq!(
        i.resolve(echo.params[0].ty_ref()),
        &Type::List(Box::new(Type::U8))
    );
    // Events: the `events` interface, payload types used from the main one.
    assert_eq!(i.events.len(), 2);
    assert_eq!(i.event("moved").unwrap().payload, Some(Type::Named(0)));
    assert_eq!(i.event("tick").unwrap().payload, None);
}

trait TyRef {
    fn ty_ref(&self) -> &Type;
}
impl TyRef for bridgehost_interface::Param {
    fn ty_ref(&self) -> &Type {
        &self.ty
    }
}

#[test]
fn hash_ignores_whitespace_comments_docs_and_item_order() {
    let a = Interface::parse(DEMO).unwrap();
    let b = Interface::parse(
        "package demo:shapes@1.0.0;
         // reordered, no docs, other spacing
         interface events { use shapes.{point}; tick: func(); moved: func(to: point); }
         interface shapes {
           take: func(c: counter, b: borrow<counter>);
           echo: func(data: bytes) -> bytes;
           paint: func(p: point, c: color, perms: perms) -> option<option<u32>>;
           area: func(s: shape) -> f64;
           resource counter { open: static func(name: string) -> result<counter, string>;
                              add: func(n: u64) -> u64; constructor(start: u64); }
           type bytes = list<u8>;
           variant shape { circle(f64), square(tuple<f64, f64>), empty }
           flags perms { read, write, exec }
           enum color { red, green, blue }
           record point { x: f64, y: f64 }
         }",
    )
    .unwrap();
    assert_eq!(a.hash(), b.hash());
    assert_eq!(a.hash_hex().len(), 64);
    // Anything the wire or the names depend on changes it.
    for (from, to) in [
        (
            "record point { x: f64, y: f64 }",
            "record point { y: f64, x: f64 }",
        ),
        (
            "enum color { red, green, blue }",
            "enum color { red, green, blue, black }",
        ),
        (
            "echo: func(data: bytes) -> bytes;",
            "echo: func(data: bytes) -> string;",
        ),
        (
            "area: func(s: shape) -> f64;",
            "area2: func(s: shape) -> f64;",
        ),
        ("tick: func();", "tock: func();"),
        ("package demo:shapes@1.0.0;", "package demo:shapes@1.0.1;"),
    ] {
        assert!(DEMO.contains(from), "{from}");
        let changed = Interface::parse(&DEMO.replace(from, to)).unwrap();
        assert_ne!(changed.hash(), a.hash(), "{from} -> {to}");
    }
    // The canonical form starts with its versioned header.
    assert!(a
        .canonical()
        .starts_with("bridgehost-interface canonical v1\n"));
}

/// wit-parser 0.263 panics on an empty block comment `/**/` where it reads
/// docs (it strips an overlapping `/**` and `*/`); found by the wit_parse
/// fuzz target. The text is blanked first, so it parses like any comment,
/// wherever the comment stands.
#[test]
fn empty_block_comments_parse_like_any_comment() {
    let plain = pkg("record r { a: u32 }\nf: func(x: r) -> u32;");
    let commented = "/**/package t:t;\n/**/interface t {\n/**/record r { /**/a: u32/**/ }\n\
         /**/ f: func(x: r/**/) -> u32; /* nested /**/ still a comment */\n\
         // a line comment /**/ keeps its text\n}\n/**/";
    let a = Interface::parse(&plain).unwrap();
    let b = Interface::parse(commented).unwrap();
    assert_eq!(a.hash(), b.hash());
    assert_eq!(b.source(), commented, "the source is kept as written");
    // A doc comment after an empty one keeps its text.
    let d = Interface::parse(&pkg("/**/\n/// adds\nf: func() -> u32;")).unwrap();
    assert_eq!(d.function("f").unwrap().docs.as_deref(), Some("adds"));
    // An error after a blanked comment is wit-parser's, as without it.
    let e = refused("/**/package t:t;\ninterface t {\n/**/ f: func() -> ;\n}\n");
    let Error::Parse(m) = e else { panic!("{e:?}") };
    assert!(m.contains("expected a type, found ';'"), "{m}");
    // Unterminated comments are wit-parser's error, not a panic.
    assert!(matches!(
        refused("/**/package t:t; /* /**/"),
        Error::Parse(_)
    ));
}

#[test]
fn parse_errors_are_typed_with_the_reason() {
    match refused("package t:t; interface t { f: func(a: nosuch); }") {
        Error::Parse(m) => assert!(m.contains("nosuch"), "{m}"),
        e => panic!("{e:?}"),
    }
    assert!(matches!(refused("not wit at all"), Error::Parse(_)));
    assert!(matches!(
        Interface::parse_bytes(b"package t:t; \xff"),
        Err(Error::Parse(_))
    ));
}

#[test]
fn parse_errors_say_where() {
    // The line and column, and the line itself with a marker (wit-parser's rendering).
    let Error::Parse(m) =
        refused("package t:t;\ninterface t {\n  f: func();\n  g: func(a: nosuch);\n}\n")
    else {
        panic!()
    };
    assert!(m.contains("name `nosuch` does not exist"), "{m}");
    assert!(m.contains("interface.wit:4:14"), "{m}");
    assert!(m.contains("  g: func(a: nosuch);"), "{m}");
    let Error::Parse(m) = refused("package t:t;\ninterface t {\n  f: func();\n  f: func();\n}\n")
    else {
        panic!()
    };
    assert!(
        m.contains("duplicate name `f`") && m.contains("interface.wit:"),
        "{m}"
    );
    // The text may be a hostile module's: no control character reaches the message, and a huge
    // line is not repeated in it.
    let Error::Parse(m) = refused("package t:t;\ninterface t {\n  f: func(); // \u{1b}[2J\n}\n")
    else {
        panic!()
    };
    assert!(!m.chars().any(|c| c.is_control() && c != '\n'), "{m:?}");
    let long = format!(
        "package t:t;\ninterface t {{\n  f: func(a: nosuch); // {}\n}}\n",
        "x".repeat(100_000)
    );
    let Error::Parse(m) = refused(&long) else {
        panic!()
    };
    assert!(
        m.len() < 2048 && m.contains("nosuch") && m.contains(":3:"),
        "{}",
        m.len()
    );
}

#[test]
fn unsupported_wit_is_refused_with_a_message() {
    let cases = [
        (pkg("f: func() -> future<u32>;"), "future"),
        (pkg("f: func() -> stream<u8>;"), "stream"),
        (pkg("f: func() -> error-context;"), "error-context"),
        (pkg("f: async func();"), "async"),
        ("package t:t; interface a { f: func(); } interface b { g: func(); }".to_string(), "more than one interface"),
        ("package t:t; interface a { f: func(); } world w { import a; }".to_string(), "world"),
        ("package t:t; interface events { e: func(); }".to_string(), "no interface"),
        ("package t:t; interface a { f: func(); } interface events { e: func() -> u32; }".to_string(), "event"),
        ("package t:t; interface a { f: func(); } interface events { record r { x: u8 } e: func(p: r); }".to_string(), "define payload types"),
    ];
    for (text, needle) in cases {
        let e = refused(&text);
        let m = e.to_string();
        assert!(
            matches!(e, Error::Unsupported(_) | Error::Parse(_)) && m.contains(needle),
            "{text}: {m}"
        );
    }
}

#[test]
fn hostile_sizes_and_nesting_are_bounded() {
    // Text size.
    let big = format!(
        "package t:t; interface t {{ f: func(); }} //{}",
        "x".repeat(limits::MAX_TEXT)
    );
    assert!(matches!(refused(&big), Error::TooLarge(_)));
    // Bracket nesting, before wit-parser sees it (100k levels would
    // otherwise recurse in the parser).
    let deep = pkg(&format!(
        "f: func(a: {}u8{});",
        "list<".repeat(100_000),
        ">".repeat(100_000)
    ));
    assert!(matches!(refused(&deep), Error::TooLarge(_)));
    // Type depth below the bracket limit but above the type limit.
    let n = limits::MAX_TYPE_DEPTH + 2;
    let deep = pkg(&format!(
        "f: func(a: {}u8{});",
        "list<".repeat(n),
        ">".repeat(n)
    ));
    assert!(matches!(refused(&deep), Error::TooLarge(_)), "{deep}");
    // ... and the same depth reached through a chain of named types.
    let mut chain = String::from("record r0 { x: u8 }\n");
    for k in 1..=limits::MAX_TYPE_DEPTH + 1 {
        chain.push_str(&format!("record r{k} {{ x: r{} }}\n", k - 1));
    }
    chain.push_str(&format!("f: func(a: r{});", limits::MAX_TYPE_DEPTH + 1));
    assert!(matches!(refused(&pkg(&chain)), Error::TooLarge(_)));
    // Exactly at the limit is fine.
    let n = limits::MAX_TYPE_DEPTH - 1;
    Interface::parse(&pkg(&format!(
        "f: func(a: {}u8{});",
        "list<".repeat(n),
        ">".repeat(n)
    )))
    .unwrap();
    // Counts.
    let many: String = (0..=limits::MAX_FUNCTIONS)
        .map(|k| format!("g{k}: func();\n"))
        .collect();
    let e = refused(&pkg(&many));
    assert!(matches!(e, Error::TooLarge(_)), "{e}");
    let flags: Vec<String> = (0..=limits::MAX_FLAGS).map(|k| format!("g{k}")).collect();
    let e = refused(&pkg(&format!("flags f {{ {} }}", flags.join(", "))));
    assert!(e.to_string().contains("32 flags"), "{e}");
    let params: Vec<String> = (0..=limits::MAX_PARAMS)
        .map(|k| format!("p{k}: u8"))
        .collect();
    assert!(matches!(
        refused(&pkg(&format!("f: func({});", params.join(", ")))),
        Error::TooLarge(_)
    ));
    // A long name (a method name must fit the module ABI).
    let long = format!("f{}: func();", "x".repeat(limits::MAX_NAME));
    assert!(matches!(refused(&pkg(&long)), Error::TooLarge(_)));
}

#[test]
fn shared_named_types_do_not_blow_up() {
    // Each record refers to the one before it 8 times: walking the type
    // tree would visit 8^30 nodes; the model memoizes per named type.
    let mut s = String::from("record r0 { a: u8 }\n");
    for k in 1..30 {
        let p = k - 1;
        s.push_str(&format!(
            "record r{k} {{ a: r{p}, b: r{p}, c: r{p}, d: r{p}, e: r{p}, f: r{p}, g: r{p}, h: r{p} }}\n"
        ));
    }
    s.push_str("f: func(x: r29) -> r29;");
    let t = std::time::Instant::now();
    let i = Interface::parse(&pkg(&s)).unwrap();
    let other = Interface::parse(&pkg(&s)).unwrap();
    bridgehost_interface::compat::check(&i, &other).unwrap();
    // Generous bound: the point is "not exponential" (8^30 would never end).
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    // Its min size saturates instead of overflowing.
    assert_eq!(
        bridgehost_interface::wire::min_size(&i, &Type::Named(29)),
        usize::MAX
    );
}

#[test]
fn long_alias_chains_are_refused_without_crashing_the_parser() {
    // Near the text limit: ~12k aliases, each referring to the previous one.
    let mut s = String::from("type t0 = u8;\n");
    let mut k = 1;
    while s.len() < limits::MAX_TEXT - 200 {
        s.push_str(&format!("type t{k} = t{};\n", k - 1));
        k += 1;
    }
    s.push_str(&format!("f: func(a: t{});", k - 1));
    let e = refused(&pkg(&s));
    assert!(matches!(e, Error::TooLarge(_)), "{e}");
}

/// Which handles a type holds is decided once, in the model, for every generator: through
/// aliases, records, variants and containers; linear in the type asked about. A hostile
/// interface whose types share each other many times over (here 8 fields of the previous record,
/// 30 levels deep: 8^30 paths to the resource) is answered at once, and every generator maps it
/// (each used to walk every path).
#[test]
fn handles_are_found_through_named_types_once() {
    let mut body = String::from(
        "resource r { constructor(); } record l0 { h: r } variant v { none, some(borrow<r>) } \
         type a = option<l0>; record plain { x: u32 }",
    );
    for k in 1..=30 {
        let fields: Vec<String> = (0..8).map(|f| format!("f{f}: l{}", k - 1)).collect();
        body.push_str(&format!(" record l{k} {{ {} }}", fields.join(", ")));
    }
    body.push_str(" top: func() -> l30;");
    let iface = Interface::parse(&pkg(&body)).unwrap();
    let named = |n: &str| Type::Named(iface.types.iter().position(|t| t.name == n).unwrap());
    let h = |t: &Type| {
        let h = iface.handles_in(t);
        (h.own, h.borrow)
    };
    assert_eq!(h(&named("l0")), (true, false));
    assert_eq!(h(&named("l30")), (true, false));
    assert_eq!(h(&named("a")), (true, false));
    assert_eq!(h(&named("v")), (false, true));
    assert_eq!(h(&named("plain")), (false, false));
    assert_eq!(h(&Type::List(Box::new(named("plain")))), (false, false));
    assert_eq!(
        h(&Type::Tuple(vec![
            named("plain"),
            Type::Option(Box::new(named("v")))
        ])),
        (false, true)
    );
    // Without `v` (a borrow inside a type is refused by the generators), every generator maps it.
    let body = body.replace("variant v { none, some(borrow<r>) } ", "");
    let iface = Interface::parse(&pkg(&body)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for lang in ["c", "csharp", "java", "python", "rust"] {
            let r = bridgehost_interface::bindgen::generate(lang, &iface, None).map(|_| ());
            tx.send((lang, r)).unwrap();
        }
    });
    for _ in 0..5 {
        let (lang, r) = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("a generator walks each shared type once, not once per path");
        r.unwrap_or_else(|e| panic!("{lang}: {e}"));
    }
}
