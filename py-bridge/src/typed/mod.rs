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

mod convert;
mod events;

use convert::{lift_err, lower_err, Build, Obj};
pub(crate) use events::TypedListener;

use crate::buffer::InputBuffer;
use crate::errors::{guard, invalid, make, to_pyerr, IntoPy};
use crate::method::Method;
use crate::module::Module;
use bridgehost::interface::output_mismatch;
use bridgehost::interface::typed::dynamic::{self, Output};
use bridgehost::interface::typed::{wire, Function, FunctionKind, Interface, Type};
use bridgehost::interface::typed::{TypeDefKind, Value};
use bridgehost::{Error, ErrorKind};
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyMapping, PyString, PyTuple, PyType};
use std::borrow::Cow;
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
    iface: Arc<Interface>,
    /// Per type index: the record's dataclass and its Python field names.
    records: Vec<Option<Record>>,
}

impl PyInterface {
    /// `bound`: classes the caller binds to records by WIT name (the
    /// `records` argument of ``Module.typed``); every other record gets a
    /// frozen dataclass made here.
    fn build(
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
                            "invalid argument: records: {name:?} is not a record of interface \
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
                                    "invalid argument: records: {} declares the fields ({}), \
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
                .map_err(|e| invalid(py, format!("invalid argument: {e}")))?;
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
    /// The input when it is one `list<u8>` or `string` (moved without a
    /// `Value` when given as `bytes` / `str`; see [`Self::encode`]).
    run_in: Option<wire::Run>,
    /// The output when it is one `list<u8>` or `string` (built straight
    /// from the output bytes).
    run_out: Option<wire::Run>,
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
        // One `bytes` / `str` for a function whose input is exactly that
        // run: the wire's bytes are the length and a copy of the object's
        // (immutable) bytes. Anything else (another buffer type, a
        // sequence, a keyword, a str with surrogates) takes the general
        // path, which accepts or refuses it by the interface crate's rules.
        if let (Some(kind), None, 1) = (self.run_in, kwargs, args.len()) {
            let a = args.get_item(0)?;
            let data: Option<Cow<'_, [u8]>> = match kind {
                wire::Run::Bytes => a.cast::<PyBytes>().ok().map(|b| b.as_bytes().into()),
                wire::Run::String => {
                    a.cast::<PyString>()
                        .ok()
                        .and_then(|s| s.to_cow().ok())
                        .map(|c| match c {
                            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                        })
                }
            };
            if let Some(data) = data {
                return wire::encode_run_into(&data, kind, out).map_err(|e| {
                    let e = e.context(&format!("parameter {}", f.params[0].name));
                    invalid(py, format!("invalid argument: {e}"))
                });
            }
        }
        if kwargs.is_none_or(|kw| kw.is_empty()) {
            return dynamic::lower_args_into(
                &iface.iface,
                f,
                args.len(),
                |i| Ok(Obj(args.get_item(i)?, iface)),
                out,
            )
            .map_err(|e| lower_err(py, e));
        }
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
            Ok(input),
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
    wire::decode_result(iface, f, out).map_err(|e| output_mismatch(&path(), &f.name, &e))
}

/// A synchronous call's output: already a Python object (a byte run), or a
/// value still to present.
enum Decoded<'py> {
    Ready(Bound<'py, PyAny>),
    Value(Option<Value>),
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
                    // A `list<u8>` / `string` result is built from the
                    // output bytes directly (the same checks as
                    // `decode_output`, the same Python value as `present`).
                    let run = match self.run_out {
                        Some(wire::Run::Bytes) => {
                            Some(wire::decode_bytes(out).map(|b| PyBytes::new(py, b).into_any()))
                        }
                        Some(wire::Run::String) => {
                            Some(wire::decode_str(out).map(|s| PyString::new(py, s).into_any()))
                        }
                        None => None,
                    };
                    Ok(match run {
                        Some(Ok(v)) => Decoded::Ready(v),
                        Some(Err(e)) => {
                            return Err(to_pyerr(
                                py,
                                &output_mismatch(&method.module_path(), &f.name, &e),
                            ))
                        }
                        None => Decoded::Value(
                            decode_output(&iface.iface, f, || method.module_path(), out)
                                .py_err(py)?,
                        ),
                    })
                })
            });
            if input.capacity() <= KEEP_INPUT {
                INPUT.with(|c| c.set(input));
            }
            let v = match v? {
                Decoded::Ready(v) => return Ok(v),
                Decoded::Value(v) => v,
            };
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
    records: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, TypedView>> {
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
    let pyface = Py::new(py, PyInterface::build(py, Arc::clone(&iface), records)?)?;
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
                run_in: wire::run_param(&iface, f),
                run_out: wire::run_result(&iface, f),
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
