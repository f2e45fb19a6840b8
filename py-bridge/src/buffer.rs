//! Input from any buffer-protocol object (boundary module: `unsafe`): zero
//! copy for immutable exporters, a copy of mutable ones before the GIL is
//! released (see [`InputBuffer::export`]).
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
//! declaration mirrors `Include/pybuffer.h`; `python/tests/test_calls.py` and
//! `test_idioms.py` check the fields we read (length, contiguity via strides,
//! format) against numpy arrays of known layout on every interpreter the
//! wheel is tested on.
#![allow(unsafe_code)]

use pyo3::exceptions::PyTypeError;
use pyo3::ffi::{PyObject, Py_ssize_t};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMemoryView};
use std::ffi::{c_char, c_int, c_void};
use std::marker::PhantomData;

use crate::shared::PySharedBuffer;

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

/// `PyBUF_ND | PyBUF_STRIDES | PyBUF_FORMAT`: the exporter fills shape and
/// strides, so a non-contiguous exporter (a sliced numpy array or memoryview)
/// still exports and we can reject it with a clear error, and its item format,
/// so a buffer of Python object pointers can be refused; read-only is enough.
const PYBUF_STRIDES: c_int = 0x0010 | 0x0008 | 0x0004;
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
    /// A buffer of Python object pointers (format `O`, numpy `dtype=object`):
    /// its bytes are addresses, not data.
    Objects,
}

/// A slot for one buffer export, filled by [`InputBuffer::export`]. It lives
/// on the caller's stack and cannot move while exported (the returned slice
/// borrows it), and it is not `Send`: it is released on the thread (and with
/// the GIL) that acquired it, after the native call returned.
pub(crate) struct InputBuffer<'py> {
    view: RawBuffer,
    exported: bool,
    /// The core's count of this call on a `SharedBuffer` it reads (writes
    /// are refused until the slot drops); its `Arc` keeps the memory.
    shared: Option<bridgehost::CallLease>,
    /// The owned copy of a mutable input read with the GIL released.
    copy: Vec<u8>,
    _py: PhantomData<Python<'py>>,
}

/// Input bytes ready for a native call; see [`InputBuffer::export`].
pub(crate) struct Input<'a> {
    /// The bytes the call reads.
    pub(crate) bytes: &'a [u8],
    /// True when the call may (and so must) run with the GIL released: the
    /// bytes cannot change meanwhile (immutable exporter, or our own copy).
    pub(crate) detach: bool,
    /// The exporter's memory (start, length), for [`InputBuffer::export_mut`]'s
    /// overlap check (the original memory even when `bytes` is a copy).
    pub(crate) region: (usize, usize),
}

/// True when `obj`'s bytes can never change while we hold a reference to it:
/// an exact `bytes`, or a `memoryview` whose underlying object is an exact
/// `bytes`. The buffer's `readonly` flag alone is not enough: it forbids
/// writes through *this* export only (`memoryview(bytearray).toreadonly()`
/// and a numpy array with `writeable=False` are read-only views of memory
/// that other references still write).
pub(crate) fn immutable(obj: &Bound<'_, PyAny>) -> bool {
    if obj.is_exact_instance_of::<PyBytes>() {
        return true;
    }
    obj.is_exact_instance_of::<PyMemoryView>()
        && obj
            .getattr(intern!(obj.py(), "obj"))
            .is_ok_and(|base| base.is_exact_instance_of::<PyBytes>())
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
            shared: None,
            copy: Vec::new(),
            _py: PhantomData,
        }
    }

    /// The input bytes of `obj` for one native call.
    ///
    /// `release_gil(len)` says whether the caller wants to run the call with
    /// the GIL released for an input of `len` bytes. Then no other Python
    /// thread is stopped from writing a mutable exporter (bytearray, writable
    /// memoryview, numpy array) while Rust holds a `&[u8]` over it — a data
    /// race, undefined behaviour however the module reads it. So:
    ///
    /// * an exact `bytes` is read in place without an export, and an
    ///   immutable exporter (see [`immutable`]) is read in place through its
    ///   export: zero copy, GIL released as asked;
    /// * a mutable exporter is read in place only while the GIL stays held
    ///   (`release_gil(len)` false: no Python thread runs meanwhile);
    ///   otherwise it is copied into the slot, with the GIL held, and the
    ///   call reads the copy.
    ///
    /// The returned `detach` is true exactly when the call may release the
    /// GIL. The export is held (so a `bytearray` cannot be resized) until the
    /// slot drops, after the call.
    pub(crate) fn export<'a>(
        &'a mut self,
        obj: &'a Bound<'py, PyAny>,
        release_gil: impl FnOnce(usize) -> bool,
    ) -> Result<Input<'a>, BufferError> {
        if let Ok(b) = obj.cast_exact::<PyBytes>() {
            let bytes = b.as_bytes();
            let detach = release_gil(bytes.len());
            let region = (bytes.as_ptr() as usize, bytes.len());
            return Ok(Input {
                bytes,
                detach,
                region,
            });
        }
        if let Ok(sb) = obj.cast::<PySharedBuffer>() {
            // Counted as a call by the core before the GIL may be released:
            // no write can change the bytes until the slot drops.
            let lent = &sb.get().lent;
            self.shared = Some(lent.begin_call());
            let len = lent.len();
            let ptr = lent.read(bridgehost::internal::shared_buffer_ptr);
            // SAFETY: the buffer's mapping of `len` bytes at `ptr` (the
            // mapping's own address, stable for its life) lives as long as
            // its `GuardedSharedBuffer`, which the lease in `self.shared`
            // keeps alive (an `Arc`) until the slot drops, after the call.
            // The bytes do not change while this borrow lives, with or
            // without the GIL: the core writes them only in `write_at` /
            // `write_with`, which it refuses while a lease lives (and a lease
            // never begins in the middle of a write); the core hands out no
            // other `&mut` to them; this bridge holds the buffer only as a
            // `GuardedSharedBuffer` and has no buffer-protocol export; and no
            // other process can write them (the core seals the memfd). The
            // core's own borrows of them (copies out) are shared, like this one.
            let bytes = unsafe { std::slice::from_raw_parts(ptr.cast_const(), len) };
            let detach = release_gil(len);
            return Ok(Input {
                bytes,
                detach,
                region: (ptr as usize, len),
            });
        }
        let (ptr, len) = self.raw_export(obj, PYBUF_STRIDES)?;
        let detach = release_gil(len);
        let region = (ptr as usize, len);
        if len == 0 {
            return Ok(Input {
                bytes: &[],
                detach,
                region,
            });
        }
        if detach && !immutable(obj) {
            // SAFETY: a successful, still-held, C-contiguous export of `len`
            // bytes at `ptr` (non-null). We hold the GIL (the slot is
            // `'py`), so no Python thread writes the exporter while this
            // short-lived borrow is copied; it ends before the call.
            let src = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
            self.copy.clear();
            self.copy.extend_from_slice(src);
            return Ok(Input {
                bytes: &self.copy,
                detach,
                region,
            });
        }
        // SAFETY: a successful, still-held, C-contiguous export of `len` bytes
        // starting at `ptr` (non-null); the export outlives the returned
        // borrow of `self` (it is released only in Drop). Either the memory
        // is immutable, or `detach` is false and the caller keeps the GIL for
        // the whole borrow, so no Python thread can write it meanwhile.
        let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
        Ok(Input {
            bytes,
            detach,
            region,
        })
    }

    /// `obj`'s bytes as an owned `Vec` (a `submit` input, or `config`).
    /// Large immutable inputs are copied with the GIL released; mutable ones
    /// always with the GIL held (see [`InputBuffer::export`]).
    pub(crate) fn export_owned(
        &mut self,
        obj: &Bound<'py, PyAny>,
        large: usize,
    ) -> Result<Vec<u8>, BufferError> {
        let py = obj.py();
        let input = self.export(obj, |len| len > large)?;
        Ok(if input.detach {
            let bytes = input.bytes;
            py.detach(|| bytes.to_vec())
        } else {
            input.bytes.to_vec()
        })
    }

    /// Export `obj`'s buffer for writing (an output buffer) and return it.
    ///
    /// `avoid` is the region of the same call's input export
    /// ([`Input::region`]): an output that overlaps it is refused (the
    /// module would read what it is overwriting, and Rust would hold a
    /// `&[u8]` and a `&mut [u8]` over the same bytes).
    ///
    /// The returned slice may only be used while the GIL is held: another
    /// Python thread can read or write the exporter as soon as it is
    /// released (callers that release the GIL write into their own buffer
    /// and copy into this one afterwards).
    pub(crate) fn export_mut(
        &mut self,
        obj: &Bound<'py, PyAny>,
        avoid: (usize, usize),
    ) -> Result<&mut [u8], BufferError> {
        let (ptr, len) = self.raw_export(obj, PYBUF_STRIDES | PYBUF_WRITABLE)?;
        if len == 0 {
            return Ok(&mut []);
        }
        let start = ptr as usize;
        let end = start + len;
        let (a_start, a_len) = avoid;
        let a_end = a_start + a_len;
        if a_len != 0 && start < a_end && a_start < end {
            return Err(BufferError::Overlaps);
        }
        // SAFETY: a successful, still-held, writable, C-contiguous export of
        // `len` bytes at `ptr` (non-null) that does not overlap the input
        // (checked above), so this is the only Rust reference to those bytes;
        // the export outlives the borrow of `self`; callers use it with the
        // GIL held (see above), so no Python thread accesses it meanwhile.
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
        if !self.view.format.is_null() {
            // SAFETY: a non-null `format` of a held export is a NUL-terminated
            // struct-module format string owned by the exporter, valid until
            // the export is released (in Drop).
            let format = unsafe { std::ffi::CStr::from_ptr(self.view.format) };
            if format.to_bytes().contains(&b'O') {
                return Err(BufferError::Objects);
            }
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
        // Ends this call's count on a `SharedBuffer` (after the call).
        drop(self.shared.take());
        if !self.exported {
            return;
        }
        // SAFETY: `view` holds a successful export that was not released yet;
        // the `'py` lifetime (and !Send) mean the GIL is held on this thread.
        unsafe { PyBuffer_Release(&mut self.view) };
    }
}
