//! `dynamic`: a dynamic runtime's objects to and from values, walking the
//! interface's types. A toy host (an enum standing for Python objects)
//! answers the questions; every rule (ranges, shapes, names, nested options,
//! results, arity, limits) is the crate's.

use bridgehost_interface::dynamic::{
    lift, lift_output, lower, lower_args, lower_args_into, lower_call, Builder, DynError, Fields,
    HostValue, Output,
};
use bridgehost_interface::{wire, Field, Interface, Type, TypeIndex, Value};

#[derive(Debug, Clone, PartialEq)]
enum Toy {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Result<String, String>),
    Bytes(Vec<u8>),
    Seq(Vec<Toy>),
    Map(Vec<(String, Toy)>),
    Some(Box<Toy>),
    Res(bool, Box<Toy>),
    Var(String, Box<Toy>),
    Names(Vec<String>),
    Rec(TypeIndex, Vec<Toy>),
    Fail,
}

fn s(x: &str) -> Toy {
    Toy::Str(Ok(x.to_string()))
}

impl HostValue for Toy {
    type Error = String;
    fn describe(&self) -> String {
        format!("{self:?}")
    }
    fn is_none(&self) -> bool {
        *self == Toy::None
    }
    fn as_bool(&self) -> Result<Option<bool>, String> {
        self.fail()?;
        Ok(match self {
            Toy::Bool(b) => Some(*b),
            _ => None,
        })
    }
    fn as_int(&self) -> Result<Option<i128>, String> {
        self.fail()?;
        Ok(match self {
            Toy::Int(n) => Some(*n),
            _ => None,
        })
    }
    fn as_float(&self) -> Result<Option<Result<f64, String>>, String> {
        Ok(match self {
            Toy::Float(x) => Some(Ok(*x)),
            Toy::Int(n) => Some(Ok(*n as f64)),
            _ => None,
        })
    }
    fn as_str(&self) -> Result<Option<Result<String, String>>, String> {
        Ok(match self {
            Toy::Str(x) => Some(x.clone()),
            _ => None,
        })
    }
    fn as_bytes(&self) -> Result<Option<Result<Vec<u8>, String>>, String> {
        Ok(match self {
            Toy::Bytes(b) => Some(Ok(b.clone())),
            _ => None,
        })
    }
    fn as_seq(&self) -> Result<Option<Vec<Toy>>, String> {
        Ok(match self {
            Toy::Seq(v) => Some(v.clone()),
            _ => None,
        })
    }
    fn fields(&self, _: TypeIndex, fields: &[Field]) -> Result<Option<Fields<Toy>>, String> {
        Ok(match self {
            Toy::Map(m) => Some(Fields {
                values: fields
                    .iter()
                    .map(|f| m.iter().find(|(k, _)| *k == f.name).map(|(_, v)| v.clone()))
                    .collect(),
                unknown: m
                    .iter()
                    .find(|(k, _)| !fields.iter().any(|f| f.name == *k))
                    .map(|(k, _)| k.clone()),
            }),
            Toy::Rec(_, vs) => Some(Fields {
                values: vs.iter().cloned().map(Some).collect(),
                unknown: None,
            }),
            _ => None,
        })
    }
    fn as_some(&self) -> Result<Option<Toy>, String> {
        Ok(match self {
            Toy::Some(x) => Some((**x).clone()),
            _ => None,
        })
    }
    fn as_result(&self) -> Result<Option<(bool, Toy)>, String> {
        Ok(match self {
            Toy::Res(ok, x) => Some((*ok, (**x).clone())),
            _ => None,
        })
    }
    fn as_variant(&self) -> Result<Option<(String, Toy)>, String> {
        Ok(match self {
            Toy::Var(c, x) => Some((c.clone(), (**x).clone())),
            Toy::Str(Ok(c)) => Some((c.clone(), Toy::None)),
            _ => None,
        })
    }
    fn as_names(&self) -> Result<Option<Vec<String>>, String> {
        Ok(match self {
            Toy::Names(n) => Some(n.clone()),
            _ => None,
        })
    }
}

impl Toy {
    fn fail(&self) -> Result<(), String> {
        if *self == Toy::Fail {
            return Err("host failure".into());
        }
        Ok(())
    }
}

struct Make;

impl Builder for Make {
    type Out = Toy;
    type Error = String;
    fn bool(&mut self, v: bool) -> Result<Toy, String> {
        Ok(Toy::Bool(v))
    }
    fn int(&mut self, v: i64) -> Result<Toy, String> {
        Ok(Toy::Int(i128::from(v)))
    }
    fn uint(&mut self, v: u64) -> Result<Toy, String> {
        Ok(Toy::Int(i128::from(v)))
    }
    fn float(&mut self, v: f64) -> Result<Toy, String> {
        Ok(Toy::Float(v))
    }
    fn char(&mut self, v: char) -> Result<Toy, String> {
        Ok(s(&v.to_string()))
    }
    fn string(&mut self, v: &str) -> Result<Toy, String> {
        Ok(s(v))
    }
    fn bytes(&mut self, v: &[u8]) -> Result<Toy, String> {
        Ok(Toy::Bytes(v.to_vec()))
    }
    fn list(&mut self, items: Vec<Toy>) -> Result<Toy, String> {
        Ok(Toy::Seq(items))
    }
    fn none(&mut self) -> Result<Toy, String> {
        Ok(Toy::None)
    }
    fn some(&mut self, v: Toy) -> Result<Toy, String> {
        Ok(Toy::Some(Box::new(v)))
    }
    fn result(&mut self, ok: bool, v: Toy) -> Result<Toy, String> {
        Ok(Toy::Res(ok, Box::new(v)))
    }
    fn tuple(&mut self, items: Vec<Toy>) -> Result<Toy, String> {
        Ok(Toy::Seq(items))
    }
    fn record(&mut self, ty: TypeIndex, fields: Vec<Toy>) -> Result<Toy, String> {
        Ok(Toy::Rec(ty, fields))
    }
    fn variant(&mut self, _: TypeIndex, case: &str, p: Option<Toy>) -> Result<Toy, String> {
        Ok(Toy::Var(case.into(), Box::new(p.unwrap_or(Toy::None))))
    }
    fn enum_case(&mut self, _: TypeIndex, case: &str) -> Result<Toy, String> {
        Ok(s(case))
    }
    fn flags(&mut self, _: TypeIndex, names: Vec<&str>) -> Result<Toy, String> {
        Ok(Toy::Names(names.into_iter().map(String::from).collect()))
    }
    fn handle(&mut self, v: u64) -> Result<Toy, String> {
        Ok(Toy::Int(i128::from(v)))
    }
}

const WIT: &str = r#"
package t:dyn;
interface dyn {
    record point { x: f64, y: f64, label: string }
    enum color { red, green, blue }
    flags perms { read, write, exec }
    variant shape { circle(f64), rect(tuple<u32, u32>), none }
    type t-u8 = u8;
    type t-s8 = s8;
    type t-u64 = u64;
    type t-s64 = s64;
    type t-f32 = f32;
    type t-f64 = f64;
    type t-char = char;
    type t-string = string;
    type t-bytes = list<u8>;
    type t-list = list<point>;
    type t-oo = option<option<u8>>;
    type t-res = result<u32, string>;
    type t-unit = result;
    type t-tuple = tuple<u8, s16, bool>;
    type t-deep = list<list<list<option<u8>>>>;
    add: func(a: u32, b: u32) -> u32;
    div: func(a: s32, b: s32) -> result<s32, string>;
    check: func() -> result<_, color>;
    nothing: func();
}
"#;

fn iface() -> Interface {
    Interface::parse(WIT).unwrap()
}

fn ty(i: &Interface, name: &str) -> Type {
    Type::Named(i.types.iter().position(|t| t.name == name).unwrap())
}

/// Lower, encode, decode, lift: the toy comes back as `back`.
fn round(i: &Interface, name: &str, v: Toy, back: Toy, hex: &str) {
    let t = ty(i, name);
    let value = lower(i, &t, &v).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let mut bytes = Vec::new();
    wire::encode(i, &t, &value, &mut bytes).unwrap();
    assert_eq!(bridgehost_interface::hex(&bytes), hex, "{name}");
    let decoded = wire::decode(i, &t, &bytes).unwrap();
    assert_eq!(lift(i, &t, &decoded, &mut Make).unwrap(), back, "{name}");
}

fn value_err(i: &Interface, name: &str, v: Toy) -> String {
    match lower(i, &ty(i, name), &v) {
        Err(DynError::Value(m)) => m,
        other => panic!("{name}: expected a value error, got {other:?}"),
    }
}

fn type_err(i: &Interface, name: &str, v: Toy) -> String {
    match lower(i, &ty(i, name), &v) {
        Err(DynError::Type(m)) => m,
        other => panic!("{name}: expected a type error, got {other:?}"),
    }
}

#[test]
fn integers_at_their_edges_and_never_wrapped() {
    let i = iface();
    round(&i, "t-u8", Toy::Int(255), Toy::Int(255), "ff");
    round(&i, "t-s8", Toy::Int(-128), Toy::Int(-128), "80");
    let u64max = i128::from(u64::MAX);
    round(
        &i,
        "t-u64",
        Toy::Int(u64max),
        Toy::Int(u64max),
        "ffffffffffffffff",
    );
    let s64min = i128::from(i64::MIN);
    round(
        &i,
        "t-s64",
        Toy::Int(s64min),
        Toy::Int(s64min),
        "0000000000000080",
    );
    assert!(value_err(&i, "t-u8", Toy::Int(256)).contains("out of range for u8"));
    assert!(value_err(&i, "t-s8", Toy::Int(-129)).contains("out of range for s8"));
    assert!(value_err(&i, "t-u64", Toy::Int(-1)).contains("out of range for u64"));
    assert!(value_err(&i, "t-u64", Toy::Int(u64max + 1)).contains("out of range"));
    assert!(value_err(&i, "t-s64", Toy::Int(s64min - 1)).contains("out of range"));
    assert!(value_err(&i, "t-s64", Toy::Int(i128::MAX)).contains("out of range"));
    // A bool or a float is not an integer.
    assert!(type_err(&i, "t-u8", Toy::Bool(true)).contains("expected u8"));
    assert!(type_err(&i, "t-u8", Toy::Float(1.0)).contains("expected u8"));
}

#[test]
fn floats_keep_nan_negative_zero_and_refuse_f32_overflow() {
    let i = iface();
    round(
        &i,
        "t-f64",
        Toy::Float(-0.0),
        Toy::Float(-0.0),
        "0000000000000080",
    );
    let t = ty(&i, "t-f64");
    let v = lower(&i, &t, &Toy::Float(f64::NAN)).unwrap();
    let mut b = Vec::new();
    wire::encode(&i, &t, &v, &mut b).unwrap();
    assert_eq!(bridgehost_interface::hex(&b), "000000000000f87f");
    match lift(&i, &t, &wire::decode(&i, &t, &b).unwrap(), &mut Make).unwrap() {
        Toy::Float(x) => assert!(x.is_nan()),
        other => panic!("{other:?}"),
    }
    // -0.0 keeps its sign through f32 too.
    match lift(
        &i,
        &ty(&i, "t-f32"),
        &lower(&i, &ty(&i, "t-f32"), &Toy::Float(-0.0)).unwrap(),
        &mut Make,
    )
    .unwrap()
    {
        Toy::Float(x) => assert!(x == 0.0 && x.is_sign_negative()),
        other => panic!("{other:?}"),
    }
    round(&i, "t-f32", Toy::Int(2), Toy::Float(2.0), "00000040");
    round(
        &i,
        "t-f32",
        Toy::Float(f64::INFINITY),
        Toy::Float(f64::INFINITY),
        "0000807f",
    );
    assert!(value_err(&i, "t-f32", Toy::Float(1e300)).contains("out of range for f32"));
    assert!(type_err(&i, "t-f64", s("1.0")).contains("expected f64"));
}

#[test]
fn text_chars_and_bytes() {
    let i = iface();
    round(&i, "t-char", s("😀"), s("😀"), "00f60100");
    round(
        &i,
        "t-string",
        s("héllo"),
        s("héllo"),
        "0600000068c3a96c6c6f",
    );
    round(&i, "t-string", s(""), s(""), "00000000");
    assert!(value_err(&i, "t-char", s("ab")).contains("exactly one character"));
    assert!(value_err(&i, "t-char", s("")).contains("exactly one character"));
    let bad = Toy::Str(Err("unpaired surrogate U+D800".into()));
    assert!(value_err(&i, "t-string", bad.clone()).contains("not valid Unicode"));
    assert!(value_err(&i, "t-char", bad).contains("not valid Unicode"));
    round(
        &i,
        "t-bytes",
        Toy::Bytes(vec![0, 1, 255]),
        Toy::Bytes(vec![0, 1, 255]),
        "030000000001ff",
    );
    // A sequence of ints is accepted for list<u8>, each range-checked.
    round(
        &i,
        "t-bytes",
        Toy::Seq(vec![Toy::Int(7)]),
        Toy::Bytes(vec![7]),
        "0100000007",
    );
    let e = value_err(&i, "t-bytes", Toy::Seq(vec![Toy::Int(1), Toy::Int(256)]));
    assert!(e.starts_with("element 1: "), "{e}");
    assert!(type_err(&i, "t-bytes", s("abc")).contains("expected list<u8>"));
}

#[test]
fn options_results_tuples() {
    let i = iface();
    round(&i, "t-oo", Toy::None, Toy::None, "00");
    round(
        &i,
        "t-oo",
        Toy::Some(Box::new(Toy::None)),
        Toy::Some(Box::new(Toy::None)),
        "0100",
    );
    round(
        &i,
        "t-oo",
        Toy::Some(Box::new(Toy::Int(5))),
        Toy::Some(Box::new(Toy::Int(5))),
        "010105",
    );
    // A bare value is ambiguous for a nested option: refused.
    assert!(type_err(&i, "t-oo", Toy::Int(5)).contains("Some(...)"));
    round(
        &i,
        "t-res",
        Toy::Res(false, Box::new(s("no"))),
        Toy::Res(false, Box::new(s("no"))),
        "01020000006e6f",
    );
    round(
        &i,
        "t-unit",
        Toy::Res(true, Box::new(Toy::None)),
        Toy::Res(true, Box::new(Toy::None)),
        "00",
    );
    let e = value_err(&i, "t-unit", Toy::Res(true, Box::new(Toy::Int(1))));
    assert!(e.contains("has no payload"), "{e}");
    assert!(type_err(&i, "t-res", Toy::Int(1)).contains("Ok(...) or Err(...)"));
    let tup = Toy::Seq(vec![Toy::Int(1), Toy::Int(-1), Toy::Bool(true)]);
    round(&i, "t-tuple", tup.clone(), tup, "01ffff01");
    let e = value_err(&i, "t-tuple", Toy::Seq(vec![Toy::Int(1)]));
    assert!(e.contains("has 3 elements, got 1"), "{e}");
}

#[test]
fn records_variants_enums_flags_by_name() {
    let i = iface();
    let p = ty(&i, "point");
    let k = match p {
        Type::Named(k) => k,
        _ => unreachable!(),
    };
    let map = Toy::Map(vec![
        ("x".into(), Toy::Float(1.0)),
        ("y".into(), Toy::Float(-2.0)),
        ("label".into(), s("p")),
    ]);
    let rec = Toy::Rec(k, vec![Toy::Float(1.0), Toy::Float(-2.0), s("p")]);
    round(
        &i,
        "point",
        map,
        rec.clone(),
        "000000000000f03f00000000000000c00100000070",
    );
    round(
        &i,
        "point",
        rec.clone(),
        rec,
        "000000000000f03f00000000000000c00100000070",
    );
    let missing = Toy::Map(vec![("x".into(), Toy::Float(1.0))]);
    assert!(value_err(&i, "point", missing).contains("needs field \"y\""));
    let extra = Toy::Map(vec![
        ("x".into(), Toy::Float(1.0)),
        ("y".into(), Toy::Float(1.0)),
        ("label".into(), s("")),
        ("z".into(), Toy::Int(0)),
    ]);
    assert!(value_err(&i, "point", extra).contains("has no field \"z\""));
    let wrong_field = Toy::Map(vec![
        ("x".into(), s("1")),
        ("y".into(), Toy::Float(1.0)),
        ("label".into(), s("")),
    ]);
    let e = type_err(&i, "point", wrong_field);
    assert!(e.starts_with("point.x: expected f64"), "{e}");

    let circle = Toy::Var("circle".into(), Box::new(Toy::Float(2.5)));
    round(&i, "shape", circle.clone(), circle, "000000000000000440");
    round(
        &i,
        "shape",
        s("none"),
        Toy::Var("none".into(), Box::new(Toy::None)),
        "02",
    );
    assert!(value_err(&i, "shape", s("square")).contains("no case \"square\""));
    assert!(type_err(&i, "shape", s("circle")).contains("shape.circle: expected f64"));
    let e = value_err(&i, "shape", Toy::Var("none".into(), Box::new(Toy::Int(1))));
    assert!(e.contains("has no payload"), "{e}");

    round(&i, "color", s("green"), s("green"), "01");
    assert!(value_err(&i, "color", s("purple")).contains("no case \"purple\""));
    let names = |n: &[&str]| Toy::Names(n.iter().map(|x| x.to_string()).collect());
    round(
        &i,
        "perms",
        names(&["exec", "read"]),
        names(&["read", "exec"]),
        "05",
    );
    assert!(value_err(&i, "perms", names(&["fly"])).contains("no flag \"fly\""));
}

#[test]
fn lists_large_and_empty() {
    let i = iface();
    round(&i, "t-list", Toy::Seq(vec![]), Toy::Seq(vec![]), "00000000");
    let t = ty(&i, "t-bytes");
    let big = Toy::Bytes(vec![9; 1 << 20]);
    let v = lower(&i, &t, &big).unwrap();
    let mut b = Vec::new();
    wire::encode(&i, &t, &v, &mut b).unwrap();
    assert_eq!(b.len(), 4 + (1 << 20));
    assert_eq!(
        lift(&i, &t, &wire::decode(&i, &t, &b).unwrap(), &mut Make).unwrap(),
        big
    );
    let e = value_err(
        &i,
        "t-deep",
        Toy::Seq(vec![Toy::Seq(vec![Toy::Seq(vec![Toy::Int(300)])])]),
    );
    assert!(
        e.starts_with("element 0: element 0: element 0: ") && e.contains("out of range"),
        "{e}"
    );
}

#[test]
fn arguments_are_counted_and_named() {
    let i = iface();
    let add = i.function("add").unwrap();
    let v = lower_args(&i, add, &[Toy::Int(2), Toy::Int(3)]).unwrap();
    assert_eq!(v, [Value::U32(2), Value::U32(3)]);
    match lower_args(&i, add, &[Toy::Int(2)]) {
        Err(DynError::Type(m)) => {
            assert_eq!(m, "add takes 2 argument(s) (a: u32, b: u32), got 1")
        }
        other => panic!("{other:?}"),
    }
    match lower_args(&i, add, &[Toy::Int(2), Toy::Int(1 << 32)]) {
        Err(DynError::Value(m)) => assert!(m.starts_with("parameter b: "), "{m}"),
        other => panic!("{other:?}"),
    }
    match lower_args(&i, add, &[Toy::Int(2), s("3")]) {
        Err(DynError::Type(m)) => assert!(m.starts_with("parameter b: expected u32"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The host's own failure is passed through untouched.
    assert_eq!(
        lower_args(&i, add, &[Toy::Fail, Toy::Int(1)]),
        Err(DynError::Host("host failure".to_string()))
    );
}

/// `lower_args_into` (one pass, no vectors) gives exactly what `lower_args` then
/// `encode_params_into` give: the same bytes, or the same error.
#[test]
fn lowering_straight_into_bytes_agrees_with_lowering_then_encoding() {
    let i = iface();
    let wit = r#"
package t:into;
interface into {
    record point { x: f64, y: f64, label: string }
    many: func(a: u8, b: s64, c: f32, d: bool, e: string, f: list<u8>, g: list<point>, h: option<char>);
    none: func();
}
"#;
    let j = Interface::parse(wit).unwrap();
    let pt = |x: f64, l: &str| {
        Toy::Map(vec![
            ("x".into(), Toy::Float(x)),
            ("y".into(), Toy::Int(2)),
            ("label".into(), s(l)),
        ])
    };
    let good = vec![
        Toy::Int(255),
        Toy::Int(i128::from(i64::MIN)),
        Toy::Float(-0.0),
        Toy::Bool(true),
        s("é😀"),
        Toy::Bytes(vec![0, 1, 255]),
        Toy::Seq(vec![pt(1.5, "a"), pt(f64::NAN, "")]),
        s("x"),
    ];
    let mut cases: Vec<(&Interface, &str, Vec<Toy>)> = vec![
        (&i, "add", vec![Toy::Int(2), Toy::Int(3)]),
        (&i, "add", vec![Toy::Int(2)]),
        (&i, "add", vec![Toy::Int(2), Toy::Int(3), Toy::Int(4)]),
        (&i, "add", vec![Toy::Int(2), Toy::Int(1 << 32)]),
        (&i, "add", vec![Toy::Int(-1), Toy::Int(0)]),
        (&i, "add", vec![s("2"), Toy::Int(0)]),
        (&i, "add", vec![Toy::Fail, Toy::Int(1)]),
        (&i, "nothing", vec![]),
        (&i, "nothing", vec![Toy::None]),
        (&j, "none", vec![]),
        (&j, "many", good.clone()),
    ];
    // Each argument of `many` wrong in turn: out of range, wrong shape, a bad element.
    let bad = [
        Toy::Int(256),
        Toy::Int(i128::from(i64::MAX) + 1),
        Toy::Float(1e300),
        Toy::Int(1),
        Toy::Str(Err("surrogate".into())),
        Toy::Seq(vec![Toy::Int(1), Toy::Int(256)]),
        Toy::Seq(vec![pt(1.0, "a"), Toy::Int(3)]),
        s("xy"),
    ];
    for (k, b) in bad.iter().enumerate() {
        let mut args = good.clone();
        args[k] = b.clone();
        cases.push((&j, "many", args));
    }
    for (iface, name, args) in cases {
        let f = iface.function(name).unwrap();
        let expected = lower_args(iface, f, &args).and_then(|v| {
            let mut out = Vec::new();
            wire::encode_params_into(iface, f, &v, &mut out)
                .map(|()| out)
                .map_err(|e| DynError::Value(e.to_string()))
        });
        let mut out = vec![0xAA; 3]; // cleared first
        let got =
            lower_args_into(iface, f, args.len(), |k| Ok(args[k].clone()), &mut out).map(|()| out);
        assert_eq!(got, expected, "{name}({args:?})");
    }
    // A host failure while taking an argument is passed through untouched.
    let add = i.function("add").unwrap();
    assert_eq!(
        lower_args_into::<Toy>(
            &i,
            add,
            2,
            |_| Err("taking it failed".into()),
            &mut Vec::new()
        ),
        Err(DynError::Host("taking it failed".to_string()))
    );
}

#[test]
fn a_result_at_the_top_is_returned_or_raised() {
    let i = iface();
    let div = i.function("div").unwrap();
    let out = |v: Value| lift_output(&i, div, Some(&v), &mut Make).unwrap();
    assert_eq!(
        out(Value::Result(Ok(Some(Box::new(Value::S32(-3)))))),
        Output::Return(Some(Toy::Int(-3)))
    );
    assert_eq!(
        out(Value::Result(Err(Some(Box::new(Value::String(
            "zero".into()
        )))))),
        Output::Raise(Some(s("zero")))
    );
    let check = i.function("check").unwrap();
    assert_eq!(
        lift_output(&i, check, Some(&Value::Result(Ok(None))), &mut Make).unwrap(),
        Output::Return(None)
    );
    assert_eq!(
        lift_output(
            &i,
            check,
            Some(&Value::Result(Err(Some(Box::new(Value::Enum(2)))))),
            &mut Make
        )
        .unwrap(),
        Output::Raise(Some(s("blue")))
    );
    let nothing = i.function("nothing").unwrap();
    assert_eq!(
        lift_output(&i, nothing, None, &mut Make).unwrap(),
        Output::Return(None)
    );
    let add = i.function("add").unwrap();
    assert!(matches!(
        lift_output(&i, add, None, &mut Make),
        Err(DynError::Value(_))
    ));
    // A value that does not match its type (never produced by the decoder).
    assert!(matches!(
        lift(&i, &ty(&i, "t-u8"), &Value::U32(1), &mut Make),
        Err(DynError::Value(_))
    ));
}

#[test]
fn arguments_by_name_follow_python_rules() {
    let i = iface();
    let add = i.function("add").unwrap();
    let names = vec!["a".to_string(), "b".to_string()];
    let call = |pos: Vec<Toy>, named: Vec<(&str, Toy)>| {
        lower_call(
            &i,
            add,
            &names,
            pos,
            named.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        )
    };
    let both = [Value::U32(2), Value::U32(3)];
    assert_eq!(call(vec![Toy::Int(2), Toy::Int(3)], vec![]).unwrap(), both);
    assert_eq!(
        call(vec![Toy::Int(2)], vec![("b", Toy::Int(3))]).unwrap(),
        both
    );
    assert_eq!(
        call(vec![], vec![("b", Toy::Int(3)), ("a", Toy::Int(2))]).unwrap(),
        both
    );
    let type_err = |r: Result<Vec<Value>, DynError<String>>| match r {
        Err(DynError::Type(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        type_err(call(vec![Toy::Int(2)], vec![("a", Toy::Int(3))])),
        "add got multiple values for argument \"a\""
    );
    assert!(type_err(call(vec![], vec![("c", Toy::Int(3))]))
        .starts_with("add got an unexpected keyword argument \"c\""));
    assert_eq!(
        type_err(call(vec![], vec![("b", Toy::Int(3))])),
        "add missing argument \"a\" (a: u32, b: u32)"
    );
    assert!(type_err(call(
        vec![Toy::Int(1), Toy::Int(2), Toy::Int(3)],
        vec![("a", Toy::Int(3))]
    ))
    .contains("takes 2 argument(s)"));
    // Values given by name are checked and named like positional ones.
    match call(vec![Toy::Int(1)], vec![("b", Toy::Int(-1))]) {
        Err(DynError::Value(m)) => assert!(m.starts_with("parameter b: "), "{m}"),
        other => panic!("{other:?}"),
    }
}
