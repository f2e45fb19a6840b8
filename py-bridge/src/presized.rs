//! A typed call's `list<u8>` result written by the module straight into the
//! `bytes` returned (boundary module: `unsafe`).
//!
//! A call's output normally lands in the thread's scratch buffer and is then
//! copied into a new `bytes`. For a function whose whole result is one
//! `list<u8>` (wire: a 4-byte little-endian length, then the bytes), the
//! bridge can instead allocate the `bytes` before the call, when it expects
//! the result's length (the length of the function's previous result:
//! typed/function.rs), and let the module's writes go straight into it
//! through the core's [`ListRunSink`]. A `bytes` must be created with the GIL held and
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

use bridgehost::output::{ListRunSink, RunDest};
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
        call: impl FnOnce(&mut ListRunSink<'_, Slots<'_>>) -> Result<(), E>,
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
        let mut sink = ListRunSink::new(Slots(slots), spill);
        call(&mut sink)?;
        // Every one of the `n` bytes was written (`finish`): the `bytes` is
        // complete and may be shown to Python.
        Ok(sink.finish().then_some(self.bytes))
    }
}

/// The `bytes`' contents as the destination of the core's
/// [`ListRunSink`]: slots that are written before they are read.
pub(crate) struct Slots<'a>(&'a mut [MaybeUninit<u8>]);

impl RunDest for Slots<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn write_at(&mut self, at: usize, data: &[u8]) {
        let dst = &mut self.0[at..at + data.len()];
        // SAFETY: `dst` and `data` have the same length and do not overlap
        // (`data` is the module's memory, `dst` the fresh `bytes` no one else
        // references); `MaybeUninit<u8>` has the layout of `u8`.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), dst.as_mut_ptr().cast::<u8>(), data.len());
        }
    }

    fn written(&self, n: usize) -> &[u8] {
        let written = &self.0[..n];
        // SAFETY: the sink asks only for slots it wrote before (its `len`
        // invariant); `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { std::slice::from_raw_parts(written.as_ptr().cast::<u8>(), written.len()) }
    }
}
