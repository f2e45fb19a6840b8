//! Typed calls without a codegen step (docs/TYPED.md, Python column):
//! `Module.typed()` → `TypedView`, whose attributes are the interface's
//! functions (`TypedFunction`), and `bridgehost.typed.Interface` (encode and
//! decode against a named type: golden vectors, event payloads).
//!
//! Translation only: this module answers the interface crate's questions about
//! Python objects ([`dynamic::HostValue`]) and builds Python objects on its
//! request ([`dynamic::Builder`]). Which question to ask for which WIT type,
//! ranges, names, nested options, results, arity and limits are decided by
//! `bridgehost_interface::dynamic`; the bytes by its `wire` codec. The call
//! itself is the ordinary byte call of [`Method`] (isolation, limits and
//! counters unchanged).
//!
//! One file per concern: `interface.rs` (`bridgehost.typed.Interface`, the
//! parsed interface and its record classes), `function.rs` (`TypedFunction`:
//! encode, call, submit, decode), `view.rs` (`TypedView`, built by
//! `Module.typed()`), `convert.rs` (the Python side of the dynamic
//! conversion), `scalar.rs` (the scalar fast path of a direct-eligible
//! function: `Method::call_scalar`, no encoding), `events.rs` (typed event subscriptions); this file holds the
//! Python classes and name conversion they share.
//!
//! [`dynamic::HostValue`]: bridgehost::interface::typed::dynamic::HostValue
//! [`dynamic::Builder`]: bridgehost::interface::typed::dynamic::Builder
//! [`Method`]: crate::method::Method
#![forbid(unsafe_code)]

mod convert;
mod events;
mod function;
mod interface;
mod owned;
mod scalar;
mod view;

pub(crate) use events::TypedListener;
pub(crate) use function::TypedFunction;
pub(crate) use interface::{Bindings, PyInterface};
pub(crate) use view::{view, TypedView};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

/// The classes of `bridgehost.typed` and `bridgehost.errors` the bridge builds.
struct Classes {
    some: Py<PyAny>,
    ok: Py<PyAny>,
    err: Py<PyAny>,
    variant: Py<PyAny>,
    record_class: Py<PyAny>,
    class_name: Py<PyAny>,
    declared_fields: Py<PyAny>,
    names: Py<PyAny>,
    typed_error: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let t = py.import("bridgehost.typed")?;
        let e = py.import("bridgehost.errors")?;
        Ok(Classes {
            some: t.getattr("Some")?.unbind(),
            ok: t.getattr("Ok")?.unbind(),
            err: t.getattr("Err")?.unbind(),
            variant: t.getattr("Variant")?.unbind(),
            record_class: t.getattr("_record_class")?.unbind(),
            class_name: t.getattr("_class_name")?.unbind(),
            declared_fields: t.getattr("_declared_fields")?.unbind(),
            names: t.getattr("_names")?.unbind(),
            typed_error: e.getattr("_typed_error")?.unbind(),
        })
    })
}

/// Python names of WIT names (`interval-ms` → `interval_ms`), by
/// `bridgehost.typed._names`.
fn py_names<'a>(py: Python<'_>, wit: impl Iterator<Item = &'a str>) -> PyResult<Vec<String>> {
    let list = PyList::new(py, wit)?;
    classes(py)?.names.bind(py).call1((list,))?.extract()
}
