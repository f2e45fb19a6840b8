//! Direct calls (docs/TYPED.md, "Direct calls"): which functions may be
//! called with their arguments as 64-bit slots, the slot encoding, and the
//! checks of a slot in both directions.
//!
//! A function is *direct-eligible* when it is a plain function whose
//! parameters (at most [`MAX_PARAMS`], after alias resolution) and result
//! (none or one) are all [`Scalar`]s. Slots:
//!
//! | type | slot |
//! |---|---|
//! | `bool` | 0 or 1 |
//! | `u8`, `u16`, `u32`, `u64` | the value, zero-extended |
//! | `s8`, `s16`, `s32`, `s64` | the value, two's complement sign-extended |
//! | `f32` | the IEEE-754 bits in the low 32 bits, the high 32 bits zero |
//! | `f64` | the IEEE-754 bits |
//! | `char` | the Unicode scalar value |

use crate::error::{Error, Result};
use crate::model::{Function, FunctionKind, Interface, Type};

/// Most parameters a direct-eligible function has (`BH_DIRECT_MAX_PARAMS`).
pub const MAX_PARAMS: usize = 8;

/// Largest wire encoding of a direct-eligible function's parameters.
pub const MAX_WIRE_PARAMS: usize = MAX_PARAMS * 8;

/// A type a direct call carries in one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `s16`
    S16,
    /// `s32`
    S32,
    /// `s64`
    S64,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
}

impl Scalar {
    /// The scalar of a type already resolved through its aliases.
    pub fn of(ty: &Type) -> Option<Scalar> {
        Some(match ty {
            Type::Bool => Scalar::Bool,
            Type::S8 => Scalar::S8,
            Type::S16 => Scalar::S16,
            Type::S32 => Scalar::S32,
            Type::S64 => Scalar::S64,
            Type::U8 => Scalar::U8,
            Type::U16 => Scalar::U16,
            Type::U32 => Scalar::U32,
            Type::U64 => Scalar::U64,
            Type::F32 => Scalar::F32,
            Type::F64 => Scalar::F64,
            Type::Char => Scalar::Char,
            _ => return None,
        })
    }

    /// The WIT name.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::S8 => "s8",
            Scalar::S16 => "s16",
            Scalar::S32 => "s32",
            Scalar::S64 => "s64",
            Scalar::U8 => "u8",
            Scalar::U16 => "u16",
            Scalar::U32 => "u32",
            Scalar::U64 => "u64",
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
            Scalar::Char => "char",
        }
    }

    /// Bytes of its wire encoding (fixed width, little-endian).
    pub fn wire_size(self) -> usize {
        match self {
            Scalar::Bool | Scalar::S8 | Scalar::U8 => 1,
            Scalar::S16 | Scalar::U16 => 2,
            Scalar::S32 | Scalar::U32 | Scalar::F32 | Scalar::Char => 4,
            Scalar::S64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }

    /// Whether `slot` is a value of this type (the rule [`invalid`](Self::invalid)
    /// explains).
    #[inline]
    pub fn accepts(self, slot: u64) -> bool {
        let signed = slot as i64;
        match self {
            Scalar::Bool => slot <= 1,
            Scalar::S8 => i8::try_from(signed).is_ok(),
            Scalar::S16 => i16::try_from(signed).is_ok(),
            Scalar::S32 => i32::try_from(signed).is_ok(),
            Scalar::U8 => u8::try_from(signed).is_ok(),
            Scalar::U16 => u16::try_from(signed).is_ok(),
            Scalar::U32 => u32::try_from(signed).is_ok(),
            Scalar::S64 | Scalar::U64 | Scalar::F64 => true,
            Scalar::F32 => slot >> 32 == 0,
            Scalar::Char => u32::try_from(slot).ok().and_then(char::from_u32).is_some(),
        }
    }

    /// Why `slot` is not a value of this type (`None`: it is one). The
    /// narrow integer types read the slot as an `i64`, so a negative value a
    /// caller passed is named as such ("-1 is out of range for u32").
    pub fn invalid(self, slot: u64) -> Option<String> {
        if self.accepts(slot) {
            return None;
        }
        let signed = slot as i64;
        Some(match self {
            Scalar::Bool => format!("{slot} is not a bool (0 or 1)"),
            Scalar::F32 => format!("0x{slot:016x} is not an f32 slot (high 32 bits set)"),
            Scalar::Char => format!("0x{slot:x} is not a Unicode scalar value"),
            _ => format!("{signed} is out of range for {}", self.name()),
        })
    }

    /// The check [`accepts`](Self::accepts) makes, as `(bias, keep)`: a slot
    /// passes when `slot.wrapping_add(bias) & !keep == 0` (an unsigned or
    /// `f32` slot fits its bits; a signed one, shifted by half its range,
    /// fits twice as many). Exact for every type but `char`, whose range has
    /// a hole (the surrogates): for it the pair only bounds the slot to 32
    /// bits and [`accepts`](Self::accepts) decides.
    const fn range_check(self) -> (u64, u64) {
        match self {
            Scalar::Bool => (0, 1),
            Scalar::U8 => (0, 0xff),
            Scalar::U16 => (0, 0xffff),
            Scalar::U32 | Scalar::F32 | Scalar::Char => (0, 0xffff_ffff),
            Scalar::S8 => (0x80, 0xff),
            Scalar::S16 => (0x8000, 0xffff),
            Scalar::S32 => (0x8000_0000, 0xffff_ffff),
            Scalar::S64 | Scalar::U64 | Scalar::F64 => (0, u64::MAX),
        }
    }

    /// The slot with a NaN made the canonical quiet NaN (`f32`, `f64`), as
    /// the wire codec's encoders write it and its decoders yield it; every
    /// other slot unchanged.
    #[inline]
    pub fn canonical(self, slot: u64) -> u64 {
        match self {
            Scalar::F32 if f32::from_bits(slot as u32).is_nan() => {
                u64::from(crate::wire::CANONICAL_NAN_F32)
            }
            Scalar::F64 if f64::from_bits(slot).is_nan() => crate::wire::CANONICAL_NAN_F64,
            _ => slot,
        }
    }

    /// Whether this is `f32` or `f64` (a slot [`canonical`](Self::canonical)
    /// may change).
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F32 | Scalar::F64)
    }

    /// Append the wire encoding of a valid slot to `out` at `at`; returns
    /// the bytes written.
    fn encode(self, slot: u64, out: &mut [u8], at: usize) -> usize {
        let n = self.wire_size();
        out[at..at + n].copy_from_slice(&self.canonical(slot).to_le_bytes()[..n]);
        n
    }
}

/// A direct-eligible function's parameter and result types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarSignature {
    /// Parameter types, in order.
    pub params: Box<[Scalar]>,
    /// Result type, if any.
    pub result: Option<Scalar>,
    /// Each parameter's [`Scalar::range_check`], in order: the call path
    /// checks all slots with no branch per type.
    checks: Box<[(u64, u64)]>,
    /// The result's [`Scalar::range_check`] (`(0, u64::MAX)`: none).
    result_check: (u64, u64),
    /// Some parameter or the result is a `char` (the range check is not
    /// exact for it: [`Scalar::accepts`] decides).
    has_char: bool,
}

impl ScalarSignature {
    /// The signature of `f` if it is direct-eligible.
    pub fn of(iface: &Interface, f: &Function) -> Option<ScalarSignature> {
        if f.kind != FunctionKind::Freestanding || f.params.len() > MAX_PARAMS {
            return None;
        }
        let params = f
            .params
            .iter()
            .map(|p| Scalar::of(iface.resolve(&p.ty)))
            .collect::<Option<Box<[Scalar]>>>()?;
        let result = match &f.result {
            None => None,
            Some(t) => Some(Scalar::of(iface.resolve(t))?),
        };
        Some(ScalarSignature::new(params, result))
    }

    /// The signature of these types (the checks derived from them).
    pub fn new(params: Box<[Scalar]>, result: Option<Scalar>) -> ScalarSignature {
        let checks = params.iter().map(|p| p.range_check()).collect();
        let has_char = params
            .iter()
            .chain(result.iter())
            .any(|&t| t == Scalar::Char);
        ScalarSignature {
            result_check: result.map_or((0, u64::MAX), Scalar::range_check),
            params,
            result,
            checks,
            has_char,
        }
    }

    /// Check a caller's arguments: the count, then each slot
    /// ([`Error::Value`] naming the function or the parameter, as the
    /// dynamic lowering does).
    #[inline]
    pub fn check_args(&self, f: &Function, args: &[u64]) -> Result<()> {
        if args.len() == self.checks.len() {
            // Every slot through its range check, no branch per type; a
            // `char` also through the exact check.
            let bad = self
                .checks
                .iter()
                .zip(args)
                .fold(0, |bad, (&(bias, keep), &a)| {
                    bad | (a.wrapping_add(bias) & !keep)
                });
            if bad == 0
                && (!self.has_char || self.params.iter().zip(args).all(|(ty, &a)| ty.accepts(a)))
            {
                return Ok(());
            }
        }
        self.refuse_args(f, args)
    }

    /// Why [`check_args`](Self::check_args) refused (kept off its path).
    #[cold]
    #[inline(never)]
    fn refuse_args(&self, f: &Function, args: &[u64]) -> Result<()> {
        if args.len() != self.params.len() {
            return Err(Error::Value(format!(
                "{} takes {} argument(s), got {}",
                f.name,
                self.params.len(),
                args.len()
            )));
        }
        for (i, (&ty, &slot)) in self.params.iter().zip(args).enumerate() {
            if let Some(why) = ty.invalid(slot) {
                let name = f.params.get(i).map_or("?", |p| p.name.as_str());
                return Err(Error::Value(format!("parameter {name}: {why}")));
            }
        }
        Ok(())
    }

    /// Encode checked arguments in the wire format (the input of the
    /// method's bytes entry) into `out`; returns the bytes written.
    pub fn encode_args(&self, args: &[u64], out: &mut [u8; MAX_WIRE_PARAMS]) -> usize {
        let mut at = 0;
        for (&ty, &slot) in self.params.iter().zip(args) {
            at += ty.encode(slot, out, at);
        }
        at
    }

    /// The result slot of a bytes entry's output as the wire codec decodes
    /// it (`wire::decode_result`: its checks and its messages, so an output
    /// that does not match is refused with the words of every other typed
    /// call); 0 without a result.
    pub fn decode_result(&self, iface: &Interface, f: &Function, bytes: &[u8]) -> Result<u64> {
        let value = crate::wire::decode_result(iface, f, bytes)?;
        let Some(value) = value else {
            return Ok(0);
        };
        slot_of(&value).ok_or_else(|| {
            Error::Internal(format!("{} decoded to a value that is no scalar", f.name))
        })
    }

    /// Why a module's result slot is not a value of the result type (`None`:
    /// it is one, or there is no result).
    #[inline]
    pub fn invalid_result(&self, slot: u64) -> Option<String> {
        let (bias, keep) = self.result_check;
        if slot.wrapping_add(bias) & !keep == 0 && !self.has_char {
            return None;
        }
        match self.result {
            Some(ty) if !ty.accepts(slot) => ty.invalid(slot),
            _ => None,
        }
    }
}

/// `(u32, u32) -> u32`, `(u32)` without a result: how every front end shows
/// a scalar signature.
impl std::fmt::Display for ScalarSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(")?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(p.name())?;
        }
        f.write_str(")")?;
        if let Some(r) = self.result {
            write!(f, " -> {}", r.name())?;
        }
        Ok(())
    }
}

impl Scalar {
    /// The value a valid slot of this type holds (an invalid slot is read
    /// as far as it goes: check it with [`accepts`](Self::accepts) first).
    pub fn value_of(self, slot: u64) -> crate::wire::Value {
        use crate::wire::Value;
        match self {
            Scalar::Bool => Value::Bool(slot != 0),
            Scalar::S8 => Value::S8(slot as i8),
            Scalar::S16 => Value::S16(slot as i16),
            Scalar::S32 => Value::S32(slot as i32),
            Scalar::S64 => Value::S64(slot as i64),
            Scalar::U8 => Value::U8(slot as u8),
            Scalar::U16 => Value::U16(slot as u16),
            Scalar::U32 => Value::U32(slot as u32),
            Scalar::U64 => Value::U64(slot),
            Scalar::F32 => Value::F32(f32::from_bits(slot as u32)),
            Scalar::F64 => Value::F64(f64::from_bits(slot)),
            Scalar::Char => Value::Char(
                u32::try_from(slot)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or(char::REPLACEMENT_CHARACTER),
            ),
        }
    }
}

/// The slot of a scalar value (`None` for any other value).
pub fn slot_of(v: &crate::wire::Value) -> Option<u64> {
    use crate::wire::Value;
    Some(match *v {
        Value::Bool(b) => u64::from(b),
        Value::S8(x) => i64::from(x) as u64,
        Value::S16(x) => i64::from(x) as u64,
        Value::S32(x) => i64::from(x) as u64,
        Value::S64(x) => x as u64,
        Value::U8(x) => u64::from(x),
        Value::U16(x) => u64::from(x),
        Value::U32(x) => u64::from(x),
        Value::U64(x) => x,
        Value::F32(x) => Scalar::F32.canonical(u64::from(x.to_bits())),
        Value::F64(x) => Scalar::F64.canonical(x.to_bits()),
        Value::Char(c) => u64::from(u32::from(c)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(wit_fn: &str) -> (Interface, Option<ScalarSignature>) {
        let text = format!("package t:t; interface t {{ type n = u16; {wit_fn} }}");
        let iface = Interface::parse(&text).unwrap();
        let f = iface.functions[0].clone();
        let s = ScalarSignature::of(&iface, &f);
        (iface, s)
    }

    #[test]
    fn eligibility() {
        let (_, s) = sig("add: func(a: u32, b: u32) -> u32;");
        let s = s.unwrap();
        assert_eq!(&*s.params, &[Scalar::U32, Scalar::U32]);
        assert_eq!(s.result, Some(Scalar::U32));
        assert!(
            sig("f: func(a: n, c: char, x: f32, y: f64, b: bool, s: s8) -> s64;")
                .1
                .is_some()
        );
        assert!(sig("f: func();").1.is_some());
        assert_eq!(s.to_string(), "(u32, u32) -> u32");
        assert_eq!(sig("f: func(c: char);").1.unwrap().to_string(), "(char)");
        assert_eq!(sig("f: func() -> f64;").1.unwrap().to_string(), "() -> f64");
        assert!(sig("f: func(a: string) -> u32;").1.is_none());
        assert!(sig("f: func(a: u32) -> option<u32>;").1.is_none());
        assert!(sig("f: func(a: u32) -> result<u32>;").1.is_none());
        assert!(
            sig("f: func(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8);")
                .1
                .is_none()
        );
        assert!(
            sig("f: func(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8);")
                .1
                .is_some()
        );
    }

    #[test]
    fn slots_at_their_edges() {
        use Scalar::*;
        assert!(U32.invalid(u64::from(u32::MAX)).is_none());
        assert_eq!(
            U32.invalid(1 << 32).unwrap(),
            "4294967296 is out of range for u32"
        );
        assert_eq!(
            U8.invalid(-1i64 as u64).unwrap(),
            "-1 is out of range for u8"
        );
        assert!(S8.invalid(-128i64 as u64).is_none());
        assert!(S8.invalid(0x80).is_some(), "an s8 must be sign-extended");
        assert!(S32.invalid(i64::from(i32::MIN) as u64).is_none());
        assert!(S64.invalid(u64::MAX).is_none() && U64.invalid(u64::MAX).is_none());
        assert!(Bool.invalid(1).is_none() && Bool.invalid(2).is_some());
        assert!(F32.invalid(u64::from(f32::NAN.to_bits())).is_none());
        assert!(F32.invalid(1 << 32).is_some());
        assert!(Char.invalid(0x10FFFF).is_none() && Char.invalid(0x1F600).is_none());
        assert_eq!(
            Char.invalid(0xD800).unwrap(),
            "0xd800 is not a Unicode scalar value"
        );
        assert!(Char.invalid(0x110000).is_some());
    }

    /// The branch-free check of the call path (`check_args`,
    /// `invalid_result`) says what `accepts` says, for every type, at and
    /// around every edge of every width (and the surrogates of `char`).
    #[test]
    fn the_range_check_agrees_with_accepts_at_every_edge() {
        use Scalar::*;
        let mut slots = vec![
            0u64,
            1,
            2,
            u64::MAX,
            0xD7FF,
            0xD800,
            0xDFFF,
            0xE000,
            0x10FFFF,
            0x110000,
        ];
        for bits in [1u32, 7, 8, 15, 16, 31, 32, 63] {
            for d in -2i64..=2 {
                slots.push((1u64 << bits).wrapping_add_signed(d));
                slots.push((1u64 << bits).wrapping_neg().wrapping_add_signed(d));
            }
        }
        let f = Function {
            name: "f".into(),
            kind: FunctionKind::Freestanding,
            params: Vec::new(),
            result: None,
            docs: None,
        };
        for ty in [Bool, S8, S16, S32, S64, U8, U16, U32, U64, F32, F64, Char] {
            let one = ScalarSignature::new(Box::new([ty]), Some(ty));
            for &slot in &slots {
                let want = ty.accepts(slot);
                let (bias, keep) = ty.range_check();
                if ty != Char {
                    assert_eq!(
                        slot.wrapping_add(bias) & !keep == 0,
                        want,
                        "{ty:?} {slot:#x}"
                    );
                }
                assert_eq!(
                    one.check_args(&f, &[slot]).is_ok(),
                    want,
                    "{ty:?} {slot:#x}"
                );
                assert_eq!(one.invalid_result(slot).is_none(), want, "{ty:?} {slot:#x}");
            }
        }
        // Several parameters: one bad slot anywhere refuses the call.
        let two = ScalarSignature::new(Box::new([U8, S8]), None);
        assert!(two.check_args(&f, &[255, -128i64 as u64]).is_ok());
        assert!(two.check_args(&f, &[256, 0]).is_err());
        assert!(two.check_args(&f, &[0, 128]).is_err());
        assert!(two.check_args(&f, &[0]).is_err(), "count");
    }

    #[test]
    fn nans_are_canonical_both_ways_as_in_the_wire_codec() {
        use crate::wire::{CANONICAL_NAN_F32, CANONICAL_NAN_F64};
        let (iface, s) = sig("f: func(a: f32, b: f64) -> f32;");
        let s = s.unwrap();
        let f = iface.functions[0].clone();
        let odd32 = 0x7fc0_0001u64; // a quiet NaN with a payload
        let odd64 = 0xfff8_0000_0000_0042u64; // a negative NaN with a payload
        let mut buf = [0u8; MAX_WIRE_PARAMS];
        let n = s.encode_args(&[odd32, odd64], &mut buf);
        assert_eq!(&buf[..4], &CANONICAL_NAN_F32.to_le_bytes());
        assert_eq!(&buf[4..n], &CANONICAL_NAN_F64.to_le_bytes());
        assert_eq!(
            s.decode_result(&iface, &f, &0xffc0_1234u32.to_le_bytes())
                .unwrap(),
            u64::from(CANONICAL_NAN_F32)
        );
        // -0.0 and infinities are kept.
        assert_eq!(
            Scalar::F32.canonical(u64::from((-0.0f32).to_bits())),
            0x8000_0000
        );
        assert_eq!(
            Scalar::F64.canonical(f64::NEG_INFINITY.to_bits()),
            f64::NEG_INFINITY.to_bits()
        );
        assert_eq!(Scalar::U32.canonical(odd32), odd32, "only floats change");
    }

    #[test]
    fn wire_round_trip_matches_the_wire_codec() {
        use crate::wire::{self, Value};
        let (iface, s) =
            sig("f: func(a: s8, b: u16, c: char, d: f32, e: bool, g: s64, h: f64) -> s16;");
        let s = s.unwrap();
        let f = iface.functions[0].clone();
        let vals = [
            Value::S8(-5),
            Value::U16(65535),
            Value::Char('😀'),
            Value::F32(-0.0),
            Value::Bool(true),
            Value::S64(i64::MIN),
            Value::F64(f64::NAN),
        ];
        let slots = [
            -5i64 as u64,
            65535,
            0x1F600,
            u64::from((-0.0f32).to_bits()),
            1,
            i64::MIN as u64,
            f64::NAN.to_bits(),
        ];
        s.check_args(&f, &slots).unwrap();
        let mut buf = [0u8; MAX_WIRE_PARAMS];
        let n = s.encode_args(&slots, &mut buf);
        assert_eq!(
            &buf[..n],
            &wire::encode_params(&iface, &f, &vals).unwrap()[..]
        );
        assert_eq!(
            s.decode_result(&iface, &f, &(-2i16).to_le_bytes()).unwrap(),
            -2i64 as u64
        );
        // The wire decoder's words for an output that does not match.
        assert_eq!(
            s.decode_result(&iface, &f, &[1]).unwrap_err().to_string(),
            wire::decode_result(&iface, &f, &[1])
                .unwrap_err()
                .to_string()
        );
        assert_eq!(slot_of(&Value::S8(-5)), Some(-5i64 as u64));
        for (v, ty) in vals.iter().zip(&*s.params) {
            let slot = slot_of(v).unwrap();
            assert_eq!(
                slot_of(&ty.value_of(slot)),
                Some(slot),
                "{v:?} round-trips through its slot"
            );
        }
        assert_eq!(slot_of(&Value::Char('😀')), Some(0x1F600));
        assert_eq!(slot_of(&Value::String("x".into())), None);
        assert!(matches!(
            s.decode_result(&iface, &f, &[1, 2, 3]),
            Err(Error::Decode { .. })
        ));
        let (bi, b) = sig("f: func() -> bool;");
        assert!(b
            .unwrap()
            .decode_result(&bi, &bi.functions[0], &[2])
            .is_err());
        assert_eq!(
            s.check_args(&f, &slots[..2]).unwrap_err().to_string(),
            Error::Value("f takes 7 argument(s), got 2".into()).to_string()
        );
    }
}
