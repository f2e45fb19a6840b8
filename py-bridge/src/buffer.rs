//! Zero-copy input from any buffer-protocol object (boundary module: `unsafe`).
//!
//! [`InputBuffer`] holds a `Py_buffer` export for as long as it lives, so the
//! exporter keeps the memory valid *and* unresizable for that time (a
//! `bytearray` with an export refuses to resize with `BufferError`). The
//! bridge keeps the `InputBuffer` alive across the whole native call,
//! including while the GIL is released, and releases it (with the GIL) only
//! after the call returned.
//!
//! The extension is built for the stable ABI of CPython 3.9 (abi3-py39).
//! `Py_buffer`, `PyObject_GetBuffer`, `PyBuffer_Release` and
//! `PyBuffer_IsContiguous` joined the *limited API* in 3.11, but their ABI has
//! not changed since CPython 3.3 and every CPython 3.x exports them, so they
//! are declared here (PyO3 only declares them for abi3-py311 and newer). The
//! declaration mirrors `Include/pybuffer.h`; `tests/test_buffers.py` checks the
//! fields we read (length, contiguity via strides) against numpy arrays of
//! known layout on every interpreter the wheel is tested on.
#![allow(unsafe_code)]

use pyo3::exceptions::PyTypeError;
use pyo3::ffi::{PyObject, Py_ssize_t};
use pyo3::prelude::*;
use std::ffi::{c_char, c_int, c_void};
use std::marker::PhantomData;

/// `Py_buffer` from `Include/pybuffer.h` (CPython 3.3+).
#[repr(C)]
struct RawBuffer {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

// 11 pointer-sized fields with the two c_ints packed into one word: 80 bytes
// on every 64-bit CPython (sizeof(Py_buffer) == 80), 44 on 32-bit ones.
const _: () = assert!(
    std::mem::size_of::<RawBuffer>() == 10 * std::mem::size_of::<usize>()
        || std::mem::size_of::<usize>() == 4
);

/// `PyBUF_ND | PyBUF_STRIDES`: the exporter fills shape and strides, so a
/// non-contiguous exporter (a sliced numpy array or memoryview) still
/// exports and we can reject it with a clear error; read-only is enough.
const PYBUF_STRIDES: c_int = 0x0010 | 0x0008;
/// `PyBUF_WRITABLE`: the exporter must allow writes (output buffers).
const PYBUF_WRITABLE: c_int = 0x0001;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut RawBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
    fn PyBuffer_IsContiguous(view: *const RawBuffer, order: c_char) -> c_int;
}

/// Why an object could not be used as call input.
pub(crate) enum BufferError {
    /// Not a buffer-protocol object, or the exporter refused (its exception).
    Export(PyErr),
    /// A buffer whose bytes are not one C-contiguous block.
    NotContiguous,
    /// An exporter reported a negative length.
    BadLength,
    /// An output buffer that overlaps the call's input.
    Overlaps,
}

/// A slot for one buffer export, filled by [`InputBuffer::export`]. It lives
/// on the caller's stack and cannot move while exported (the returned slice
/// borrows it), and it is not `Send`: it is released on the thread (and with
/// the GIL) that acquired it, after the native call returned.
pub(crate) struct InputBuffer<'py> {
    view: RawBuffer,
    exported: bool,
    _py: PhantomData<Python<'py>>,
}

impl<'py> InputBuffer<'py> {
    /// An empty slot.
    pub(crate) fn new(_py: Python<'py>) -> Self {
        InputBuffer {
            view: RawBuffer {
                buf: std::ptr::null_mut(),
                obj: std::ptr::null_mut(),
                len: 0,
                itemsize: 0,
                readonly: 0,
                ndim: 0,
                format: std::ptr::null_mut(),
                shape: std::ptr::null_mut(),
                strides: std::ptr::null_mut(),
                suboffsets: std::ptr::null_mut(),
                internal: std::ptr::null_mut(),
            },
            exported: false,
            _py: PhantomData,
        }
    }

    /// Export `obj`'s buffer for reading and return its bytes.
    ///
    /// The bytes stay valid, and their length fixed, while the slot lives.
    /// Other Python threads *can* still write into a mutable exporter
    /// (bytearray, numpy) while a call runs without the GIL — the window
    /// CPython's own `hashlib` and `zlib` have; the core and the module only
    /// read the bytes, and nothing relies on their content for memory safety
    /// (every length comes from the export, not from the bytes).
    pub(crate) fn export(&mut self, obj: &Bound<'py, PyAny>) -> Result<&[u8], BufferError> {
        let (ptr, len) = self.raw_export(obj, PYBUF_STRIDES)?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: a successful, still-held, C-contiguous export of `len` bytes
        // starting at `ptr` (non-null); the export outlives the returned
        // borrow of `self` (it is released only in Drop).
        Ok(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
    }

    /// Export `obj`'s buffer for writing (an output buffer) and return it.
    ///
    /// `avoid` is the input of the same call: an output that overlaps it is
    /// refused (the module would read what it is overwriting, and Rust would
    /// hold a `&[u8]` and a `&mut [u8]` over the same bytes).
    pub(crate) fn export_mut(
        &mut self,
        obj: &Bound<'py, PyAny>,
        avoid: &[u8],
    ) -> Result<&mut [u8], BufferError> {
        let (ptr, len) = self.raw_export(obj, PYBUF_STRIDES | PYBUF_WRITABLE)?;
        if len == 0 {
            return Ok(&mut []);
        }
        let start = ptr as usize;
        let end = start + len;
        let a_start = avoid.as_ptr() as usize;
        let a_end = a_start + avoid.len();
        if !avoid.is_empty() && start < a_end && a_start < end {
            return Err(BufferError::Overlaps);
        }
        // SAFETY: a successful, still-held, writable, C-contiguous export of
        // `len` bytes at `ptr` (non-null) that does not overlap the input
        // (checked above), so this is the only Rust reference to those bytes;
        // the export outlives the borrow of `self`.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) })
    }

    fn raw_export(
        &mut self,
        obj: &Bound<'py, PyAny>,
        flags: c_int,
    ) -> Result<(*mut c_void, usize), BufferError> {
        if self.exported {
            return Err(BufferError::Export(PyTypeError::new_err(
                "buffer slot already in use",
            )));
        }
        // SAFETY: we hold the GIL (`obj` is a Bound<'py>); `obj.as_ptr()` is a
        // live object; `self.view` is writable memory laid out as Py_buffer,
        // which does not move until it is released in Drop (the slices the
        // callers return borrow `self`).
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut self.view, flags) };
        if rc != 0 {
            let err = PyErr::take(obj.py()).unwrap_or_else(|| {
                PyTypeError::new_err("object does not support the buffer protocol")
            });
            return Err(BufferError::Export(err));
        }
        self.exported = true;
        if self.view.len < 0 {
            return Err(BufferError::BadLength);
        }
        // SAFETY: `view` is a successful export that we still hold.
        if unsafe { PyBuffer_IsContiguous(&self.view, b'C' as c_char) } == 0 {
            return Err(BufferError::NotContiguous);
        }
        let len = self.view.len as usize; // >= 0, checked above
        if len == 0 || self.view.buf.is_null() {
            return Ok((std::ptr::null_mut(), 0));
        }
        Ok((self.view.buf, len))
    }
}

impl Drop for InputBuffer<'_> {
    fn drop(&mut self) {
        if !self.exported {
            return;
        }
        // SAFETY: `view` holds a successful export that was not released yet;
        // the `'py` lifetime (and !Send) mean the GIL is held on this thread.
        unsafe { PyBuffer_Release(&mut self.view) };
    }
}
