//! The golden vectors (golden/vectors.json over golden/golden.wit): every
//! runtime checks the same file. Here: JSON -> value -> bytes must equal the
//! hex, bytes -> value -> JSON must equal the JSON, refused inputs must be
//! refused with a typed error.

use bridgehost_interface::{json, unhex, wire, Error, Interface, Type, TypeDefKind};
use serde_json::Value as Json;

struct Golden {
    iface: Interface,
    doc: Json,
}

/// Parse golden.wit with one `type golden-N = <expr>;` alias per vector, so
/// each vector's type expression is resolved by wit-parser itself.
fn load() -> Golden {
    let doc: Json = serde_json::from_str(include_str!("../golden/vectors.json")).unwrap();
    let wit = include_str!("../golden/golden.wit");
    let mut aliases = String::new();
    for (section, list) in doc.as_object().unwrap() {
        let Some(list) = list.as_array() else {
            continue;
        };
        for (i, v) in list.iter().enumerate() {
            let ty = v["type"].as_str().unwrap();
            aliases.push_str(&format!(
                "    type {section}-{i} = {ty};\n",
                section = section.replace('_', "-")
            ));
        }
    }
    let end = wit.rfind('}').unwrap();
    let text = format!("{}{}{}", &wit[..end], aliases, &wit[end..]);
    Golden {
        iface: Interface::parse(&text).unwrap(),
        doc,
    }
}

impl Golden {
    fn ty(&self, section: &str, i: usize) -> Type {
        let name = format!("{}-{i}", section.replace('_', "-"));
        let k = self
            .iface
            .types
            .iter()
            .position(|t| t.name == name)
            .unwrap();
        assert!(matches!(self.iface.types[k].kind, TypeDefKind::Alias(_)));
        Type::Named(k)
    }

    fn list(&self, section: &str) -> Vec<Json> {
        self.doc[section].as_array().unwrap().clone()
    }
}

/// JSON equality that also tells -0.0 from 0.0.
fn same_json(a: &Json, b: &Json) -> bool {
    a == b && serde_json::to_string(a).unwrap() == serde_json::to_string(b).unwrap()
}

#[test]
fn valid_vectors_round_trip_both_ways() {
    let g = load();
    let list = g.list("valid");
    assert!(list.len() >= 50);
    for (i, v) in list.iter().enumerate() {
        let ty = g.ty("valid", i);
        let hex = unhex(v["hex"].as_str().unwrap()).unwrap();
        let val = json::from_json(&g.iface, &ty, &v["json"])
            .unwrap_or_else(|e| panic!("vector {i} {v}: {e}"));
        let mut bytes = Vec::new();
        wire::encode(&g.iface, &ty, &val, &mut bytes).unwrap();
        assert_eq!(bytes, hex, "encode of vector {i}: {v}");
        let back =
            wire::decode(&g.iface, &ty, &hex).unwrap_or_else(|e| panic!("vector {i} {v}: {e}"));
        let j = json::to_json(&g.iface, &ty, &back).unwrap();
        assert!(
            same_json(&j, &v["json"]),
            "decode of vector {i}: {v} gave {j}"
        );
    }
}

#[test]
fn decode_only_vectors_canonicalize() {
    let g = load();
    for (i, v) in g.list("decode_only").iter().enumerate() {
        let ty = g.ty("decode_only", i);
        let hex = unhex(v["hex"].as_str().unwrap()).unwrap();
        let val = wire::decode(&g.iface, &ty, &hex).unwrap();
        assert!(same_json(
            &json::to_json(&g.iface, &ty, &val).unwrap(),
            &v["json"]
        ));
        let mut bytes = Vec::new();
        wire::encode(&g.iface, &ty, &val, &mut bytes).unwrap();
        assert_eq!(
            bytes,
            unhex(v["canonical_hex"].as_str().unwrap()).unwrap(),
            "{v}"
        );
    }
}

/// Every refused input is a decode error whose message is exactly the vector's `error`, the
/// wording Java's and C#'s decoders share (their golden tests check the same field).
#[test]
fn invalid_bytes_are_refused_with_a_decode_error() {
    let g = load();
    for (i, v) in g.list("invalid_bytes").iter().enumerate() {
        let ty = g.ty("invalid_bytes", i);
        let hex = unhex(v["hex"].as_str().unwrap()).unwrap();
        let want = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("vector {i} {v}: no error"));
        match wire::decode(&g.iface, &ty, &hex) {
            Err(e @ Error::Decode { offset, .. }) => {
                assert!(offset <= hex.len(), "{v}");
                assert_eq!(e.to_string(), want, "vector {i} {v}");
            }
            other => panic!("vector {i} {v}: expected a decode error, got {other:?}"),
        }
    }
}

/// A count of one is singular ("1 case", "1 flag", "1 byte"), as in Java and C# (their golden
/// tests check the same messages): golden.wit has no one-case or one-flag type.
#[test]
fn decode_errors_count_in_the_singular_and_the_plural() {
    let iface = Interface::parse(
        "package a:b; interface i { enum one { a } variant v { a } flags f { a } \
         type e = one; type w = v; type g = f; type s = string; }",
    )
    .unwrap();
    let named = |n: &str| Type::Named(iface.types.iter().position(|t| t.name == n).unwrap());
    let cases = [
        ("e", "01", "0: enum one has 1 case, got discriminant 1"),
        ("w", "02", "0: variant v has 1 case, got discriminant 2"),
        ("g", "02", "0: flags f has 1 flag, got bits 0x2"),
        (
            "s",
            "0200000061",
            "0: string length 2 needs at least 2 bytes, 1 left",
        ),
        ("g", "000000", "1: 2 trailing bytes"),
    ];
    for (ty, hex, want) in cases {
        let got = wire::decode(&iface, &named(ty), &unhex(hex).unwrap()).unwrap_err();
        assert_eq!(
            got.to_string(),
            format!("malformed typed payload at byte {want}")
        );
    }
}

#[test]
fn invalid_json_is_refused() {
    let g = load();
    for (i, v) in g.list("invalid_json").iter().enumerate() {
        let ty = g.ty("invalid_json", i);
        match json::from_json(&g.iface, &ty, &v["json"]) {
            Err(Error::Value(_)) => {}
            other => panic!("vector {i} {v}: expected a value error, got {other:?}"),
        }
    }
}
