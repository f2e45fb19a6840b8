//! The panic boundary (unsafe boundary module).
//!
//! Every export's body is exactly one [`ffi_boundary!`] invocation
//! (`tests/exports.rs` fails otherwise). The macro runs the body inside
//! `catch_unwind`; what a caught panic returns is decided by the export's
//! return type through [`AfterPanic`], never by the export itself:
//! `bh_status` → `BH_E_INTERNAL` (with the panic message as the last error),
//! sizes and counts → 0, static strings → `"internal"`.
//!
//! Rust >= 1.81 aborts when a panic reaches an `extern "C"` frame; the
//! boundary turns that abort into an error the caller can handle.

use crate::error;
use crate::types::{bh_status, BH_E_INTERNAL};
use bhcore::Error;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The value an export returns after a caught panic, chosen by return type.
pub(crate) trait AfterPanic {
    /// The value.
    fn after_panic() -> Self;
}

impl AfterPanic for bh_status {
    fn after_panic() -> Self {
        BH_E_INTERNAL
    }
}

impl AfterPanic for usize {
    fn after_panic() -> Self {
        0
    }
}

impl AfterPanic for u64 {
    fn after_panic() -> Self {
        0
    }
}

impl AfterPanic for i64 {
    fn after_panic() -> Self {
        0
    }
}

impl AfterPanic for *const c_char {
    fn after_panic() -> Self {
        c"internal".as_ptr()
    }
}

/// What an export body evaluates to, and how it becomes the C return value.
pub(crate) trait Outcome {
    /// The C return type.
    type Abi: AfterPanic;
    /// Convert (an `Err` is recorded as the thread's last error).
    fn into_abi(self) -> Self::Abi;
}

impl Outcome for Result<(), Error> {
    type Abi = bh_status;
    fn into_abi(self) -> bh_status {
        error::status(self)
    }
}

impl Outcome for usize {
    type Abi = usize;
    fn into_abi(self) -> usize {
        self
    }
}

impl Outcome for u64 {
    type Abi = u64;
    fn into_abi(self) -> u64 {
        self
    }
}

impl Outcome for i64 {
    type Abi = i64;
    fn into_abi(self) -> i64 {
        self
    }
}

impl Outcome for &'static CStr {
    type Abi = *const c_char;
    fn into_abi(self) -> *const c_char {
        self.as_ptr()
    }
}

/// Run an export body; never unwinds. Used only through [`ffi_boundary!`].
#[inline(always)]
pub(crate) fn catch<B: Outcome>(body: impl FnOnce() -> B) -> B::Abi {
    // AssertUnwindSafe: state shared between calls lives in the core and the
    // handle tables, whose locks do not poison and whose updates are single
    // steps; a panicking body leaves no half-updated value behind that a
    // later call could observe.
    match catch_unwind(AssertUnwindSafe(|| body().into_abi())) {
        Ok(v) => v,
        Err(payload) => {
            let err = Error::from_panic(&*payload);
            drop_payload(payload);
            error::fail(&err);
            B::Abi::after_panic()
        }
    }
}

/// Drop a panic payload without letting its destructor unwind out of the
/// boundary: a destructor that panics yields a new payload, which is dropped
/// the same way (a pathological chain is cut off by forgetting the last one).
fn drop_payload(mut payload: Box<dyn std::any::Any + Send>) {
    for _ in 0..8 {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(next) => payload = next,
        }
    }
    std::mem::forget(payload);
}

/// The body of every export:
///
/// ```ignore
/// #[no_mangle]
/// pub unsafe extern "C" fn bh_x(p: *const u8, len: usize) -> bh_status {
///     ffi_boundary!(|c| {
///         let input = c.bytes(p, len, "input")?;
///         ...
///     })
/// }
/// ```
///
/// The `|c|` form binds `c` to a [`crate::ptr::Contract`], the only way to
/// turn the export's raw pointer arguments into references; what it lends
/// cannot outlive the body. Exports without pointer arguments use the plain
/// form `ffi_boundary!({ ... })`.
macro_rules! ffi_boundary {
    (|$c:ident| $body:block) => {{
        // Before any of our code runs: a JIT caller may have left the upper
        // vector state dirty (core/src/ffi/vector_state.rs).
        ::bhcore::internal::clear_upper_vector_state();
        // SAFETY: this expansion is the entire body of an `unsafe extern "C"`
        // export (tests/exports.rs enforces it), so its caller accepted the
        // pointer contract of docs/C_ABI.md ("Pointers") for every pointer
        // argument of this call; the contract is a local of this call and
        // every borrow it lends ends when the body returns.
        let contract = unsafe { $crate::ptr::Contract::assume() };
        $crate::panic::catch(|| {
            let $c = &contract;
            $body
        })
    }};
    ($body:block) => {{
        ::bhcore::internal::clear_upper_vector_state();
        $crate::panic::catch(|| $body)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BH_OK;

    extern "C" fn status_panics(really: bool) -> bh_status {
        ffi_boundary!({
            if really {
                panic!("boom {}", 7);
            }
            Ok(())
        })
    }

    extern "C" fn size_panics() -> usize {
        ffi_boundary!({
            let v: Vec<usize> = Vec::new();
            #[allow(clippy::indexing_slicing)]
            v[3]
        })
    }

    extern "C" fn string_panics() -> *const c_char {
        ffi_boundary!({
            std::panic::panic_any(42u8);
            #[allow(unreachable_code)]
            c"never"
        })
    }

    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("payload drop");
        }
    }

    extern "C" fn payload_panics_on_drop() -> u64 {
        ffi_boundary!({
            std::panic::panic_any(PanicsOnDrop);
            #[allow(unreachable_code)]
            1u64
        })
    }

    #[test]
    fn a_panic_becomes_the_value_of_the_return_type() {
        assert_eq!(status_panics(false), BH_OK);
        assert_eq!(status_panics(true), BH_E_INTERNAL);
        assert_eq!(error::last_message(), "internal error: panic: boom 7");
        assert_eq!(size_panics(), 0);
        assert!(error::last_message().contains("index out of bounds"));
        // SAFETY: after_panic strings are static and NUL-terminated.
        let s = unsafe { CStr::from_ptr(string_panics()) };
        assert_eq!(s, c"internal");
        assert_eq!(
            error::last_message(),
            "internal error: panic: non-string panic payload"
        );
        assert_eq!(payload_panics_on_drop(), 0);
    }
}
