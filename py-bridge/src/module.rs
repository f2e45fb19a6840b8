//! `bridgehost.Module` and `bridgehost.Subscription`.
#![forbid(unsafe_code)]

use crate::errors::{guard, IntoPy};
use crate::host::Host;
use crate::method::Method;
use crate::options;
use crate::release::DropDetached;
use crate::runtime;
use bridgehost::internal::sync::Mutex;
use bridgehost::options::Span;
use bridgehost::Event;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use std::sync::Arc;

/// A coroutine of `bridgehost._futures` (`_aclose`, `_aenter`) applied to
/// `obj`, for ``async with`` and ``aclose()``.
pub(crate) fn coroutine<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    obj.py()
        .import("bridgehost._futures")?
        .getattr(name)?
        .call1((obj,))
}

/// A subscription's core handle, shared by the `Subscription` object and its
/// module (so a subscription stays active until it is unsubscribed or its
/// module closes, even when the Python handle is dropped).
pub(crate) struct SubSlot {
    sub: Mutex<Option<bridgehost::Subscription>>,
    generation: u64,
}

impl SubSlot {
    /// Unsubscribe (GIL released: waits for a delivery in progress, which may
    /// be waiting for the GIL). Idempotent.
    fn unsubscribe(&self, py: Python<'_>) {
        if self.stale() {
            return; // the parent's subscription in a forked child
        }
        let sub = self.sub.lock().take();
        if let Some(sub) = sub {
            py.detach(move || drop(sub));
        }
    }

    fn is_active(&self) -> bool {
        !self.stale() && self.sub.lock().as_ref().is_some_and(|s| s.is_active())
    }

    fn stale(&self) -> bool {
        self.generation != runtime::fork_generation()
    }
}

/// An open module.
///
/// Resolve methods once with ``method(name)``; subscribe to its events with
/// ``subscribe(topic, callback)``. Closing (``close()``, the ``with`` block,
/// or closing its host) is idempotent and waits for calls in flight; later
/// calls raise ``ClosedError``.
#[pyclass(module = "bridgehost", name = "Module", frozen, weakref)]
pub(crate) struct Module {
    pub(crate) inner: DropDetached<bridgehost::Module>,
    /// Keeps the Python host (and so the core host) alive while the module is.
    host: Py<Host>,
    subs: DropDetached<Mutex<Vec<Arc<SubSlot>>>>,
}

impl Module {
    pub(crate) fn new(inner: bridgehost::Module, host: Py<Host>) -> Self {
        Module {
            inner: DropDetached::new(inner),
            host,
            subs: DropDetached::new(Mutex::new(Vec::new())),
        }
    }
}

#[pymethods]
impl Module {
    /// Resolve a method by name, once (``NotFoundError`` if it does not exist).
    fn method(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<Py<Method>> {
        let py = slf.py();
        guard(py, || {
            let name = crate::options::utf8(py, "name", name)?;
            slf.get().inner.check(py)?;
            let m = slf.get().inner.method(&name).py_err(py)?;
            crate::vectorcall::new_method(py, Method::new(m, slf.clone().unbind()))
        })
    }

    /// The typed view of the module's interface (``bridgehost.typed``):
    /// its functions as attributes. ``InvalidArgumentError`` for a module
    /// without an interface.
    ///
    /// ``records`` binds classes to record types by WIT name: results
    /// build them (``cls(*fields)``, fields in declaration order) and
    /// arguments accept their instances; other records get the view's
    /// dataclasses. ``enums``, ``flags`` and ``variants`` bind classes to
    /// those types for results (docs/TYPED.md, "Python: the typed view").
    #[pyo3(signature = (*, records = None, enums = None, flags = None, variants = None))]
    fn typed<'py>(
        slf: &Bound<'py, Self>,
        records: Option<&Bound<'py, PyAny>>,
        enums: Option<&Bound<'py, PyAny>>,
        flags: Option<&Bound<'py, PyAny>>,
        variants: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, crate::typed::TypedView>> {
        let bound = crate::typed::Bindings {
            records,
            enums,
            flags,
            variants,
        };
        guard(slf.py(), || crate::typed::view(slf, &bound))
    }

    /// Check that this module can serve bindings generated from the WIT text
    /// ``binding`` (the core's rule, docs/TYPED.md "Versioning"): nothing when it
    /// can, ``AbiMismatchError`` naming the first difference when it cannot.
    fn check_binding(slf: &Bound<'_, Self>, binding: &str) -> PyResult<()> {
        let py = slf.py();
        guard(py, || {
            slf.get().inner.check(py)?;
            slf.get().inner.check_binding(binding).py_err(py)
        })
    }

    /// Subscribe ``callback(topic: str, data: bytes)`` to events on
    /// ``topic`` (``"*"`` for every topic).
    ///
    /// The callback runs on bridgehost's dispatcher thread, holding the GIL
    /// only for the call. An exception it raises goes to
    /// ``sys.unraisablehook`` (and counts in ``callback_errors``); it never
    /// reaches native code. The subscription stays active until
    /// ``unsubscribe()`` (or the ``with`` block, or closing the module or
    /// host); after ``unsubscribe()`` returns the callback is never called
    /// again.
    fn subscribe(
        slf: &Bound<'_, Self>,
        topic: &Bound<'_, PyString>,
        callback: Bound<'_, PyAny>,
    ) -> PyResult<Subscription> {
        let py = slf.py();
        guard(py, || {
            let topic = crate::options::utf8(py, "topic", topic)?;
            let topic: &str = &topic;
            if !callback.is_callable() {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "callback must be callable",
                ));
            }
            let this = slf.get();
            this.inner.check(py)?;
            let counters = Arc::clone(this.inner.counters_ref());
            let cb: Py<PyAny> = callback.unbind();
            let deliver = move |ev: &Event| {
                runtime::deliver(|py| {
                    let cb = cb.bind(py);
                    let args = (PyString::new(py, &ev.topic), PyBytes::new(py, &ev.data));
                    if let Err(e) = cb.call1(args) {
                        counters.add_callback_error();
                        e.write_unraisable(py, Some(cb));
                    }
                });
            };
            let module: &bridgehost::Module = &this.inner;
            let sub = py
                .detach(|| module.subscribe(topic, Box::new(deliver)))
                .py_err(py)?;
            let slot = Arc::new(SubSlot {
                sub: Mutex::new(Some(sub)),
                generation: runtime::fork_generation(),
            });
            {
                let mut subs = this.subs.lock();
                subs.retain(|s| s.sub.lock().is_some());
                subs.push(Arc::clone(&slot));
            }
            Ok(Subscription {
                slot,
                topic: topic.to_owned(),
            })
        })
    }

    /// Close the module (idempotent). Waits for calls in flight and for an
    /// event delivery in progress.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            if self.inner.stale() {
                return Ok(()); // the parent's module in a forked child
            }
            let module: &bridgehost::Module = &self.inner;
            // Refused (InvalidArgument) from inside one of its own calls.
            py.detach(|| module.try_close()).py_err(py)?;
            let slots: Vec<Arc<SubSlot>> = std::mem::take(&mut *self.subs.lock());
            for s in slots {
                s.unsubscribe(py);
            }
            Ok(())
        })
    }

    /// True once closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.stale() || self.inner.is_closed()
    }

    /// The module's name, from its descriptor.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.info().name
    }

    /// The module's version string.
    #[getter]
    fn version(&self) -> &str {
        &self.inner.info().version
    }

    /// The file it was loaded from.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.info().path
    }

    /// ``"thread-safe"``, ``"serialized"`` or ``"single-thread"``.
    #[getter]
    fn thread_model(&self) -> &'static str {
        self.inner.info().thread_model.name()
    }

    /// ``"in-process"`` or ``"process"``.
    #[getter]
    fn isolation(&self) -> &'static str {
        self.inner.options().isolation.name()
    }

    /// Method names, in table order.
    #[getter]
    fn methods<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            self.inner.info().methods.iter().map(|m| m.name.as_str()),
        )
    }

    /// The WIT text of the module's typed interface, as embedded (what
    /// ``typed().interface.text`` gives); ``None`` for a bytes-only module.
    /// Read at open: still answers after ``close()``.
    #[getter]
    fn interface_text(&self) -> Option<&str> {
        self.inner.interface().map(|i| i.source())
    }

    /// The host this module was opened from.
    #[getter]
    fn host(&self, py: Python<'_>) -> Py<Host> {
        self.host.clone_ref(py)
    }

    /// This module's counters as a dict.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            self.inner.check(py)?;
            options::counters_dict(py, &self.inner.counters())
        })
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py) // returns None: exceptions propagate
    }

    /// ``await x.aclose()``: ``close()`` on a worker thread, so the event
    /// loop never blocks while calls in flight finish.
    fn aclose<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        coroutine(slf.as_any(), "_aclose")
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        coroutine(slf.as_any(), "_aenter")
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        slf: &Bound<'py, Self>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        coroutine(slf.as_any(), "_aclose")
    }

    /// Wait until every event emitted so far has been delivered (every
    /// callback it was for has returned). ``timeout`` in seconds, 0 (what
    /// was delivered already, without waiting) up to one year (``None``: no
    /// limit); any other value is ``InvalidArgumentError`` with the core's
    /// message ("flush timeout must be at most one year, got -1000000000
    /// ns"). Raises ``TimeoutError`` (bridgehost's) when it passes,
    /// ``ClosedError`` when the module closed, ``InvalidArgumentError`` from
    /// inside an event callback. The GIL is released while waiting.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        guard(py, || {
            self.inner.check(py)?;
            let limit = match timeout {
                Some(v) => options::span(py, Span::FlushTimeout, v)?,
                None => std::time::Duration::MAX,
            };
            let module: &bridgehost::Module = &self.inner;
            py.detach(|| module.flush(limit)).py_err(py)
        })
    }

    fn __repr__(&self) -> String {
        let info = self.inner.info();
        format!(
            "<bridgehost.Module {:?} {} {}{}>",
            info.name,
            info.version,
            self.inner.options().isolation.name(),
            if self.inner.is_closed() {
                " closed"
            } else {
                ""
            }
        )
    }
}

/// An event subscription; see ``Module.subscribe``.
#[pyclass(module = "bridgehost", name = "Subscription", frozen, weakref)]
pub(crate) struct Subscription {
    slot: Arc<SubSlot>,
    topic: String,
}

#[pymethods]
impl Subscription {
    /// Stop deliveries. When this returns the callback is not running
    /// (unless this is called from inside it) and is never called again.
    /// Idempotent.
    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            self.slot.unsubscribe(py);
            Ok(())
        })
    }

    /// Same as ``unsubscribe()``.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.unsubscribe(py)
    }

    /// False once unsubscribed (or its module or host closed).
    #[getter]
    fn active(&self) -> bool {
        self.slot.is_active()
    }

    /// The topic subscribed to.
    #[getter]
    fn topic(&self) -> &str {
        &self.topic
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.unsubscribe(py) // returns None: exceptions propagate
    }

    /// ``await x.aclose()``: ``close()`` on a worker thread, so the event
    /// loop never blocks while calls in flight finish.
    fn aclose<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        coroutine(slf.as_any(), "_aclose")
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        coroutine(slf.as_any(), "_aenter")
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        slf: &Bound<'py, Self>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        coroutine(slf.as_any(), "_aclose")
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.Subscription topic={:?} {}>",
            self.topic,
            if self.slot.is_active() {
                "active"
            } else {
                "inactive"
            }
        )
    }
}

impl Drop for SubSlot {
    fn drop(&mut self) {
        if self.stale() {
            // The parent's subscription in a forked child: never unsubscribe
            // here (it would wait on the parent's dispatcher).
            if let Some(sub) = self.sub.get_mut().take() {
                std::mem::forget(sub);
            }
            return;
        }
        // The last handle went away: unsubscribe with the GIL released.
        if let Some(sub) = self.sub.get_mut().take() {
            let _ = DropDetached::new(sub);
        }
    }
}
