//! ``TypedView``, built by ``Module.typed()``: the module's functions as
//! attributes, its record classes, and typed event subscriptions.
#![forbid(unsafe_code)]

use super::{classes, owned, py_names, Bindings, PyInterface, TypedFunction, TypedListener};
use crate::errors::{guard, invalid, make, IntoPy};
use crate::method::Method;
use crate::module::Module;
use bridgehost::interface::typed::{wire, FunctionKind};
use bridgehost::ErrorKind;
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// ``Module.typed()``: the module's functions as attributes.
/// The functions are also entries of the instance's ``__dict__`` (those
/// whose names the class does not define, so a method of the view still wins
/// as it does through ``__getattr__``): ``view.add`` is then a dictionary hit.
/// Through ``__getattr__`` alone every access first failed the class lookup,
/// building an ``AttributeError`` before the fallback ran (~1 µs on this
/// project's VM, more than the typed call itself).
#[pyclass(module = "bridgehost.typed", name = "TypedView", frozen, dict)]
pub(crate) struct TypedView {
    iface: Py<PyInterface>,
    /// (Python name, function) for plain functions; resource functions are
    /// reached with ``function(name)``.
    attrs: Vec<(String, Py<TypedFunction>)>,
    all: Vec<Py<TypedFunction>>,
    types: Py<PyAny>,
    module: Py<Module>,
}

/// Build the view of an open module (``InvalidArgumentError`` without an
/// interface, like ``bridgehost call --json``).
pub(crate) fn view<'py>(
    module: &Bound<'py, Module>,
    bound: &Bindings<'_, 'py>,
) -> PyResult<Bound<'py, TypedView>> {
    let py = module.py();
    let m = module.get();
    m.inner.check(py)?;
    let info = m.inner.info();
    let iface = info.interface.clone().ok_or_else(|| {
        invalid(
            py,
            format!(
                "module {:?} has no typed interface (it is bytes-only: \
                 call its methods with bytes)",
                info.name
            ),
        )
    })?;
    let pyface = Py::new(py, PyInterface::build(py, Arc::clone(&iface), bound)?)?;
    let names = py_names(py, iface.functions.iter().map(|f| f.name.as_str()))?;
    let mut attrs = Vec::new();
    let mut all = Vec::with_capacity(iface.functions.len());
    // The drop methods, for the functions whose result can hold an owned handle (owned.rs).
    let owns = |f: &bridgehost::interface::typed::Function| {
        f.result.as_ref().is_some_and(|t| iface.handles_in(t).own)
    };
    let drops = if iface.functions.iter().any(owns) {
        Some(owned::drops(py, &iface, |name| {
            let core = m.inner.method(name).py_err(py)?;
            crate::vectorcall::new_method(py, Method::new(core, module.clone().unbind()))
        })?)
    } else {
        None
    };
    for (index, (f, pyname)) in iface.functions.iter().zip(names).enumerate() {
        let core = m.inner.method(&f.name).py_err(py)?;
        let method = crate::vectorcall::new_method(py, Method::new(core, module.clone().unbind()))?;
        let params = py_names(py, f.params.iter().map(|p| p.name.as_str()))?;
        let tf = crate::vectorcall::new_function(
            py,
            TypedFunction {
                iface: pyface.clone_ref(py),
                index,
                method,
                params,
                run_in: wire::run_param(&iface, f),
                run_out: wire::run_result(&iface, f),
                expect_out: AtomicUsize::new(0),
                drops: if owns(f) { drops.clone() } else { None },
            },
        )?;
        if f.kind == FunctionKind::Freestanding {
            attrs.push((pyname, tf.clone_ref(py)));
        }
        all.push(tf);
    }
    let ns = py.import("types")?.getattr("SimpleNamespace")?.call0()?;
    // Under the record's class name (`my-point` → `MyPoint`), whichever class is bound to it.
    let class_name = &classes(py)?.class_name;
    for (t, rec) in iface.types.iter().zip(&pyface.get().records) {
        if let Some((cls, _, _)) = rec {
            ns.setattr(
                class_name
                    .bind(py)
                    .call1((t.name.as_str(),))?
                    .cast_into::<PyString>()?,
                cls.bind(py),
            )?;
        }
    }
    let view = Bound::new(
        py,
        TypedView {
            iface: pyface,
            attrs,
            all,
            types: ns.unbind(),
            module: module.clone().unbind(),
        },
    )?;
    let class = view.get_type();
    let dict = view.getattr("__dict__")?;
    for (name, f) in &view.get().attrs {
        if !class.hasattr(name.as_str())? {
            dict.set_item(name.as_str(), f.bind(py))?;
        }
    }
    Ok(view)
}

#[pymethods]
impl TypedView {
    fn __getattr__(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyString>,
    ) -> PyResult<Py<TypedFunction>> {
        // A name UTF-8 cannot hold is no function: AttributeError (so that
        // hasattr() answers False), not a UnicodeEncodeError.
        let name = name.to_string_lossy();
        let name: &str = &name;
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone_ref(py))
            .ok_or_else(|| {
                let iface = &self.iface.get().iface;
                let plain = if self.attrs.is_empty() {
                    "none".to_string()
                } else {
                    self.attrs
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                // A resource's constructor, method or static function of that
                // name is reached with function(): say which.
                let wit = name.replace('_', "-");
                let resource: Vec<String> = iface
                    .functions
                    .iter()
                    .filter(|f| f.kind != FunctionKind::Freestanding)
                    .filter(|f| f.name.rsplit(['.', ']']).next() == Some(wit.as_str()))
                    .map(|f| format!("view.function({:?})", f.name))
                    .collect();
                let hint = if resource.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; resource functions are reached with {}",
                        resource.join(" or ")
                    )
                };
                PyAttributeError::new_err(format!(
                    "interface {} has no function {name:?} (its plain functions: {plain}{hint})",
                    iface.name
                ))
            })
    }

    fn __dir__(&self) -> Vec<String> {
        let mut v: Vec<String> = self.attrs.iter().map(|(n, _)| n.clone()).collect();
        v.extend(
            [
                "events",
                "function",
                "functions",
                "interface",
                "module",
                "subscribe",
                "types",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        v
    }

    /// A function by its method name (WIT name, or ``[method]R.name`` ...).
    fn function(&self, py: Python<'_>, name: &Bound<'_, PyString>) -> PyResult<Py<TypedFunction>> {
        // A name UTF-8 cannot hold (an unpaired surrogate) names no function:
        // NotFoundError, like any other unknown name.
        let name = name.to_string_lossy();
        let name: &str = &name;
        let iface = &self.iface.get().iface;
        iface
            .functions
            .iter()
            .position(|f| f.name == name)
            .map(|i| self.all[i].clone_ref(py))
            .ok_or_else(|| {
                make(
                    py,
                    ErrorKind::NotFound,
                    &format!("not found: function {name:?} in interface {}", iface.name),
                    0,
                )
            })
    }

    /// Every function's method name, in interface order.
    #[getter]
    fn functions(&self) -> Vec<String> {
        self.iface
            .get()
            .iface
            .functions
            .iter()
            .map(|f| f.name.clone())
            .collect()
    }

    /// The interface (``bridgehost.typed.Interface``).
    #[getter]
    fn interface(&self, py: Python<'_>) -> Py<PyInterface> {
        self.iface.clone_ref(py)
    }

    /// Every event topic the interface declares, in interface order.
    #[getter]
    fn events(&self) -> Vec<String> {
        self.iface
            .get()
            .iface
            .events
            .iter()
            .map(|e| e.topic.clone())
            .collect()
    }

    /// Subscribe to event ``topic`` of the interface with its payload decoded:
    /// ``callback(topic, value)`` (``value`` is ``None`` for an event without
    /// a payload), on the host's event thread like ``Module.subscribe``, whose
    /// ``Subscription`` this returns. A topic the interface does not declare
    /// is ``NotFoundError``. A payload that does not decode is
    /// ``AbiMismatchError`` raised in the delivery: it goes to
    /// ``sys.unraisablehook`` and counts in ``callback_errors`` like any
    /// callback exception, and the callback is not called for it.
    fn subscribe<'py>(
        &self,
        py: Python<'py>,
        topic: &Bound<'py, PyString>,
        callback: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            // A topic UTF-8 cannot hold is no declared topic: NotFoundError.
            let topic = topic.to_string_lossy();
            let topic: &str = &topic;
            if !callback.is_callable() {
                return Err(PyTypeError::new_err("callback must be callable"));
            }
            let iface = &self.iface.get().iface;
            let index = bridgehost::interface::event_index(iface, topic).ok_or_else(|| {
                make(
                    py,
                    ErrorKind::NotFound,
                    &format!(
                        "not found: event {topic:?} in interface {} (it declares: {})",
                        iface.name,
                        iface
                            .events
                            .iter()
                            .map(|e| e.topic.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    0,
                )
            })?;
            let listener = Py::new(
                py,
                TypedListener::new(
                    self.iface.clone_ref(py),
                    index,
                    callback.unbind(),
                    self.module.get().inner.info().path.clone(),
                ),
            )?;
            self.module
                .bind(py)
                .call_method1("subscribe", (topic, listener))
        })
    }

    /// The record classes, by class name (``types.Summary``).
    #[getter]
    fn types(&self, py: Python<'_>) -> Py<PyAny> {
        self.types.clone_ref(py)
    }

    /// The module.
    #[getter]
    fn module(&self, py: Python<'_>) -> Py<Module> {
        self.module.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.typed.TypedView {} of module {:?}>",
            self.iface.get().iface.package,
            self.module.get().inner.info().name
        )
    }
}
