//! The typed wire format (docs/TYPED.md, "Wire format"): compact,
//! little-endian, length-prefixed, no padding. A function's input is its
//! parameters encoded one after the other; its output is its result (empty
//! when it has none).
//!
//! Decoding treats the bytes as hostile: every length is checked against the
//! bytes that remain before anything is allocated, discriminants, flag bits,
//! booleans, chars and UTF-8 are validated, nesting is bounded, and trailing
//! bytes are an error. A failure is [`Error::Decode`] with the byte offset and
//! a reason worded exactly as Java's and C#'s decoders word it (the `error` of
//! each `invalid_bytes` vector of golden/vectors.json).

use crate::error::{Error, Result};
use crate::limits;
use crate::model::{Function, Interface, Type, TypeDefKind, TypeIndex};

/// A dynamically typed value, checked against a [`Type`] when encoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `s16`
    S16(i16),
    /// `s32`
    S32(i32),
    /// `s64`
    S64(i64),
    /// `u8`
    U8(u8),
    /// `u16`
    U16(u16),
    /// `u32`
    U32(u32),
    /// `u64`
    U64(u64),
    /// `f32` (any NaN is encoded as the canonical NaN)
    F32(f32),
    /// `f64` (any NaN is encoded as the canonical NaN)
    F64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<u8>`
    Bytes(Vec<u8>),
    /// `list<T>` for any other `T`
    List(Vec<Value>),
    /// `option<T>`
    Option(Option<Box<Value>>),
    /// `result<T, E>`: the payload of the side that is present in the type.
    Result(std::result::Result<Option<Box<Value>>, Option<Box<Value>>>),
    /// `tuple<...>`
    Tuple(Vec<Value>),
    /// A record: its fields in declaration order.
    Record(Vec<Value>),
    /// A variant: the case index and its payload.
    Variant {
        /// Case index (declaration order).
        case: u32,
        /// Payload, present exactly when the case has a type.
        payload: Option<Box<Value>>,
    },
    /// An enum: the case index.
    Enum(u32),
    /// Flags: bit `i` set when flag `i` is.
    Flags(u64),
    /// A resource handle (`own<R>` or `borrow<R>`).
    Handle(u64),
}

/// The canonical NaN an encoder writes for `f32`.
pub const CANONICAL_NAN_F32: u32 = 0x7fc0_0000;
/// The canonical NaN an encoder writes for `f64`.
pub const CANONICAL_NAN_F64: u64 = 0x7ff8_0000_0000_0000;

/// Bytes of a variant's or enum's discriminant: one up to 256 cases, else two.
pub fn discriminant_size(cases: usize) -> usize {
    if cases <= 256 {
        1
    } else {
        2
    }
}

/// Bytes of a flags value: one per eight flags.
pub fn flags_size(flags: usize) -> usize {
    flags.div_ceil(8)
}

/// The fewest bytes a value of `ty` encodes to (at least 1 for every type
/// the model accepts, which bounds what a list length can claim).
pub fn min_size(iface: &Interface, ty: &Type) -> usize {
    match ty {
        Type::Bool | Type::S8 | Type::U8 => 1,
        Type::S16 | Type::U16 => 2,
        Type::S32 | Type::U32 | Type::F32 | Type::Char => 4,
        Type::S64 | Type::U64 | Type::F64 => 8,
        Type::String | Type::List(_) => 4,
        Type::Option(_) | Type::Result { .. } => 1,
        Type::Tuple(ts) => ts
            .iter()
            .fold(0usize, |a, t| a.saturating_add(min_size(iface, t))),
        Type::Own(_) | Type::Borrow(_) => 8,
        Type::Named(i) => iface.named_min_size(*i),
    }
}

/// Min size of a named type's definition, given the min sizes of the named
/// types before it (used once per type when the interface is built).
pub(crate) fn typedef_min_size(iface: &Interface, kind: &TypeDefKind) -> usize {
    match kind {
        TypeDefKind::Record(fields) => fields
            .iter()
            .fold(0usize, |a, f| a.saturating_add(min_size(iface, &f.ty))),
        TypeDefKind::Variant(cases) => discriminant_size(cases.len()).saturating_add(
            cases
                .iter()
                .map(|c| c.ty.as_ref().map_or(0, |t| min_size(iface, t)))
                .min()
                .unwrap_or(0),
        ),
        TypeDefKind::Enum(cases) => discriminant_size(cases.len()),
        TypeDefKind::Flags(flags) => flags_size(flags.len()),
        TypeDefKind::Resource => 8,
        TypeDefKind::Alias(t) => min_size(iface, t),
    }
}

fn mismatch(iface: &Interface, ty: &Type, v: &Value) -> Error {
    Error::Value(format!(
        "expected a value of type {}, got {}",
        iface.type_name(ty),
        v.kind_name()
    ))
}

impl Value {
    /// A short name of the value's shape, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::S8(_) => "s8",
            Value::S16(_) => "s16",
            Value::S32(_) => "s32",
            Value::S64(_) => "s64",
            Value::U8(_) => "u8",
            Value::U16(_) => "u16",
            Value::U32(_) => "u32",
            Value::U64(_) => "u64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Char(_) => "char",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Option(_) => "option",
            Value::Result(_) => "result",
            Value::Tuple(_) => "tuple",
            Value::Record(_) => "record",
            Value::Variant { .. } => "variant",
            Value::Enum(_) => "enum",
            Value::Flags(_) => "flags",
            Value::Handle(_) => "handle",
        }
    }
}

/// Encode `value` as `ty`, appending to `out`.
pub fn encode(iface: &Interface, ty: &Type, value: &Value, out: &mut Vec<u8>) -> Result<()> {
    enc(iface, ty, value, out, 0)
}

/// Encode a function's arguments (its input bytes).
pub fn encode_params(iface: &Interface, f: &Function, args: &[Value]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_params_into(iface, f, args, &mut out)?;
    Ok(out)
}

/// [`encode_params`] into a caller's buffer (cleared first; a reused
/// buffer spares an allocation per call). On error its content is
/// unspecified.
pub fn encode_params_into(
    iface: &Interface,
    f: &Function,
    args: &[Value],
    out: &mut Vec<u8>,
) -> Result<()> {
    out.clear();
    if args.len() != f.params.len() {
        return Err(Error::Value(format!(
            "{} takes {} argument(s), got {}",
            f.name,
            f.params.len(),
            args.len()
        )));
    }
    for (p, v) in f.params.iter().zip(args) {
        enc(iface, &p.ty, v, out, 0).map_err(|e| e.context(&format!("parameter {}", p.name)))?;
    }
    Ok(())
}

/// Encode a function's result (its output bytes); `None` when it has none.
pub fn encode_result(iface: &Interface, f: &Function, value: Option<&Value>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match (&f.result, value) {
        (None, None) => {}
        (Some(t), Some(v)) => enc(iface, t, v, &mut out, 0)?,
        (None, Some(_)) => return Err(Error::Value(format!("{} returns nothing", f.name))),
        (Some(_), None) => return Err(Error::Value(format!("{} returns a value", f.name))),
    }
    Ok(out)
}

fn len_u32(n: usize, what: &str) -> Result<[u8; 4]> {
    u32::try_from(n)
        .map(u32::to_le_bytes)
        .map_err(|_| Error::TooLarge(format!("{what} of {n} entries does not fit a u32 length")))
}

fn enc(iface: &Interface, ty: &Type, v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    if depth > limits::MAX_VALUE_DEPTH {
        return Err(Error::TooLarge(format!(
            "value nested deeper than {} levels",
            limits::MAX_VALUE_DEPTH
        )));
    }
    let d = depth + 1;
    let ty = iface.resolve(ty);
    match (ty, v) {
        (Type::Bool, Value::Bool(b)) => out.push(u8::from(*b)),
        (Type::S8, Value::S8(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::S16, Value::S16(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::S32, Value::S32(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::S64, Value::S64(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::U8, Value::U8(x)) => out.push(*x),
        (Type::U16, Value::U16(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::U32, Value::U32(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::U64, Value::U64(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Type::F32, Value::F32(x)) => {
            let bits = if x.is_nan() {
                CANONICAL_NAN_F32
            } else {
                x.to_bits()
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
        (Type::F64, Value::F64(x)) => {
            let bits = if x.is_nan() {
                CANONICAL_NAN_F64
            } else {
                x.to_bits()
            };
            out.extend_from_slice(&bits.to_le_bytes());
        }
        (Type::Char, Value::Char(c)) => out.extend_from_slice(&u32::from(*c).to_le_bytes()),
        (Type::String, Value::String(s)) => put_run(out, s.as_bytes(), Run::String)?,
        (Type::List(t), Value::Bytes(b)) if **t == Type::U8 => put_run(out, b, Run::Bytes)?,
        (Type::List(t), Value::List(items)) => {
            out.extend_from_slice(&len_u32(items.len(), "list")?);
            for (i, item) in items.iter().enumerate() {
                enc(iface, t, item, out, d).map_err(|e| e.context(&format!("list element {i}")))?;
            }
        }
        (Type::Option(t), Value::Option(o)) => match o {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                enc(iface, t, x, out, d)?;
            }
        },
        (Type::Result { ok, err }, Value::Result(r)) => {
            let (tag, side, payload) = match r {
                Ok(p) => (0u8, ok, p),
                Err(p) => (1u8, err, p),
            };
            out.push(tag);
            match (side, payload) {
                (None, None) => {}
                (Some(t), Some(p)) => enc(iface, t, p, out, d)?,
                _ => {
                    return Err(Error::Value(format!(
                        "the {} side of {} {} a payload",
                        if tag == 0 { "ok" } else { "err" },
                        iface.type_name(ty),
                        if side.is_some() { "needs" } else { "has no" }
                    )))
                }
            }
        }
        (Type::Tuple(ts), Value::Tuple(vs)) => {
            if ts.len() != vs.len() {
                return Err(Error::Value(format!(
                    "{} has {} elements, got {}",
                    iface.type_name(ty),
                    ts.len(),
                    vs.len()
                )));
            }
            for (t, x) in ts.iter().zip(vs) {
                enc(iface, t, x, out, d)?;
            }
        }
        (Type::Own(_) | Type::Borrow(_), Value::Handle(h)) => {
            out.extend_from_slice(&h.to_le_bytes())
        }
        (Type::Named(i), v) => {
            let def = iface.typedef(*i);
            match (&def.kind, v) {
                (TypeDefKind::Record(fields), Value::Record(vs)) => {
                    if fields.len() != vs.len() {
                        return Err(Error::Value(format!(
                            "record {} has {} fields, got {}",
                            def.name,
                            fields.len(),
                            vs.len()
                        )));
                    }
                    for (f, x) in fields.iter().zip(vs) {
                        enc(iface, &f.ty, x, out, d)
                            .map_err(|e| e.context(&format!("{}.{}", def.name, f.name)))?;
                    }
                }
                (TypeDefKind::Variant(cases), Value::Variant { case, payload }) => {
                    let c = cases.get(*case as usize).ok_or_else(|| {
                        Error::Value(format!("variant {} has no case {case}", def.name))
                    })?;
                    put_discriminant(out, cases.len(), *case);
                    match (&c.ty, payload) {
                        (None, None) => {}
                        (Some(t), Some(p)) => enc(iface, t, p, out, d)?,
                        (Some(_), None) => {
                            return Err(Error::Value(format!(
                                "case {}.{} needs a payload",
                                def.name, c.name
                            )))
                        }
                        (None, Some(_)) => {
                            return Err(Error::Value(format!(
                                "case {}.{} has no payload",
                                def.name, c.name
                            )))
                        }
                    }
                }
                (TypeDefKind::Enum(cases), Value::Enum(case)) => {
                    if *case as usize >= cases.len() {
                        return Err(Error::Value(format!(
                            "enum {} has no case {case}",
                            def.name
                        )));
                    }
                    put_discriminant(out, cases.len(), *case);
                }
                (TypeDefKind::Flags(flags), Value::Flags(bits)) => {
                    let n = flags.len();
                    if n < 64 && bits >> n != 0 {
                        return Err(Error::Value(format!(
                            "flags {} has {n} flags, got bits 0x{bits:x}",
                            def.name
                        )));
                    }
                    out.extend_from_slice(&bits.to_le_bytes()[..flags_size(n)]);
                }
                (TypeDefKind::Resource, Value::Handle(h)) => {
                    out.extend_from_slice(&h.to_le_bytes())
                }
                _ => return Err(mismatch(iface, ty, v)),
            }
        }
        _ => return Err(mismatch(iface, ty, v)),
    }
    Ok(())
}

fn put_discriminant(out: &mut Vec<u8>, cases: usize, case: u32) {
    if discriminant_size(cases) == 1 {
        out.push(case as u8);
    } else {
        out.extend_from_slice(&(case as u16).to_le_bytes());
    }
}

/// `n` and a noun, singular or plural ("1 byte", "2 bytes", "1 trailing byte"), for decode
/// errors. Java's and C#'s decoders (io.bridgehost.typed.WireReader, BridgeHost.Typed.WireReader)
/// word every decode error exactly as this module does; the `error` of every `invalid_bytes` golden
/// vector is the message, checked by every runtime (and the generated C module side, which
/// bakes these counts into its messages: bindgen/c.rs).
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A cursor over hostile bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// When set, every owned handle read (`own<R>` or a bare `R`), as (resource type, handle),
    /// in the order read: [`decode_result_owned`].
    owned: Option<Vec<(TypeIndex, u64)>>,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            owned: None,
        }
    }

    fn err(&self, reason: impl Into<String>) -> Error {
        Error::Decode {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "truncated: {} needed, {} left",
                count(n, "byte"),
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn len(&mut self, what: &str, min_elem: usize) -> Result<usize> {
        let at = self.pos;
        let n = u32::from_le_bytes(self.array()?) as usize;
        let need = n.saturating_mul(min_elem.max(1));
        if need > self.remaining() {
            return Err(Error::Decode {
                offset: at,
                reason: format!(
                    "{what} length {n} needs at least {}, {} left",
                    count(need, "byte"),
                    self.remaining()
                ),
            });
        }
        Ok(n)
    }

    fn discriminant(&mut self, cases: usize) -> Result<u32> {
        Ok(if discriminant_size(cases) == 1 {
            u32::from(self.u8()?)
        } else {
            u32::from(u16::from_le_bytes(self.array()?))
        })
    }
}

/// Decode one value of `ty` that must fill `bytes` exactly.
pub fn decode(iface: &Interface, ty: &Type, bytes: &[u8]) -> Result<Value> {
    let mut r = Reader::new(bytes);
    let v = dec(iface, ty, &mut r, 0)?;
    finish(&r)?;
    Ok(v)
}

/// Decode a function's input bytes into its arguments.
pub fn decode_params(iface: &Interface, f: &Function, bytes: &[u8]) -> Result<Vec<Value>> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::with_capacity(f.params.len());
    for p in &f.params {
        out.push(
            dec(iface, &p.ty, &mut r, 0)
                .map_err(|e| e.context(&format!("parameter {}", p.name)))?,
        );
    }
    finish(&r)?;
    Ok(out)
}

/// Decode a function's output bytes into its result (`None` when the
/// function has no result, in which case the output must be empty).
pub fn decode_result(iface: &Interface, f: &Function, bytes: &[u8]) -> Result<Option<Value>> {
    match &f.result {
        None => {
            let r = Reader::new(bytes);
            finish(&r)?;
            Ok(None)
        }
        Some(t) => decode(iface, t, bytes).map(Some),
    }
}

/// [`decode_result`], also returning the owned handles (`own<R>`, or a bare `R`) it read, as
/// (resource type, handle) in the order read: all of the result's when it decodes, and those
/// read before the error when it does not. A caller that owns the result's handles releases the
/// ones of an output it cannot deliver (docs/TYPED.md, "Resources (handles)": a malformed output
/// leaves no handle behind in the module instance).
pub fn decode_result_owned(
    iface: &Interface,
    f: &Function,
    bytes: &[u8],
) -> (Result<Option<Value>>, Vec<(TypeIndex, u64)>) {
    let Some(t) = &f.result else {
        return (decode_result(iface, f, bytes), Vec::new());
    };
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        owned: Some(Vec::new()),
    };
    let v = dec(iface, t, &mut r, 0).and_then(|v| finish(&r).map(|()| v));
    (v.map(Some), r.owned.take().unwrap_or_default())
}

/// A type whose encoding is one length-prefixed run of bytes, copied as is:
/// `list<u8>` and `string` (directly or through aliases). A bridge may move
/// such a value between its own bytes and the wire with no [`Value`] in
/// between ([`run_of`], [`encode_run_into`], [`decode_bytes`],
/// [`decode_str`]); the encoding and the checks are the ones [`encode`] and
/// [`decode`] apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// `list<u8>`
    Bytes,
    /// `string` (UTF-8)
    String,
}

/// Whether `ty` is a [`Run`], and which.
pub fn run_of(iface: &Interface, ty: &Type) -> Option<Run> {
    match iface.resolve(ty) {
        Type::String => Some(Run::String),
        Type::List(t) if **t == Type::U8 => Some(Run::Bytes),
        _ => None,
    }
}

/// The kind of `f`'s input when it is exactly one [`Run`] (one parameter,
/// `list<u8>` or `string`).
pub fn run_param(iface: &Interface, f: &Function) -> Option<Run> {
    match f.params.as_slice() {
        [p] => run_of(iface, &p.ty),
        _ => None,
    }
}

/// The kind of `f`'s output when it is exactly one [`Run`] (a `list<u8>` or
/// `string` result).
pub fn run_result(iface: &Interface, f: &Function) -> Option<Run> {
    f.result.as_ref().and_then(|t| run_of(iface, t))
}

/// Encode a run (a `list<u8>`'s bytes, or a `string`'s UTF-8, which the
/// caller guarantees for [`Run::String`]) as the whole input of a function
/// whose only parameter it is ([`run_param`]): `out` is cleared first.
pub fn encode_run_into(data: &[u8], kind: Run, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    out.reserve_exact(4 + data.len());
    put_run(out, data, kind)
}

/// The bytes a run of `len` bytes is preceded by on the wire (its length),
/// for a bridge that copies the run itself right after them.
pub fn run_prefix(len: usize, kind: Run) -> Result<[u8; 4]> {
    let what = match kind {
        Run::Bytes => "list",
        Run::String => "string",
    };
    len_u32(len, what)
}

fn put_run(out: &mut Vec<u8>, data: &[u8], kind: Run) -> Result<()> {
    out.extend_from_slice(&run_prefix(data.len(), kind)?);
    out.extend_from_slice(data);
    Ok(())
}

/// Decode output bytes that hold exactly one `list<u8>`: its payload,
/// borrowed (the checks of [`decode`]).
pub fn decode_bytes(bytes: &[u8]) -> Result<&[u8]> {
    let mut r = Reader::new(bytes);
    let v = read_bytes(&mut r)?;
    finish(&r)?;
    Ok(v)
}

/// Decode output bytes that hold exactly one `string`: borrowed, checked
/// UTF-8 (the checks of [`decode`]).
pub fn decode_str(bytes: &[u8]) -> Result<&str> {
    let mut r = Reader::new(bytes);
    let v = read_str(&mut r)?;
    finish(&r)?;
    Ok(v)
}

fn read_bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    let n = r.len("list", 1)?;
    r.take(n)
}

fn read_str<'a>(r: &mut Reader<'a>) -> Result<&'a str> {
    let n = r.len("string", 1)?;
    let at = r.pos;
    let s = r.take(n)?;
    std::str::from_utf8(s).map_err(|e| Error::Decode {
        offset: at + e.valid_up_to(),
        reason: "string is not valid UTF-8".into(),
    })
}

fn finish(r: &Reader<'_>) -> Result<()> {
    if r.remaining() != 0 {
        return Err(r.err(count(r.remaining(), "trailing byte")));
    }
    Ok(())
}

fn dec(iface: &Interface, ty: &Type, r: &mut Reader<'_>, depth: usize) -> Result<Value> {
    if depth > limits::MAX_VALUE_DEPTH {
        return Err(r.err(format!(
            "value nested deeper than {} levels",
            limits::MAX_VALUE_DEPTH
        )));
    }
    let d = depth + 1;
    let ty = iface.resolve(ty);
    Ok(match ty {
        Type::Bool => match r.u8()? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => {
                r.pos -= 1;
                return Err(r.err(format!("bool byte {b} is neither 0 nor 1")));
            }
        },
        Type::S8 => Value::S8(i8::from_le_bytes(r.array()?)),
        Type::S16 => Value::S16(i16::from_le_bytes(r.array()?)),
        Type::S32 => Value::S32(i32::from_le_bytes(r.array()?)),
        Type::S64 => Value::S64(i64::from_le_bytes(r.array()?)),
        Type::U8 => Value::U8(r.u8()?),
        Type::U16 => Value::U16(u16::from_le_bytes(r.array()?)),
        Type::U32 => Value::U32(u32::from_le_bytes(r.array()?)),
        Type::U64 => Value::U64(u64::from_le_bytes(r.array()?)),
        Type::F32 => {
            let x = f32::from_le_bytes(r.array()?);
            Value::F32(if x.is_nan() {
                f32::from_bits(CANONICAL_NAN_F32)
            } else {
                x
            })
        }
        Type::F64 => {
            let x = f64::from_le_bytes(r.array()?);
            Value::F64(if x.is_nan() {
                f64::from_bits(CANONICAL_NAN_F64)
            } else {
                x
            })
        }
        Type::Char => {
            let at = r.pos;
            let c = u32::from_le_bytes(r.array()?);
            Value::Char(char::from_u32(c).ok_or_else(|| Error::Decode {
                offset: at,
                reason: format!("0x{c:x} is not a Unicode scalar value"),
            })?)
        }
        Type::String => Value::String(read_str(r)?.to_string()),
        Type::List(t) if **t == Type::U8 => Value::Bytes(read_bytes(r)?.to_vec()),
        Type::List(t) => {
            let n = r.len("list", min_size(iface, t))?;
            // n * min_size <= remaining bytes: the capacity is bounded by the input.
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(dec(iface, t, r, d)?);
            }
            Value::List(items)
        }
        Type::Option(t) => match r.u8()? {
            0 => Value::Option(None),
            1 => Value::Option(Some(Box::new(dec(iface, t, r, d)?))),
            b => {
                r.pos -= 1;
                return Err(r.err(format!("option tag {b} is neither 0 nor 1")));
            }
        },
        Type::Result { ok, err } => {
            let tag = r.u8()?;
            let side = match tag {
                0 => ok,
                1 => err,
                b => {
                    r.pos -= 1;
                    return Err(r.err(format!("result tag {b} is neither 0 nor 1")));
                }
            };
            let payload = match side {
                Some(t) => Some(Box::new(dec(iface, t, r, d)?)),
                None => None,
            };
            Value::Result(if tag == 0 { Ok(payload) } else { Err(payload) })
        }
        Type::Tuple(ts) => {
            let mut vs = Vec::with_capacity(ts.len());
            for t in ts {
                vs.push(dec(iface, t, r, d)?);
            }
            Value::Tuple(vs)
        }
        Type::Own(i) => {
            let h = u64::from_le_bytes(r.array()?);
            if let Some(owned) = &mut r.owned {
                owned.push((*i, h));
            }
            Value::Handle(h)
        }
        Type::Borrow(_) => Value::Handle(u64::from_le_bytes(r.array()?)),
        Type::Named(i) => {
            let def = iface.typedef(*i);
            match &def.kind {
                TypeDefKind::Record(fields) => {
                    let mut vs = Vec::with_capacity(fields.len());
                    for f in fields {
                        vs.push(dec(iface, &f.ty, r, d)?);
                    }
                    Value::Record(vs)
                }
                TypeDefKind::Variant(cases) => {
                    let at = r.pos;
                    let case = r.discriminant(cases.len())?;
                    let c = cases.get(case as usize).ok_or_else(|| Error::Decode {
                        offset: at,
                        reason: format!(
                            "variant {} has {}, got discriminant {case}",
                            def.name,
                            count(cases.len(), "case")
                        ),
                    })?;
                    let payload = match &c.ty {
                        Some(t) => Some(Box::new(dec(iface, t, r, d)?)),
                        None => None,
                    };
                    Value::Variant { case, payload }
                }
                TypeDefKind::Enum(cases) => {
                    let at = r.pos;
                    let case = r.discriminant(cases.len())?;
                    if case as usize >= cases.len() {
                        return Err(Error::Decode {
                            offset: at,
                            reason: format!(
                                "enum {} has {}, got discriminant {case}",
                                def.name,
                                count(cases.len(), "case")
                            ),
                        });
                    }
                    Value::Enum(case)
                }
                TypeDefKind::Flags(flags) => {
                    let at = r.pos;
                    let n = flags.len();
                    let mut b = [0u8; 8];
                    b[..flags_size(n)].copy_from_slice(r.take(flags_size(n))?);
                    let bits = u64::from_le_bytes(b);
                    if n < 64 && bits >> n != 0 {
                        return Err(Error::Decode {
                            offset: at,
                            reason: format!(
                                "flags {} has {}, got bits 0x{bits:x}",
                                def.name,
                                count(n, "flag")
                            ),
                        });
                    }
                    Value::Flags(bits)
                }
                TypeDefKind::Resource => {
                    // A bare `R` is `own<R>`.
                    let h = u64::from_le_bytes(r.array()?);
                    if let Some(owned) = &mut r.owned {
                        owned.push((*i, h));
                    }
                    Value::Handle(h)
                }
                // resolve() followed every alias.
                TypeDefKind::Alias(_) => return Err(r.err("alias chain too long")),
            }
        }
    })
}
