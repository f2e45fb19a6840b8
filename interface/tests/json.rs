//! `json`: the JSON form of `bridgehost call --json` refuses what the dynamic runtimes refuse,
//! with the same kind (a value error, the CLI's invalid argument) and the same paths.

use bridgehost_interface::{dynamic, json, Error, Interface, Type};
use serde_json::{json, Value as Json};

const WIT: &str = r#"package t:json@1.0.0;
interface t {
    record attribute { name: string, value: string }
    variant event { text(string), attrs(list<attribute>), none }
    type t-f32 = f32;
    type t-f64 = f64;
    type t-u64 = u64;
    type t-s8 = s8;
    type t-attrs = list<attribute>;
    type t-pair = tuple<u8, string>;
    type t-res = result<u8, string>;
    type t-events = list<event>;
    type t-bytes = list<u8>;
}
"#;

fn ty(i: &Interface, name: &str) -> Type {
    Type::Named(i.types.iter().position(|t| t.name == name).unwrap())
}

fn value_err(i: &Interface, name: &str, j: Json) -> String {
    match json::from_json(i, &ty(i, name), &j) {
        Err(Error::Value(m)) => m,
        other => panic!("{name} {j}: expected a value error, got {other:?}"),
    }
}

#[test]
fn a_finite_number_beyond_f32_is_refused_like_the_runtimes_do() {
    let i = Interface::parse(WIT).unwrap();
    for x in [3.5e38, -3.5e38, 1e300, f64::MAX] {
        assert_eq!(
            value_err(&i, "t-f32", json!(x)),
            format!("{} is out of range for f32", json!(x))
        );
    }
    assert_eq!(
        value_err(&i, "t-f32", json!(3.5e38)),
        "3.5e+38 is out of range for f32"
    );
    // The largest f32 and what rounds to it are in range; the infinities and NaN are kept; a
    // value too small underflows to zero (the rule of dynamic::f32_in_range, shared with Python).
    let ok = |j: Json| json::from_json(&i, &ty(&i, "t-f32"), &j).unwrap();
    assert_eq!(
        ok(json!(f64::from(f32::MAX))),
        bridgehost_interface::Value::F32(f32::MAX)
    );
    assert_eq!(
        ok(json!(3.4028235e38)),
        bridgehost_interface::Value::F32(f32::MAX)
    );
    assert_eq!(
        ok(json!("inf")),
        bridgehost_interface::Value::F32(f32::INFINITY)
    );
    assert_eq!(ok(json!(1e-50)), bridgehost_interface::Value::F32(0.0));
    for x in [3.5e38, f64::MAX, f64::from(f32::MAX), 1e-50, -0.0] {
        assert_eq!(
            dynamic::f32_in_range(x).is_some(),
            !(x as f32).is_infinite(),
            "{x}"
        );
    }
    // f64 takes it.
    assert!(json::from_json(&i, &ty(&i, "t-f64"), &json!(3.5e38)).is_ok());
}

#[test]
fn a_non_integer_number_is_named_as_such_not_as_beyond_64_bits() {
    let i = Interface::parse(WIT).unwrap();
    assert_eq!(
        value_err(&i, "t-u64", json!(1.0)),
        "1.0 is a non-integer number: u64 takes integers only (no fraction, exponent or \
         negative zero)"
    );
    assert!(value_err(&i, "t-s8", json!(1.5)).starts_with("1.5 is a non-integer number: s8"));
    let exp: Json = serde_json::from_str("1e3").unwrap();
    assert!(value_err(&i, "t-u64", exp).contains("non-integer number"));
    // serde_json reads an integer literal beyond 64 bits as a float: that one is out of range.
    for text in ["18446744073709551616", "-9223372036854775809", "1e20"] {
        let j: Json = serde_json::from_str(text).unwrap();
        let m = value_err(&i, "t-u64", j);
        assert!(
            m.ends_with("(an integer beyond 64 bits) is out of range for u64"),
            "{text}: {m}"
        );
    }
}

fn refused(text: &str) -> String {
    let e = serde_json::from_str::<Json>(text).unwrap_err();
    match json::value_error("--json", text, &e) {
        Some(Error::Value(m)) => m,
        other => panic!("{text}: expected a value error, got {other:?} ({e})"),
    }
}

#[test]
fn an_unpaired_surrogate_escape_is_a_value_error_not_a_syntax_error() {
    assert_eq!(
        refused(r#"["\ud800"]"#),
        r"--json: the string escape \ud800 at line 1 column 9 is an unpaired surrogate (U+D800 is not a Unicode scalar value)"
    );
    // A lone low surrogate, a high one followed by something else, upper-case hex, on line 2.
    assert!(refused(r#"["\uDC00"]"#).contains(r"escape \uDC00 at line 1 column 8"));
    assert!(refused(r#"["a\ud83dx"]"#).contains(r"\ud83d at line 1 column"));
    assert!(refused(r#"["\ud83d\u0041"]"#).contains(r"\ud83d at line 1 column"));
    assert!(refused("[1,\n \"\\ud800\\\\\"]").contains(r"\ud800 at line 2 column"));
    assert!(refused(r#"[{"k": ["\udfff"]}]"#).contains("(U+DFFF is not a Unicode scalar value)"));
    // A number beyond f64 is out of range, not a syntax error.
    assert_eq!(
        refused("[1e400]"),
        "--json: the number at line 1 column 6 is out of range for every WIT number type \
         (beyond f64)"
    );
    // A pair is fine; a syntax error stays one.
    assert!(serde_json::from_str::<Json>(r#"["\ud83d\ude00"]"#).is_ok());
    for text in ["[1, 2", r#"["\u12"]"#, r#"["\x"]"#, "[01]"] {
        let e = serde_json::from_str::<Json>(text).unwrap_err();
        assert!(
            json::value_error("--json", text, &e).is_none(),
            "{text}: {e}"
        );
    }
}

#[test]
fn paths_name_elements_fields_cases_and_result_sides_as_python_does() {
    // dynamic.rs (Python's typed view) names list and tuple elements `element N`, record fields
    // `record.field`, variant payloads `variant.case` and result payloads `ok` / `err`.
    let i = Interface::parse(WIT).unwrap();
    assert_eq!(
        value_err(
            &i,
            "t-attrs",
            json!([{"name": "a", "value": "b"}, {"name": "c", "value": 1}])
        ),
        "element 1: attribute.value: 1 is not a string"
    );
    assert_eq!(
        value_err(&i, "t-pair", json!([1, 2])),
        "element 1: 2 is not a string"
    );
    assert_eq!(
        value_err(&i, "t-res", json!({"err": 5})),
        "err: 5 is not a string"
    );
    assert_eq!(
        value_err(
            &i,
            "t-events",
            json!(["none", {"attrs": [{"name": 7, "value": ""}]}])
        ),
        "element 1: event.attrs: element 0: attribute.name: 7 is not a string"
    );
    // list<u8> (bytes) names its elements too, as the Python view does for a sequence of ints.
    assert_eq!(
        value_err(&i, "t-bytes", json!([1, 2, 256])),
        "element 2: 256 is out of range for u8"
    );
    assert_eq!(
        value_err(&i, "t-bytes", json!([0, "x"])),
        "element 1: \"x\" is not a u8"
    );
}
