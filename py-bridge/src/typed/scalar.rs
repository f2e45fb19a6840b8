//! The scalar fast path of a typed call (docs/TYPED.md, "Direct calls"): a
//! direct-eligible function (every parameter and the result a scalar) called
//! with positional arguments that are exactly what this file converts without
//! any doubt goes to [`bridgehost::Method::call_scalar`] with one 64-bit slot
//! per argument, and its result slot becomes the Python value.
//!
//! It decides nothing of its own: an argument it does not take as it is (a
//! bool where an int is expected, an int subclass, a float subclass, a value
//! out of range, a string that is not one scalar value, any keyword, a wrong
//! count...) makes it decline the whole call, and the general path
//! (typed/function.rs, the interface crate's lowering) accepts or refuses it
//! with its own messages. So every input gives the same value or the same
//! exception either way; python/tests/test_typed.py compares the two.
#![forbid(unsafe_code)]

use bridgehost::interface::typed::dynamic::f32_in_range;
use bridgehost::interface::typed::scalar::{Scalar, ScalarSignature, MAX_PARAMS};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
use pyo3::Borrowed;

/// The slots of the `nargs` positional arguments `arg(0..nargs)` for `sig`,
/// written into `slots`, or `None` when the fast path does not take these
/// arguments (the general path decides).
#[inline]
pub(super) fn lower<'a, 'py: 'a>(
    sig: &ScalarSignature,
    nargs: usize,
    arg: impl Fn(usize) -> Option<Borrowed<'a, 'py, PyAny>>,
    slots: &mut [u64; MAX_PARAMS],
) -> Option<usize> {
    let n = sig.params.len();
    if nargs != n || n > MAX_PARAMS {
        return None;
    }
    for (i, (&ty, slot)) in sig.params.iter().zip(slots.iter_mut()).enumerate() {
        let o = arg(i)?;
        *slot = to_slot(ty, &o)?;
    }
    Some(n)
}

/// The slot of `o` as a value of `ty`, when it is one beyond doubt: an exact
/// `bool` for `bool`; an exact `int` in range for the integer types; an exact
/// `float` or an exact `int` a float holds (converted as ``float(n)``, as the
/// general path does) for `f32` (in its range) and `f64`; an exact `str` of
/// one scalar value for `char`.
#[inline(always)]
fn to_slot(ty: Scalar, o: &Bound<'_, PyAny>) -> Option<u64> {
    match ty {
        Scalar::Bool => o
            .cast_exact::<PyBool>()
            .ok()
            .map(|b| u64::from(b.is_true())),
        Scalar::F64 | Scalar::F32 => {
            let x = if let Ok(f) = o.cast_exact::<PyFloat>() {
                f.value()
            } else if o.is_exact_instance_of::<PyInt>() {
                o.extract::<f64>().ok()?
            } else {
                return None;
            };
            if ty == Scalar::F64 {
                Some(x.to_bits())
            } else {
                f32_in_range(x).map(|y| u64::from(y.to_bits()))
            }
        }
        Scalar::Char => {
            let s = o.cast_exact::<PyString>().ok()?;
            let text = s.to_cow().ok()?;
            let mut it = text.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Some(u64::from(c)),
                _ => None,
            }
        }
        Scalar::U64 => {
            if !o.is_exact_instance_of::<PyInt>() {
                return None;
            }
            o.extract::<u64>().ok()
        }
        Scalar::S8
        | Scalar::S16
        | Scalar::S32
        | Scalar::S64
        | Scalar::U8
        | Scalar::U16
        | Scalar::U32 => {
            if !o.is_exact_instance_of::<PyInt>() {
                return None;
            }
            // Sign-extended, in the type's range (as the core reads a slot:
            // an i64 in range; `Scalar::invalid`, inlined here).
            let n = o.extract::<i64>().ok()?;
            let in_range = match ty {
                Scalar::S8 => i8::try_from(n).is_ok(),
                Scalar::S16 => i16::try_from(n).is_ok(),
                Scalar::S32 => i32::try_from(n).is_ok(),
                Scalar::U8 => u8::try_from(n).is_ok(),
                Scalar::U16 => u16::try_from(n).is_ok(),
                Scalar::U32 => u32::try_from(n).is_ok(),
                _ => true,
            };
            in_range.then_some(n as u64)
        }
    }
}

/// The Python value of a result slot the core checked against `ty` (the same
/// objects the general path's decoding and lifting build).
#[inline]
pub(super) fn lift<'py>(
    py: Python<'py>,
    ty: Option<Scalar>,
    slot: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(ty) = ty else {
        return Ok(py.None().into_bound(py));
    };
    Ok(match ty {
        Scalar::Bool => PyBool::new(py, slot != 0).to_owned().into_any(),
        Scalar::S8 | Scalar::S16 | Scalar::S32 | Scalar::S64 => {
            (slot as i64).into_pyobject(py)?.into_any()
        }
        Scalar::U8 | Scalar::U16 | Scalar::U32 | Scalar::U64 => slot.into_pyobject(py)?.into_any(),
        Scalar::F32 => PyFloat::new(py, f64::from(f32::from_bits(slot as u32))).into_any(),
        Scalar::F64 => PyFloat::new(py, f64::from_bits(slot)).into_any(),
        Scalar::Char => {
            let c = u32::try_from(slot)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| {
                    crate::errors::to_pyerr(
                        py,
                        &bridgehost::Error::Internal(format!(
                            "typed result: 0x{slot:x} is not a char (the core checks result slots)"
                        )),
                    )
                })?;
            let mut b = [0u8; 4];
            PyString::new(py, c.encode_utf8(&mut b)).into_any()
        }
    })
}
