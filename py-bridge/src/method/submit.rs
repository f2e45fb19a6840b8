//! ``Method.submit`` / ``submit_async`` and the typed submits: the futures they return, the
//! completion delivered to them, and the handle that cancels the call.
#![forbid(unsafe_code)]

use super::{to_bytes, Method};
use crate::errors::to_pyerr;
use crate::runtime;
use bridgehost::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;
use std::sync::atomic::Ordering;

struct Helpers {
    future_cls: Py<PyAny>,
    /// The futures of a typed result holding owned handles (typed/owned.rs).
    owning_future_cls: Py<PyAny>,
    owned_future_cls: Py<PyAny>,
    complete: Py<PyAny>,
    complete_async: Py<PyAny>,
    get_running_loop: Py<PyAny>,
}

static HELPERS: PyOnceLock<Helpers> = PyOnceLock::new();

fn helpers(py: Python<'_>) -> PyResult<&Helpers> {
    HELPERS.get_or_try_init(py, || {
        let f = py.import("bridgehost._futures")?;
        Ok(Helpers {
            future_cls: f.getattr("SubmitFuture")?.unbind(),
            owning_future_cls: f.getattr("OwningSubmitFuture")?.unbind(),
            owned_future_cls: f.getattr("OwnedFuture")?.unbind(),
            complete: f.getattr("_complete")?.unbind(),
            complete_async: f.getattr("_complete_async")?.unbind(),
            get_running_loop: py.import("asyncio")?.getattr("get_running_loop")?.unbind(),
        })
    })
}

/// A completion's `(value, exception)`: exactly one is `Some`.
type Outcome<'py> = (Option<Bound<'py, PyBytes>>, Option<Bound<'py, PyAny>>);

/// `(value, exception)` for a completion.
fn outcome<'py>(py: Python<'py>, r: Result<Vec<u8>, Error>) -> PyResult<Outcome<'py>> {
    Ok(match r {
        Ok(v) => (Some(to_bytes(py, &v)?), None),
        Err(e) => (
            None,
            Some(to_pyerr(py, &e).into_value(py).into_bound(py).into_any()),
        ),
    })
}

/// `(value, exception, owned)` of a completion built by a typed call
/// (typed/function.rs): `owned` is the ``OwnedHandles`` of a result holding
/// owned handles (typed/owned.rs), for a future made with `owned` set.
pub(crate) type PyOutcome<'py> = (
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
);

impl Method {
    /// Submit `input` and ignore the outcome, a refusal included (the drop of
    /// an owned handle nobody received: typed/owned.rs). No GIL needed.
    pub(crate) fn submit_ignored(&self, input: Vec<u8>) {
        if self.closed.load(Ordering::Relaxed) || self.inner.stale() {
            return;
        }
        let _ = self.inner.submit(input, |_| {});
    }

    /// ``submit`` / ``submit_async`` (of bytes, or of a typed call from
    /// typed/function.rs): `prepare` runs on the pool thread without the GIL
    /// (decoding), `finish` with the GIL to build the future's value or
    /// exception.
    ///
    /// A submit the host refuses (this method, its module or its host closed:
    /// `ClosedError`; the submit queue full: `OverloadedError`) is not raised:
    /// the future is returned already failed with it, like every other failure
    /// of the call (a `max_input` refusal, a module error), as Java's failed
    /// future and .NET's faulted task. Only errors of the caller's own making
    /// raise: an unusable argument (checked before this) and, for
    /// ``submit_async``, no running event loop (`RuntimeError`).
    pub(crate) fn submit_with<'py, T, P, F>(
        &self,
        py: Python<'py>,
        input: Result<Vec<u8>, Error>,
        is_async: bool,
        owned: bool,
        prepare: P,
        finish: F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        T: Send + 'static,
        P: FnOnce(Result<Vec<u8>, Error>) -> T + Send + 'static,
        F: for<'a> FnOnce(Python<'a>, T) -> PyResult<PyOutcome<'a>> + Send + 'static,
    {
        let h = helpers(py)?;
        let method: &bridgehost::Method = &self.inner;
        if !is_async {
            let cls = if owned {
                &h.owning_future_cls
            } else {
                &h.future_cls
            };
            let fut = cls.bind(py).call0()?;
            if let Err(refused) = self.check(py) {
                return rejected(py, fut, refused);
            }
            let input = match input {
                Ok(v) => v,
                Err(e) => return rejected(py, fut, to_pyerr(py, &e)),
            };
            let target: Py<PyAny> = fut.clone().unbind();
            let done = move |r: Result<Vec<u8>, Error>| {
                let t = prepare(r);
                runtime::deliver(|py| {
                    let res = helpers(py).and_then(|h| {
                        let (value, exc, owned) = finish(py, t)?;
                        h.complete
                            .bind(py)
                            .call1((target.bind(py), value, exc, owned))
                    });
                    if let Err(e) = res {
                        e.write_unraisable(py, Some(target.bind(py)));
                    }
                    drop(target);
                });
            };
            return match method.submit(input, done) {
                Ok(handle) => {
                    fut.setattr("_bh_handle", SubmitHandle { inner: handle })?;
                    Ok(fut)
                }
                Err(e) => rejected(py, fut, to_pyerr(py, &e)),
            };
        }
        let event_loop = h.get_running_loop.bind(py).call0()?;
        let afut = if owned {
            let kw = pyo3::types::PyDict::new(py);
            kw.set_item("loop", &event_loop)?;
            h.owned_future_cls.bind(py).call((), Some(&kw))?
        } else {
            event_loop.call_method0("create_future")?
        };
        if let Err(refused) = self.check(py) {
            return rejected(py, afut, refused);
        }
        let input = match input {
            Ok(v) => v,
            Err(e) => return rejected(py, afut, to_pyerr(py, &e)),
        };
        let target: Py<PyAny> = afut.clone().unbind();
        let event_loop: Py<PyAny> = event_loop.unbind();
        let done = move |r: Result<Vec<u8>, Error>| {
            let t = prepare(r);
            runtime::deliver(|py| {
                let res = helpers(py).and_then(|h| {
                    let (value, exc, owned) = finish(py, t)?;
                    h.complete_async.bind(py).call1((
                        event_loop.bind(py),
                        target.bind(py),
                        value,
                        exc,
                        owned,
                    ))
                });
                if let Err(e) = res {
                    e.write_unraisable(py, Some(target.bind(py)));
                }
                drop(target);
                drop(event_loop);
            });
        };
        let handle = match method.submit(input, done) {
            Ok(handle) => Bound::new(py, SubmitHandle { inner: handle })?,
            Err(e) => return rejected(py, afut, to_pyerr(py, &e)),
        };
        afut.call_method1("add_done_callback", (handle.getattr("_on_future_done")?,))?;
        Ok(afut)
    }
}

/// `fut` (a fresh ``SubmitFuture`` or ``asyncio.Future``) failed with the
/// host's refusal of the submit. Set here, on the submitting thread: an
/// ``asyncio.Future`` is created on its loop's thread, which this is.
fn rejected<'py>(
    py: Python<'py>,
    fut: Bound<'py, PyAny>,
    refused: PyErr,
) -> PyResult<Bound<'py, PyAny>> {
    fut.call_method1("set_exception", (refused.into_value(py),))?;
    Ok(fut)
}

/// A byte call's completion: the output as ``bytes``, or the error.
pub(super) fn bytes_outcome(py: Python<'_>, r: Result<Vec<u8>, Error>) -> PyResult<PyOutcome<'_>> {
    let (value, exc) = outcome(py, r)?;
    Ok((value.map(Bound::into_any), exc, None))
}

/// Cancels a submitted call (internal; used by the futures).
#[pyclass(module = "bridgehost._native", name = "SubmitHandle", frozen)]
pub(crate) struct SubmitHandle {
    inner: bridgehost::SubmitHandle,
}

#[pymethods]
impl SubmitHandle {
    /// Cancel a call not started yet, or end a running isolated one; True
    /// when it will not complete with a result.
    fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// asyncio done-callback: propagate a cancellation to the core.
    fn _on_future_done(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            self.inner.cancel();
        }
        Ok(())
    }
}
