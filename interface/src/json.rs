//! JSON <-> [`Value`] for the CLI (`bridgehost call --json`) and the golden
//! vectors. The mapping (docs/TYPED.md, "JSON form"):
//!
//! | WIT | JSON |
//! |-----|------|
//! | bool | `true` / `false` |
//! | integers | numbers (integers only, range-checked) |
//! | f32, f64 | numbers, or `"NaN"`, `"inf"`, `"-inf"` (f32: [`dynamic::f32_in_range`]) |
//! | char | a string of exactly one character |
//! | string | a string |
//!
//! Refused values are named by the paths of [`dynamic`] (Python's typed view): `element N`,
//! `record.field`, `variant.case`, `ok` / `err`.
//!
//! [`dynamic`]: crate::dynamic
//! [`dynamic::f32_in_range`]: crate::dynamic::f32_in_range
//! | list<T> (list<u8> too) | an array |
//! | option<T> | `null` or the value; when T is itself an option, `{"some": v}` |
//! | result<T, E> | `{"ok": v}` or `{"err": v}` (`null` for no payload) |
//! | tuple | an array |
//! | record | an object with exactly the record's fields |
//! | variant | `"case"` (no payload) or `{"case": v}` |
//! | enum | `"case"` |
//! | flags | an array of flag names |
//! | own/borrow handle | a number (the u64 handle) |

use crate::error::{Error, Result};
use crate::limits;
use crate::model::{Function, Interface, Type, TypeDefKind};
use crate::wire::Value;
use serde_json::{json, Map, Number, Value as Json};

fn bad(iface: &Interface, ty: &Type, j: &Json) -> Error {
    let mut shown = j.to_string();
    if shown.len() > 60 {
        let mut cut = 57;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push_str("...");
    }
    Error::Value(format!("{shown} is not a {}", iface.type_name(ty)))
}

/// When serde_json refused the JSON `text` for a value rather than for its syntax, the error to
/// report instead of `e` (`bridgehost call --json`): a `\uXXXX` escape of an unpaired surrogate
/// (serde_json: "lone leading surrogate in hex escape", "unexpected end of hex escape") is not a
/// Unicode scalar value, which a WIT `string` or `char` cannot hold; the runtimes refuse a string
/// with an unpaired surrogate the same way. A number beyond `f64` ("number out of range") is out
/// of range for every WIT number type. `None` for a syntax error. `source` names where `text`
/// came from, as the message begins (`--json`, or `stdin (--json -)`).
pub fn value_error(source: &str, text: &str, e: &serde_json::Error) -> Option<Error> {
    if !e.is_syntax() {
        return None;
    }
    let msg = e.to_string();
    let at = format!("line {} column {}", e.line(), e.column());
    if msg.starts_with("number out of range") {
        return Some(Error::Value(format!(
            "{source}: the number at {at} is out of range for every WIT number type (beyond f64)"
        )));
    }
    if !(msg.starts_with("lone leading surrogate in hex escape")
        || msg.starts_with("unexpected end of hex escape"))
    {
        return None;
    }
    // serde_json stops just after the escape (or after the character that should have begun
    // the low surrogate's escape): the surrogate is the last `\uXXXX` escape of one before it.
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let end = (line_start + e.column()).min(text.len());
    let b = text.as_bytes();
    let found = (end.saturating_sub(16)..end.saturating_sub(5))
        .rev()
        .find_map(|i| {
            if b[i] != b'\\' || b[i + 1] != b'u' {
                return None;
            }
            let hex = std::str::from_utf8(&b[i + 2..i + 6]).ok()?;
            let u = u16::from_str_radix(hex, 16).ok()?;
            (0xd800..=0xdfff).contains(&u).then_some((hex, u))
        });
    Some(Error::Value(match found {
        Some((hex, u)) => format!(
            "{source}: the string escape \\u{hex} at {at} is an unpaired surrogate \
             (U+{u:04X} is not a Unicode scalar value)"
        ),
        None => format!(
            "{source}: a string escape at {at} is an unpaired surrogate (not a Unicode scalar value)"
        ),
    }))
}

/// Convert the JSON array `args` into a function's arguments.
pub fn args_from_json(iface: &Interface, f: &Function, args: &Json) -> Result<Vec<Value>> {
    let Json::Array(items) = args else {
        return Err(Error::Value(format!(
            "the arguments of {} must be a JSON array",
            f.name
        )));
    };
    if items.len() != f.params.len() {
        return Err(Error::Value(format!(
            "{} takes {} argument(s) ({}), got {}",
            f.name,
            f.params.len(),
            f.params
                .iter()
                .map(|p| format!("{}: {}", p.name, iface.type_name(&p.ty)))
                .collect::<Vec<_>>()
                .join(", "),
            items.len()
        )));
    }
    f.params
        .iter()
        .zip(items)
        .map(|(p, j)| {
            from_json(iface, &p.ty, j).map_err(|e| e.context(&format!("parameter {}", p.name)))
        })
        .collect()
}

/// Convert JSON to a value of `ty`.
pub fn from_json(iface: &Interface, ty: &Type, j: &Json) -> Result<Value> {
    from(iface, ty, j, 0)
}

fn int<T: TryFrom<i64> + TryFrom<u64>>(iface: &Interface, ty: &Type, j: &Json) -> Result<T> {
    let n = match j {
        Json::Number(n) => n,
        _ => return Err(bad(iface, ty, j)),
    };
    if let Some(u) = n.as_u64() {
        return T::try_from(u)
            .map_err(|_| Error::Value(format!("{n} is out of range for {}", iface.type_name(ty))));
    }
    if let Some(i) = n.as_i64() {
        return T::try_from(i)
            .map_err(|_| Error::Value(format!("{n} is out of range for {}", iface.type_name(ty))));
    }
    // serde_json reads every other number as a float: an integer literal beyond 64 bits, but
    // also `1.0`, `1e3` and `-0`. Within the 64-bit range only the latter are possible.
    match n.as_f64() {
        Some(f) if f >= 18_446_744_073_709_551_616.0 || f <= -9_223_372_036_854_775_808.0 => {
            Err(Error::Value(format!(
                "{n} (an integer beyond 64 bits) is out of range for {}",
                iface.type_name(ty)
            )))
        }
        Some(_) => Err(Error::Value(format!(
            "{n} is a non-integer number: {} takes integers only (no fraction, exponent or \
             negative zero)",
            iface.type_name(ty)
        ))),
        None => Err(bad(iface, ty, j)),
    }
}

fn float(iface: &Interface, ty: &Type, j: &Json) -> Result<f64> {
    match j {
        Json::Number(n) => n.as_f64().ok_or_else(|| bad(iface, ty, j)),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(bad(iface, ty, j)),
        },
        _ => Err(bad(iface, ty, j)),
    }
}

fn from(iface: &Interface, ty: &Type, j: &Json, depth: usize) -> Result<Value> {
    if depth > limits::MAX_VALUE_DEPTH {
        return Err(Error::TooLarge(format!(
            "value nested deeper than {} levels",
            limits::MAX_VALUE_DEPTH
        )));
    }
    let d = depth + 1;
    let ty = iface.resolve(ty);
    Ok(match ty {
        Type::Bool => Value::Bool(j.as_bool().ok_or_else(|| bad(iface, ty, j))?),
        Type::S8 => Value::S8(int(iface, ty, j)?),
        Type::S16 => Value::S16(int(iface, ty, j)?),
        Type::S32 => Value::S32(int(iface, ty, j)?),
        Type::S64 => Value::S64(int(iface, ty, j)?),
        Type::U8 => Value::U8(int(iface, ty, j)?),
        Type::U16 => Value::U16(int(iface, ty, j)?),
        Type::U32 => Value::U32(int(iface, ty, j)?),
        Type::U64 => Value::U64(int(iface, ty, j)?),
        Type::F32 => {
            let x = float(iface, ty, j)?;
            Value::F32(
                crate::dynamic::f32_in_range(x)
                    .ok_or_else(|| Error::Value(format!("{j} is out of range for f32")))?,
            )
        }
        Type::F64 => Value::F64(float(iface, ty, j)?),
        Type::Char => {
            let s = j.as_str().ok_or_else(|| bad(iface, ty, j))?;
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Value::Char(c),
                _ => {
                    return Err(Error::Value(format!(
                        "char needs exactly one character, got {s:?}"
                    )))
                }
            }
        }
        Type::String => Value::String(j.as_str().ok_or_else(|| bad(iface, ty, j))?.to_string()),
        Type::List(t) => {
            let items = j.as_array().ok_or_else(|| bad(iface, ty, j))?;
            if **t == Type::U8 {
                let mut b = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    b.push(int::<u8>(iface, t, x).map_err(|e| e.context(&format!("element {i}")))?);
                }
                Value::Bytes(b)
            } else {
                let mut v = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    v.push(from(iface, t, x, d).map_err(|e| e.context(&format!("element {i}")))?);
                }
                Value::List(v)
            }
        }
        Type::Option(t) => {
            if j.is_null() {
                Value::Option(None)
            } else if matches!(iface.resolve(t), Type::Option(_)) {
                let inner = j
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.get("some"))
                    .ok_or_else(|| {
                        Error::Value(format!(
                            "{} needs null or {{\"some\": ...}}",
                            iface.type_name(ty)
                        ))
                    })?;
                Value::Option(Some(Box::new(from(iface, t, inner, d)?)))
            } else {
                Value::Option(Some(Box::new(from(iface, t, j, d)?)))
            }
        }
        Type::Result { ok, err } => {
            let o = j.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
                Error::Value(format!(
                    "{} needs {{\"ok\": ...}} or {{\"err\": ...}}",
                    iface.type_name(ty)
                ))
            })?;
            let (key, inner) = o.iter().next().expect("one entry");
            let side = match key.as_str() {
                "ok" => ok,
                "err" => err,
                _ => return Err(bad(iface, ty, j)),
            };
            let payload = match side {
                Some(t) => Some(Box::new(
                    from(iface, t, inner, d).map_err(|e| e.context(key))?,
                )),
                None if inner.is_null() => None,
                None => {
                    return Err(Error::Value(format!(
                        "the {key} side of {} has no payload",
                        iface.type_name(ty)
                    )))
                }
            };
            Value::Result(if key == "ok" {
                Ok(payload)
            } else {
                Err(payload)
            })
        }
        Type::Tuple(ts) => {
            let items = j
                .as_array()
                .filter(|a| a.len() == ts.len())
                .ok_or_else(|| bad(iface, ty, j))?;
            let mut v = Vec::with_capacity(ts.len());
            for (i, (t, x)) in ts.iter().zip(items).enumerate() {
                v.push(from(iface, t, x, d).map_err(|e| e.context(&format!("element {i}")))?);
            }
            Value::Tuple(v)
        }
        Type::Own(_) | Type::Borrow(_) => Value::Handle(int(iface, ty, j)?),
        Type::Named(i) => {
            let def = iface.typedef(*i);
            match &def.kind {
                TypeDefKind::Record(fields) => {
                    let o = j.as_object().ok_or_else(|| bad(iface, ty, j))?;
                    if let Some(k) = o.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                        return Err(Error::Value(format!(
                            "record {} has no field {k:?}",
                            def.name
                        )));
                    }
                    let mut v = Vec::with_capacity(fields.len());
                    for f in fields {
                        let x = o.get(&f.name).ok_or_else(|| {
                            Error::Value(format!("record {} needs field {:?}", def.name, f.name))
                        })?;
                        v.push(
                            from(iface, &f.ty, x, d)
                                .map_err(|e| e.context(&format!("{}.{}", def.name, f.name)))?,
                        );
                    }
                    Value::Record(v)
                }
                TypeDefKind::Variant(cases) => {
                    let (name, inner) = match j {
                        Json::String(s) => (s.as_str(), &Json::Null),
                        Json::Object(o) if o.len() == 1 => {
                            let (k, v) = o.iter().next().expect("one entry");
                            (k.as_str(), v)
                        }
                        _ => return Err(bad(iface, ty, j)),
                    };
                    let case = cases.iter().position(|c| c.name == name).ok_or_else(|| {
                        Error::Value(format!("variant {} has no case {name:?}", def.name))
                    })?;
                    let payload = match &cases[case].ty {
                        Some(t) => Some(Box::new(
                            from(iface, t, inner, d)
                                .map_err(|e| e.context(&format!("{}.{name}", def.name)))?,
                        )),
                        None if inner.is_null() => None,
                        None => {
                            return Err(Error::Value(format!(
                                "case {}.{name} has no payload",
                                def.name
                            )))
                        }
                    };
                    Value::Variant {
                        case: case as u32,
                        payload,
                    }
                }
                TypeDefKind::Enum(cases) => {
                    let s = j.as_str().ok_or_else(|| bad(iface, ty, j))?;
                    let case = cases.iter().position(|c| c == s).ok_or_else(|| {
                        Error::Value(format!("enum {} has no case {s:?}", def.name))
                    })?;
                    Value::Enum(case as u32)
                }
                TypeDefKind::Flags(flags) => {
                    let items = j.as_array().ok_or_else(|| bad(iface, ty, j))?;
                    let mut bits = 0u64;
                    for x in items {
                        let s = x.as_str().ok_or_else(|| bad(iface, ty, j))?;
                        let k = flags.iter().position(|f| f == s).ok_or_else(|| {
                            Error::Value(format!("flags {} has no flag {s:?}", def.name))
                        })?;
                        bits |= 1 << k;
                    }
                    Value::Flags(bits)
                }
                TypeDefKind::Resource => Value::Handle(int(iface, ty, j)?),
                TypeDefKind::Alias(_) => return Err(Error::Value("alias chain too long".into())),
            }
        }
    })
}

fn float_json(x: f64, shortest: String) -> Json {
    if x.is_nan() {
        json!("NaN")
    } else if x.is_infinite() {
        json!(if x > 0.0 { "inf" } else { "-inf" })
    } else {
        // The shortest decimal that reads back as the same float.
        let back: f64 = shortest.parse().unwrap_or(x);
        Number::from_f64(back).map_or(Json::Null, Json::Number)
    }
}

/// Convert a value of `ty` to JSON.
pub fn to_json(iface: &Interface, ty: &Type, v: &Value) -> Result<Json> {
    to(iface, ty, v, 0)
}

fn to(iface: &Interface, ty: &Type, v: &Value, depth: usize) -> Result<Json> {
    if depth > limits::MAX_VALUE_DEPTH {
        return Err(Error::TooLarge(format!(
            "value nested deeper than {} levels",
            limits::MAX_VALUE_DEPTH
        )));
    }
    let d = depth + 1;
    let ty = iface.resolve(ty);
    let mismatch = || {
        Error::Value(format!(
            "a {} value is not a {}",
            v.kind_name(),
            iface.type_name(ty)
        ))
    };
    Ok(match (ty, v) {
        (Type::Bool, Value::Bool(b)) => json!(b),
        (Type::S8, Value::S8(x)) => json!(x),
        (Type::S16, Value::S16(x)) => json!(x),
        (Type::S32, Value::S32(x)) => json!(x),
        (Type::S64, Value::S64(x)) => json!(x),
        (Type::U8, Value::U8(x)) => json!(x),
        (Type::U16, Value::U16(x)) => json!(x),
        (Type::U32, Value::U32(x)) => json!(x),
        (Type::U64, Value::U64(x)) => json!(x),
        (Type::F32, Value::F32(x)) => float_json(f64::from(*x), x.to_string()),
        (Type::F64, Value::F64(x)) => float_json(*x, x.to_string()),
        (Type::Char, Value::Char(c)) => json!(c.to_string()),
        (Type::String, Value::String(s)) => json!(s),
        (Type::List(_), Value::Bytes(b)) => json!(b),
        (Type::List(t), Value::List(items)) => {
            let mut a = Vec::with_capacity(items.len());
            for x in items {
                a.push(to(iface, t, x, d)?);
            }
            Json::Array(a)
        }
        (Type::Option(_), Value::Option(None)) => Json::Null,
        (Type::Option(t), Value::Option(Some(x))) => {
            let inner = to(iface, t, x, d)?;
            if matches!(iface.resolve(t), Type::Option(_)) {
                json!({ "some": inner })
            } else {
                inner
            }
        }
        (Type::Result { ok, err }, Value::Result(r)) => {
            let (key, side, payload) = match r {
                Ok(p) => ("ok", ok, p),
                Err(p) => ("err", err, p),
            };
            let inner = match (side, payload) {
                (Some(t), Some(p)) => to(iface, t, p, d)?,
                (None, None) => Json::Null,
                _ => return Err(mismatch()),
            };
            let mut m = Map::new();
            m.insert(key.to_string(), inner);
            Json::Object(m)
        }
        (Type::Tuple(ts), Value::Tuple(vs)) if ts.len() == vs.len() => {
            let mut a = Vec::with_capacity(ts.len());
            for (t, x) in ts.iter().zip(vs) {
                a.push(to(iface, t, x, d)?);
            }
            Json::Array(a)
        }
        (Type::Own(_) | Type::Borrow(_), Value::Handle(h)) => json!(h),
        (Type::Named(i), v) => {
            let def = iface.typedef(*i);
            match (&def.kind, v) {
                (TypeDefKind::Record(fields), Value::Record(vs)) if fields.len() == vs.len() => {
                    let mut m = Map::new();
                    for (f, x) in fields.iter().zip(vs) {
                        m.insert(f.name.clone(), to(iface, &f.ty, x, d)?);
                    }
                    Json::Object(m)
                }
                (TypeDefKind::Variant(cases), Value::Variant { case, payload }) => {
                    let c = cases.get(*case as usize).ok_or_else(mismatch)?;
                    match (&c.ty, payload) {
                        (None, None) => json!(c.name),
                        (Some(t), Some(p)) => {
                            let mut m = Map::new();
                            m.insert(c.name.clone(), to(iface, t, p, d)?);
                            Json::Object(m)
                        }
                        _ => return Err(mismatch()),
                    }
                }
                (TypeDefKind::Enum(cases), Value::Enum(case)) => {
                    json!(cases.get(*case as usize).ok_or_else(mismatch)?)
                }
                (TypeDefKind::Flags(flags), Value::Flags(bits)) => Json::Array(
                    flags
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| bits >> k & 1 == 1)
                        .map(|(_, f)| json!(f))
                        .collect(),
                ),
                (TypeDefKind::Resource, Value::Handle(h)) => json!(h),
                _ => return Err(mismatch()),
            }
        }
        _ => return Err(mismatch()),
    })
}
