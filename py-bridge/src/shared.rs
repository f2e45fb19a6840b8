//! `bridgehost.SharedBuffer`: the core's `SharedBuffer` (memory an isolated
//! worker reads in place), for Python.
//!
//! The rule Python adds to Rust's borrow checker — **nothing changes the
//! bytes under a call** — is the core's `GuardedSharedBuffer`: a call
//! begins a `CallLease` ([`crate::buffer::InputBuffer::export`]) before it
//! may release the GIL and ends it when its slot drops, after the call; a
//! write (`buf[i:j] = data`, `buf[i] = n`) is the core's `write_at`,
//! refused with `Error::Unavailable` while a lease lives, which this bridge
//! raises as `BufferError`. Reads (`buf[i]`, `buf[i:j]`, `bytes(buf)`) are
//! the core's `read_at`, beside calls. So the bytes a call reads cannot
//! change during the call, which is what lets it run with the GIL released
//! without a copy. There is no buffer-protocol export (the extension is
//! built for the stable ABI of 3.9, which has no `bf_getbuffer`), so no
//! `memoryview` can write it behind the core's count.
//!
//! **Close** (`close()`, the end of a `with` block) is Java's `close()` and
//! C#'s `Dispose()`: idempotent, it returns at once and drops this object's
//! `Arc` of the buffer. A call reading the buffer holds its own `Arc` (its
//! `CallLease`), so it finishes with the bytes it reads and the memory is
//! freed when the last such call returns; never under a call. Every later
//! use (read, write, a call given it) is `ClosedError`; `len(buf)` still
//! answers, as Java's `length()` and C#'s `Length` do.
#![forbid(unsafe_code)]

use crate::errors::{self, IntoPy};
use bridgehost::internal::sync::Mutex;
use bridgehost::{GuardedSharedBuffer, RequestedLen};
use pyo3::exceptions::{PyBufferError, PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PySlice, PyTuple};
use std::sync::Arc;

/// Memory you write and isolated workers read in place (docs/PYTHON.md).
#[pyclass(name = "SharedBuffer", module = "bridgehost._native", frozen)]
pub(crate) struct PySharedBuffer {
    /// The buffer and the core's count of the calls reading it; the only
    /// way this bridge writes the bytes is its `write_at`. `None` once
    /// closed. The lock is held only to clone or take the `Arc` (no Python
    /// code, no wait under it).
    lent: Mutex<Option<Arc<GuardedSharedBuffer>>>,
    /// Its length in bytes (fixed; still answers after close).
    len: usize,
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
    /// The buffer (a new `Arc`: it stays alive for as long as the caller
    /// holds it, a `close()` meanwhile notwithstanding), or the core's
    /// `Closed` error once closed ("closed: shared buffer is closed", as in
    /// Java).
    pub(crate) fn lent(&self) -> Result<Arc<GuardedSharedBuffer>, bridgehost::Error> {
        self.lent
            .lock()
            .clone()
            .ok_or_else(|| bridgehost::Error::Closed("shared buffer is closed".into()))
    }

    /// Write `data` at `offset`: `BufferError` (nothing written) while a
    /// call reads the buffer (the core's only `Unavailable` of a write),
    /// `ClosedError` once closed.
    fn write(&self, py: Python<'_>, offset: usize, data: &[u8]) -> PyResult<()> {
        match self.lent().py_err(py)?.write_at(offset, data) {
            Err(bridgehost::Error::Unavailable(msg)) => Err(PyBufferError::new_err(msg)),
            r => r.py_err(py),
        }
    }

    /// A copy of `len` bytes at `offset` (no Python code runs while the
    /// core's lock is held: the `bytes` object exists first).
    fn copy<'py>(
        &self,
        py: Python<'py>,
        offset: usize,
        len: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let lent = self.lent().py_err(py)?;
        PyBytes::new_with(py, len, |dst| lent.read_at(offset, dst).py_err(py))
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
            // The core's rule judges the length as the caller wrote it: a negative int, or
            // one beyond `usize` (2**64), is named in its refusal as given.
            let shown;
            let requested = match length.extract::<usize>() {
                Ok(n) => RequestedLen::Size(n),
                Err(_) => {
                    shown = length.str()?.to_string();
                    if length.lt(0)? {
                        RequestedLen::Negative(&shown)
                    } else {
                        RequestedLen::TooLarge(&shown)
                    }
                }
            };
            let len = bridgehost::SharedBuffer::check_len(requested).py_err(py)?;
            let buf = py
                .detach(|| bridgehost::SharedBuffer::new(len))
                .py_err(py)?;
            Ok(PySharedBuffer {
                lent: Mutex::new(Some(Arc::new(GuardedSharedBuffer::new(buf)))),
                len,
            })
        })
    }

    /// Its length in bytes (fixed; still answers after ``close()``, as
    /// Java's ``length()`` and C#'s ``Length``).
    fn __len__(&self) -> usize {
        self.len
    }

    /// `buf[i]` is an int, `buf[i:j]` a new `bytes` (a copy).
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Ok(match range(key, self.len)? {
            Range::One(i) => {
                let mut byte = [0];
                self.lent().py_err(py)?.read_at(i, &mut byte).py_err(py)?;
                byte[0].into_pyobject(py)?.into_any().unbind()
            }
            Range::Span(a, b) => self.copy(py, a, b - a)?.into_any().unbind(),
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
        match range(key, this.len)? {
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
                this.write(py, i, &[v])
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
                this.write(py, a, data)
            }
        }
    }

    /// A copy of every byte.
    fn __bytes__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.copy(py, 0, self.len)
    }

    /// Free the memory (idempotent; a worker that held it lets it go at its
    /// next call). Returns at once: a call reading the buffer now finishes
    /// with it, and the memory is freed when the last such call returns.
    /// Every later use (read, write, a call given it) raises
    /// ``ClosedError``; ``len(buf)`` still answers.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        errors::guard(py, || {
            let lent = self.lent.lock().take();
            if let Some(lent) = lent {
                // Unmapping a large buffer takes a while: without the GIL.
                py.detach(move || drop(lent));
            }
            Ok(())
        })
    }

    /// True once ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.lent.lock().is_none()
    }

    /// ``with SharedBuffer(n) as buf:`` closes it on exit, like Java's
    /// ``try``-with-resources and C#'s ``using``.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py) // returns None: exceptions propagate
    }

    fn __repr__(&self) -> String {
        if self.closed() {
            format!("SharedBuffer({} bytes, closed)", self.len)
        } else {
            format!("SharedBuffer({} bytes)", self.len)
        }
    }
}
