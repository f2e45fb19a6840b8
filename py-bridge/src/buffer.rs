//! Input from any buffer-protocol object (boundary module: `unsafe`): zero
//! copy for immutable exporters, a copy of mutable ones that never forms a
//! reference to their memory (see [`InputBuffer::export`]); output into a
//! caller's writable buffer the same way ([`OutRegion`]).
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

/// Mutable inputs up to this size are copied into the slot itself.
const INLINE: usize = 256;

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
    /// A `SharedBuffer` that was closed (the core's `Closed` error).
    Closed(bridgehost::Error),
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
    /// The copy of a mutable input of at most [`INLINE`] bytes (no
    /// allocation for the small inputs of the kept-GIL path).
    inline: [u8; INLINE],
    /// The owned copy of a larger mutable input.
    copy: Vec<u8>,
    _py: PhantomData<Python<'py>>,
}

/// Input bytes ready for a native call; see [`InputBuffer::export`].
pub(crate) struct Input<'a> {
    /// The bytes the call reads.
    pub(crate) bytes: &'a [u8],
    /// True when the call should run with the GIL released (the caller's
    /// choice, `release_gil`): the bytes cannot change meanwhile either way
    /// (immutable exporter, or our own copy).
    pub(crate) detach: bool,
    /// The bytes are the slot's own copy (a mutable exporter's).
    pub(crate) copied: bool,
    /// The exporter's memory (start, length), for [`InputBuffer::export_out`]'s
    /// overlap check (the original memory even when `bytes` is a copy).
    pub(crate) region: (usize, usize),
}

/// A caller's writable buffer, exported ([`InputBuffer::export_out`]) for
/// as long as the borrow of its slot lives: written only by [`write`](Self::write).
pub(crate) struct OutRegion<'a> {
    ptr: *mut u8,
    len: usize,
    _export: PhantomData<&'a mut InputBuffer<'a>>,
}

impl OutRegion<'_> {
    /// Copy `src` to the start of the buffer; false (nothing written) when
    /// it does not fit.
    pub(crate) fn write(&mut self, src: &[u8]) -> bool {
        if src.len() > self.len {
            return false;
        }
        if src.is_empty() {
            return true;
        }
        // SAFETY: the export of `len` writable bytes at `ptr` (non-null when
        // `len` > 0) is held while this region's borrow of its slot lives;
        // `src` (our own memory) fits and does not overlap it; the stores of
        // `copy_to_shared` are volatile and form no reference, as other
        // threads or processes may access the buffer meanwhile.
        unsafe { bridgehost::internal::copy_to_shared(self.ptr, src) };
        true
    }
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
            inline: [0; INLINE],
            copy: Vec::new(),
            _py: PhantomData,
        }
    }

    /// The input bytes of `obj` for one native call.
    ///
    /// `release_gil(len)` says whether the caller wants to run the call with
    /// the GIL released for an input of `len` bytes. A mutable exporter
    /// (bytearray, writable memoryview, numpy array, mmap) can be written
    /// while Rust would hold a `&[u8]` over it — a data race, undefined
    /// behaviour however the module reads it — and holding the GIL does not
    /// prevent it: numpy writes large arrays with the GIL released, a C
    /// extension's thread may write without it, another process may write a
    /// shared mapping. So:
    ///
    /// * an exact `bytes` is read in place without an export, and an
    ///   immutable exporter (see [`immutable`]) is read in place through its
    ///   export: zero copy;
    /// * a mutable exporter is copied into the slot, with volatile loads and
    ///   never through a reference (`bridgehost::internal::copy_from_shared`),
    ///   and the call reads the copy: a write during the copy leaves each
    ///   byte old or new, never undefined behaviour of ours.
    ///
    /// `detach` is `release_gil(len)`. The export is held (so a `bytearray`
    /// cannot be resized) until the slot drops, after the call.
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
                copied: false,
                region,
            });
        }
        if let Ok(sb) = obj.cast::<PySharedBuffer>() {
            // Counted as a call by the core before the GIL may be released:
            // no write can change the bytes until the slot drops. A closed
            // buffer is the core's `Closed` error.
            let lent = sb.get().lent().map_err(BufferError::Closed)?;
            self.shared = Some(lent.begin_call());
            let len = lent.len();
            let ptr = lent.read(bridgehost::internal::shared_buffer_ptr);
            // SAFETY: the buffer's mapping of `len` bytes at `ptr` (the
            // mapping's own address, stable for its life) lives as long as
            // its `GuardedSharedBuffer`, which the lease in `self.shared`
            // keeps alive (an `Arc` of its own) until the slot drops, after
            // the call: a `close()` of the Python object meanwhile only drops
            // the object's `Arc` (shared.rs), never the memory under a call.
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
                copied: false,
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
                copied: false,
                region,
            });
        }
        if !immutable(obj) {
            if len <= INLINE {
                // SAFETY: a successful, still-held, C-contiguous export of
                // `len` bytes at `ptr` (non-null), read only by the volatile
                // loads of `copy_from_shared` (never through a reference),
                // into the slot's own `inline` bytes (at least `len` of them:
                // `len <= INLINE`; private, not overlapping the export).
                unsafe {
                    bridgehost::internal::copy_from_shared(
                        self.inline.as_mut_ptr(),
                        ptr as *const u8,
                        len,
                    );
                }
                return Ok(Input {
                    bytes: &self.inline[..len],
                    detach,
                    copied: true,
                    region,
                });
            }
            self.copy.clear();
            self.copy.reserve_exact(len);
            // SAFETY: a successful, still-held, C-contiguous export of `len`
            // bytes at `ptr` (non-null), read only by the volatile loads of
            // `copy_from_shared` (never through a reference), into the
            // `len` bytes of spare capacity reserved above (private memory,
            // not overlapping the export: ours, just allocated or reused).
            unsafe {
                bridgehost::internal::copy_from_shared(
                    self.copy.as_mut_ptr(),
                    ptr as *const u8,
                    len,
                );
                // The `len` bytes after 0 were written above.
                self.copy.set_len(len);
            }
            return Ok(Input {
                bytes: &self.copy,
                detach,
                copied: true,
                region,
            });
        }
        // SAFETY: a successful, still-held, C-contiguous export of `len` bytes
        // starting at `ptr` (non-null); the export outlives the returned
        // borrow of `self` (it is released only in Drop). The memory is
        // immutable (`immutable`: the bytes of a `bytes` object), so nothing
        // writes it while the borrow lives, with or without the GIL.
        let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
        Ok(Input {
            bytes,
            detach,
            copied: false,
            region,
        })
    }

    /// `obj`'s bytes as an owned `Vec` (a `submit` input, or `config`).
    /// Large immutable inputs are copied with the GIL released; mutable ones
    /// are the slot's own copy (see [`InputBuffer::export`]), taken as is.
    pub(crate) fn export_owned(
        &mut self,
        obj: &Bound<'py, PyAny>,
        large: usize,
    ) -> Result<Vec<u8>, BufferError> {
        let py = obj.py();
        let input = self.export(obj, |len| len > large)?;
        if input.copied {
            if input.bytes.len() <= INLINE {
                return Ok(input.bytes.to_vec());
            }
            return Ok(std::mem::take(&mut self.copy));
        }
        let (bytes, detach) = (input.bytes, input.detach);
        Ok(if detach {
            py.detach(|| bytes.to_vec())
        } else {
            bytes.to_vec()
        })
    }

    /// Export `obj`'s buffer for writing (an output buffer) and return its
    /// memory as a region the output is copied into ([`OutRegion::write`]).
    ///
    /// `avoid` is the region of the same call's input export
    /// ([`Input::region`]): an output that overlaps it is refused (the
    /// module would read what it is overwriting).
    ///
    /// No Rust reference to the memory is formed: another thread (a numpy
    /// write with the GIL released) or process may access it at any time, so
    /// the module writes into a buffer of ours and the output is copied in
    /// with volatile stores.
    pub(crate) fn export_out(
        &mut self,
        obj: &Bound<'py, PyAny>,
        avoid: (usize, usize),
    ) -> Result<OutRegion<'_>, BufferError> {
        let (ptr, len) = self.raw_export(obj, PYBUF_STRIDES | PYBUF_WRITABLE)?;
        if len != 0 {
            let start = ptr as usize;
            let end = start + len;
            let (a_start, a_len) = avoid;
            let a_end = a_start + a_len;
            if a_len != 0 && start < a_end && a_start < end {
                return Err(BufferError::Overlaps);
            }
        }
        Ok(OutRegion {
            ptr: ptr as *mut u8,
            len,
            _export: PhantomData,
        })
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
