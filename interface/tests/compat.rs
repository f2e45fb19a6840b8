//! The versioning rules of docs/TYPED.md, each as a case: which changes keep
//! old bindings working, and the message naming the first difference.

use bridgehost_interface::{compat, Error, Interface};

const V1: &str = "package t:db@1.0.0;
interface db {
    enum mode { read, write }
    enum status { ok, busy }
    flags opts { sync, wal }
    record row { id: u64, name: string }
    variant err { not-found, io(string) }
    open: func(path: string, mode: mode, opts: opts) -> result<u64, err>;
    query: func(sql: string) -> list<row>;
    state: func() -> status;
}
interface events { use db.{row}; inserted: func(r: row); }";

fn v(from: &str, to: &str) -> Interface {
    assert!(V1.contains(from), "{from}");
    Interface::parse(&V1.replace(from, to)).unwrap()
}

fn check(binding: &Interface, module: &Interface) -> Result<(), String> {
    compat::check(binding, module).map_err(|e| match e {
        Error::Incompatible(m) => m,
        other => panic!("not an Incompatible error: {other:?}"),
    })
}

#[test]
fn compatible_changes() {
    let old = Interface::parse(V1).unwrap();
    for (from, to, why) in [
        (
            "state: func() -> status;",
            "state: func() -> status;\n    extra: func(x: u8);",
            "an added function",
        ),
        (
            "inserted: func(r: row);",
            "inserted: func(r: row); deleted: func(id: u64);",
            "an added event",
        ),
        (
            "enum mode { read, write }",
            "enum mode { read, write, append }",
            "an added enum case in a parameter-only type",
        ),
        (
            "flags opts { sync, wal }",
            "flags opts { sync, wal, direct }",
            "an added flag in a parameter-only type (same width)",
        ),
        (
            "query: func(sql: string)",
            "query: func(statement: string)",
            "a renamed parameter",
        ),
        (
            "package t:db@1.0.0;",
            "package t:db@1.1.0;",
            "a new package version",
        ),
    ] {
        let new = v(from, to);
        assert_ne!(new.hash(), old.hash(), "{why}: the hash still changes");
        check(&old, &new).unwrap_or_else(|m| panic!("{why} should be compatible: {m}"));
    }
    // The interface itself, reordered and re-documented.
    check(&old, &Interface::parse(V1).unwrap()).unwrap();
    // A renamed type of the same shape (every use renamed with it).
    let renamed = Interface::parse(&V1.replace("row", "entry")).unwrap();
    assert_ne!(renamed.hash(), old.hash());
    check(&old, &renamed).unwrap();
    // A case removed from a type that only comes back from the module.
    check(&old, &v("enum status { ok, busy }", "enum status { ok }")).unwrap();
}

#[test]
fn incompatible_changes_name_the_first_difference() {
    let old = Interface::parse(V1).unwrap();
    for (from, to, want) in [
        ("state: func() -> status;", "", "function state: missing in the module"),
        ("query: func(sql: string)", "query: func(sql: list<u8>)", "function query: parameter 1 (sql): string here, list<u8> in the module"),
        ("query: func(sql: string)", "query: func(sql: string, limit: u32)", "function query: 1 parameter(s) here, 2 in the module"),
        ("enum status { ok, busy }", "enum status { ok, busy, locked }", "function state: result: status: enum case \"locked\" is new in the module, and an old binding cannot decode it"),
        ("enum mode { read, write }", "enum mode { read }", "enum case \"write\" is removed in the module"),
        ("record row { id: u64, name: string }", "record row { id: u64, name: string, age: u8 }", "row: record fields added or removed"),
        ("record row { id: u64, name: string }", "record row { name: string, id: u64 }", "renamed or reordered"),
        ("record row { id: u64, name: string }", "record row { id: u32, name: string }", "row.id: u64 here, u32 in the module"),
        ("variant err { not-found, io(string) }", "variant err { not-found, io(string), full }", "case \"full\" is new in the module"),
        // A name inserted or removed in the middle is the one named, not the
        // last name past the shorter list (every later discriminant shifts).
        ("variant err { not-found, io(string) }", "variant err { not-found, full, io(string) }", "err: case \"full\" is new in the module, before \"io\", so every later discriminant shifts"),
        ("enum status { ok, busy }", "enum status { ok, locked, busy }", "status: enum case \"locked\" is new in the module, before \"busy\", so every later discriminant shifts"),
        ("enum mode { read, write }", "enum mode { read, append, write }", "mode: enum case \"append\" is new in the module, before \"write\", so every later discriminant shifts"),
        ("flags opts { sync, wal }", "flags opts { wal }", "opts: flag \"sync\" is removed in the module, before \"wal\", so every later flag's bit moves"),
        ("enum status { ok, busy }", "enum status { ok, fine }", "status: enum case \"busy\" / \"fine\" renamed or reordered"),
        ("inserted: func(r: row);", "inserted: func(r: string);", "event inserted: payload row here, string in the module"),
        ("-> result<u64, err>", "-> result<u64, string>", "err here, string in the module"),
    ] {
        let new = v(from, to);
        let m = check(&old, &new).expect_err(to);
        assert!(m.contains(want), "{from} -> {to}: {m}");
    }
}

#[test]
fn discriminant_width_changes_break_even_parameters() {
    let cases = |n: usize| {
        (0..n)
            .map(|k| format!("c{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let old = Interface::parse(&format!(
        "package t:t; interface t {{ enum e {{ {} }} f: func(x: e); }}",
        cases(256)
    ))
    .unwrap();
    let new = Interface::parse(&format!(
        "package t:t; interface t {{ enum e {{ {} }} f: func(x: e); }}",
        cases(257)
    ))
    .unwrap();
    let m = check(&old, &new).unwrap_err();
    assert!(m.contains("width"), "{m}");
}
