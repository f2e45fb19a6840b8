//! `bridgehost.SharedBuffer`: the core's `SharedBuffer` (memory an isolated
//! worker reads in place), for Python.
//!
//! Python code writes it only through `buf[i:j] = data` and `buf[i] = n`,
//! with the GIL held, and only while no call reads it (`readers` is 0); a
//! call counts itself in `readers` (with the GIL) before it releases the GIL
//! and out after it re-took it ([`crate::buffer::InputBuffer`]). So the
//! bytes a call reads cannot change during the call, which is what lets it
//! run with the GIL released without a copy. There is no buffer-protocol
//! export (the extension is built for the stable ABI of 3.9, which has no
//! `bf_getbuffer`), so no `memoryview` can write it behind that count.
#![forbid(unsafe_code)]

use crate::errors::{self, IntoPy};
use pyo3::exceptions::{PyBufferError, PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PySlice};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Memory you write and isolated workers read in place (docs/PYTHON.md).
#[pyclass(name = "SharedBuffer", module = "bridgehost._native", frozen)]
pub(crate) struct PySharedBuffer {
    pub(crate) buf: bridgehost::SharedBuffer,
    /// Calls reading it now (changed with the GIL held).
    pub(crate) readers: AtomicUsize,
}

/// A resolved index or slice of a buffer of `len` bytes: `start..stop`.
enum Range {
    One(usize),
    Span(usize, usize),
}

fn range(key: &Bound<'_, PyAny>, len: usize) -> PyResult<Range> {
    if let Ok(slice) = key.cast::<PySlice>() {
        let ix = slice.indices(isize::try_from(len).unwrap_or(isize::MAX))?;
        if ix.step != 1 {
            return Err(PyIndexError::new_err(
                "a SharedBuffer slice has a step of 1",
            ));
        }
        // indices() clamps start and stop to 0..=len.
        let start = usize::try_from(ix.start).unwrap_or(0);
        let stop = usize::try_from(ix.stop).unwrap_or(0).max(start);
        return Ok(Range::Span(start, stop));
    }
    if !key.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(
            "SharedBuffer indices are integers or slices",
        ));
    }
    let Ok(i) = key.extract::<isize>() else {
        return Err(PyIndexError::new_err(format!(
            "index {key} out of range for {len} bytes"
        )));
    };
    let at = if i < 0 {
        len.checked_sub(i.unsigned_abs())
    } else {
        Some(i.unsigned_abs()).filter(|&i| i < len)
    };
    at.map(Range::One)
        .ok_or_else(|| PyIndexError::new_err(format!("index {i} out of range for {len} bytes")))
}

impl PySharedBuffer {
    /// The bytes, for writing: refused while a call reads them. `_gil`
    /// proves the GIL is held, so no call can start meanwhile.
    fn write(&self, _gil: Python<'_>, f: impl FnOnce(&mut [u8]) -> PyResult<()>) -> PyResult<()> {
        if self.readers.load(Ordering::SeqCst) != 0 {
            return Err(PyBufferError::new_err(
                "a call is reading this SharedBuffer: write it after the call returns",
            ));
        }
        crate::buffer::with_shared_bytes_mut(&self.buf, f)
    }
}

#[pymethods]
impl PySharedBuffer {
    /// A buffer of `length` (> 0) zero bytes.
    #[new]
    fn new(py: Python<'_>, length: &Bound<'_, PyAny>) -> PyResult<Self> {
        errors::guard(py, || {
            if !length.is_instance_of::<PyInt>() {
                return Err(PyTypeError::new_err(format!(
                    "a SharedBuffer's length is an int, not {}",
                    length.get_type().name()?
                )));
            }
            let len = match length.extract::<i64>() {
                Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                // More than any machine holds: the core refuses it by its rule.
                Err(_) if !length.lt(0)? => usize::MAX,
                _ => {
                    return Err(errors::invalid(
                        py,
                        format!(
                            "a shared buffer of {length} bytes: give it a length of at least 1"
                        ),
                    ))
                }
            };
            let buf = py
                .detach(|| bridgehost::SharedBuffer::new(len))
                .py_err(py)?;
            Ok(PySharedBuffer {
                buf,
                readers: AtomicUsize::new(0),
            })
        })
    }

    fn __len__(&self) -> usize {
        self.buf.len()
    }

    /// `buf[i]` is an int, `buf[i:j]` a new `bytes` (a copy).
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Ok(match range(key, self.buf.len())? {
            Range::One(i) => self.buf[i].into_pyobject(py)?.into_any().unbind(),
            Range::Span(a, b) => PyBytes::new(py, &self.buf[a..b]).into_any().unbind(),
        })
    }

    /// `buf[i] = n` (0..=255) or `buf[i:j] = data` (any bytes-like object of
    /// exactly `j - i` bytes). `BufferError` while a call reads the buffer.
    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        if value.is(slf) {
            return Err(PyBufferError::new_err(
                "a SharedBuffer cannot be assigned from itself: assign a copy, e.g. bytes(buf[i:j])",
            ));
        }
        match range(key, this.buf.len())? {
            Range::One(i) => {
                if !value.is_instance_of::<PyInt>() {
                    return Err(PyTypeError::new_err(format!(
                        "a SharedBuffer byte is an int, not {}",
                        value.get_type().name()?
                    )));
                }
                let v: u8 = value.extract().map_err(|_| {
                    errors::invalid(
                        py,
                        format!("a SharedBuffer byte is in 0..=255, not {value}"),
                    )
                })?;
                this.write(py, |b| {
                    b[i] = v;
                    Ok(())
                })
            }
            Range::Span(a, b) => {
                let mut slot = crate::buffer::InputBuffer::new(py);
                let data = slot
                    .export(value, |_| false)
                    .map_err(|e| crate::method::buffer_error(py, "the value", e))?
                    .bytes;
                if data.len() != b - a {
                    return Err(errors::invalid(
                        py,
                        format!(
                            "{} bytes cannot replace the {} bytes of buf[{a}:{b}] (a SharedBuffer's length is fixed)",
                            data.len(),
                            b - a
                        ),
                    ));
                }
                this.write(py, |dst| {
                    dst[a..b].copy_from_slice(data);
                    Ok(())
                })
            }
        }
    }

    /// A copy of every byte.
    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.buf)
    }

    fn __repr__(&self) -> String {
        format!("SharedBuffer({} bytes)", self.buf.len())
    }
}
