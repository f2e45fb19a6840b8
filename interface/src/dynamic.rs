//! Values of a dynamically typed runtime (Python's run-time typed view) to
//! and from [`Value`], walking the interface's types.
//!
//! A bridge only answers questions about its own objects ([`HostValue`]:
//! "is this an int, and which?") and builds its own objects ([`Builder`]:
//! "make a list of these"). Which question to ask for which WIT type, range
//! checks, field/case/flag names, nested-option and result rules, arity and
//! the nesting limit are decided here, once, for every runtime. The mapping
//! (docs/TYPED.md, "Type mapping per runtime", Python column):
//!
//! | WIT | host value (lower: accepted / lift: built) |
//! |-----|------------------------------------------|
//! | `bool` | a bool |
//! | integers | an int, range-checked (never wrapped) |
//! | `f32`, `f64` | a float (an int is accepted); an `f32` out of its range is refused |
//! | `char` | a string of exactly one Unicode scalar value |
//! | `string` | a string (unpaired surrogates are refused) |
//! | `list<u8>` | bytes (a sequence of ints is accepted too) |
//! | `list<T>` | a sequence |
//! | `option<T>` | none or the value; when `T` is itself an option, `some(v)` |
//! | `result<T, E>` | `ok(v)` / `err(v)` (a function's result: its value, or `E` raised) |
//! | `tuple` | a sequence of the right length |
//! | `record` | an object or mapping with exactly the fields |
//! | `variant` | `variant(case, payload)`, or the case name for a case without payload |
//! | `enum` | the case name |
//! | `flags` | a collection of flag names |
//! | `own`/`borrow` | an int (the `u64` handle) |

use crate::limits;
use crate::model::{Field, Function, Interface, Type, TypeDefKind, TypeIndex};
use crate::wire::Value;

/// Why a value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynError<E> {
    /// The host failed while answering (its own exception, kept as is).
    Host(E),
    /// The value has the wrong shape for the type (a string for a `u32`,
    /// a wrong number of arguments): a `TypeError` in Python.
    Type(String),
    /// The shape is right but the value is not acceptable (out of range,
    /// unknown case or field, a surrogate, too deep): a `ValueError`.
    Value(String),
}

impl<E> DynError<E> {
    /// Prefix the message with where it happened (host errors are kept).
    pub fn context(self, what: &str) -> Self {
        match self {
            DynError::Type(m) => DynError::Type(format!("{what}: {m}")),
            DynError::Value(m) => DynError::Value(format!("{what}: {m}")),
            h => h,
        }
    }
}

/// `Result` of this module.
pub type DynResult<T, E> = std::result::Result<T, DynError<E>>;

/// A record's fields as a host object holds them.
#[derive(Debug)]
pub struct Fields<H> {
    /// One entry per field of the record, in declaration order (`None`: missing).
    pub values: Vec<Option<H>>,
    /// A key the object has that is not a field (mappings only).
    pub unknown: Option<String>,
}

/// Questions about one host object. Every method answers `Ok(None)` when the
/// object is not of that shape; `Err` only for the host's own failures.
pub trait HostValue: Sized {
    /// The host's error (a Python exception).
    type Error;
    /// A short description for messages, e.g. `'abc' (str)`.
    fn describe(&self) -> String;
    /// True for the host's "nothing" (`None`).
    fn is_none(&self) -> bool;
    /// A boolean (not an int).
    fn as_bool(&self) -> Result<Option<bool>, Self::Error>;
    /// An integer (not a bool). Integers beyond `i128` are clamped to
    /// `i128::MIN`/`MAX` (out of range of every WIT integer anyway).
    fn as_int(&self) -> Result<Option<i128>, Self::Error>;
    /// A float (an integer is accepted and converted): `Ok(Some(Err(reason)))`
    /// when it is a number no `f64` holds (an integer beyond `f64`'s range).
    #[allow(clippy::type_complexity)]
    fn as_float(&self) -> Result<Option<Result<f64, String>>, Self::Error>;
    /// A string: `Ok(Some(Err(reason)))` when it is a string that is not
    /// valid Unicode (unpaired surrogates).
    #[allow(clippy::type_complexity)]
    fn as_str(&self) -> Result<Option<Result<String, String>>, Self::Error>;
    /// A bytes-like object: `Ok(Some(Err(reason)))` when it is one whose bytes
    /// cannot be taken as they are (e.g. a non-contiguous buffer).
    #[allow(clippy::type_complexity)]
    fn as_bytes(&self) -> Result<Option<Result<Vec<u8>, String>>, Self::Error>;
    /// A sequence (list or tuple; not a string or bytes).
    fn as_seq(&self) -> Result<Option<Vec<Self>>, Self::Error>;
    /// A record-like object: the values of the fields of record `ty`
    /// (`fields`, with their WIT names; the host maps them to its own
    /// spelling).
    fn fields(&self, ty: TypeIndex, fields: &[Field]) -> Result<Option<Fields<Self>>, Self::Error>;
    /// The host's wrapper of a present nested option (`some(v)`).
    fn as_some(&self) -> Result<Option<Self>, Self::Error>;
    /// The host's `ok(v)` / `err(v)`: `(true, v)` for ok (`v` is the host's
    /// none when there is no payload).
    fn as_result(&self) -> Result<Option<(bool, Self)>, Self::Error>;
    /// The host's `variant(case, payload)`: the case name and the payload
    /// (the host's none when there is none). A bare case name is handled here.
    fn as_variant(&self) -> Result<Option<(String, Self)>, Self::Error>;
    /// A collection of names (flags); not a single string.
    fn as_names(&self) -> Result<Option<Vec<String>>, Self::Error>;
}

/// Builds host objects.
pub trait Builder {
    /// A host object.
    type Out;
    /// The host's error.
    type Error;
    /// `bool`
    fn bool(&mut self, v: bool) -> Result<Self::Out, Self::Error>;
    /// Signed integers.
    fn int(&mut self, v: i64) -> Result<Self::Out, Self::Error>;
    /// Unsigned integers.
    fn uint(&mut self, v: u64) -> Result<Self::Out, Self::Error>;
    /// `f32` (widened) and `f64`.
    fn float(&mut self, v: f64) -> Result<Self::Out, Self::Error>;
    /// `char`
    fn char(&mut self, v: char) -> Result<Self::Out, Self::Error>;
    /// `string`
    fn string(&mut self, v: &str) -> Result<Self::Out, Self::Error>;
    /// `list<u8>`
    fn bytes(&mut self, v: &[u8]) -> Result<Self::Out, Self::Error>;
    /// `list<T>`
    fn list(&mut self, items: Vec<Self::Out>) -> Result<Self::Out, Self::Error>;
    /// An absent option (and the payload of a payload-less result side).
    fn none(&mut self) -> Result<Self::Out, Self::Error>;
    /// A present option whose payload is itself an option.
    fn some(&mut self, v: Self::Out) -> Result<Self::Out, Self::Error>;
    /// `ok(v)` / `err(v)` (`v` is [`Builder::none`] without payload).
    fn result(&mut self, ok: bool, v: Self::Out) -> Result<Self::Out, Self::Error>;
    /// `tuple<...>`
    fn tuple(&mut self, items: Vec<Self::Out>) -> Result<Self::Out, Self::Error>;
    /// A record of named type `ty`, fields in declaration order.
    fn record(&mut self, ty: TypeIndex, fields: Vec<Self::Out>) -> Result<Self::Out, Self::Error>;
    /// A variant's case (`payload` is `None` for a case without one).
    fn variant(
        &mut self,
        ty: TypeIndex,
        case: &str,
        payload: Option<Self::Out>,
    ) -> Result<Self::Out, Self::Error>;
    /// An enum's case.
    fn enum_case(&mut self, ty: TypeIndex, case: &str) -> Result<Self::Out, Self::Error>;
    /// The names of the flags that are set, in declaration order.
    fn flags(&mut self, ty: TypeIndex, names: Vec<&str>) -> Result<Self::Out, Self::Error>;
    /// A resource handle.
    fn handle(&mut self, v: u64) -> Result<Self::Out, Self::Error>;
}

fn too_deep<E>() -> DynError<E> {
    DynError::Value(format!(
        "limit exceeded: value nested deeper than {} levels",
        limits::MAX_VALUE_DEPTH
    ))
}

/// `"a: u32, b: u32"`
pub fn signature_params(iface: &Interface, f: &Function) -> String {
    f.params
        .iter()
        .map(|p| format!("{}: {}", p.name, iface.type_name(&p.ty)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lower a function's arguments (positional, one per parameter): a wrong
/// count is a [`DynError::Type`] naming the parameters; any other failure
/// names the parameter.
pub fn lower_args<H: HostValue>(
    iface: &Interface,
    f: &Function,
    args: &[H],
) -> DynResult<Vec<Value>, H::Error> {
    if args.len() != f.params.len() {
        return Err(arity(iface, f, args.len()));
    }
    f.params
        .iter()
        .zip(args)
        .map(|(p, a)| {
            lower(iface, &p.ty, a).map_err(|e| e.context(&format!("parameter {}", p.name)))
        })
        .collect()
}

fn arity<E>(iface: &Interface, f: &Function, got: usize) -> DynError<E> {
    DynError::Type(format!(
        "{} takes {} argument(s) ({}), got {}",
        f.name,
        f.params.len(),
        signature_params(iface, f),
        got
    ))
}

/// [`lower_args`] and [`wire::encode_params_into`](crate::wire::encode_params_into) in one
/// pass, a parameter at a time, with no vector of arguments or values: the same checks, the
/// same messages (an encoding refusal is [`DynError::Value`] with the encoder's message) and
/// the same bytes, written into `out` (cleared first; on error its content is unspecified).
/// `arg(i)` gives the `i`-th of `count` positional arguments.
pub fn lower_args_into<H: HostValue>(
    iface: &Interface,
    f: &Function,
    count: usize,
    mut arg: impl FnMut(usize) -> Result<H, H::Error>,
    out: &mut Vec<u8>,
) -> DynResult<(), H::Error> {
    out.clear();
    if count != f.params.len() {
        return Err(arity(iface, f, count));
    }
    for (i, p) in f.params.iter().enumerate() {
        let a = arg(i).map_err(DynError::Host)?;
        let v = lower(iface, &p.ty, &a).map_err(|e| e.context(&format!("parameter {}", p.name)))?;
        crate::wire::encode(iface, &p.ty, &v, out).map_err(|e| {
            DynError::Value(e.context(&format!("parameter {}", p.name)).to_string())
        })?;
    }
    Ok(())
}

/// Lower a call's arguments given positionally and by name: `names` are
/// the parameters' names as the host spells them (one per parameter, in
/// order). Python's rules: a parameter is given once, by position or by
/// name; unknown names, duplicates, missing parameters and too many
/// positional arguments are [`DynError::Type`] errors naming them.
pub fn lower_call<H: HostValue>(
    iface: &Interface,
    f: &Function,
    names: &[String],
    positional: Vec<H>,
    named: Vec<(String, H)>,
) -> DynResult<Vec<Value>, H::Error> {
    if named.is_empty() {
        return lower_args(iface, f, &positional);
    }
    if positional.len() > f.params.len() || names.len() != f.params.len() {
        return lower_args(iface, f, &positional);
    }
    let mut slots: Vec<Option<H>> = positional.into_iter().map(Some).collect();
    slots.resize_with(f.params.len(), || None);
    for (key, v) in named {
        let k = names.iter().position(|n| *n == key).ok_or_else(|| {
            DynError::Type(format!(
                "{} got an unexpected keyword argument {key:?} (its parameters: {})",
                f.name,
                names.join(", ")
            ))
        })?;
        if slots[k].is_some() {
            return Err(DynError::Type(format!(
                "{} got multiple values for argument {key:?}",
                f.name
            )));
        }
        slots[k] = Some(v);
    }
    let mut args = Vec::with_capacity(slots.len());
    for (k, slot) in slots.into_iter().enumerate() {
        args.push(slot.ok_or_else(|| {
            DynError::Type(format!(
                "{} missing argument {:?} ({})",
                f.name,
                names[k],
                signature_params(iface, f)
            ))
        })?);
    }
    lower_args(iface, f, &args)
}

/// The one `f32` range rule of every dynamic mapping (this module and `json`): `x` rounded to
/// the nearest `f32`, or `None` for a finite `x` beyond `f32`'s range (it would round to an
/// infinity). NaN and the infinities are kept; a value too small underflows to (signed) zero.
pub fn f32_in_range(x: f64) -> Option<f32> {
    let y = x as f32;
    (y.is_finite() || !x.is_finite()).then_some(y)
}

/// Convert a host object to a value of `ty`.
pub fn lower<H: HostValue>(iface: &Interface, ty: &Type, v: &H) -> DynResult<Value, H::Error> {
    low(iface, ty, v, 0)
}

fn wrong<H: HostValue>(iface: &Interface, ty: &Type, v: &H) -> DynError<H::Error> {
    DynError::Type(format!(
        "expected {}, got {}",
        iface.type_name(ty),
        v.describe()
    ))
}

fn int_in<H: HostValue, T: TryFrom<i128>>(
    iface: &Interface,
    ty: &Type,
    v: &H,
) -> DynResult<T, H::Error> {
    let n = v
        .as_int()
        .map_err(DynError::Host)?
        .ok_or_else(|| wrong(iface, ty, v))?;
    T::try_from(n).map_err(|_| {
        DynError::Value(format!(
            "{} is out of range for {}",
            v.describe(),
            iface.type_name(ty)
        ))
    })
}

fn float<H: HostValue>(iface: &Interface, ty: &Type, v: &H) -> DynResult<f64, H::Error> {
    match v.as_float().map_err(DynError::Host)? {
        None => Err(wrong(iface, ty, v)),
        Some(Err(reason)) => Err(DynError::Value(format!(
            "{} is out of range for {}: {reason}",
            v.describe(),
            iface.type_name(ty)
        ))),
        Some(Ok(x)) => Ok(x),
    }
}

fn text<H: HostValue>(iface: &Interface, ty: &Type, v: &H) -> DynResult<String, H::Error> {
    match v.as_str().map_err(DynError::Host)? {
        None => Err(wrong(iface, ty, v)),
        Some(Err(reason)) => Err(DynError::Value(format!(
            "{} is not valid Unicode: {reason}",
            v.describe()
        ))),
        Some(Ok(s)) => Ok(s),
    }
}

fn low<H: HostValue>(
    iface: &Interface,
    ty: &Type,
    v: &H,
    depth: usize,
) -> DynResult<Value, H::Error> {
    if depth > limits::MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let d = depth + 1;
    let host = DynError::Host;
    let ty = iface.resolve(ty);
    Ok(match ty {
        Type::Bool => Value::Bool(
            v.as_bool()
                .map_err(host)?
                .ok_or_else(|| wrong(iface, ty, v))?,
        ),
        Type::S8 => Value::S8(int_in(iface, ty, v)?),
        Type::S16 => Value::S16(int_in(iface, ty, v)?),
        Type::S32 => Value::S32(int_in(iface, ty, v)?),
        Type::S64 => Value::S64(int_in(iface, ty, v)?),
        Type::U8 => Value::U8(int_in(iface, ty, v)?),
        Type::U16 => Value::U16(int_in(iface, ty, v)?),
        Type::U32 => Value::U32(int_in(iface, ty, v)?),
        Type::U64 => Value::U64(int_in(iface, ty, v)?),
        Type::Own(_) | Type::Borrow(_) => Value::Handle(int_in(iface, ty, v)?),
        Type::F32 => {
            let x = float(iface, ty, v)?;
            Value::F32(f32_in_range(x).ok_or_else(|| {
                DynError::Value(format!("{} is out of range for f32", v.describe()))
            })?)
        }
        Type::F64 => Value::F64(float(iface, ty, v)?),
        Type::Char => {
            let s = text(iface, ty, v)?;
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Value::Char(c),
                _ => {
                    return Err(DynError::Value(format!(
                        "char needs exactly one character, got {}",
                        v.describe()
                    )))
                }
            }
        }
        Type::String => Value::String(text(iface, ty, v)?),
        Type::List(t) => {
            if **t == Type::U8 {
                match v.as_bytes().map_err(host)? {
                    Some(Ok(b)) => return Ok(Value::Bytes(b)),
                    Some(Err(reason)) => {
                        return Err(DynError::Value(format!("{}: {reason}", v.describe())))
                    }
                    None => {}
                }
            }
            let items = v
                .as_seq()
                .map_err(host)?
                .ok_or_else(|| wrong(iface, ty, v))?;
            if **t == Type::U8 {
                let mut b = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    b.push(int_in(iface, t, x).map_err(|e| e.context(&format!("element {i}")))?);
                }
                Value::Bytes(b)
            } else {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    out.push(low(iface, t, x, d).map_err(|e| e.context(&format!("element {i}")))?);
                }
                Value::List(out)
            }
        }
        Type::Option(t) => {
            if v.is_none() {
                Value::Option(None)
            } else if matches!(iface.resolve(t), Type::Option(_)) {
                let inner = v.as_some().map_err(host)?.ok_or_else(|| {
                    DynError::Type(format!(
                        "{} needs None or Some(...) (the payload is itself an option), got {}",
                        iface.type_name(ty),
                        v.describe()
                    ))
                })?;
                Value::Option(Some(Box::new(low(iface, t, &inner, d)?)))
            } else {
                Value::Option(Some(Box::new(low(iface, t, v, d)?)))
            }
        }
        Type::Result { ok, err } => {
            let (is_ok, payload) = v.as_result().map_err(host)?.ok_or_else(|| {
                DynError::Type(format!(
                    "{} needs Ok(...) or Err(...), got {}",
                    iface.type_name(ty),
                    v.describe()
                ))
            })?;
            let (side, name) = if is_ok { (ok, "ok") } else { (err, "err") };
            let p = match side {
                Some(t) => Some(Box::new(
                    low(iface, t, &payload, d).map_err(|e| e.context(name))?,
                )),
                None if payload.is_none() => None,
                None => {
                    return Err(DynError::Value(format!(
                        "the {name} side of {} has no payload, got {}",
                        iface.type_name(ty),
                        payload.describe()
                    )))
                }
            };
            Value::Result(if is_ok { Ok(p) } else { Err(p) })
        }
        Type::Tuple(ts) => {
            let items = v
                .as_seq()
                .map_err(host)?
                .ok_or_else(|| wrong(iface, ty, v))?;
            if items.len() != ts.len() {
                return Err(DynError::Value(format!(
                    "{} has {} elements, got {}",
                    iface.type_name(ty),
                    ts.len(),
                    items.len()
                )));
            }
            let mut out = Vec::with_capacity(ts.len());
            for (i, (t, x)) in ts.iter().zip(&items).enumerate() {
                out.push(low(iface, t, x, d).map_err(|e| e.context(&format!("element {i}")))?);
            }
            Value::Tuple(out)
        }
        Type::Named(i) => {
            let def = iface.typedef(*i);
            match &def.kind {
                TypeDefKind::Record(fields) => {
                    let got = v
                        .fields(*i, fields)
                        .map_err(host)?
                        .ok_or_else(|| wrong(iface, ty, v))?;
                    if let Some(k) = got.unknown {
                        return Err(DynError::Value(format!(
                            "record {} has no field {k:?}",
                            def.name
                        )));
                    }
                    let mut out = Vec::with_capacity(fields.len());
                    for (f, x) in fields.iter().zip(got.values) {
                        let x = x.ok_or_else(|| {
                            DynError::Value(format!("record {} needs field {:?}", def.name, f.name))
                        })?;
                        out.push(
                            low(iface, &f.ty, &x, d)
                                .map_err(|e| e.context(&format!("{}.{}", def.name, f.name)))?,
                        );
                    }
                    Value::Record(out)
                }
                TypeDefKind::Variant(cases) => {
                    let (name, payload) = v
                        .as_variant()
                        .map_err(host)?
                        .ok_or_else(|| wrong(iface, ty, v))?;
                    let case = cases.iter().position(|c| c.name == name).ok_or_else(|| {
                        DynError::Value(format!("variant {} has no case {name:?}", def.name))
                    })?;
                    let p = match &cases[case].ty {
                        Some(t) => Some(Box::new(
                            low(iface, t, &payload, d)
                                .map_err(|e| e.context(&format!("{}.{name}", def.name)))?,
                        )),
                        None if payload.is_none() => None,
                        None => {
                            return Err(DynError::Value(format!(
                                "case {}.{name} has no payload, got {}",
                                def.name,
                                payload.describe()
                            )))
                        }
                    };
                    Value::Variant {
                        case: case as u32,
                        payload: p,
                    }
                }
                TypeDefKind::Enum(cases) => {
                    let s = text(iface, ty, v)?;
                    let case = cases.iter().position(|c| *c == s).ok_or_else(|| {
                        DynError::Value(format!("enum {} has no case {s:?}", def.name))
                    })?;
                    Value::Enum(case as u32)
                }
                TypeDefKind::Flags(flags) => {
                    let names = v
                        .as_names()
                        .map_err(host)?
                        .ok_or_else(|| wrong(iface, ty, v))?;
                    let mut bits = 0u64;
                    for s in names {
                        let k = flags.iter().position(|f| *f == s).ok_or_else(|| {
                            DynError::Value(format!("flags {} has no flag {s:?}", def.name))
                        })?;
                        bits |= 1 << k;
                    }
                    Value::Flags(bits)
                }
                TypeDefKind::Resource => Value::Handle(int_in(iface, ty, v)?),
                TypeDefKind::Alias(_) => {
                    return Err(DynError::Value("alias chain too long".into()))
                }
            }
        }
    })
}

/// A function's outcome as the host should present it.
#[derive(Debug, PartialEq)]
pub enum Output<O> {
    /// Return this (`None`: the function has no result, or its result is a
    /// `result` whose ok side has no payload).
    Return(Option<O>),
    /// The function's result type is `result<T, E>` and it returned an
    /// error: raise the host's typed module error carrying this (`None`:
    /// the error side has no payload).
    Raise(Option<O>),
}

/// Convert a function's decoded result ([`crate::wire::decode_result`]) for
/// the host: a top-level `result<T, E>` is unwrapped (its ok payload is
/// returned, its error raised); anything else is returned as built.
pub fn lift_output<B: Builder>(
    iface: &Interface,
    f: &Function,
    value: Option<&Value>,
    b: &mut B,
) -> DynResult<Output<B::Out>, B::Error> {
    let (ty, v) = match (&f.result, value) {
        (None, None) => return Ok(Output::Return(None)),
        (Some(t), Some(v)) => (t, v),
        _ => {
            return Err(DynError::Value(format!(
                "the result of {} does not match its type",
                f.name
            )))
        }
    };
    if let (Type::Result { ok, err }, Value::Result(r)) = (iface.resolve(ty), v) {
        let (side, payload, is_ok) = match r {
            Ok(p) => (ok, p, true),
            Err(p) => (err, p, false),
        };
        let out = match (side, payload) {
            (Some(t), Some(p)) => Some(lift(iface, t, p, b)?),
            (None, None) => None,
            _ => return Err(mismatch(iface, ty, v)),
        };
        return Ok(if is_ok {
            Output::Return(out)
        } else {
            Output::Raise(out)
        });
    }
    lift(iface, ty, v, b).map(|o| Output::Return(Some(o)))
}

fn mismatch<E>(iface: &Interface, ty: &Type, v: &Value) -> DynError<E> {
    DynError::Value(format!(
        "a {} value is not a {}",
        v.kind_name(),
        iface.type_name(ty)
    ))
}

/// Build the host object for a value of `ty`.
pub fn lift<B: Builder>(
    iface: &Interface,
    ty: &Type,
    v: &Value,
    b: &mut B,
) -> DynResult<B::Out, B::Error> {
    up(iface, ty, v, b, 0)
}

fn up<B: Builder>(
    iface: &Interface,
    ty: &Type,
    v: &Value,
    b: &mut B,
    depth: usize,
) -> DynResult<B::Out, B::Error> {
    if depth > limits::MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let d = depth + 1;
    let ty = iface.resolve(ty);
    let r = match (ty, v) {
        (Type::Bool, Value::Bool(x)) => b.bool(*x),
        (Type::S8, Value::S8(x)) => b.int(i64::from(*x)),
        (Type::S16, Value::S16(x)) => b.int(i64::from(*x)),
        (Type::S32, Value::S32(x)) => b.int(i64::from(*x)),
        (Type::S64, Value::S64(x)) => b.int(*x),
        (Type::U8, Value::U8(x)) => b.uint(u64::from(*x)),
        (Type::U16, Value::U16(x)) => b.uint(u64::from(*x)),
        (Type::U32, Value::U32(x)) => b.uint(u64::from(*x)),
        (Type::U64, Value::U64(x)) => b.uint(*x),
        (Type::F32, Value::F32(x)) => b.float(f64::from(*x)),
        (Type::F64, Value::F64(x)) => b.float(*x),
        (Type::Char, Value::Char(c)) => b.char(*c),
        (Type::String, Value::String(s)) => b.string(s),
        (Type::List(_), Value::Bytes(x)) => b.bytes(x),
        (Type::List(t), Value::List(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for x in items {
                out.push(up(iface, t, x, b, d)?);
            }
            b.list(out)
        }
        (Type::Option(_), Value::Option(None)) => b.none(),
        (Type::Option(t), Value::Option(Some(x))) => {
            let inner = up(iface, t, x, b, d)?;
            if matches!(iface.resolve(t), Type::Option(_)) {
                b.some(inner)
            } else {
                Ok(inner)
            }
        }
        (Type::Result { ok, err }, Value::Result(r)) => {
            let (side, payload, is_ok) = match r {
                Ok(p) => (ok, p, true),
                Err(p) => (err, p, false),
            };
            let inner = match (side, payload) {
                (Some(t), Some(p)) => up(iface, t, p, b, d)?,
                (None, None) => b.none().map_err(DynError::Host)?,
                _ => return Err(mismatch(iface, ty, v)),
            };
            b.result(is_ok, inner)
        }
        (Type::Tuple(ts), Value::Tuple(vs)) if ts.len() == vs.len() => {
            let mut out = Vec::with_capacity(ts.len());
            for (t, x) in ts.iter().zip(vs) {
                out.push(up(iface, t, x, b, d)?);
            }
            b.tuple(out)
        }
        (Type::Own(_) | Type::Borrow(_), Value::Handle(h)) => b.handle(*h),
        (Type::Named(i), v) => {
            let def = iface.typedef(*i);
            match (&def.kind, v) {
                (TypeDefKind::Record(fields), Value::Record(vs)) if fields.len() == vs.len() => {
                    let mut out = Vec::with_capacity(fields.len());
                    for (f, x) in fields.iter().zip(vs) {
                        out.push(up(iface, &f.ty, x, b, d)?);
                    }
                    b.record(*i, out)
                }
                (TypeDefKind::Variant(cases), Value::Variant { case, payload }) => {
                    let c = cases
                        .get(*case as usize)
                        .ok_or_else(|| mismatch(iface, ty, v))?;
                    let p = match (&c.ty, payload) {
                        (Some(t), Some(p)) => Some(up(iface, t, p, b, d)?),
                        (None, None) => None,
                        _ => return Err(mismatch(iface, ty, v)),
                    };
                    b.variant(*i, &c.name, p)
                }
                (TypeDefKind::Enum(cases), Value::Enum(case)) => {
                    let c = cases
                        .get(*case as usize)
                        .ok_or_else(|| mismatch(iface, ty, v))?;
                    b.enum_case(*i, c)
                }
                (TypeDefKind::Flags(flags), Value::Flags(bits)) => {
                    let names = flags
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| bits >> k & 1 == 1)
                        .map(|(_, f)| f.as_str())
                        .collect();
                    b.flags(*i, names)
                }
                (TypeDefKind::Resource, Value::Handle(h)) => b.handle(*h),
                _ => return Err(mismatch(iface, ty, v)),
            }
        }
        _ => return Err(mismatch(iface, ty, v)),
    };
    r.map_err(DynError::Host)
}
