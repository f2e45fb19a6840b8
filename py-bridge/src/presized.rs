//! A typed call's `list<u8>` result written by the module straight into the
//! `bytes` returned (boundary module: `unsafe`).
//!
//! A call's output normally lands in the thread's scratch buffer and is then
//! copied into a new `bytes`. For a function whose whole result is one
//! `list<u8>` (wire: a 4-byte little-endian length, then the bytes), the
//! bridge can instead allocate the `bytes` before the call, when it expects
//! the result's length (the length of the function's previous result:
//! typed/function.rs), and let the module's writes go straight into it
//! through a [`RunSink`]. A `bytes` must be created with the GIL held and
//! cannot be resized through the stable ABI, so it is allocated before the
//! call, uninitialized, and returned only when the output was exactly a run
//! of that length, every byte of it written; any other output (another
//! length, a truncated or overlong one, a retry's reset) moves to the
//! caller's spill buffer, whole, where the ordinary decode checks it (same
//! values, same errors).
//!
//! `PyBytes_FromStringAndSize(NULL, n)` is the documented way to get a
//! `bytes` whose contents are to be filled in (stable ABI); until it is
//! complete the object is referenced only by [`Unfilled`], which never hands
//! it out, so no other thread (with or without the GIL) can see it, and the
//! module may fill it while the GIL is released.
#![allow(unsafe_code)]

use bridgehost::output::{OutputSink, WriteError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::mem::MaybeUninit;

/// A fresh `bytes` of `n` bytes, not yet written.
pub(crate) struct Unfilled<'py> {
    bytes: Bound<'py, PyBytes>,
    n: usize,
}

impl<'py> Unfilled<'py> {
    /// A `bytes` of `n` bytes to be filled; `None` if Python cannot allocate
    /// it (the error is discarded: the caller takes its ordinary path, which
    /// raises whatever it raises).
    pub(crate) fn new(py: Python<'py>, n: usize) -> Option<Self> {
        let size = ffi::Py_ssize_t::try_from(n).ok()?;
        // SAFETY: a NULL source with a non-negative size is the documented
        // way to allocate an uninitialized `bytes` of that size; the GIL is
        // held (`py`). The new reference is owned by `bytes` below.
        let ptr = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
        if ptr.is_null() {
            drop(PyErr::take(py)); // the MemoryError
            return None;
        }
        // SAFETY: `ptr` is a new, owned, non-null reference to a `bytes`.
        let bytes = unsafe { Bound::from_owned_ptr(py, ptr).cast_into_unchecked::<PyBytes>() };
        Some(Unfilled { bytes, n })
    }

    /// Run `call` with a sink for the output, and return the `bytes` when
    /// the output was exactly a `list<u8>` run of `n` bytes (a length prefix
    /// of `n`, then `n` bytes). Otherwise (or if `call` fails) the `bytes`
    /// is dropped, never seen by Python, and on success the whole output is
    /// in `spill` (the ordinary decode judges it).
    pub(crate) fn fill<E>(
        self,
        spill: &mut Vec<u8>,
        call: impl FnOnce(&mut RunSink<'_>) -> Result<(), E>,
    ) -> Result<Option<Bound<'py, PyBytes>>, E> {
        // SAFETY: the object is a fresh `bytes` of `n` bytes referenced only
        // by `self.bytes`, which is not handed out before every byte was
        // written, so nothing else reads or writes its contents meanwhile;
        // its buffer stays allocated while `self` lives (for this whole
        // function). `MaybeUninit<u8>` asks nothing of the contents.
        let slots = unsafe {
            let data = ffi::PyBytes_AsString(self.bytes.as_ptr()).cast::<MaybeUninit<u8>>();
            std::slice::from_raw_parts_mut(data, self.n)
        };
        let mut sink = RunSink {
            dst: slots,
            head: [0; 4],
            len: 0,
            spill,
            direct: true,
        };
        call(&mut sink)?;
        // Every one of the `n` bytes was written (`finish`): the `bytes` is
        // complete and may be shown to Python.
        Ok(sink.finish().then_some(self.bytes))
    }
}

/// The output sink of [`Unfilled::fill`]: the length prefix into `head`, the
/// payload into the `bytes`, while the output is a run of exactly its
/// length; from the first write that shows otherwise, everything (what was
/// written before included) into `spill`.
pub(crate) struct RunSink<'a> {
    /// The payload's slots (the `bytes`' contents).
    dst: &'a mut [MaybeUninit<u8>],
    /// The length prefix.
    head: [u8; 4],
    /// Bytes written so far while `direct` (prefix included): the first
    /// `min(len, 4)` are in `head`, the next `len - 4` in `dst[..len - 4]`.
    len: usize,
    spill: &'a mut Vec<u8>,
    /// Still writing into `head` and `dst`.
    direct: bool,
}

impl RunSink<'_> {
    /// Whether appending `data` keeps the output a possible run of
    /// `dst.len()` bytes: within `4 + dst.len()` bytes, and a prefix (once
    /// complete) of exactly `dst.len()`.
    fn fits(&self, data: &[u8]) -> bool {
        let n = self.dst.len();
        if self.len + data.len() > 4 + n {
            return false;
        }
        if self.len < 4 && self.len + data.len() >= 4 {
            let mut head = self.head;
            head[self.len..].copy_from_slice(&data[..4 - self.len]);
            return u32::from_le_bytes(head) as usize == n;
        }
        true
    }

    /// Move everything written so far into `spill`, which takes every later
    /// write.
    fn spill_all(&mut self) {
        self.spill.clear();
        self.spill.extend_from_slice(&self.head[..self.len.min(4)]);
        if self.len > 4 {
            let written = &self.dst[..self.len - 4];
            // SAFETY: the first `len - 4` slots of `dst` were written (the
            // invariant of `len`); `MaybeUninit<u8>` has the layout of `u8`.
            let written =
                unsafe { std::slice::from_raw_parts(written.as_ptr().cast::<u8>(), written.len()) };
            self.spill.extend_from_slice(written);
        }
        self.direct = false;
    }

    /// True when the output is a complete run of `dst.len()` bytes (every
    /// slot written); otherwise the whole output is in `spill`.
    fn finish(&mut self) -> bool {
        if self.direct && self.len == 4 + self.dst.len() {
            return true;
        }
        if self.direct {
            self.spill_all();
        }
        false
    }
}

impl OutputSink for RunSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        if self.direct && !self.fits(data) {
            self.spill_all();
        }
        if !self.direct {
            self.spill.extend_from_slice(data);
            return Ok(());
        }
        let mut data = data;
        if self.len < 4 {
            let k = data.len().min(4 - self.len);
            self.head[self.len..self.len + k].copy_from_slice(&data[..k]);
            self.len += k;
            data = &data[k..];
        }
        if !data.is_empty() {
            // `fits`: `len - 4 + data.len() <= dst.len()`.
            let dst = &mut self.dst[self.len - 4..self.len - 4 + data.len()];
            // SAFETY: `dst` and `data` have the same length and do not
            // overlap (`data` is the module's memory, `dst` the fresh `bytes`
            // no one else references); `MaybeUninit<u8>` has the layout of `u8`.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    dst.as_mut_ptr().cast::<u8>(),
                    data.len(),
                );
            }
            self.len += data.len();
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.len = 0;
        self.direct = true;
        self.spill.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output `chunks` make through a sink for a run of `n` bytes:
    /// `Ok(payload)` when it went straight into the slots, `Err(spilled)`.
    fn through(n: usize, chunks: &[&[u8]], reset_after: Option<usize>) -> Result<Vec<u8>, Vec<u8>> {
        let mut slots = vec![MaybeUninit::<u8>::uninit(); n];
        let mut spill = vec![9u8; 3]; // stale content: cleared by the first spill
        let mut sink = RunSink {
            dst: &mut slots,
            head: [0; 4],
            len: 0,
            spill: &mut spill,
            direct: true,
        };
        sink.reset();
        for (i, c) in chunks.iter().enumerate() {
            sink.write(c).unwrap();
            if reset_after == Some(i) {
                sink.reset();
            }
        }
        if sink.finish() {
            // SAFETY: `finish` is true only when every slot was written.
            Ok(slots.iter().map(|b| unsafe { b.assume_init() }).collect())
        } else {
            Err(spill)
        }
    }

    #[test]
    fn an_exact_run_goes_straight_into_the_slots_however_it_is_split() {
        let whole = [&[3u8, 0, 0, 0][..], b"abc"].concat();
        for split in 0..=whole.len() {
            for split2 in split..=whole.len() {
                let (a, rest) = whole.split_at(split);
                let (b, c) = rest.split_at(split2 - split);
                assert_eq!(through(3, &[a, b, c], None), Ok(b"abc".to_vec()));
            }
        }
    }

    #[test]
    fn any_other_output_is_spilled_whole_however_it_is_split() {
        let cases: [&[u8]; 7] = [
            b"\x03\x00\x00\x00abcd",
            b"\x03\x00\x00\x00ab",
            b"\x04\x00\x00\x00abc",
            b"\x02\x00\x00\x00abc",
            b"\x03\x00\x00",
            b"\x03",
            b"",
        ];
        for out in cases {
            for split in 0..=out.len() {
                let (a, b) = out.split_at(split);
                assert_eq!(
                    through(3, &[a, b], None),
                    Err(out.to_vec()),
                    "{out:?} at {split}"
                );
            }
        }
    }

    #[test]
    fn a_reset_discards_what_was_written_direct_or_spilled() {
        let run: &[u8] = b"\x03\x00\x00\x00abc";
        assert_eq!(
            through(3, &[b"\x03\x00", run], Some(0)),
            Ok(b"abc".to_vec())
        );
        assert_eq!(
            through(3, &[b"\x09\x00\x00\x00", run], Some(0)),
            Ok(b"abc".to_vec())
        );
        assert_eq!(through(3, &[run, b"x"], Some(1)), Err(Vec::new()));
        assert_eq!(
            through(3, &[run, b"x", b"\x01\x00\x00\x00z"], Some(1)),
            Err(b"\x01\x00\x00\x00z".to_vec())
        );
    }
}
