//! Typed events of the run-time view: ``TypedView.subscribe`` registers a
//! [`TypedListener`] that decodes each delivery by the core's rule
//! (`bridgehost::interface::decode_event`) and calls the user's callback.
#![forbid(unsafe_code)]

use super::convert::{lift_err, Build};
use super::PyInterface;
use crate::errors::IntoPy;
use bridgehost::interface::typed::dynamic;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The callback ``TypedView.subscribe`` registers: decodes one delivery and
/// calls the user's callback with the value.
#[pyclass(module = "bridgehost.typed", name = "TypedListener", frozen)]
pub(crate) struct TypedListener {
    iface: Py<PyInterface>,
    /// The event's index in the interface.
    index: usize,
    callback: Py<PyAny>,
    /// The module's path, for the error.
    path: String,
}

impl TypedListener {
    pub(super) fn new(
        iface: Py<PyInterface>,
        index: usize,
        callback: Py<PyAny>,
        path: String,
    ) -> Self {
        TypedListener {
            iface,
            index,
            callback,
            path,
        }
    }
}

#[pymethods]
impl TypedListener {
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        topic: &str,
        data: &Bound<'py, PyBytes>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pyface = self.iface.get();
        let iface = &pyface.iface;
        let value =
            bridgehost::interface::decode_event(&self.path, iface, self.index, data.as_bytes())
                .py_err(py)?;
        let value = match (&iface.events[self.index].payload, value) {
            (Some(ty), Some(v)) => dynamic::lift(iface, ty, &v, &mut Build { py, types: pyface })
                .map_err(|e| lift_err(py, e))?,
            _ => py.None().into_bound(py),
        };
        self.callback.bind(py).call1((topic, value))
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.typed.TypedListener of event {}>",
            self.iface.get().iface.events[self.index].topic
        )
    }
}
