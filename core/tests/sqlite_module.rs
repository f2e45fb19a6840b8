//! The bundled sqlite module (docs/SQLITE.md), driven through the typed model exactly as a
//! runtime drives it: arguments as JSON turned into wire values, the output decoded against the
//! module's own interface, handles as numbers, drops through `[resource-drop]R`. Every test runs
//! in-process and isolated, except the two that need a database file (the sandbox of process
//! isolation creates no file) and the worker restart (isolated only).
//!
//! Prerequisites: `scripts/build.sh` (target/dist/libbridgehost_mod_sqlite.so, the worker).
mod isolation_support;

use bridgehost::interface::typed::{json, wire, Value};
use bridgehost::{Error, Isolation, Module, ModuleOptions};
use isolation_support::*;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

const MODES: [Isolation; 2] = [Isolation::InProcess, Isolation::Process];

/// Two tests count this process's worker children: the tests run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// One host for the whole test binary (closing a host closes its modules).
fn shared_host() -> &'static bridgehost::Host {
    static HOST: OnceLock<bridgehost::Host> = OnceLock::new();
    HOST.get_or_init(host)
}

fn open_module(mode: Isolation, config: &[u8]) -> Module {
    let host = shared_host();
    let opts = ModuleOptions {
        config: config.to_vec(),
        ..opts(mode)
    };
    let m = host.open("sqlite", opts).expect("open the sqlite module");
    assert!(m.info().stateful, "sqlite declares BH_MODULE_STATEFUL");
    m
}

/// Call typed function `f` with `args` (a JSON array); the result as compact JSON.
fn call(m: &Module, f: &str, args: &str) -> Result<String, Error> {
    let iface = m.interface().expect("sqlite is typed");
    let func = iface
        .function(f)
        .unwrap_or_else(|| panic!("no function {f}"));
    let values = json::args_from_json(iface, func, &args.parse().expect("test JSON"))
        .unwrap_or_else(|e| panic!("{f} {args}: {e}"));
    let input = wire::encode_params(iface, func, &values).unwrap();
    let out = m.method(f)?.call(&input)?;
    let v = wire::decode_result(iface, func, &out)
        .unwrap_or_else(|e| panic!("{f}: output does not decode: {e}"));
    Ok(match (&func.result, &v) {
        (Some(t), Some(v)) => json::to_json(iface, t, v).unwrap().to_string(),
        _ => "null".to_string(),
    })
}

/// `call` that must succeed.
fn ok(m: &Module, f: &str, args: &str) -> String {
    call(m, f, args).unwrap_or_else(|e| panic!("{f} {args}: {e}"))
}

/// A handle out of a `result<R, error>` (panics on anything else).
fn handle_of(m: &Module, f: &str, args: &str) -> u64 {
    let iface = m.interface().unwrap();
    let func = iface.function(f).unwrap();
    let values = json::args_from_json(iface, func, &args.parse().unwrap()).unwrap();
    let input = wire::encode_params(iface, func, &values).unwrap();
    let out = m.method(f).unwrap().call(&input).unwrap();
    match wire::decode_result(iface, func, &out).unwrap() {
        Some(Value::Result(Ok(Some(v)))) => match *v {
            Value::Handle(h) => h,
            other => panic!("{f}: not a handle: {other:?}"),
        },
        other => panic!("{f} {args}: expected ok(handle), got {other:?}"),
    }
}

fn connect(m: &Module) -> u64 {
    handle_of(m, "[static]connection.open", r#"[":memory:", "create"]"#)
}

fn prepare(m: &Module, c: u64, sql: &str) -> u64 {
    handle_of(
        m,
        "[method]connection.prepare",
        &format!("[{c}, {}]", json_str(sql)),
    )
}

fn drop_handle(m: &Module, resource: &str, h: u64) -> Result<Vec<u8>, Error> {
    m.method(&format!("[resource-drop]{resource}"))?
        .call(&h.to_le_bytes())
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn exec(m: &Module, c: u64, sql: &str, params: &str) -> String {
    ok(
        m,
        "[method]connection.execute",
        &format!("[{c}, {}, {params}]", json_str(sql)),
    )
}

fn query(m: &Module, c: u64, sql: &str, params: &str) -> String {
    ok(
        m,
        "[method]connection.query",
        &format!("[{c}, {}, {params}]", json_str(sql)),
    )
}

fn expect_stale(r: Result<String, Error>, resource: &str) {
    match r {
        Err(Error::Module { code: 22, message }) => assert!(
            message.contains(&format!("stale handle: no live {resource} has handle 0x")),
            "{message}"
        ),
        other => panic!("expected a stale {resource} handle, got {other:?}"),
    }
}

#[test]
fn values_of_every_kind_go_in_and_come_back() {
    let _g = serial();
    for mode in MODES {
        let m = open_module(mode, b"");
        let c = connect(&m);
        assert_eq!(
            exec(
                &m,
                c,
                "CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n);\n-- a comment\n",
                "[]"
            ),
            r#"{"ok":0}"#
        );
        let params = r#"[{"integer": -9223372036854775808}, {"real": 1.5}, {"text": "héllo ☃ 𝄞"},
                         {"blob": [0, 255, 1, 0]}, "null"]"#;
        assert_eq!(
            exec(&m, c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", params),
            r#"{"ok":1}"#
        );
        assert_eq!(
            exec(
                &m,
                c,
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
                r#"[{"integer": 7}, {"real": -0.25}, {"text": ""}, {"blob": []}, {"integer": 0}]"#
            ),
            r#"{"ok":1}"#
        );
        assert_eq!(
            ok(
                &m,
                "[method]connection.last-insert-rowid",
                &format!("[{c}]")
            ),
            "2"
        );
        assert_eq!(
            query(&m, c, "SELECT i, r, s, b, n FROM t ORDER BY rowid", "[]"),
            concat!(
                r#"{"ok":{"columns":["i","r","s","b","n"],"rows":["#,
                r#"[{"integer":-9223372036854775808},{"real":1.5},{"text":"héllo ☃ 𝄞"},{"blob":[0,255,1,0]},"null"],"#,
                r#"[{"integer":7},{"real":-0.25},{"text":""},{"blob":[]},{"integer":0}]]}}"#
            )
        );
        // SQLite keeps what was bound: the types, and the text with its bytes.
        assert_eq!(
            query(
                &m,
                c,
                "SELECT typeof(i), typeof(r), typeof(s), typeof(b), length(CAST(s AS BLOB)) FROM t WHERE rowid = :row",
                r#"[{"integer": 1}]"#
            ),
            r#"{"ok":{"columns":["typeof(i)","typeof(r)","typeof(s)","typeof(b)","length(CAST(s AS BLOB))"],"rows":[[{"text":"integer"},{"text":"real"},{"text":"text"},{"text":"blob"},{"integer":15}]]}}"#
        );
        assert_eq!(
            exec(&m, c, "UPDATE t SET n = n", "[]"),
            r#"{"ok":2}"#,
            "rows changed"
        );
        assert_eq!(
            exec(&m, c, "DELETE FROM t WHERE i = ?", r#"[{"integer": 7}]"#),
            r#"{"ok":1}"#
        );
        assert_eq!(
            ok(&m, "[method]connection.autocommit", &format!("[{c}]")),
            "true"
        );
        exec(&m, c, "BEGIN", "[]");
        assert_eq!(
            ok(&m, "[method]connection.autocommit", &format!("[{c}]")),
            "false"
        );
        exec(&m, c, "COMMIT", "[]");
        drop_handle(&m, "connection", c).unwrap();
        m.close();
    }
}

#[test]
fn a_prepared_statement_is_a_cursor() {
    let _g = serial();
    for mode in MODES {
        let m = open_module(mode, b"");
        let c = connect(&m);
        exec(
            &m,
            c,
            "CREATE TABLE n(x INTEGER PRIMARY KEY); \
             WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 10) \
             INSERT INTO n SELECT x FROM k",
            "[]",
        );
        let s = prepare(&m, c, "SELECT x, x * x AS sq FROM n WHERE x > ? ORDER BY x");
        let arg = |s: u64| format!("[{s}]");
        assert_eq!(
            ok(&m, "[method]statement.columns", &arg(s)),
            r#"{"ok":["x","sq"]}"#
        );
        // Unbound: the statement takes one parameter.
        assert_eq!(
            ok(&m, "[method]statement.bind", &format!("[{s}, []]")),
            r#"{"err":{"misuse":"the statement takes 1 parameter(s), got 0"}}"#
        );
        assert_eq!(
            ok(
                &m,
                "[method]statement.bind",
                &format!(r#"[{s}, [{{"integer": 6}}]]"#)
            ),
            r#"{"ok":null}"#
        );
        assert_eq!(
            ok(&m, "[method]statement.step", &arg(s)),
            r#"{"ok":[{"integer":7},{"integer":49}]}"#
        );
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 2]")),
            r#"{"ok":[[{"integer":8},{"integer":64}],[{"integer":9},{"integer":81}]]}"#
        );
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 100]")),
            r#"{"ok":[[{"integer":10},{"integer":100}]]}"#
        );
        // Done: none / empty until reset or bind.
        assert_eq!(ok(&m, "[method]statement.step", &arg(s)), r#"{"ok":null}"#);
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 5]")),
            r#"{"ok":[]}"#
        );
        assert_eq!(ok(&m, "[method]statement.reset", &arg(s)), r#"{"ok":null}"#);
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 1]")),
            r#"{"ok":[[{"integer":7},{"integer":49}]]}"#,
            "reset keeps the bound parameter"
        );
        ok(
            &m,
            "[method]statement.bind",
            &format!(r#"[{s}, [{{"integer": 9}}]]"#),
        );
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 0]")),
            r#"{"ok":[]}"#
        );
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 4294967295]")),
            r#"{"ok":[[{"integer":10},{"integer":100}]]}"#
        );
        // A statement without rows: no columns, step runs it.
        let ins = prepare(&m, c, "INSERT INTO n VALUES (?)");
        assert_eq!(
            ok(&m, "[method]statement.columns", &arg(ins)),
            r#"{"ok":[]}"#
        );
        ok(
            &m,
            "[method]statement.bind",
            &format!(r#"[{ins}, [{{"integer": 11}}]]"#),
        );
        assert_eq!(
            ok(&m, "[method]statement.step", &arg(ins)),
            r#"{"ok":null}"#
        );
        assert_eq!(
            ok(&m, "[method]statement.reset", &arg(ins)),
            r#"{"ok":null}"#
        );
        // The same row again: a constraint error from step, as a value.
        let e = ok(&m, "[method]statement.step", &arg(ins));
        assert!(
            e.starts_with(r#"{"err":{"sqlite":{"code":19,"extended-code":1555,"message":"UNIQUE constraint failed: n.x"#),
            "{e}"
        );
        assert_eq!(
            query(&m, c, "SELECT count(*) FROM n", "[]"),
            r#"{"ok":{"columns":["count(*)"],"rows":[[{"integer":11}]]}}"#
        );
        drop_handle(&m, "statement", s).unwrap();
        drop_handle(&m, "statement", ins).unwrap();
        drop_handle(&m, "connection", c).unwrap();
        m.close();
    }
}

#[test]
fn every_sqlite_error_is_a_typed_value() {
    let _g = serial();
    for mode in MODES {
        let m = open_module(mode, b"");
        let c = connect(&m);
        exec(&m, c, "CREATE TABLE u(x TEXT UNIQUE NOT NULL)", "[]");
        let cases: &[(&str, &str, &str, &str)] = &[
            // (function, sql, params, result)
            (
                "execute",
                "SELEC 1",
                "[]",
                r#"{"err":{"sqlite":{"code":1,"extended-code":1,"message":"near \"SELEC\": syntax error"}}}"#,
            ),
            (
                "query",
                "SELECT * FROM missing",
                "[]",
                r#"{"err":{"sqlite":{"code":1,"extended-code":1,"message":"no such table: missing"}}}"#,
            ),
            (
                "execute",
                "INSERT INTO u VALUES (NULL)",
                "[]",
                r#"{"err":{"sqlite":{"code":19,"extended-code":1299,"message":"NOT NULL constraint failed: u.x"}}}"#,
            ),
            (
                "execute",
                "INSERT INTO u VALUES (?), (?)",
                r#"[{"text": "a"}, {"text": "a"}]"#,
                r#"{"err":{"sqlite":{"code":19,"extended-code":2067,"message":"UNIQUE constraint failed: u.x"}}}"#,
            ),
            (
                "execute",
                "INSERT INTO u VALUES (?)",
                r#"[{"text": "a"}, {"text": "b"}]"#,
                r#"{"err":{"misuse":"the statement takes 1 parameter(s), got 2"}}"#,
            ),
            (
                "execute",
                "INSERT INTO u VALUES (?)",
                "[]",
                r#"{"err":{"misuse":"the statement takes 1 parameter(s), got 0"}}"#,
            ),
            (
                "query",
                "SELECT ?5",
                r#"[{"integer": 1}]"#,
                r#"{"err":{"misuse":"the statement takes 5 parameter(s), got 1"}}"#,
            ),
            (
                "query",
                "SELECT 1; SELECT 2",
                "[]",
                r#"{"err":{"misuse":"the SQL text holds more than one statement (the second starts at byte 9)"}}"#,
            ),
            (
                "execute",
                "SELECT ?; SELECT 2",
                r#"[{"integer": 1}]"#,
                r#"{"err":{"misuse":"the SQL text holds more than one statement (the second starts at byte 9)"}}"#,
            ),
            (
                "query",
                "  -- nothing\n",
                "[]",
                r#"{"err":{"misuse":"the SQL text holds no statement"}}"#,
            ),
            (
                "execute",
                "",
                "[]",
                r#"{"err":{"misuse":"the SQL text holds no statement"}}"#,
            ),
            (
                "query",
                "SELECT 1\u{0}; DROP TABLE u",
                "[]",
                r#"{"err":{"misuse":"the SQL text contains a NUL byte"}}"#,
            ),
            // Text that is not UTF-8 never reaches the wire.
            (
                "query",
                "SELECT CAST(x'41ff42' AS TEXT) AS bad",
                "[]",
                r#"{"err":{"invalid-text":"bad"}}"#,
            ),
            (
                "query",
                "SELECT x'41ff42' AS fine",
                "[]",
                r#"{"ok":{"columns":["fine"],"rows":[[{"blob":[65,255,66]}]]}}"#,
            ),
            // What hostile SQL must not reach: a C pointer from SQL, extensions.
            (
                "query",
                "SELECT fts3_tokenizer('simple', x'4141414141414141')",
                "[]",
                r#"{"err":{"sqlite":{"code":1,"extended-code":1,"message":"not authorized to use function: fts3_tokenizer"}}}"#,
            ),
            (
                "query",
                "SELECT fts3_tokenizer('simple', ?)",
                r#"[{"blob": [65, 65, 65, 65, 65, 65, 65, 65]}]"#,
                r#"{"err":{"sqlite":{"code":1,"extended-code":1,"message":"not authorized to use function: fts3_tokenizer"}}}"#,
            ),
            (
                "query",
                "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')",
                "[]",
                r#"{"err":{"sqlite":{"code":1,"extended-code":1,"message":"not authorized to use function: load_extension"}}}"#,
            ),
        ];
        for (f, sql, params, want) in cases {
            let got = ok(
                &m,
                &format!("[method]connection.{f}"),
                &format!("[{c}, {}, {params}]", json_str(sql)),
            );
            assert_eq!(&got, want, "{mode:?}: {f} {sql:?} {params}");
        }
        assert_eq!(
            ok(
                &m,
                "[method]connection.prepare",
                &format!("[{c}, \"SELEC\"]")
            ),
            r#"{"err":{"sqlite":{"code":1,"extended-code":1,"message":"near \"SELEC\": syntax error"}}}"#
        );
        // A script stops at its first error; what ran before stays.
        assert_eq!(
            exec(&m, c, "INSERT INTO u VALUES ('s1'); INSERT INTO u VALUES ('s1'); INSERT INTO u VALUES ('s2')", "[]"),
            r#"{"err":{"sqlite":{"code":19,"extended-code":2067,"message":"UNIQUE constraint failed: u.x"}}}"#
        );
        assert_eq!(
            query(&m, c, "SELECT x FROM u ORDER BY x", "[]"),
            r#"{"ok":{"columns":["x"],"rows":[[{"text":"s1"}]]}}"#
        );
        // Opening: a missing file, read-only; a NUL in the path.
        assert_eq!(
            ok(
                &m,
                "[static]connection.open",
                r#"["/nonexistent/dir/x.db", "read-only"]"#
            ),
            r#"{"err":{"sqlite":{"code":14,"extended-code":14,"message":"unable to open database file"}}}"#
        );
        assert_eq!(
            ok(&m, "[static]connection.open", r#"["a\u0000b", "create"]"#),
            r#"{"err":{"misuse":"the path contains a NUL byte"}}"#
        );
        // Many parameters: counted, never trusted.
        let many = format!("[{}]", vec![r#""null""#; 10_000].join(","));
        assert_eq!(
            ok(
                &m,
                "[method]connection.query",
                &format!("[{c}, \"SELECT ?, ?\", {many}]")
            ),
            r#"{"err":{"misuse":"the statement takes 2 parameter(s), got 10000"}}"#
        );
        let sql = format!(
            "SELECT total(column1) AS t FROM (VALUES {})",
            vec!["(?)"; 10_000].join(", ")
        );
        let params = format!("[{}]", vec![r#"{"integer": 2}"#; 10_000].join(","));
        assert_eq!(
            query(&m, c, &sql, &params),
            r#"{"ok":{"columns":["t"],"rows":[[{"real":20000.0}]]}}"#
        );
        // Malformed input is the generated decoder's EINVAL, not a crash.
        match m
            .method("[method]connection.query")
            .unwrap()
            .call(&c.to_le_bytes())
        {
            Err(Error::Module { code: 22, message }) => {
                assert!(message.contains("malformed typed payload"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        m.close();
    }
}

#[test]
fn results_are_bounded_by_the_module_limit() {
    let _g = serial();
    for mode in MODES {
        let m = open_module(mode, b"4096");
        let c = connect(&m);
        exec(
            &m,
            c,
            "CREATE TABLE big(s TEXT); \
             WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 100) \
             INSERT INTO big SELECT printf('%040d', x) FROM k",
            "[]",
        );
        assert_eq!(
            query(&m, c, "SELECT s FROM big", "[]"),
            r#"{"err":{"too-large":4096}}"#
        );
        // The limit counts the memory of the result in the module: a text value its C struct
        // (24 bytes), its allocation (32) and its bytes; a row its array (32) and slots (2 x 16).
        let fits = query(&m, c, "SELECT s FROM big LIMIT 20", "[]");
        assert!(fits.starts_with(r#"{"ok":"#), "{fits}");
        // So 100 NULLs, 5 bytes a row on the wire, are too large: 88 bytes a row in memory.
        assert_eq!(
            query(
                &m,
                c,
                "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 100) SELECT NULL FROM k",
                "[]"
            ),
            r#"{"err":{"too-large":4096}}"#
        );
        assert!(query(
            &m,
            c,
            "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 40) SELECT NULL FROM k",
            "[]"
        )
        .starts_with(r#"{"ok":"#));
        assert_eq!(
            query(&m, c, "SELECT zeroblob(5000)", "[]"),
            r#"{"err":{"too-large":4096}}"#
        );
        // An unbounded generator stops at the limit too.
        assert_eq!(
            query(
                &m,
                c,
                "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k) SELECT x FROM k",
                "[]"
            ),
            r#"{"err":{"too-large":4096}}"#
        );
        let s = prepare(&m, c, "SELECT s FROM big ORDER BY s");
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 1000]")),
            r#"{"err":{"too-large":4096}}"#
        );
        // ... and resets the statement: the first row comes next.
        let first = ok(&m, "[method]statement.step", &format!("[{s}]"));
        assert_eq!(first, format!(r#"{{"ok":[{{"text":"{:040}"}}]}}"#, 1));
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 20]"))
                .matches("text")
                .count(),
            20,
            "a fetch under the limit"
        );
        m.close();
    }
    // The default limit is 16 MiB.
    let m = open_module(Isolation::InProcess, b"");
    let c = connect(&m);
    assert_eq!(
        query(&m, c, "SELECT zeroblob(17000000)", "[]"),
        r#"{"err":{"too-large":16777216}}"#
    );
    let len = query(
        &m,
        c,
        "SELECT length(zeroblob(16000000)), zeroblob(16000000)",
        "[]",
    );
    assert!(len.starts_with(r#"{"ok":{"columns""#), "{}", &len[..60]);
    // A config that is not a limit fails open.
    for bad in [&b"0"[..], b"abc", b"1073741825", b"-1", b"99999999999"] {
        match shared_host().open(
            "sqlite",
            ModuleOptions {
                config: bad.to_vec(),
                ..ModuleOptions::default()
            },
        ) {
            Err(e) => assert!(e.to_string().contains("result limit in bytes"), "{e}"),
            Ok(_) => panic!("config {bad:?} accepted"),
        }
    }
}

#[test]
fn dropped_handles_are_stale_and_statements_outlive_their_connection() {
    let _g = serial();
    for mode in MODES {
        let m = open_module(mode, b"");
        let c = connect(&m);
        exec(
            &m,
            c,
            "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)",
            "[]",
        );
        let s = prepare(&m, c, "SELECT x FROM t ORDER BY x");
        let s2 = prepare(&m, c, "SELECT count(*) FROM t");
        assert_eq!(
            ok(&m, "[method]statement.step", &format!("[{s}]")),
            r#"{"ok":[{"integer":1}]}"#
        );
        // A dropped statement is stale; dropping it again too.
        drop_handle(&m, "statement", s2).unwrap();
        expect_stale(
            call(&m, "[method]statement.step", &format!("[{s2}]")),
            "statement",
        );
        match drop_handle(&m, "statement", s2) {
            Err(Error::Module { code: 22, message }) => {
                assert!(message.contains("stale handle"), "{message}")
            }
            other => panic!("second drop: {other:?}"),
        }
        // A statement handle is not a connection handle, and the reverse.
        expect_stale(
            call(&m, "[method]connection.autocommit", &format!("[{s}]")),
            "connection",
        );
        expect_stale(
            call(&m, "[method]statement.reset", &format!("[{c}]")),
            "statement",
        );
        expect_stale(call(&m, "[method]statement.reset", "[0]"), "statement");
        // The connection goes; its statement stays safe and says so.
        drop_handle(&m, "connection", c).unwrap();
        expect_stale(
            call(&m, "[method]connection.autocommit", &format!("[{c}]")),
            "connection",
        );
        for f in ["step", "reset", "columns"] {
            assert_eq!(
                ok(&m, &format!("[method]statement.{f}"), &format!("[{s}]")),
                r#"{"err":{"misuse":"the statement's connection was dropped"}}"#,
                "{f}"
            );
        }
        assert_eq!(
            ok(&m, "[method]statement.fetch", &format!("[{s}, 10]")),
            r#"{"err":{"misuse":"the statement's connection was dropped"}}"#
        );
        assert_eq!(
            ok(&m, "[method]statement.bind", &format!("[{s}, []]")),
            r#"{"err":{"misuse":"the statement's connection was dropped"}}"#
        );
        drop_handle(&m, "statement", s).unwrap();
        expect_stale(
            call(&m, "[method]statement.step", &format!("[{s}]")),
            "statement",
        );
        // Handles of one instance mean nothing to another.
        let other = open_module(mode, b"");
        let c2 = connect(&m);
        expect_stale(
            call(&other, "[method]connection.autocommit", &format!("[{c2}]")),
            "connection",
        );
        other.close();
        m.close();
    }
}

/// A database file in the test's temporary directory (removed first).
fn db_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-module-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(name);
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
    }
    f
}

/// In-process: closing the module closes the databases of its live connections and statements
/// (the open transaction is rolled back, its lock released).
#[test]
fn closing_the_module_closes_live_connections() {
    let _g = serial();
    let path = db_file("close.db");
    let p = json_str(path.to_str().unwrap());
    let a = open_module(Isolation::InProcess, b"");
    let ca = handle_of(&a, "[static]connection.open", &format!("[{p}, \"create\"]"));
    exec(&a, ca, "CREATE TABLE t(x)", "[]");
    exec(
        &a,
        ca,
        "BEGIN IMMEDIATE; INSERT INTO t VALUES ('uncommitted')",
        "[]",
    );
    let _live_statement = prepare(&a, ca, "SELECT x FROM t");
    let b = open_module(Isolation::InProcess, b"");
    let cb = handle_of(
        &b,
        "[static]connection.open",
        &format!("[{p}, \"read-write\"]"),
    );
    assert_eq!(
        exec(&b, cb, "INSERT INTO t VALUES ('b')", "[]"),
        r#"{"err":{"sqlite":{"code":5,"extended-code":5,"message":"database is locked"}}}"#
    );
    a.close();
    assert_eq!(
        ok(
            &b,
            "[method]connection.busy-timeout",
            &format!("[{cb}, 2000]")
        ),
        r#"{"ok":null}"#
    );
    assert_eq!(
        exec(&b, cb, "INSERT INTO t VALUES ('b')", "[]"),
        r#"{"ok":1}"#
    );
    assert_eq!(
        query(&b, cb, "SELECT x FROM t", "[]"),
        r#"{"ok":{"columns":["x"],"rows":[[{"text":"b"}]]}}"#,
        "a's transaction was rolled back"
    );
    // Read-only refuses writes.
    let r = handle_of(
        &b,
        "[static]connection.open",
        &format!("[{p}, \"read-only\"]"),
    );
    assert_eq!(
        exec(&b, r, "INSERT INTO t VALUES ('r')", "[]"),
        r#"{"err":{"sqlite":{"code":8,"extended-code":8,"message":"attempt to write a readonly database"}}}"#
    );
    b.close();
}

/// Isolated: the sandbox creates no file, so a database file cannot be opened there, but the
/// error is a value; closing with live objects ends the worker cleanly.
#[test]
fn isolated_files_fail_as_values_and_close_with_live_objects_is_clean() {
    let _g = serial();
    let path = db_file("isolated.db");
    let m = open_module(Isolation::Process, b"");
    let got = ok(
        &m,
        "[static]connection.open",
        &format!("[{}, \"create\"]", json_str(path.to_str().unwrap())),
    );
    assert!(
        got.starts_with(r#"{"err":{"sqlite":{"code":14,"#),
        "the sandbox refuses the file: {got}"
    );
    for _ in 0..3 {
        let c = connect(&m);
        exec(&m, c, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", "[]");
        prepare(&m, c, "SELECT x FROM t");
    }
    let before = m.counters();
    m.close();
    assert_eq!(before.crashes, 0);
    assert!(eventually(Duration::from_secs(5), || worker_children().is_empty()));
}

/// A worker restart loses the databases: StateLost once, then the old handles are stale.
#[test]
fn a_killed_worker_gives_state_lost_then_stale_handles() {
    let _g = serial();
    let m = open_module(Isolation::Process, b"");
    let c = connect(&m);
    exec(&m, c, "CREATE TABLE t(x)", "[]");
    let s = prepare(&m, c, "SELECT x FROM t");
    let pids = worker_children();
    assert_eq!(pids.len(), 1, "one worker: {pids:?}");
    let st = std::process::Command::new("kill")
        .args(["-KILL", &pids[0].to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(eventually(Duration::from_secs(5), || {
        !worker_children().contains(&pids[0])
    }));
    match call(&m, "[method]statement.step", &format!("[{s}]")) {
        Err(Error::StateLost(_)) => {}
        other => panic!("expected StateLost, got {other:?}"),
    }
    expect_stale(
        call(&m, "[method]statement.step", &format!("[{s}]")),
        "statement",
    );
    expect_stale(
        call(&m, "[method]connection.autocommit", &format!("[{c}]")),
        "connection",
    );
    let c2 = connect(&m);
    assert_eq!(
        query(&m, c2, "SELECT 1 AS one", "[]"),
        r#"{"ok":{"columns":["one"],"rows":[[{"integer":1}]]}}"#
    );
    m.close();
}

/// BH_THREAD_SAFE: calls on one connection from many threads are serialized by the module,
/// calls on different connections run side by side; drops race with calls safely.
#[test]
fn threads_share_connections_safely() {
    let _g = serial();
    for mode in MODES {
        let m = open_module(mode, b"");
        let shared = connect(&m);
        exec(&m, shared, "CREATE TABLE t(k INTEGER, v INTEGER)", "[]");
        std::thread::scope(|sc| {
            for k in 0..4 {
                let m = &m;
                sc.spawn(move || {
                    let own = connect(m);
                    exec(m, own, "CREATE TABLE mine(v)", "[]");
                    for v in 0..50 {
                        let r = exec(
                            m,
                            shared,
                            "INSERT INTO t VALUES (?, ?)",
                            &format!(r#"[{{"integer": {k}}}, {{"integer": {v}}}]"#),
                        );
                        assert_eq!(r, r#"{"ok":1}"#);
                        exec(
                            m,
                            own,
                            "INSERT INTO mine VALUES (?)",
                            &format!(r#"[{{"integer": {v}}}]"#),
                        );
                        let s = prepare(m, shared, "SELECT count(*) FROM t WHERE k = ?");
                        ok(
                            m,
                            "[method]statement.bind",
                            &format!(r#"[{s}, [{{"integer": {k}}}]]"#),
                        );
                        assert_eq!(
                            ok(m, "[method]statement.step", &format!("[{s}]")),
                            format!(r#"{{"ok":[{{"integer":{}}}]}}"#, v + 1)
                        );
                        drop_handle(m, "statement", s).unwrap();
                    }
                    assert_eq!(
                        query(m, own, "SELECT count(*) FROM mine", "[]"),
                        r#"{"ok":{"columns":["count(*)"],"rows":[[{"integer":50}]]}}"#
                    );
                    drop_handle(m, "connection", own).unwrap();
                });
            }
        });
        assert_eq!(
            query(
                &m,
                shared,
                "SELECT count(*), count(DISTINCT k) FROM t",
                "[]"
            ),
            r#"{"ok":{"columns":["count(*)","count(DISTINCT k)"],"rows":[[{"integer":200},{"integer":4}]]}}"#
        );
        // A connection dropped while its statement is used on other threads.
        let c = connect(&m);
        exec(&m, c, "CREATE TABLE n(x); INSERT INTO n VALUES (1)", "[]");
        let stmts: Vec<u64> = (0..4).map(|_| prepare(&m, c, "SELECT x FROM n")).collect();
        std::thread::scope(|sc| {
            for &s in &stmts {
                let m = &m;
                sc.spawn(move || {
                    for _ in 0..200 {
                        let r = ok(m, "[method]statement.fetch", &format!("[{s}, 5]"));
                        assert!(
                            r == r#"{"ok":[[{"integer":1}]]}"#
                                || r == r#"{"ok":[]}"#
                                || r == r#"{"err":{"misuse":"the statement's connection was dropped"}}"#,
                            "{r}"
                        );
                        ok(m, "[method]statement.reset", &format!("[{s}]"));
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(5));
            drop_handle(&m, "connection", c).unwrap();
        });
        for s in stmts {
            drop_handle(&m, "statement", s).unwrap();
        }
        m.close();
    }
}

/// The module is built from generated files that are checked in (plugins/Makefile builds
/// without the CLI): they must be exactly what the generator produces from
/// plugins/c/sqlite.wit today. `BRIDGEHOST_BLESS=1` rewrites them after a deliberate change.
#[test]
fn committed_sqlite_bindings_are_the_generators_output() {
    use bridgehost::interface::typed::{bindgen, Interface};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/c");
    let wit = std::fs::read_to_string(dir.join("sqlite.wit")).unwrap();
    let iface = Interface::parse(&wit).unwrap();
    for f in bindgen::generate("c", &iface, Some("sqlite")).unwrap() {
        let path = dir.join(&f.path);
        if std::env::var_os("BRIDGEHOST_BLESS").is_some() {
            std::fs::write(&path, &f.text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (BRIDGEHOST_BLESS=1 generates it)", path.display())
        });
        assert!(
            committed == f.text,
            "{} is not what the generator produces from sqlite.wit: run `BRIDGEHOST_BLESS=1 \
             cargo test -p bridgehost --test sqlite_module committed` and review the diff",
            path.display()
        );
    }
    // And the module embeds that interface.
    let _g = serial();
    let m = open_module(Isolation::InProcess, b"");
    assert_eq!(m.interface().unwrap().hash(), iface.hash());
    m.close();
}
