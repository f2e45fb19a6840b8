//! The wire codec beyond the golden vectors: edges, large values, hostile
//! bytes, function-level framing.

use bridgehost_interface::{json, wire, Error, Interface, Type, Value};

fn iface(body: &str) -> Interface {
    Interface::parse(&format!("package t:t;\ninterface t {{\n{body}\n}}\n")).unwrap()
}

fn named(i: &Interface, name: &str) -> Type {
    Type::Named(i.types.iter().position(|t| t.name == name).unwrap())
}

fn roundtrip(i: &Interface, ty: &Type, v: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    wire::encode(i, ty, v, &mut b).unwrap();
    let back = wire::decode(i, ty, &b).unwrap();
    let mut again = Vec::new();
    wire::encode(i, ty, &back, &mut again).unwrap();
    assert_eq!(b, again);
    b
}

#[test]
fn function_framing_params_then_result() {
    let i = iface("add: func(a: u32, b: u32) -> u32; ping: func();");
    let add = i.function("add").unwrap();
    let input = wire::encode_params(&i, add, &[Value::U32(1), Value::U32(0xdead_beef)]).unwrap();
    assert_eq!(input, [1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]);
    assert_eq!(
        wire::decode_params(&i, add, &input).unwrap(),
        [Value::U32(1), Value::U32(0xdead_beef)]
    );
    // Wrong arity and wrong value types are value errors, not panics.
    assert!(matches!(
        wire::encode_params(&i, add, &[Value::U32(1)]),
        Err(Error::Value(_))
    ));
    assert!(matches!(
        wire::encode_params(&i, add, &[Value::U32(1), Value::String("x".into())]),
        Err(Error::Value(_))
    ));
    // Input with a byte missing or one too many.
    assert!(matches!(
        wire::decode_params(&i, add, &input[..7]),
        Err(Error::Decode { .. })
    ));
    let mut long = input.clone();
    long.push(0);
    assert!(matches!(
        wire::decode_params(&i, add, &long),
        Err(Error::Decode { offset: 8, .. })
    ));
    // A function without a result has an empty output.
    let ping = i.function("ping").unwrap();
    assert_eq!(wire::decode_result(&i, ping, &[]).unwrap(), None);
    assert!(wire::decode_result(&i, ping, &[0]).is_err());
    assert_eq!(
        wire::encode_result(&i, ping, None).unwrap(),
        Vec::<u8>::new()
    );
}

#[test]
fn large_lists_round_trip() {
    let i = iface("record pt { x: f64, y: f64, name: string }");
    // 64 KiB of bytes.
    let bytes: Vec<u8> = (0..65536u32).map(|k| k as u8).collect();
    let b = roundtrip(
        &i,
        &Type::List(Box::new(Type::U8)),
        &Value::Bytes(bytes.clone()),
    );
    assert_eq!(b.len(), 4 + 65536);
    assert_eq!(&b[4..], &bytes[..]);
    // 10,000 records {f64, f64, string}.
    let pt = named(&i, "pt");
    let rows: Vec<Value> = (0..10_000)
        .map(|k| {
            Value::Record(vec![
                Value::F64(k as f64),
                Value::F64(-(k as f64)),
                Value::String(format!("p{k}")),
            ])
        })
        .collect();
    let b = roundtrip(&i, &Type::List(Box::new(pt.clone())), &Value::List(rows));
    assert_eq!(u32::from_le_bytes(b[..4].try_into().unwrap()), 10_000);
}

#[test]
fn floats_nan_and_negative_zero() {
    let i = iface("f: func();");
    let b = roundtrip(&i, &Type::F64, &Value::F64(-0.0));
    assert_eq!(b, (-0.0f64).to_bits().to_le_bytes());
    // Any NaN in, the canonical NaN out.
    for nan in [f64::NAN, -f64::NAN, f64::from_bits(0x7ff0_0000_0000_0001)] {
        let mut b = Vec::new();
        wire::encode(&i, &Type::F64, &Value::F64(nan), &mut b).unwrap();
        assert_eq!(b, wire::CANONICAL_NAN_F64.to_le_bytes());
    }
    let Value::F32(x) = wire::decode(&i, &Type::F32, &0xffc0_0001u32.to_le_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(x.to_bits(), wire::CANONICAL_NAN_F32);
    assert_eq!(
        json::to_json(&i, &Type::F32, &Value::F32(0.1))
            .unwrap()
            .to_string(),
        "0.1"
    );
}

#[test]
fn chars_must_be_scalar_values() {
    let i = iface("f: func();");
    roundtrip(&i, &Type::Char, &Value::Char('\u{10FFFF}'));
    roundtrip(&i, &Type::Char, &Value::Char('\u{1F600}'));
    for bad in [0xD800u32, 0xDFFF, 0x11_0000, u32::MAX] {
        assert!(matches!(
            wire::decode(&i, &Type::Char, &bad.to_le_bytes()),
            Err(Error::Decode { offset: 0, .. })
        ));
    }
}

#[test]
fn nested_options_keep_every_level() {
    let i = iface("f: func();");
    let t = Type::Option(Box::new(Type::Option(Box::new(Type::Option(Box::new(
        Type::U8,
    ))))));
    let cases = [
        (Value::Option(None), vec![0]),
        (
            Value::Option(Some(Box::new(Value::Option(None)))),
            vec![1, 0],
        ),
        (
            Value::Option(Some(Box::new(Value::Option(Some(Box::new(
                Value::Option(None),
            )))))),
            vec![1, 1, 0],
        ),
        (
            Value::Option(Some(Box::new(Value::Option(Some(Box::new(
                Value::Option(Some(Box::new(Value::U8(9)))),
            )))))),
            vec![1, 1, 1, 9],
        ),
    ];
    for (v, want) in cases {
        assert_eq!(roundtrip(&i, &t, &v), want);
        let j = json::to_json(&i, &t, &v).unwrap();
        assert_eq!(json::from_json(&i, &t, &j).unwrap(), v, "{j}");
    }
}

#[test]
fn wide_enums_use_a_two_byte_discriminant() {
    let cases: Vec<String> = (0..300).map(|k| format!("c{k}")).collect();
    let i = iface(&format!("enum big {{ {} }}", cases.join(", ")));
    let big = named(&i, "big");
    assert_eq!(roundtrip(&i, &big, &Value::Enum(299)), [43, 1]);
    assert!(matches!(
        wire::decode(&i, &big, &[44, 1]),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        wire::decode(&i, &big, &[1]),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn hostile_lengths_never_allocate_what_they_claim() {
    let i = iface("record r { a: string, b: list<u64> }");
    let t = Type::List(Box::new(named(&i, "r")));
    // A list that claims u32::MAX records of at least 8 bytes each, with 4
    // bytes of data: refused before any allocation.
    let e = wire::decode(&i, &t, &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).unwrap_err();
    assert!(matches!(e, Error::Decode { offset: 0, .. }), "{e}");
    assert!(e.to_string().contains("length"), "{e}");
    // Every prefix of a valid encoding is refused, never a panic.
    let v = Value::List(vec![Value::Record(vec![
        Value::String("héllo".into()),
        Value::List(vec![Value::U64(1), Value::U64(2)]),
    ])]);
    let mut b = Vec::new();
    wire::encode(&i, &t, &v, &mut b).unwrap();
    for n in 0..b.len() {
        assert!(wire::decode(&i, &t, &b[..n]).is_err(), "prefix {n}");
    }
    // Every single-byte corruption decodes to an error or to some value, never a panic.
    for k in 0..b.len() {
        for x in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut c = b.clone();
            c[k] = x;
            let _ = wire::decode(&i, &t, &c);
        }
    }
}

#[test]
fn flags_and_variants_check_their_bits_and_payloads() {
    let i = iface("flags p { a, b, c } variant v { x(u8), y }");
    let p = named(&i, "p");
    assert_eq!(roundtrip(&i, &p, &Value::Flags(0b111)), [7]);
    assert!(matches!(
        wire::encode(&i, &p, &Value::Flags(0b1000), &mut Vec::new()),
        Err(Error::Value(_))
    ));
    let v = named(&i, "v");
    assert_eq!(
        roundtrip(
            &i,
            &v,
            &Value::Variant {
                case: 0,
                payload: Some(Box::new(Value::U8(5)))
            }
        ),
        [0, 5]
    );
    assert_eq!(
        roundtrip(
            &i,
            &v,
            &Value::Variant {
                case: 1,
                payload: None
            }
        ),
        [1]
    );
    assert!(wire::encode(
        &i,
        &v,
        &Value::Variant {
            case: 0,
            payload: None
        },
        &mut Vec::new()
    )
    .is_err());
    assert!(wire::encode(
        &i,
        &v,
        &Value::Variant {
            case: 2,
            payload: None
        },
        &mut Vec::new()
    )
    .is_err());
}

#[test]
fn args_from_json_checks_arity_and_types() {
    let i = iface("record pt { x: s32, y: s32 } move: func(p: pt, dx: s32) -> pt;");
    let f = i.function("move").unwrap();
    let args = json::args_from_json(&i, f, &serde_json::json!([{"x": 1, "y": 2}, -3])).unwrap();
    let input = wire::encode_params(&i, f, &args).unwrap();
    assert_eq!(input, [1, 0, 0, 0, 2, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff]);
    let e = json::args_from_json(&i, f, &serde_json::json!([{"x": 1, "y": 2}])).unwrap_err();
    assert!(
        e.to_string()
            .contains("takes 2 argument(s) (p: pt, dx: s32), got 1"),
        "{e}"
    );
    assert!(json::args_from_json(&i, f, &serde_json::json!({"p": 1})).is_err());
    let e = json::args_from_json(&i, f, &serde_json::json!([{"x": 1, "y": "2"}, 0])).unwrap_err();
    assert!(
        e.to_string().contains("parameter p") && e.to_string().contains("pt.y"),
        "{e}"
    );
}

#[test]
fn encode_params_into_clears_and_reuses_the_buffer() {
    let i = Interface::parse("package t:w; interface w { f: func(a: u32, s: string); }").unwrap();
    let f = i.function("f").unwrap();
    let args = [Value::U32(7), Value::String("hi".into())];
    let mut buf = vec![0xaa; 100];
    wire::encode_params_into(&i, f, &args, &mut buf).unwrap();
    assert_eq!(buf, wire::encode_params(&i, f, &args).unwrap());
    assert_eq!(buf, [7, 0, 0, 0, 2, 0, 0, 0, b'h', b'i']);
    assert!(buf.capacity() >= 100, "the buffer's allocation is reused");
    assert!(wire::encode_params_into(&i, f, &args[..1], &mut buf).is_err());
}

/// The byte-run shortcuts (`run_of`, `encode_run_into`, `decode_bytes`,
/// `decode_str`) that bridges use to skip `Value` give the same bytes, the
/// same values and the same errors as the general codec, on every input.
#[test]
fn byte_runs_agree_with_the_general_codec() {
    let i = iface(
        "type blob = list<u8>;\n\
         echo: func(data: blob) -> blob;\n\
         say: func(s: string) -> string;\n\
         two: func(a: string, b: string) -> string;\n\
         other: func(a: list<u16>) -> option<string>;",
    );
    let (echo, say) = (i.function("echo").unwrap(), i.function("say").unwrap());
    assert_eq!(wire::run_param(&i, echo), Some(wire::Run::Bytes));
    assert_eq!(wire::run_result(&i, echo), Some(wire::Run::Bytes));
    assert_eq!(wire::run_param(&i, say), Some(wire::Run::String));
    assert_eq!(wire::run_result(&i, say), Some(wire::Run::String));
    let two = i.function("two").unwrap();
    assert_eq!(wire::run_param(&i, two), None);
    let other = i.function("other").unwrap();
    assert_eq!(wire::run_param(&i, other), None);
    assert_eq!(wire::run_result(&i, other), None);

    // Encoding: the same bytes as encode_params, into a cleared buffer.
    let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let mut out = vec![9u8; 3];
    wire::encode_run_into(&data, wire::Run::Bytes, &mut out).unwrap();
    assert_eq!(
        out,
        wire::encode_params(&i, echo, &[Value::Bytes(data.clone())]).unwrap()
    );
    let text = "h\u{e9}\u{4e2d}\u{1F600}";
    wire::encode_run_into(text.as_bytes(), wire::Run::String, &mut out).unwrap();
    assert_eq!(
        out,
        wire::encode_params(&i, say, &[Value::String(text.into())]).unwrap()
    );

    // Decoding: every prefix and extension of a valid output, and hostile
    // lengths, decode (or fail) exactly as decode_result does.
    let mut cases: Vec<Vec<u8>> = Vec::new();
    let good = wire::encode_result(&i, say, Some(&Value::String(text.into()))).unwrap();
    for n in 0..=good.len() {
        cases.push(good[..n].to_vec());
    }
    let mut long = good.clone();
    long.push(0);
    cases.push(long);
    cases.push(vec![0xff, 0xff, 0xff, 0xff, 1, 2]);
    cases.push(vec![2, 0, 0, 0, 0xc3, 0x28]); // not UTF-8
    cases.push(vec![3, 0, 0, 0, b'a', 0xed, 0xa0]); // a surrogate's encoding, cut
    cases.push(vec![0, 0, 0, 0]);
    for c in &cases {
        let general = wire::decode_result(&i, echo, c);
        match wire::decode_bytes(c) {
            Ok(b) => assert_eq!(general.unwrap(), Some(Value::Bytes(b.to_vec())), "{c:?}"),
            Err(e) => assert_eq!(general.unwrap_err(), e, "{c:?}"),
        }
        let general = wire::decode_result(&i, say, c);
        match wire::decode_str(c) {
            Ok(s) => assert_eq!(general.unwrap(), Some(Value::String(s.into())), "{c:?}"),
            Err(e) => assert_eq!(general.unwrap_err(), e, "{c:?}"),
        }
    }
}

#[test]
fn decode_result_owned_reports_the_owned_handles_read_even_when_malformed() {
    let i = iface(
        "resource thing { constructor(h: u64); }\n\
         record holder { main: thing, more: list<option<thing>> }\n\
         hold: func() -> result<holder, string>;\n\
         peek: func(t: borrow<thing>) -> u64;",
    );
    let thing = i.types.iter().position(|t| t.name == "thing").unwrap();
    let hold = i.function("hold").unwrap();
    let h = |n: u64| n.to_le_bytes();
    // ok(holder { main: 1, more: [some(2), none, some(3)] })
    let mut out = vec![0u8];
    out.extend(h(1));
    out.extend(3u32.to_le_bytes());
    out.push(1);
    out.extend(h(2));
    out.push(0);
    out.push(1);
    out.extend(h(3));
    let (v, owned) = wire::decode_result_owned(&i, hold, &out);
    assert_eq!(v.unwrap(), wire::decode_result(&i, hold, &out).unwrap());
    assert_eq!(owned, [(thing, 1), (thing, 2), (thing, 3)]);
    // Malformed after the second handle (option tag 7), or by a trailing byte: the error is
    // decode_result's, and the handles read before it are reported.
    let mut bad = out[..1 + 8 + 4 + 1 + 8].to_vec();
    bad.extend([7, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (v, owned) = wire::decode_result_owned(&i, hold, &bad);
    assert_eq!(
        v.unwrap_err().to_string(),
        wire::decode_result(&i, hold, &bad).unwrap_err().to_string()
    );
    assert_eq!(owned, [(thing, 1), (thing, 2)]);
    let mut trailing = out.clone();
    trailing.push(0);
    let (v, owned) = wire::decode_result_owned(&i, hold, &trailing);
    assert!(v.is_err());
    assert_eq!(owned.len(), 3);
    // The constructor's bare `thing` result is owned; a borrow is never reported (only as a
    // parameter anyway), nor is a result without handles.
    let ctor = i.function("[constructor]thing").unwrap();
    assert_eq!(wire::decode_result_owned(&i, ctor, &h(9)).1, [(thing, 9)]);
    let peek = i.function("peek").unwrap();
    assert!(wire::decode_result_owned(&i, peek, &h(9)).1.is_empty());
}
