//! ``TypedFunction``: a function of a module's interface, called with Python
//! arguments (checked and encoded by the interface crate) and returning its
//! decoded result, on this thread or on bridgehost's pool.
#![forbid(unsafe_code)]

use super::classes;
use super::convert::{lift_err, lower_err, Build, Obj};
use super::owned::{release_now, Drops, OwnedHandles};
use super::{scalar, PyInterface};
use crate::errors::{guard, invalid, to_pyerr, IntoPy};
use crate::method::Method;
use bridgehost::interface::output_mismatch;
use bridgehost::interface::typed::dynamic::{self, Output};
use bridgehost::interface::typed::scalar::MAX_PARAMS;
use bridgehost::interface::typed::{wire, Function, Interface, TypeIndex, Value};
use bridgehost::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use pyo3::Borrowed;
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Inputs up to this size keep their encoding buffer for the thread's next
/// typed call (as `Method.call` keeps its output buffer).
const KEEP_INPUT: usize = 1 << 20;

/// A `list<u8>` result expected to be longer than this is not written into
/// a `bytes` allocated before the call (`Method::call_bytes_run`): an
/// expectation that fails costs an allocation of that size for nothing.
const MAX_PRESIZED: usize = 64 << 20;

thread_local! {
    /// One reusable input buffer per thread for typed calls (`call` only:
    /// `submit` hands its input to the core).
    static INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}
/// A function of a module's interface. ``f(*args, **kwargs)`` is
/// ``f.call(*args, **kwargs)``; a parameter is given by position or by its
/// Python name (``interval-ms`` → ``interval_ms``).
#[pyclass(module = "bridgehost.typed", name = "TypedFunction", frozen, subclass)]
pub(crate) struct TypedFunction {
    pub(super) iface: Py<PyInterface>,
    pub(super) index: usize,
    pub(super) method: Py<Method>,
    /// The parameters' Python names (for keyword arguments).
    pub(super) params: Vec<String>,
    /// The input when it is one `list<u8>` or `string` (moved without a
    /// `Value` when given as `bytes` / `str`; see [`Self::encode`]).
    pub(super) run_in: Option<wire::Run>,
    /// The output when it is one `list<u8>` or `string` (built straight
    /// from the output bytes).
    pub(super) run_out: Option<wire::Run>,
    /// For a `list<u8>` output: the length of the previous call's result (0:
    /// none yet, or empty). A call expects the same length and has the
    /// module write the result straight into a `bytes` of that size
    /// (`Method::call_bytes_run`); another length takes the ordinary path.
    pub(super) expect_out: AtomicUsize,
    /// For a function whose result can hold an owned handle: the drop methods
    /// (typed/owned.rs). The handles of an output nobody receives are dropped.
    pub(super) drops: Option<Drops>,
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
                    invalid(py, e.to_string())
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
            .map_err(|e| invalid(py, e.to_string()))
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
        let Some(drops) = self.drops.clone() else {
            return method.submit_with(
                py,
                Ok(input),
                is_async,
                false,
                // On the pool thread, without the GIL: decode the hostile bytes.
                move |r| {
                    r.and_then(|out| decode_output(&core, &core.functions[index], || path, &out))
                },
                move |py, r| {
                    let iface = pyface.get();
                    completion(py, iface, &iface.iface.functions[index], r)
                },
            );
        };
        // A result that can hold owned handles: they travel with the outcome
        // (``OwnedHandles``), and those of an output that is not delivered are
        // dropped (typed/owned.rs).
        method.submit_with(
            py,
            Ok(input),
            is_async,
            true,
            move |r| match r {
                Ok(out) => decode_owned(&core, &core.functions[index], || path, &out),
                Err(e) => (Err(e), Vec::new()),
            },
            move |py, (r, handles)| {
                let iface = pyface.get();
                let f = &iface.iface.functions[index];
                let v = match r {
                    Ok(v) => v,
                    Err(e) => {
                        release_now(&drops, handles);
                        return completion(py, iface, f, Err(e));
                    }
                };
                match present(py, iface, f, v.as_ref()) {
                    Ok(outcome) => {
                        let owned = match OwnedHandles::new(&drops, handles) {
                            Some(o) => Some(Bound::new(py, o)?.into_any()),
                            None => None,
                        };
                        Ok(match outcome {
                            Ok(value) => (Some(value), None, owned),
                            Err(exc) => (None, Some(exc), owned),
                        })
                    }
                    Err(e) => {
                        release_now(&drops, handles);
                        Ok((None, Some(e.into_value(py).into_bound(py).into_any()), None))
                    }
                }
            },
        )
    }
}

/// Owned handles read by the decoder: (resource type, handle).
type Handles = Vec<(TypeIndex, u64)>;

/// [`decode_output`], also returning the owned handles read (all of them, or
/// those before the error of a malformed output: typed/owned.rs).
fn decode_owned(
    iface: &Interface,
    f: &Function,
    path: impl FnOnce() -> String,
    out: &[u8],
) -> (Result<Option<Value>, Error>, Handles) {
    let (r, handles) = wire::decode_result_owned(iface, f, out);
    (
        r.map_err(|e| output_mismatch(&path(), &f.name, &e)),
        handles,
    )
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
    /// A value and the owned handles in it (a function with `drops`).
    Owned(Option<Value>, Handles),
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
            None,
        ),
        Ok(v) => match present(py, iface, f, v.as_ref()) {
            Ok(Ok(value)) => (Some(value), None, None),
            Ok(Err(exc)) => (None, Some(exc), None),
            Err(e) => (None, Some(e.into_value(py).into_bound(py).into_any()), None),
        },
    })
}

impl TypedFunction {
    /// The scalar fast path of a call with positional arguments `arg(0..n)`
    /// (typed/scalar.rs): `None` when it does not take them as they are (the
    /// general path decides).
    #[inline]
    fn call_scalar<'py, 'a>(
        &self,
        py: Python<'py>,
        n: usize,
        arg: impl Fn(usize) -> Option<Borrowed<'a, 'py, PyAny>>,
    ) -> Option<PyResult<Bound<'py, PyAny>>>
    where
        'py: 'a,
    {
        let method = self.method.get();
        let sig = method.scalar_signature()?;
        let mut slots = [0u64; MAX_PARAMS];
        let n = scalar::lower(sig, n, arg, &mut slots)?;
        Some(
            method
                .call_scalar(py, &slots[..n])
                .and_then(|slot| scalar::lift(py, sig.result, slot)),
        )
    }

    /// A call through vectorcall (vectorcall.rs): `nargs` positional
    /// arguments `arg(0..nargs)`, then the values of the keywords `kw` names
    /// (`arg(nargs..)`). The same outcome as ``call`` with the same arguments.
    pub(crate) fn call_vector<'py, 'a>(
        &self,
        py: Python<'py>,
        nargs: usize,
        arg: impl Fn(usize) -> Option<Borrowed<'a, 'py, PyAny>>,
        kw: Option<(Borrowed<'_, 'py, PyTuple>, usize)>,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        'py: 'a,
    {
        guard(py, || {
            if kw.as_ref().is_none_or(|(names, _)| names.is_empty()) {
                if let Some(r) = self.call_scalar(py, nargs, &arg) {
                    return r;
                }
            }
            let (args, kwargs) = crate::vectorcall::pack(py, nargs, &arg, kw)?;
            self.call_general(py, &args, kwargs.as_ref())
        })
    }

    /// A call the scalar fast path did not take: arguments encoded, the byte
    /// call, the result decoded.
    fn call_general<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut input = INPUT.with(Cell::take);
        let v = self.encode(py, args, kwargs, &mut input).and_then(|()| {
            let method = self.method.get();
            let iface = self.iface.get();
            let f = self.function(iface);
            let read = |out: &[u8]| {
                // A `list<u8>` / `string` result is built from the
                // output bytes directly (the same checks as
                // `decode_output`, the same Python value as `present`).
                let run = match self.run_out {
                    Some(wire::Run::Bytes) => Some(wire::decode_bytes(out).map(|b| {
                        self.expect_out.store(b.len(), Ordering::Relaxed);
                        PyBytes::new(py, b).into_any()
                    })),
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
                    None => match &self.drops {
                        None => Decoded::Value(
                            decode_output(&iface.iface, f, || method.module_path(), out)
                                .py_err(py)?,
                        ),
                        Some(drops) => {
                            let (r, handles) =
                                decode_owned(&iface.iface, f, || method.module_path(), out);
                            match r {
                                Ok(v) => Decoded::Owned(v, handles),
                                Err(e) => {
                                    // A malformed output: drop the handles it did hold.
                                    release_now(drops, handles);
                                    return Err(to_pyerr(py, &e));
                                }
                            }
                        }
                    },
                })
            };
            let expect = match self.run_out {
                Some(wire::Run::Bytes) => self.expect_out.load(Ordering::Relaxed),
                _ => 0,
            };
            if expect == 0 || expect > MAX_PRESIZED {
                return method.call_bytes(py, &input, read);
            }
            // The result is expected to be as long as the previous one:
            // the module writes it straight into the `bytes` returned.
            match method.call_bytes_run(py, &input, expect, read)? {
                Ok(bytes) => Ok(Decoded::Ready(bytes.into_any())),
                Err(decoded) => Ok(decoded),
            }
        });
        if input.capacity() <= KEEP_INPUT {
            INPUT.with(|c| c.set(input));
        }
        let (v, handles) = match v? {
            Decoded::Ready(v) => return Ok(v),
            Decoded::Value(v) => (v, Vec::new()),
            Decoded::Owned(v, handles) => (v, handles),
        };
        let iface = self.iface.get();
        let f = self.function(iface);
        match present(py, iface, f, v.as_ref()) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(exc)) => Err(PyErr::from_value(exc)),
            Err(e) => {
                // Not presentable (e.g. a bound record class refused its fields): the
                // caller receives no handle, so none stays behind.
                if let Some(drops) = &self.drops {
                    release_now(drops, handles);
                }
                Err(e)
            }
        }
    }
}

#[pymethods]
impl TypedFunction {
    /// Only the typed view makes these (vectorcall.rs); from Python,
    /// ``TypeError`` as for a class without a constructor.
    #[new]
    fn __new__() -> PyResult<Self> {
        crate::vectorcall::take_pending()
    }

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
            // A direct-eligible function with positional arguments the scalar
            // fast path takes as they are: no encoding, no output buffer
            // (typed/scalar.rs). Anything else takes the general path.
            if kwargs.is_none_or(|kw| kw.is_empty()) {
                let arg = |i: usize| args.get_borrowed_item(i).ok();
                if let Some(r) = self.call_scalar(py, args.len(), arg) {
                    return r;
                }
            }
            self.call_general(py, args, kwargs)
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
