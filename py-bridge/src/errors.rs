//! Core errors → Python exceptions, and the panic boundary of every entry point.
//!
//! The exception classes live in `bridgehost/errors.py` (they need multiple
//! inheritance from builtins: `InvalidArgumentError(BridgeHostError,
//! ValueError)`, `TimeoutError(BridgeHostError, builtins.TimeoutError)`...).
//! The bridge looks the factory `bridgehost.errors._from_native` up once and
//! calls it with the core's stable `(kind code, message, detail)` triple, so
//! the mapping from kind to class is written exactly once, in Python.
#![forbid(unsafe_code)]

use bridgehost::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::panic::{catch_unwind, AssertUnwindSafe};

static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for a core error.
pub(crate) fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    make(py, e.kind(), &e.to_string(), e.detail_code())
}

/// The Python exception of `kind` with `message`.
pub(crate) fn make(py: Python<'_>, kind: ErrorKind, message: &str, detail: i64) -> PyErr {
    let built = FACTORY
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py
                .import("bridgehost.errors")?
                .getattr("_from_native")?
                .unbind())
        })
        .and_then(|f| f.bind(py).call1((kind.code(), message, detail)));
    match built {
        Ok(exc) => PyErr::from_value(exc),
        // The package is broken (errors.py missing): say so rather than
        // losing the original error.
        Err(import_err) => import_err,
    }
}

/// `InvalidArgumentError` for a mistake the bridge finds itself, in the
/// core's words for the kind ("invalid argument: {message}", as every core
/// refusal of that kind reads).
pub(crate) fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_pyerr(py, &Error::InvalidArgument(message.into()))
}

/// Convert a core result.
pub(crate) trait IntoPy<T> {
    /// Map the error to its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, &e))
    }
}

/// The panic boundary around every method body: a Rust panic becomes
/// `bridgehost.InternalError` (an `Exception`), never PyO3's
/// `PanicException` (a `BaseException` that `except Exception` misses).
#[inline]
pub(crate) fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(to_pyerr(py, &Error::from_panic(&*payload))),
    }
}
