//! Typed calls without a codegen step (docs/TYPED.md, Python column):
//! `Module.typed()` → `TypedView`, whose attributes are the interface's
//! functions (`TypedFunction`), and `bridgehost.typed.Interface` (encode and
//! decode against a named type: golden vectors, event payloads).
//!
//! Translation only: this file answers the interface crate's questions about
//! Python objects ([`dynamic::HostValue`]) and builds Python objects on its
//! request ([`dynamic::Builder`]). Which question to ask for which WIT type,
//! ranges, names, nested options, results, arity and limits are decided by
//! `bridgehost_interface::dynamic`; the bytes by its `wire` codec. The call
//! itself is the ordinary byte call of [`Method`] (isolation, limits and
//! counters unchanged).
#![forbid(unsafe_code)]

use crate::buffer::{BufferError, InputBuffer};
use crate::errors::{guard, invalid, make, to_pyerr, IntoPy};
use crate::method::Method;
use crate::module::Module;
use bridgehost::interface::typed::dynamic::{self, DynError, Fields, HostValue, Output};
use bridgehost::interface::typed::{wire, Field, Function, FunctionKind, Interface, Type};
use bridgehost::interface::typed::{TypeDefKind, TypeIndex, Value};
use bridgehost::{Error, ErrorKind};
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple,
};
use std::cell::Cell;
use std::sync::Arc;

/// Inputs up to this size keep their encoding buffer for the thread's next
/// typed call (as `Method.call` keeps its output buffer).
const KEEP_INPUT: usize = 1 << 20;

thread_local! {
    /// One reusable input buffer per thread for typed calls (`call` only:
    /// `submit` hands its input to the core).
    static INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The classes of `bridgehost.typed` and `bridgehost.errors` the bridge builds.
struct Classes {
    some: Py<PyAny>,
    ok: Py<PyAny>,
    err: Py<PyAny>,
    variant: Py<PyAny>,
    record_class: Py<PyAny>,
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

/// A record's dataclass and its Python field names (interned).
type Record = (Py<PyAny>, Vec<Py<PyString>>);

/// A parsed interface and the Python record class of each record type.
///
/// ``bridgehost.typed.Interface(text)`` parses WIT text (as a module embeds
/// it; ``InvalidArgumentError`` naming the reason if it is refused);
/// ``Module.typed().interface`` is the module's.
#[pyclass(module = "bridgehost.typed", name = "Interface", frozen)]
pub(crate) struct PyInterface {
    iface: Arc<Interface>,
    /// Per type index: the record's dataclass and its Python field names.
    records: Vec<Option<Record>>,
}

impl PyInterface {
    fn build(py: Python<'_>, iface: Arc<Interface>) -> PyResult<Self> {
        let c = classes(py)?;
        let mut records = Vec::with_capacity(iface.types.len());
        for t in &iface.types {
            records.push(match &t.kind {
                TypeDefKind::Record(fields) => {
                    let wit: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                    let cls = c
                        .record_class
                        .bind(py)
                        .call1((t.name.as_str(), PyList::new(py, &wit)?))?;
                    let names = py_names(py, wit.into_iter())?
                        .iter()
                        .map(|n| PyString::intern(py, n).unbind())
                        .collect();
                    Some((cls.unbind(), names))
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

#[pymethods]
impl PyInterface {
    #[new]
    fn py_new(py: Python<'_>, text: &str) -> PyResult<Self> {
        guard(py, || {
            let iface = py
                .detach(|| Interface::parse(text))
                .map_err(|e| invalid(py, format!("invalid argument: {e}")))?;
            PyInterface::build(py, Arc::new(iface))
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
            Some((cls, _)) => Ok(cls.clone_ref(py)),
            None => Err(invalid(
                py,
                format!("invalid argument: {name} is not a record"),
            )),
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
            wire::encode(&self.iface, &ty, &v, &mut out)
                .map_err(|e| invalid(py, format!("invalid argument: {e}")))?;
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
            let v = wire::decode(&self.iface, &ty, &bytes)
                .map_err(|e| invalid(py, format!("invalid argument: {e}")))?;
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

/// A Python object, as the interface crate asks about it (with the record
/// field names of its interface).
struct Obj<'a, 'py>(Bound<'py, PyAny>, &'a PyInterface);

impl<'a, 'py> Obj<'a, 'py> {
    fn is_wrapper(&self, cls: &Py<PyAny>) -> PyResult<bool> {
        self.0.is_instance(cls.bind(self.0.py()))
    }

    fn wrap(&self, o: Bound<'py, PyAny>) -> Self {
        Obj(o, self.1)
    }
}

impl<'a, 'py> HostValue for Obj<'a, 'py> {
    type Error = PyErr;

    fn describe(&self) -> String {
        let mut r = self
            .0
            .repr()
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "<unrepresentable>".into());
        if r.chars().count() > 60 {
            r = r.chars().take(57).collect::<String>() + "...";
        }
        let t = self
            .0
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        format!("{r} ({t})")
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }

    fn as_bool(&self) -> PyResult<Option<bool>> {
        Ok(self.0.cast::<PyBool>().ok().map(|b| b.is_true()))
    }

    fn as_int(&self) -> PyResult<Option<i128>> {
        if self.0.is_instance_of::<PyBool>() || !self.0.is_instance_of::<PyInt>() {
            return Ok(None);
        }
        if let Ok(n) = self.0.extract::<i64>() {
            return Ok(Some(i128::from(n)));
        }
        match self.0.extract::<i128>() {
            Ok(n) => Ok(Some(n)),
            // Beyond i128: out of range of every WIT integer; clamp by sign.
            Err(_) => Ok(Some(if self.0.lt(0)? { i128::MIN } else { i128::MAX })),
        }
    }

    fn as_float(&self) -> PyResult<Option<f64>> {
        if let Ok(f) = self.0.cast::<PyFloat>() {
            return Ok(Some(f.value()));
        }
        if self.0.is_instance_of::<PyBool>() || !self.0.is_instance_of::<PyInt>() {
            return Ok(None);
        }
        // int -> float as Python's float(n) (OverflowError beyond f64).
        self.0.extract::<f64>().map(Some)
    }

    fn as_str(&self) -> PyResult<Option<Result<String, String>>> {
        let Ok(s) = self.0.cast::<PyString>() else {
            return Ok(None);
        };
        Ok(Some(match s.to_cow() {
            Ok(c) => Ok(c.into_owned()),
            Err(e) => Err(e.value(self.0.py()).to_string()),
        }))
    }

    fn as_bytes(&self) -> PyResult<Option<Vec<u8>>> {
        if let Ok(b) = self.0.cast::<PyBytes>() {
            return Ok(Some(b.as_bytes().to_vec()));
        }
        if let Ok(b) = self.0.cast::<PyByteArray>() {
            return Ok(Some(b.to_vec()));
        }
        if self.0.is_instance_of::<PyList>()
            || self.0.is_instance_of::<PyTuple>()
            || self.0.is_instance_of::<PyString>()
            || self.0.is_instance_of::<PyInt>()
            || self.0.is_none()
        {
            return Ok(None);
        }
        // Any other buffer exporter (memoryview, array.array, numpy).
        let py = self.0.py();
        match InputBuffer::new(py).export_owned(&self.0, usize::MAX) {
            Ok(v) => Ok(Some(v)),
            Err(BufferError::Export(e)) if e.is_instance_of::<PyTypeError>(py) => Ok(None),
            Err(e) => Err(crate::method::buffer_error(py, "list<u8> value", e)),
        }
    }

    fn as_seq(&self) -> PyResult<Option<Vec<Self>>> {
        if let Ok(l) = self.0.cast::<PyList>() {
            return Ok(Some(l.iter().map(|o| self.wrap(o)).collect()));
        }
        if let Ok(t) = self.0.cast::<PyTuple>() {
            return Ok(Some(t.iter().map(|o| self.wrap(o)).collect()));
        }
        Ok(None)
    }

    fn fields(&self, ty: TypeIndex, _fields: &[Field]) -> PyResult<Option<Fields<Self>>> {
        let py = self.0.py();
        let o = &self.0;
        if o.is_none()
            || o.is_instance_of::<PyBool>()
            || o.is_instance_of::<PyInt>()
            || o.is_instance_of::<PyFloat>()
            || o.is_instance_of::<PyString>()
            || o.is_instance_of::<PyBytes>()
            || o.is_instance_of::<PyByteArray>()
            || o.is_instance_of::<PyList>()
            || o.is_instance_of::<PyTuple>()
        {
            return Ok(None);
        }
        let Some(Some((_, names))) = self.1.records.get(ty) else {
            return Ok(None);
        };
        if let Ok(d) = o.cast::<PyDict>() {
            let mut values = Vec::with_capacity(names.len());
            for n in names {
                values.push(d.get_item(n.bind(py))?.map(|v| self.wrap(v)));
            }
            let mut unknown = None;
            if d.len() > values.iter().filter(|v| v.is_some()).count() {
                for k in d.keys() {
                    let mut known = false;
                    for n in names {
                        if k.eq(n.bind(py))? {
                            known = true;
                            break;
                        }
                    }
                    if !known {
                        unknown = Some(match k.cast::<PyString>() {
                            Ok(s) => s.to_string_lossy().into_owned(),
                            Err(_) => k.repr()?.to_string_lossy().into_owned(),
                        });
                        break;
                    }
                }
            }
            return Ok(Some(Fields { values, unknown }));
        }
        let c = classes(py)?;
        if self.is_wrapper(&c.some)? || self.is_wrapper(&c.ok)? || self.is_wrapper(&c.err)? {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(names.len());
        for n in names {
            values.push(o.getattr_opt(n.bind(py))?.map(|v| self.wrap(v)));
        }
        Ok(Some(Fields {
            values,
            unknown: None,
        }))
    }

    fn as_some(&self) -> PyResult<Option<Self>> {
        let c = classes(self.0.py())?;
        if self.is_wrapper(&c.some)? {
            return Ok(Some(self.wrap(self.0.getattr("value")?)));
        }
        Ok(None)
    }

    fn as_result(&self) -> PyResult<Option<(bool, Self)>> {
        let c = classes(self.0.py())?;
        if self.is_wrapper(&c.ok)? {
            return Ok(Some((true, self.wrap(self.0.getattr("value")?))));
        }
        if self.is_wrapper(&c.err)? {
            return Ok(Some((false, self.wrap(self.0.getattr("value")?))));
        }
        Ok(None)
    }

    fn as_variant(&self) -> PyResult<Option<(String, Self)>> {
        let py = self.0.py();
        if let Ok(s) = self.0.cast::<PyString>() {
            return Ok(Some((
                s.to_cow()?.into_owned(),
                self.wrap(py.None().into_bound(py)),
            )));
        }
        let c = classes(py)?;
        if self.is_wrapper(&c.variant)? {
            let case = self.0.getattr("case")?;
            let case: String = case
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("Variant.case must be a str"))?
                .to_cow()?
                .into_owned();
            return Ok(Some((case, self.wrap(self.0.getattr("value")?))));
        }
        Ok(None)
    }

    fn as_names(&self) -> PyResult<Option<Vec<String>>> {
        let o = &self.0;
        if !(o.is_instance_of::<PySet>()
            || o.is_instance_of::<PyFrozenSet>()
            || o.is_instance_of::<PyList>()
            || o.is_instance_of::<PyTuple>())
        {
            return Ok(None);
        }
        let mut out = Vec::new();
        for item in o.try_iter()? {
            let item = item?;
            match item.cast::<PyString>() {
                Ok(s) => out.push(s.to_cow()?.into_owned()),
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

/// Builds Python objects for the interface crate.
struct Build<'a, 'py> {
    py: Python<'py>,
    types: &'a PyInterface,
}

impl<'py> dynamic::Builder for Build<'_, 'py> {
    type Out = Bound<'py, PyAny>;
    type Error = PyErr;

    fn bool(&mut self, v: bool) -> PyResult<Self::Out> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn int(&mut self, v: i64) -> PyResult<Self::Out> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn uint(&mut self, v: u64) -> PyResult<Self::Out> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn float(&mut self, v: f64) -> PyResult<Self::Out> {
        Ok(PyFloat::new(self.py, v).into_any())
    }
    fn char(&mut self, v: char) -> PyResult<Self::Out> {
        let mut b = [0u8; 4];
        Ok(PyString::new(self.py, v.encode_utf8(&mut b)).into_any())
    }
    fn string(&mut self, v: &str) -> PyResult<Self::Out> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn bytes(&mut self, v: &[u8]) -> PyResult<Self::Out> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn list(&mut self, items: Vec<Self::Out>) -> PyResult<Self::Out> {
        Ok(PyList::new(self.py, items)?.into_any())
    }
    fn none(&mut self) -> PyResult<Self::Out> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn some(&mut self, v: Self::Out) -> PyResult<Self::Out> {
        classes(self.py)?.some.bind(self.py).call1((v,))
    }
    fn result(&mut self, ok: bool, v: Self::Out) -> PyResult<Self::Out> {
        let c = classes(self.py)?;
        if ok { &c.ok } else { &c.err }.bind(self.py).call1((v,))
    }
    fn tuple(&mut self, items: Vec<Self::Out>) -> PyResult<Self::Out> {
        Ok(PyTuple::new(self.py, items)?.into_any())
    }
    fn record(&mut self, ty: TypeIndex, fields: Vec<Self::Out>) -> PyResult<Self::Out> {
        match self.types.records.get(ty) {
            Some(Some((cls, _))) => cls.bind(self.py).call1(PyTuple::new(self.py, fields)?),
            _ => Err(to_pyerr(
                self.py,
                &Error::Internal(format!("type {ty} is not a record")),
            )),
        }
    }
    fn variant(
        &mut self,
        _ty: TypeIndex,
        case: &str,
        payload: Option<Self::Out>,
    ) -> PyResult<Self::Out> {
        let p = match payload {
            Some(p) => p,
            None => self.none()?,
        };
        classes(self.py)?
            .variant
            .bind(self.py)
            .call1((PyString::new(self.py, case), p))
    }
    fn enum_case(&mut self, _ty: TypeIndex, case: &str) -> PyResult<Self::Out> {
        Ok(PyString::new(self.py, case).into_any())
    }
    fn flags(&mut self, _ty: TypeIndex, names: Vec<&str>) -> PyResult<Self::Out> {
        Ok(PyFrozenSet::new(self.py, names)?.into_any())
    }
    fn handle(&mut self, v: u64) -> PyResult<Self::Out> {
        self.uint(v)
    }
}

/// A lowering failure: a wrong shape is `TypeError`, a bad value
/// `InvalidArgumentError` (a `ValueError`), the object's own exception as is.
fn lower_err(py: Python<'_>, e: DynError<PyErr>) -> PyErr {
    match e {
        DynError::Host(e) => e,
        DynError::Type(m) => PyTypeError::new_err(m),
        DynError::Value(m) => invalid(py, format!("invalid argument: {m}")),
    }
}

/// A lifting failure (the decoder only yields values of the type: a bug).
fn lift_err(py: Python<'_>, e: DynError<PyErr>) -> PyErr {
    match e {
        DynError::Host(e) => e,
        DynError::Type(m) | DynError::Value(m) => {
            to_pyerr(py, &Error::Internal(format!("typed result: {m}")))
        }
    }
}

/// A function of a module's interface. ``f(*args, **kwargs)`` is
/// ``f.call(*args, **kwargs)``; a parameter is given by position or by its
/// Python name (``interval-ms`` → ``interval_ms``).
#[pyclass(module = "bridgehost.typed", name = "TypedFunction", frozen)]
pub(crate) struct TypedFunction {
    iface: Py<PyInterface>,
    index: usize,
    method: Py<Method>,
    /// The parameters' Python names (for keyword arguments).
    params: Vec<String>,
}

impl TypedFunction {
    fn function<'a>(&self, iface: &'a PyInterface) -> &'a Function {
        &iface.iface.functions[self.index]
    }

    /// Arguments → input bytes (checked by the interface crate).
    fn encode(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        out: &mut Vec<u8>,
    ) -> PyResult<()> {
        let iface = self.iface.get();
        let f = self.function(iface);
        let objs: Vec<Obj<'_, '_>> = args.iter().map(|o| Obj(o, iface)).collect();
        let mut named = Vec::new();
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                named.push((k.extract::<String>()?, Obj(v, iface)));
            }
        }
        let values = dynamic::lower_call(&iface.iface, f, &self.params, objs, named)
            .map_err(|e| lower_err(py, e))?;
        wire::encode_params_into(&iface.iface, f, &values, out)
            .map_err(|e| invalid(py, format!("invalid argument: {e}")))
    }
}

impl TypedFunction {
    fn submit_typed<'py>(
        &self,
        py: Python<'py>,
        input: Vec<u8>,
        is_async: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method = self.method.get();
        let index = self.index;
        let core = Arc::clone(&self.iface.get().iface);
        let path = method.module_path();
        let pyface = self.iface.clone_ref(py);
        method.submit_with(
            py,
            input,
            is_async,
            // On the pool thread, without the GIL: decode the hostile bytes.
            move |r| r.and_then(|out| decode_output(&core, &core.functions[index], || path, &out)),
            move |py, r| {
                let iface = pyface.get();
                completion(py, iface, &iface.iface.functions[index], r)
            },
        )
    }
}

/// The module's output for `f`, decoded as hostile bytes (no GIL needed):
/// output that does not decode is `AbiMismatch` (as `bridgehost call --json`).
fn decode_output(
    iface: &Interface,
    f: &Function,
    path: impl FnOnce() -> String,
    out: &[u8],
) -> Result<Option<Value>, Error> {
    wire::decode_result(iface, f, out).map_err(|e| Error::AbiMismatch {
        path: path(),
        reason: format!("output of {} does not match its interface: {e}", f.name),
    })
}

/// The Python outcome of a decoded result: the value, or the
/// `TypedModuleError` of a `result`'s error side (as an exception object).
fn present<'py>(
    py: Python<'py>,
    iface: &PyInterface,
    f: &Function,
    v: Option<&Value>,
) -> PyResult<Result<Bound<'py, PyAny>, Bound<'py, PyAny>>> {
    let mut b = Build { py, types: iface };
    match dynamic::lift_output(&iface.iface, f, v, &mut b).map_err(|e| lift_err(py, e))? {
        Output::Return(o) => Ok(Ok(o.unwrap_or_else(|| py.None().into_bound(py)))),
        Output::Raise(o) => {
            let value = o.unwrap_or_else(|| py.None().into_bound(py));
            let exc = classes(py)?
                .typed_error
                .bind(py)
                .call1((f.name.as_str(), value))?;
            Ok(Err(exc))
        }
    }
}

/// `(value, exception)` for a future's completion.
fn completion<'py>(
    py: Python<'py>,
    iface: &PyInterface,
    f: &Function,
    r: Result<Option<Value>, Error>,
) -> PyResult<crate::method::PyOutcome<'py>> {
    Ok(match r {
        Err(e) => (
            None,
            Some(to_pyerr(py, &e).into_value(py).into_bound(py).into_any()),
        ),
        Ok(v) => match present(py, iface, f, v.as_ref()) {
            Ok(Ok(value)) => (Some(value), None),
            Ok(Err(exc)) => (None, Some(exc)),
            Err(e) => (None, Some(e.into_value(py).into_bound(py).into_any())),
        },
    })
}

#[pymethods]
impl TypedFunction {
    /// Call on this thread: arguments are checked and encoded, the result
    /// decoded (a ``result<T, E>`` returns ``T`` or raises
    /// ``TypedModuleError`` carrying ``E``).
    #[pyo3(signature = (*args, **kwargs))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let mut input = INPUT.with(Cell::take);
            let v = self.encode(py, args, kwargs, &mut input).and_then(|()| {
                let method = self.method.get();
                let iface = self.iface.get();
                let f = self.function(iface);
                method.call_bytes(py, &input, |out| {
                    decode_output(&iface.iface, f, || method.module_path(), out).py_err(py)
                })
            });
            if input.capacity() <= KEEP_INPUT {
                INPUT.with(|c| c.set(input));
            }
            let v = v?;
            let iface = self.iface.get();
            let f = self.function(iface);
            match present(py, iface, f, v.as_ref())? {
                Ok(value) => Ok(value),
                Err(exc) => Err(PyErr::from_value(exc)),
            }
        })
    }

    /// Same as ``call(*args)``.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call(py, args, kwargs)
    }

    /// Run on bridgehost's pool: a ``concurrent.futures.Future`` of the
    /// decoded result (``TypedModuleError`` for a ``result``'s error side).
    /// Arguments are checked and encoded before this returns.
    #[pyo3(signature = (*args, **kwargs))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let mut input = Vec::new();
            self.encode(py, args, kwargs, &mut input)?;
            self.submit_typed(py, input, false)
        })
    }

    /// Like ``submit`` but an ``asyncio.Future`` of the running loop
    /// (``await f.submit_async(*args)``).
    #[pyo3(signature = (*args, **kwargs))]
    fn submit_async<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let mut input = Vec::new();
            self.encode(py, args, kwargs, &mut input)?;
            self.submit_typed(py, input, true)
        })
    }

    /// The function's name (its method name).
    #[getter]
    fn name(&self) -> String {
        self.function(self.iface.get()).name.clone()
    }

    /// The WIT signature, e.g. ``add: func(a: u32, b: u32) -> u32``.
    #[getter]
    fn signature(&self) -> String {
        let iface = self.iface.get();
        iface.iface.signature(self.function(iface))
    }

    /// The byte method under it.
    #[getter]
    fn method(&self, py: Python<'_>) -> Py<Method> {
        self.method.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!("<bridgehost.typed.TypedFunction {}>", self.signature())
    }
}

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

/// ``Module.typed()``: the module's functions as attributes.
#[pyclass(module = "bridgehost.typed", name = "TypedView", frozen)]
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
pub(crate) fn view(module: &Bound<'_, Module>) -> PyResult<TypedView> {
    let py = module.py();
    let m = module.get();
    m.inner.check(py)?;
    let info = m.inner.info();
    let iface = info.interface.clone().ok_or_else(|| {
        invalid(
            py,
            format!(
                "invalid argument: module {:?} has no typed interface (it is bytes-only: \
                 call its methods with bytes)",
                info.name
            ),
        )
    })?;
    let pyface = Py::new(py, PyInterface::build(py, Arc::clone(&iface))?)?;
    let names = py_names(py, iface.functions.iter().map(|f| f.name.as_str()))?;
    let mut attrs = Vec::new();
    let mut all = Vec::with_capacity(iface.functions.len());
    for (index, (f, pyname)) in iface.functions.iter().zip(names).enumerate() {
        let core = m.inner.method(&f.name).py_err(py)?;
        let method = Py::new(py, Method::new(core, module.clone().unbind()))?;
        let params = py_names(py, f.params.iter().map(|p| p.name.as_str()))?;
        let tf = Py::new(
            py,
            TypedFunction {
                iface: pyface.clone_ref(py),
                index,
                method,
                params,
            },
        )?;
        if f.kind == FunctionKind::Freestanding {
            attrs.push((pyname, tf.clone_ref(py)));
        }
        all.push(tf);
    }
    let ns = py.import("types")?.getattr("SimpleNamespace")?.call0()?;
    for (cls, _) in pyface.get().records.iter().flatten() {
        let cname: String = cls.bind(py).getattr("__name__")?.extract()?;
        ns.setattr(cname.as_str(), cls.bind(py))?;
    }
    Ok(TypedView {
        iface: pyface,
        attrs,
        all,
        types: ns.unbind(),
        module: module.clone().unbind(),
    })
}

#[pymethods]
impl TypedView {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<TypedFunction>> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone_ref(py))
            .ok_or_else(|| {
                PyAttributeError::new_err(format!(
                    "interface {} has no function {name:?} (it has: {})",
                    self.iface.get().iface.name,
                    self.attrs
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
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
    fn function(&self, py: Python<'_>, name: &str) -> PyResult<Py<TypedFunction>> {
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
        topic: &str,
        callback: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
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
                TypedListener {
                    iface: self.iface.clone_ref(py),
                    index,
                    callback: callback.unbind(),
                    path: self.module.get().inner.info().path.clone(),
                },
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
