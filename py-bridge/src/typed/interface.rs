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
    /// Per type index: what the caller bound to an enum, flags or variant
    /// type (``Module.typed(enums=..., flags=..., variants=...)``); `None`:
    /// the view's own values (a case name, a frozenset of names, a
    /// ``Variant``).
    pub(super) shapes: Vec<Option<Shape>>,
}

/// The objects results of an enum, flags or variant type are built from.
pub(super) enum Shape {
    /// Per case, in WIT order: the object every value of that case is
    /// (``cls(case_name)``, made once when bound).
    Enum(Vec<Py<PyAny>>),
    /// The class, called with the value's bits (bit k: the k-th flag); the
    /// objects for no flag and for each single flag (``cls(0)``,
    /// ``cls(1 << k)``), made once when bound.
    Flags {
        cls: Py<PyAny>,
        empty: Py<PyAny>,
        single: Vec<Py<PyAny>>,
    },
    /// Per case, in WIT order: the class a value of that case is built with
    /// (``cls(payload)``, ``cls()`` for a case without payload).
    Variant(Vec<Py<PyAny>>),
}

/// The classes ``Module.typed`` binds, each a mapping by WIT type name
/// (``None``: not given).
#[derive(Default)]
pub(crate) struct Bindings<'a, 'py> {
    pub(crate) records: Option<&'a Bound<'py, PyAny>>,
    pub(crate) enums: Option<&'a Bound<'py, PyAny>>,
    pub(crate) flags: Option<&'a Bound<'py, PyAny>>,
    pub(crate) variants: Option<&'a Bound<'py, PyAny>>,
}

/// The name of a Python object's type, for messages.
fn type_name(o: &Bound<'_, PyAny>) -> String {
    o.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

fn repr(o: &Bound<'_, PyAny>) -> String {
    o.repr().map(|r| r.to_string()).unwrap_or_default()
}

/// The items of argument `arg` of ``Module.typed`` (a mapping of WIT `kind`
/// name to a value), each with the index of the type it names: a key that is
/// not a str is `TypeError`, a name that is not such a type of the interface
/// `InvalidArgumentError`.
fn named_items<'py>(
    py: Python<'py>,
    iface: &Interface,
    arg: &str,
    kind: &str,
    is: fn(&TypeDefKind) -> bool,
    b: &Bound<'py, PyAny>,
) -> PyResult<Vec<(usize, String, Bound<'py, PyAny>)>> {
    let map = b.cast::<PyMapping>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg} must be a mapping of WIT {kind} name to {}, got {}",
            if arg == "variants" {
                "a mapping of case name to class"
            } else {
                "class"
            },
            type_name(b)
        ))
    })?;
    let mut out = Vec::new();
    for item in map.items()?.iter() {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let key = key.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{arg}: a key must be a WIT {kind} name (str), got {}",
                repr(&key)
            ))
        })?;
        // A name with a surrogate is no WIT name: refused below like any other.
        let name = key.to_string_lossy().into_owned();
        let Some(i) = iface
            .types
            .iter()
            .position(|t| t.name == name && is(&t.kind))
        else {
            let names: Vec<&str> = iface
                .types
                .iter()
                .filter(|t| is(&t.kind))
                .map(|t| t.name.as_str())
                .collect();
            return Err(invalid(
                py,
                format!(
                    "{arg}: {name:?} is not a{} {kind} of interface {} (its {arg}: {})",
                    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                        "n"
                    } else {
                        ""
                    },
                    iface.name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        };
        out.push((i, name, value));
    }
    Ok(out)
}

/// `cls` must be a class (`TypeError` naming `at` otherwise).
fn class_at<'py>(at: &str, cls: &Bound<'py, PyAny>) -> PyResult<()> {
    if cls.is_instance_of::<PyType>() {
        Ok(())
    } else {
        Err(PyTypeError::new_err(format!(
            "{at} must be a class, got {}",
            repr(cls)
        )))
    }
}

/// `cls(arg)` when binding: its exception becomes `InvalidArgumentError`
/// naming the call.
fn construct<'py>(
    py: Python<'py>,
    at: &str,
    cls: &Bound<'py, PyAny>,
    arg: Bound<'py, PyAny>,
) -> PyResult<Py<PyAny>> {
    let shown = repr(&arg);
    cls.call1((arg,)).map(Bound::unbind).map_err(|e| {
        let qual = cls
            .getattr("__qualname__")
            .map(|n| n.to_string())
            .unwrap_or_default();
        invalid(py, format!("{at}: {qual}({shown}) raised {}", e.value(py)))
    })
}

/// The [`Shape`]s of `b`, per type index.
fn shapes(py: Python<'_>, iface: &Interface, b: &Bindings<'_, '_>) -> PyResult<Vec<Option<Shape>>> {
    let mut out: Vec<Option<Shape>> = iface.types.iter().map(|_| None).collect();
    if let Some(e) = b.enums {
        let is = |k: &TypeDefKind| matches!(k, TypeDefKind::Enum(_));
        for (i, name, cls) in named_items(py, iface, "enums", "enum", is, e)? {
            let at = format!("enums[{name:?}]");
            class_at(&at, &cls)?;
            let TypeDefKind::Enum(cases) = &iface.types[i].kind else {
                unreachable!("named_items checked the kind")
            };
            let members = cases
                .iter()
                .map(|c| construct(py, &at, &cls, PyString::new(py, c).into_any()))
                .collect::<PyResult<_>>()?;
            out[i] = Some(Shape::Enum(members));
        }
    }
    if let Some(f) = b.flags {
        let is = |k: &TypeDefKind| matches!(k, TypeDefKind::Flags(_));
        for (i, name, cls) in named_items(py, iface, "flags", "flags", is, f)? {
            let at = format!("flags[{name:?}]");
            class_at(&at, &cls)?;
            let TypeDefKind::Flags(flags) = &iface.types[i].kind else {
                unreachable!("named_items checked the kind")
            };
            let bit = |k: usize| -> PyResult<Bound<'_, PyAny>> {
                Ok((1u64 << k).into_pyobject(py)?.into_any())
            };
            let empty = construct(py, &at, &cls, 0u64.into_pyobject(py)?.into_any())?;
            let single = (0..flags.len())
                .map(|k| construct(py, &at, &cls, bit(k)?))
                .collect::<PyResult<_>>()?;
            out[i] = Some(Shape::Flags {
                cls: cls.unbind(),
                empty,
                single,
            });
        }
    }
    if let Some(v) = b.variants {
        let is = |k: &TypeDefKind| matches!(k, TypeDefKind::Variant(_));
        for (i, name, classes) in named_items(py, iface, "variants", "variant", is, v)? {
            let TypeDefKind::Variant(cases) = &iface.types[i].kind else {
                unreachable!("named_items checked the kind")
            };
            let at = format!("variants[{name:?}]");
            let map = classes.cast::<PyMapping>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{at} must be a mapping of case name to class, got {}",
                    type_name(&classes)
                ))
            })?;
            let case_names = || {
                cases
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut by_case: Vec<Option<Py<PyAny>>> = cases.iter().map(|_| None).collect();
            for item in map.items()?.iter() {
                let (key, cls): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let key = key.cast::<PyString>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "{at}: a key must be a case name (str), got {}",
                        repr(&key)
                    ))
                })?;
                let case = key.to_string_lossy();
                let Some(k) = cases.iter().position(|c| c.name == *case) else {
                    return Err(invalid(
                        py,
                        format!(
                            "{at}: {case:?} is not a case of variant {name} (its cases: {})",
                            case_names()
                        ),
                    ));
                };
                class_at(&format!("{at}[{case:?}]"), &cls)?;
                by_case[k] = Some(cls.unbind());
            }
            let mut all = Vec::with_capacity(cases.len());
            for (c, cls) in cases.iter().zip(by_case) {
                all.push(cls.ok_or_else(|| {
                    invalid(
                        py,
                        format!(
                            "{at} has no class for case {:?} (every case needs one: {})",
                            c.name,
                            case_names()
                        ),
                    )
                })?);
            }
            out[i] = Some(Shape::Variant(all));
        }
    }
    Ok(out)
}

impl PyInterface {
    /// `bound`: classes the caller binds to types by WIT name (the
    /// arguments of ``Module.typed``); every other record gets a frozen
    /// dataclass made here.
    pub(super) fn build(
        py: Python<'_>,
        iface: Arc<Interface>,
        bound: &Bindings<'_, '_>,
    ) -> PyResult<Self> {
        let c = classes(py)?;
        let mut given: Vec<Option<Py<PyAny>>> = iface.types.iter().map(|_| None).collect();
        if let Some(b) = bound.records {
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
        let shapes = shapes(py, &iface, bound)?;
        Ok(PyInterface {
            iface,
            records,
            shapes,
        })
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
            PyInterface::build(py, Arc::new(iface), &Bindings::default())
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
