//! Raw pointers in, references out (unsafe boundary module).
//!
//! Every raw pointer an export receives is converted here, by a method of
//! [`Contract`], after the checks docs/C_ABI.md promises: null with a non-zero
//! length is refused, lengths above `isize::MAX` are refused before anything is
//! read, out-pointers must be non-null and aligned, versioned structs must
//! carry the expected `struct_size`, an input and an output buffer must not
//! overlap. What a `Contract` lends borrows the contract, which is a local of
//! one export call ([`crate::ffi_boundary!`]), so no borrowed caller memory can
//! outlive the call.

use bhcore::{Error, Result};
use std::ffi::c_char;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::ptr::NonNull;

/// Proof that the current export's C caller accepted the pointer contract.
/// Created only by [`crate::ffi_boundary!`]; neither `Send` nor `Sync`.
#[derive(Debug)]
pub(crate) struct Contract {
    _not_send: PhantomData<*const ()>,
}

pub(crate) fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

// The checks below are on every call's path; the messages of their errors
// are built out of line (`#[cold]`), so a passing check costs a compare.

#[cold]
#[inline(never)]
fn too_long(len: usize, what: &str) -> Error {
    invalid(format!(
        "{what}: length {len} exceeds the maximum of {} (isize::MAX)",
        isize::MAX
    ))
}

#[cold]
#[inline(never)]
fn too_many_slots(n: usize, what: &str) -> Error {
    invalid(format!(
        "{what}: count {n} of 8-byte slots exceeds the maximum of {} (isize::MAX bytes)",
        isize::MAX as usize / size_of::<u64>()
    ))
}

#[cold]
#[inline(never)]
fn null_with(what: &str, noun: &str, len: usize) -> Error {
    invalid(format!("{what} is a null pointer with {noun} {len}"))
}

#[cold]
#[inline(never)]
pub(crate) fn null_out(what: &str) -> Error {
    invalid(format!("{what} is a null pointer"))
}

#[cold]
#[inline(never)]
fn misaligned(p: *const (), align: usize, what: &str) -> Error {
    invalid(format!(
        "{what}: pointer {p:p} is not aligned to {align} bytes"
    ))
}

#[cold]
#[inline(never)]
fn overlapping() -> Error {
    invalid("input and output buffers overlap; pass disjoint buffers".into())
}

/// Refuse a length no Rust slice may have, before it is used for anything.
#[inline]
fn check_len(len: usize, what: &str) -> Result<()> {
    if len > isize::MAX as usize {
        return Err(too_long(len, what));
    }
    Ok(())
}

#[inline]
pub(crate) fn check_aligned<T>(p: *const T, what: &str) -> Result<()> {
    if !p.is_aligned() {
        return Err(misaligned(p.cast(), align_of::<T>(), what));
    }
    Ok(())
}

/// A single value the export writes on success (an out-pointer).
#[derive(Debug)]
pub(crate) struct Out<'c, T> {
    p: NonNull<T>,
    _borrow: PhantomData<&'c mut T>,
}

impl<T: Copy> Out<'_, T> {
    /// Write the value. Consumes the out-pointer: each is written at most once.
    pub(crate) fn write(self, v: T) {
        // SAFETY: `p` is non-null and aligned (checked in `Contract::out`) and,
        // by the contract, valid for a write of T for the whole call. Writing
        // (not assigning) never reads or drops what the caller left there.
        unsafe { self.p.as_ptr().write(v) }
    }
}

/// A caller buffer the export may fill (two-call pattern): `cap` writable bytes.
#[derive(Debug)]
pub(crate) struct OutBuf<'c> {
    p: *mut u8,
    cap: usize,
    _borrow: PhantomData<&'c mut [u8]>,
}

impl OutBuf<'_> {
    /// Its capacity in bytes.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Copy `data` to the start of the buffer. `data.len()` must not exceed
    /// [`OutBuf::cap`] (callers check first; a violation is refused, not UB).
    pub(crate) fn fill(self, data: &[u8]) -> Result<()> {
        if data.len() > self.cap {
            return Err(Error::BufferTooSmall {
                required: data.len(),
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: data.len() <= cap and cap > 0 imply `p` is non-null (checked
        // in `Contract::out_buf`) and writable for cap bytes by the contract.
        // `data` is memory this library owns, never the caller's buffer, so the
        // two ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.p, data.len()) };
        Ok(())
    }
}

/// A caller output buffer lent as `&mut [u8]` for the duration of a closure.
#[derive(Debug)]
pub(crate) struct OutSlice<'c> {
    p: *mut u8,
    cap: usize,
    _borrow: PhantomData<&'c mut [u8]>,
}

impl OutSlice<'_> {
    /// Run `f` on the buffer. Consumes the slice: one `&mut` per buffer.
    ///
    /// `f` is called from one place: called from two (one per branch), the
    /// call it wraps was not inlined and its result went through memory (a
    /// store-forwarding stall on every `bh_call_spill`).
    #[inline]
    pub(crate) fn with<R>(self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let buf: &mut [u8] = if self.cap == 0 {
            &mut []
        } else {
            // SAFETY: `p` is non-null when cap > 0, u8 needs no alignment, cap <=
            // isize::MAX (both checked in `Contract::in_out`); the contract makes
            // it writable for cap bytes during the call; it does not overlap the
            // input (checked in `in_out`), and `self` is consumed, so this is the
            // only reference to that memory while `f` runs.
            unsafe { std::slice::from_raw_parts_mut(self.p, self.cap) }
        };
        f(buf)
    }
}

impl Contract {
    /// # Safety
    ///
    /// For as long as the returned value lives, every raw pointer (and every
    /// pointer inside a struct it points to) passed to its methods must satisfy
    /// the pointer contract of docs/C_ABI.md: an input pointer is NULL or
    /// readable for the length passed with it and not written by anyone during
    /// the call; an out-pointer is NULL or valid for a write of its type; a
    /// caller buffer is NULL or writable for the capacity passed with it; an
    /// options struct pointer is NULL or readable for the `struct_size` it
    /// declares; a `bh_counters` pointer, and an options struct pointer an
    /// export fills (`bh_host_options_default`), is writable for its
    /// `struct_size`.
    /// Function pointers given to [`crate::callback`] are functions of the
    /// declared C type that do not unwind.
    pub(crate) unsafe fn assume() -> Contract {
        Contract {
            _not_send: PhantomData,
        }
    }

    /// Check an input's shape without reading it: `(NULL, 0)` is empty; NULL
    /// with a length and lengths above `isize::MAX` are refused.
    #[inline]
    pub(crate) fn check_bytes(&self, p: *const u8, len: usize, what: &str) -> Result<()> {
        check_len(len, what)?;
        if len != 0 && p.is_null() {
            return Err(null_with(what, "length", len));
        }
        Ok(())
    }

    /// Borrow `len` input bytes at `p` (after [`Contract::check_bytes`]).
    #[inline]
    pub(crate) fn bytes<'c>(&'c self, p: *const u8, len: usize, what: &str) -> Result<&'c [u8]> {
        self.check_bytes(p, len, what)?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: p is non-null, u8 has no alignment requirement, len is at
        // most isize::MAX, and by the contract the memory is readable for len
        // bytes and not mutated until this call returns ('c ends before).
        Ok(unsafe { std::slice::from_raw_parts(p, len) })
    }

    /// Borrow `n` 64-bit slots at `p` (`bh_call_scalar`'s arguments): `(NULL,
    /// 0)` is none; NULL with a count, a count whose bytes exceed
    /// `isize::MAX` and a pointer not aligned for `uint64_t` are refused
    /// before anything is read.
    #[inline]
    pub(crate) fn slots<'c>(&'c self, p: *const u64, n: usize, what: &str) -> Result<&'c [u64]> {
        if n == 0 {
            return Ok(&[]);
        }
        if n > isize::MAX as usize / size_of::<u64>() {
            return Err(too_many_slots(n, what));
        }
        if p.is_null() {
            return Err(null_with(what, "count", n));
        }
        check_aligned(p, what)?;
        // SAFETY: p is non-null and aligned for u64, n * 8 is at most
        // isize::MAX, and by the contract the memory is readable for n slots
        // and not mutated until this call returns ('c ends before).
        Ok(unsafe { std::slice::from_raw_parts(p, n) })
    }

    /// Borrow `len` bytes of UTF-8 text at `p` (not NUL-terminated).
    pub(crate) fn utf8<'c>(&'c self, p: *const c_char, len: usize, what: &str) -> Result<&'c str> {
        let b = self.bytes(p.cast::<u8>(), len, what)?;
        std::str::from_utf8(b).map_err(|e| invalid(format!("{what} is not valid UTF-8: {e}")))
    }

    /// A non-null, aligned out-pointer.
    #[inline]
    pub(crate) fn out<'c, T: Copy>(&'c self, p: *mut T, what: &str) -> Result<Out<'c, T>> {
        let Some(p) = NonNull::new(p) else {
            return Err(null_out(what));
        };
        check_aligned(p.as_ptr(), what)?;
        Ok(Out {
            p,
            _borrow: PhantomData,
        })
    }

    /// An out-pointer that may be NULL (nothing is written then).
    pub(crate) fn opt_out<'c, T: Copy>(
        &'c self,
        p: *mut T,
        what: &str,
    ) -> Result<Option<Out<'c, T>>> {
        if p.is_null() {
            return Ok(None);
        }
        self.out(p, what).map(Some)
    }

    /// A caller buffer of `cap` bytes; `(NULL, 0)` is a zero-capacity buffer.
    pub(crate) fn out_buf<'c>(&'c self, p: *mut u8, cap: usize, what: &str) -> Result<OutBuf<'c>> {
        check_len(cap, what)?;
        if p.is_null() && cap != 0 {
            return Err(null_with(what, "capacity", cap));
        }
        Ok(OutBuf {
            p,
            cap,
            _borrow: PhantomData,
        })
    }

    /// Borrow an input and a disjoint caller output buffer (`bh_call_into`).
    #[inline(always)]
    pub(crate) fn in_out(
        &self,
        input: *const u8,
        in_len: usize,
        out: *mut u8,
        out_cap: usize,
    ) -> Result<(&[u8], OutSlice<'_>)> {
        check_len(in_len, "input")?;
        check_len(out_cap, "output buffer")?;
        if out.is_null() && out_cap != 0 {
            return Err(null_with("output buffer", "capacity", out_cap));
        }
        if in_len != 0 && out_cap != 0 {
            // Addresses only: no memory is touched. Both ends fit in the
            // address space because the caller's buffers exist.
            let (a, b) = (input as usize, out as usize);
            if a < b.saturating_add(out_cap) && b < a.saturating_add(in_len) {
                return Err(overlapping());
            }
        }
        let input = self.bytes(input, in_len, "input")?;
        Ok((
            input,
            OutSlice {
                p: out,
                cap: out_cap,
                _borrow: PhantomData,
            },
        ))
    }
}

/// A pointer for `len` bytes of output: never NULL, also when empty (a
/// zero-length `Vec`'s pointer is dangling; C callers may pass it to memcpy).
pub(crate) fn data_ptr(data: &[u8]) -> *const u8 {
    static EMPTY: u8 = 0;
    if data.is_empty() {
        &EMPTY
    } else {
        data.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        // SAFETY: the tests below pass only null pointers, pointers to live
        // locals with their true lengths, or lengths refused before any read.
        unsafe { Contract::assume() }
    }

    #[test]
    fn lengths_are_checked_before_pointers_are_read() {
        let c = contract();
        let dangling = 0x10 as *const u8; // never dereferenced: every case is refused first
        assert!(c.bytes(std::ptr::null(), 0, "x").unwrap().is_empty());
        assert!(c.bytes(std::ptr::null(), 1, "x").is_err());
        for len in [isize::MAX as usize + 1, usize::MAX] {
            let e = c.bytes(dangling, len, "input").unwrap_err();
            assert!(e.to_string().contains("exceeds the maximum"), "{e}");
        }
        let data = [1u8, 2, 3];
        assert_eq!(c.bytes(data.as_ptr(), 3, "x").unwrap(), &data);
        assert!(c.utf8(b"\xff".as_ptr().cast(), 1, "t").is_err());
    }

    #[test]
    fn out_pointers_must_be_non_null_and_aligned() {
        let c = contract();
        assert!(c.out::<u64>(std::ptr::null_mut(), "out").is_err());
        let mut words = [0u64; 2];
        let misaligned = words
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(1)
            .cast::<u64>();
        assert!(c.out(misaligned, "out").is_err());
        c.out(&mut words[0] as *mut u64, "out").unwrap().write(7);
        assert_eq!(words, [7, 0]);
        assert!(c
            .opt_out::<u64>(std::ptr::null_mut(), "o")
            .unwrap()
            .is_none());
    }

    #[test]
    fn overlapping_buffers_are_refused() {
        let c = contract();
        let mut buf = [0u8; 16];
        let p = buf.as_mut_ptr();
        assert!(c.in_out(p, 8, p.wrapping_add(4), 8).is_err());
        assert!(c.in_out(p.wrapping_add(4), 8, p, 8).is_err());
        let (i, o) = c.in_out(p, 8, p.wrapping_add(8), 8).unwrap();
        assert_eq!(i.len(), 8);
        assert_eq!(o.with(|o| o.len()), 8);
        assert!(c
            .in_out(std::ptr::null(), 0, std::ptr::null_mut(), 1)
            .is_err());
    }
}
