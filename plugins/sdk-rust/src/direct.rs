//! Direct calls (docs/TYPED.md, "Direct calls"): a typed function whose
//! parameters and result are scalars may also be exported as a *direct
//! entry*, which the host calls in-process with each argument as a 64-bit
//! slot instead of the encoded input and output writer.
//!
//! A direct entry of a Rust module is a function
//! `fn(&M, &[u64; N], &mut u64) -> Result<(), ModuleError>` (N the number of
//! parameters, at most [`MAX_PARAMS`]): it reads its arguments from the slots
//! with [`Slot::from_slot`], calls the same code as the method's bytes entry
//! and stores the result with [`Slot::into_slot`]. `bridgehost bindgen --lang
//! rust` generates one per eligible function (`add_direct` beside `add`);
//! list it as the fourth element of the method's tuple in
//! [`export_module!`](crate::export_module):
//! `("add", NONBLOCKING, std_wit::add::<Std>, std_wit::add_direct::<Std>)`.
//! The export macro's shim catches panics (module error
//! [`PANIC_CODE`](crate::PANIC_CODE)) and reports an `Err` through the host's
//! `fail`, exactly as for the bytes entry.
//!
//! Slots (the host passes only valid ones):
//!
//! | type | slot |
//! |---|---|
//! | `bool` | 0 or 1 |
//! | `u8`, `u16`, `u32`, `u64` | the value, zero-extended |
//! | `i8`, `i16`, `i32`, `i64` | the value, sign-extended |
//! | `f32` | the IEEE-754 bits in the low 32 bits, the high 32 bits zero |
//! | `f64` | the IEEE-754 bits |
//! | `char` | the Unicode scalar value |
//!
//! Floats are made canonical both ways (every NaN becomes the canonical
//! quiet NaN, [`wire::CANONICAL_NAN_F32`](crate::wire::CANONICAL_NAN_F32)),
//! as the wire codec does, so that a direct entry and the bytes entry give
//! the same result for the same arguments.

use crate::wire::{CANONICAL_NAN_F32, CANONICAL_NAN_F64, INVALID_INPUT};
use crate::ModuleError;

/// Most parameters a direct entry takes (`BH_DIRECT_MAX_PARAMS`).
pub const MAX_PARAMS: usize = bridgehost_module_abi::DIRECT_MAX_PARAMS;

/// A Rust direct entry of module type `M` taking `N` argument slots.
pub type DirectFn<M, const N: usize> = fn(&M, &[u64; N], &mut u64) -> Result<(), ModuleError>;

/// A scalar carried in one 64-bit slot.
pub trait Slot: Sized {
    /// The value of a slot, or `None` when the slot is not one of this
    /// type's (the host never passes such a slot).
    fn from_slot(slot: u64) -> Option<Self>;
    /// The slot of the value.
    fn into_slot(self) -> u64;
}

impl Slot for bool {
    #[inline]
    fn from_slot(slot: u64) -> Option<Self> {
        match slot {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    #[inline]
    fn into_slot(self) -> u64 {
        u64::from(self)
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Slot for $t {
            #[inline]
            fn from_slot(slot: u64) -> Option<Self> {
                <$t>::try_from(slot).ok()
            }
            #[inline]
            fn into_slot(self) -> u64 {
                u64::from(self)
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64);

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Slot for $t {
            #[inline]
            fn from_slot(slot: u64) -> Option<Self> {
                <$t>::try_from(slot as i64).ok()
            }
            #[inline]
            fn into_slot(self) -> u64 {
                i64::from(self) as u64
            }
        }
    )*};
}
signed!(i8, i16, i32, i64);

impl Slot for f32 {
    #[inline]
    fn from_slot(slot: u64) -> Option<Self> {
        let bits = u32::try_from(slot).ok()?;
        let x = f32::from_bits(bits);
        Some(if x.is_nan() {
            f32::from_bits(CANONICAL_NAN_F32)
        } else {
            x
        })
    }
    #[inline]
    fn into_slot(self) -> u64 {
        u64::from(if self.is_nan() {
            CANONICAL_NAN_F32
        } else {
            self.to_bits()
        })
    }
}

impl Slot for f64 {
    #[inline]
    fn from_slot(slot: u64) -> Option<Self> {
        let x = f64::from_bits(slot);
        Some(if x.is_nan() {
            f64::from_bits(CANONICAL_NAN_F64)
        } else {
            x
        })
    }
    #[inline]
    fn into_slot(self) -> u64 {
        if self.is_nan() {
            CANONICAL_NAN_F64
        } else {
            self.to_bits()
        }
    }
}

impl Slot for char {
    #[inline]
    fn from_slot(slot: u64) -> Option<Self> {
        u32::try_from(slot).ok().and_then(char::from_u32)
    }
    #[inline]
    fn into_slot(self) -> u64 {
        u64::from(u32::from(self))
    }
}

/// Argument `slot` of parameter `param` of `method` as a `T`: an invalid slot
/// (which the host never passes) is module error 22 naming the parameter,
/// like malformed input of the bytes entry.
#[inline]
pub fn arg<T: Slot>(slot: u64, method: &str, param: &str) -> Result<T, ModuleError> {
    T::from_slot(slot).ok_or_else(|| {
        ModuleError::new(
            INVALID_INPUT,
            format!(
                "{method}: parameter {param}: direct argument slot {slot:#x} is not a valid value"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_at_their_edges() {
        assert_eq!(u32::MAX.into_slot(), 0xffff_ffff);
        assert_eq!(u32::from_slot(1 << 32), None);
        assert_eq!((-128i8).into_slot(), -128i64 as u64);
        assert_eq!(i8::from_slot(-128i64 as u64), Some(-128));
        assert_eq!(i8::from_slot(0x80), None, "an s8 slot is sign-extended");
        assert_eq!(i64::from_slot(u64::MAX), Some(-1));
        assert_eq!(bool::from_slot(2), None);
        assert_eq!(true.into_slot(), 1);
        assert_eq!((-0.0f32).into_slot(), 0x8000_0000);
        assert_eq!(
            f32::from_slot(0x7fc0_0001).unwrap().to_bits(),
            CANONICAL_NAN_F32
        );
        assert_eq!(f32::from_slot(1 << 32), None);
        assert_eq!(f64::NAN.into_slot(), CANONICAL_NAN_F64);
        assert_eq!(char::from_slot(0x1F600), Some('😀'));
        assert_eq!(char::from_slot(0xD800), None);
        assert_eq!(
            arg::<char>(0xD800, "f", "c").unwrap_err(),
            ModuleError::new(
                22,
                "f: parameter c: direct argument slot 0xd800 is not a valid value"
            )
        );
    }
}
