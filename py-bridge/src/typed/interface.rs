//! ``bridgehost.typed.Interface``: a parsed interface and the Python record
//! class of each record type (``Module.typed().interface``, or parsed from
//! WIT text to encode and decode against a named type).
#![forbid(unsafe_code)]

use super::convert::{lift_err, lower_err, Build, Obj};
use super::{classes, py_names};
use crate::buffer::InputBuffer;
use crate::errors::{guard, invalid, make};
use bridgehost::interface::typed::dynamic;
use bridgehost::interface::typed::{wire, Interface, Type, TypeDefKind};
use bridgehost::ErrorKind;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyMapping, PyString, PyType};
use std::sync::Arc;

/// A record's class, its Python field names (interned), and whether the
/// class was bound by the caller (``Module.typed(records=...)``) rather than
/// made by the view.
type Record = (Py<PyAny>, Vec<Py<PyString>>, bool);

/// A parsed interface and the Python record class of each record type.
///
/// ``bridgehost.typed.Interface(text)`` parses WIT text (as a module embeds
/// it; ``InvalidArgumentError`` naming the reason if it is refused);
/// ``Module.typed().interface`` is the module's.
#[pyclass(module = "bridgehost.typed", name = "Interface", frozen)]
pub(crate) struct PyInterface {
    pub(super) iface: Arc<Interface>,
    /// Per type index: the record's dataclass and its Python field names.
    pub(super) records: Vec<Option<Record>>,
}

impl PyInterface {
    /// `bound`: classes the caller binds to records by WIT name (the
    /// `records` argument of ``Module.typed``); every other record gets a
    /// frozen dataclass made here.
    pub(super) fn build(
        py: Python<'_>,
        iface: Arc<Interface>,
        bound: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let c = classes(py)?;
        let mut given: Vec<Option<Py<PyAny>>> = iface.types.iter().map(|_| None).collect();
        if let Some(b) = bound {
            let map = b.cast::<PyMapping>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "records must be a mapping of WIT record name to class, got {}",
                    b.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            for item in map.items()?.iter() {
                let (key, cls): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let key = key.cast::<PyString>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "records: a key must be a WIT record name (str), got {}",
                        key.repr().map(|r| r.to_string()).unwrap_or_default()
                    ))
                })?;
                // A name with a surrogate is no WIT name: refused below like any other.
                let name = key.to_string_lossy();
                let Some(i) = iface
                    .types
                    .iter()
                    .position(|t| t.name == *name && matches!(t.kind, TypeDefKind::Record(_)))
                else {
                    return Err(invalid(
                        py,
                        format!(
                            "records: {name:?} is not a record of interface \
                             {} (its records: {})",
                            iface.name,
                            record_names(&iface)
                        ),
                    ));
                };
                if !cls.is_instance_of::<PyType>() {
                    return Err(PyTypeError::new_err(format!(
                        "records[{name:?}] must be a class, got {}",
                        cls.repr().map(|r| r.to_string()).unwrap_or_default()
                    )));
                }
                given[i] = Some(cls.unbind());
            }
        }
        let mut records = Vec::with_capacity(iface.types.len());
        for (t, given) in iface.types.iter().zip(given) {
            records.push(match &t.kind {
                TypeDefKind::Record(fields) => {
                    let wit: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                    let py_fields = py_names(py, wit.iter().copied())?;
                    if let Some(cls) = &given {
                        // Results are built positionally: a class that declares its fields
                        // (a dataclass, a NamedTuple) must declare the record's, in order, or
                        // a value would land in the wrong field.
                        let declared: Option<Vec<String>> = c
                            .declared_fields
                            .bind(py)
                            .call1((cls.bind(py),))?
                            .extract()?;
                        if let Some(declared) = declared.filter(|d| *d != py_fields) {
                            return Err(invalid(
                                py,
                                format!(
                                    "records: {} declares the fields ({}), \
                                     record {} has ({}): results are built from the fields in \
                                     this order",
                                    cls.bind(py)
                                        .getattr("__qualname__")
                                        .map(|n| n.to_string())
                                        .unwrap_or_default(),
                                    declared.join(", "),
                                    t.name,
                                    py_fields.join(", ")
                                ),
                            ));
                        }
                    }
                    let names = py_fields
                        .iter()
                        .map(|n| PyString::intern(py, n).unbind())
                        .collect();
                    Some(match given {
                        Some(cls) => (cls, names, true),
                        None => {
                            let cls = c
                                .record_class
                                .bind(py)
                                .call1((t.name.as_str(), PyList::new(py, &wit)?))?;
                            (cls.unbind(), names, false)
                        }
                    })
                }
                _ => None,
            });
        }
        Ok(PyInterface { iface, records })
    }

    fn named(&self, py: Python<'_>, name: &str) -> PyResult<Type> {
        self.iface
            .types
            .iter()
            .position(|t| t.name == name)
            .map(Type::Named)
            .ok_or_else(|| {
                make(
                    py,
                    ErrorKind::NotFound,
                    &format!(
                        "not found: type {name:?} in interface {} (it has: {})",
                        self.iface.name,
                        self.iface
                            .types
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    0,
                )
            })
    }
}

/// The record names of an interface, for messages.
fn record_names(iface: &Interface) -> String {
    let names: Vec<&str> = iface
        .types
        .iter()
        .filter(|t| matches!(t.kind, TypeDefKind::Record(_)))
        .map(|t| t.name.as_str())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

#[pymethods]
impl PyInterface {
    #[new]
    fn py_new(py: Python<'_>, text: &str) -> PyResult<Self> {
        guard(py, || {
            let iface = py
                .detach(|| Interface::parse(text))
                .map_err(|e| invalid(py, e.to_string()))?;
            PyInterface::build(py, Arc::new(iface), None)
        })
    }

    /// The package name, ``namespace:name[@version]``.
    #[getter]
    fn package(&self) -> &str {
        &self.iface.package
    }

    /// The interface name.
    #[getter]
    fn name(&self) -> &str {
        &self.iface.name
    }

    /// SHA-256 of the canonical form, 64 hex digits.
    #[getter]
    fn hash(&self) -> String {
        self.iface.hash_hex()
    }

    /// The WIT text.
    #[getter]
    fn text(&self) -> &str {
        self.iface.source()
    }

    /// Names of the named types (records, variants, enums, flags, resources, aliases).
    #[getter]
    fn type_names(&self) -> Vec<String> {
        self.iface.types.iter().map(|t| t.name.clone()).collect()
    }

    /// The dataclass of record ``name`` (its WIT name).
    fn record_class(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let i = match self.named(py, name)? {
            Type::Named(i) => i,
            _ => unreachable!("named() returns a named type"),
        };
        match &self.records[i] {
            Some((cls, _, _)) => Ok(cls.clone_ref(py)),
            None => Err(invalid(py, format!("{name} is not a record"))),
        }
    }

    /// Encode ``value`` as the named type ``type_name`` (wire format).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        type_name: &str,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(py, || {
            let ty = self.named(py, type_name)?;
            let v = dynamic::lower(&self.iface, &ty, &Obj(value.clone(), self))
                .map_err(|e| lower_err(py, e))?;
            let mut out = Vec::new();
            wire::encode(&self.iface, &ty, &v, &mut out).map_err(|e| invalid(py, e.to_string()))?;
            Ok(PyBytes::new(py, &out))
        })
    }

    /// Decode ``data`` (bytes-like, hostile) as the named type ``type_name``.
    /// Bytes that do not decode are ``InvalidArgumentError`` naming the offset.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        type_name: &str,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let ty = self.named(py, type_name)?;
            let bytes = InputBuffer::new(py)
                .export_owned(data, usize::MAX)
                .map_err(|e| crate::method::buffer_error(py, "data", e))?;
            let v =
                wire::decode(&self.iface, &ty, &bytes).map_err(|e| invalid(py, e.to_string()))?;
            dynamic::lift(&self.iface, &ty, &v, &mut Build { py, types: self })
                .map_err(|e| lift_err(py, e))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.typed.Interface {} {} sha256 {}>",
            self.iface.package,
            self.iface.name,
            &self.iface.hash_hex()[..16]
        )
    }
}
