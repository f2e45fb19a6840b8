//! `bridgehost.Method`: call, call_into, call_scalar; submit and submit_async
//! (their futures: [`submit`]).
#![forbid(unsafe_code)]

use crate::buffer::{BufferError, InputBuffer};
use crate::errors::{guard, invalid, to_pyerr};
use crate::module::Module;
use crate::presized::Unfilled;
use crate::release::DropDetached;
use bridgehost::interface::typed::scalar::ScalarSignature;
use bridgehost::{CallCancel, CallOutput, CancelPoll, Error, Isolation, ThreadModel};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

mod submit;

use submit::bytes_outcome;
pub(crate) use submit::{PyOutcome, SubmitHandle};

/// Outputs larger than this are copied into their `bytes` with the GIL
/// released, and inputs larger than this are copied for `submit` likewise.
const LARGE: usize = 1 << 20;

/// A non-blocking method keeps the GIL only for inputs up to this size: it
/// does not wait, but its work grows with the input (a checksum of 64 MiB is
/// CPU-bound for milliseconds and must let other threads run). The same
/// threshold as CPython's `hashlib` (HASHLIB_GIL_MINSIZE).
const KEEP_GIL_MAX_INPUT: usize = 2048;

thread_local! {
    /// One reusable output buffer per thread: a call's output lands here and
    /// is copied once, into the returned `bytes`.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

thread_local! {
    /// Whether this thread is Python's main thread (0: not known yet, 1: yes, 2: no).
    static MAIN_THREAD: Cell<u8> = const { Cell::new(0) };
}

/// Python runs signal handlers only on its main thread: only there can a
/// blocking call be interrupted by Ctrl-C.
fn on_main_thread(py: Python<'_>) -> bool {
    let known = MAIN_THREAD.with(Cell::get);
    if known != 0 {
        return known == 1;
    }
    let main = (|| -> PyResult<bool> {
        let threading = py.import("threading")?;
        let me: u64 = threading.getattr("get_ident")?.call0()?.extract()?;
        let main: u64 = threading
            .getattr("main_thread")?
            .call0()?
            .getattr("ident")?
            .extract()?;
        Ok(me == main)
    })()
    .unwrap_or(false);
    MAIN_THREAD.with(|c| c.set(if main { 1 } else { 2 }));
    main
}

/// Run an isolated call with the GIL released, interruptible by a signal
/// handler that raises (Ctrl-C: `KeyboardInterrupt`): while the call waits
/// for its worker, the core asks every 50 ms (and at once after a signal)
/// whether to cancel, and this answers by running Python's pending signal
/// handlers. One that raises cancels the call (the core kills and replaces
/// the worker; `cancelled` counts it) and its exception is returned as
/// `Err`; otherwise the call's own result is `Ok`.
fn call_interruptible(
    py: Python<'_>,
    method: &bridgehost::Method,
    input: &[u8],
    out: &mut Vec<u8>,
) -> PyResult<Result<(), Error>> {
    interruptible(py, method, || method.call_with(input, out))
}

/// [`call_interruptible`] for any one call of `method` (`call`, run with the
/// GIL released): the typed calls' bytes and scalar calls.
fn interruptible<R: Send>(
    py: Python<'_>,
    method: &bridgehost::Method,
    call: impl FnOnce() -> Result<R, Error> + Send,
) -> PyResult<Result<R, Error>> {
    let raised: std::sync::Arc<std::sync::Mutex<Option<PyErr>>> = Default::default();
    let slot = std::sync::Arc::clone(&raised);
    let poll: CancelPoll = std::sync::Arc::new(move || {
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                true
            }
        })
    });
    let token = CallCancel::new();
    let r = py.detach(|| method.cancellable(&token, Some(poll), call));
    let pending = raised.lock().unwrap_or_else(|p| p.into_inner()).take();
    match pending {
        Some(e) => Err(e),
        None => Ok(r),
    }
}

/// Run `f` with this thread's reusable output buffer (taken out of its cell,
/// so a nested call on this thread gets an empty one of its own; put back
/// cleared afterwards unless it grew past `LARGE`). One thread-local lookup
/// per call, not one to take and one to put back.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut v = cell.take();
        let r = f(&mut v);
        // Do not keep a large buffer alive per thread.
        if v.capacity() <= LARGE {
            v.clear();
            cell.set(v);
        }
        r
    })
}

/// `bytes` from `data`; large copies run with the GIL released.
fn to_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if data.len() <= LARGE {
        return Ok(PyBytes::new(py, data));
    }
    PyBytes::new_with(py, data.len(), |dst| {
        // `dst` is a fresh bytes object no other thread can see yet.
        py.detach(|| dst.copy_from_slice(data));
        Ok(())
    })
}

/// The Python exception for an unusable buffer argument.
pub(crate) fn buffer_error(py: Python<'_>, what: &str, e: BufferError) -> PyErr {
    match e {
        BufferError::Export(err) => {
            if err.is_instance_of::<PyTypeError>(py) {
                PyTypeError::new_err(format!(
                    "{what} must be a bytes-like object (bytes, bytearray, memoryview, \
                     numpy array, ...): {}",
                    err.value(py)
                ))
            } else {
                err
            }
        }
        BufferError::NotContiguous => invalid(
            py,
            format!("{what} must be a C-contiguous buffer (copy it first, e.g. bytes(x))"),
        ),
        BufferError::BadLength => {
            invalid(py, format!("{what}: exporter reported a negative length"))
        }
        BufferError::Overlaps => invalid(py, format!("{what} must not overlap the input")),
        BufferError::Objects => invalid(
            py,
            format!(
                "{what} holds Python object pointers (buffer format 'O', e.g. numpy \
                 dtype=object), not bytes: convert it first (e.g. np.asarray(x, dtype=np.uint8))"
            ),
        ),
        BufferError::Closed(e) => to_pyerr(py, &e),
    }
}

/// A resolved method. ``method(data)`` and ``method.call(data)`` call it.
///
/// ``data`` is any C-contiguous bytes-like object (bytes, bytearray,
/// memoryview, numpy array). ``bytes`` (and a memoryview of bytes) is read
/// in place; a mutable buffer is copied first (another thread could write it
/// during the call, with or without the GIL). Its buffer stays exported for the whole call (a
/// ``bytearray`` cannot be resized meanwhile). The GIL is released during the call, except for
/// small inputs (up to 2 KiB) to methods a thread-safe in-process module
/// declares non-blocking (``keeps_gil``).
#[pyclass(module = "bridgehost", name = "Method", frozen, weakref, subclass)]
pub(crate) struct Method {
    inner: DropDetached<bridgehost::Method>,
    /// Set by ``close()``: later calls raise ``ClosedError``.
    closed: AtomicBool,
    /// Call without releasing the GIL: the module promises the method never
    /// blocks, and the host adds no waiting of its own (thread-safe module,
    /// in-process: no serialization lock, no owner-thread hop, no IPC).
    keep_gil: bool,
    /// Isolated: a call on the main thread can be interrupted by Ctrl-C.
    isolated: bool,
    module: Py<Module>,
}

impl Method {
    pub(crate) fn new(inner: bridgehost::Method, module: Py<Module>) -> Self {
        let keep_gil =
            inner.is_nonblocking() && inner.module().info().thread_model == ThreadModel::ThreadSafe;
        let isolated = inner.module().options().isolation == Isolation::Process;
        Method {
            inner: DropDetached::new(inner),
            closed: AtomicBool::new(false),
            keep_gil,
            isolated,
            module,
        }
    }

    /// ``ClosedError`` after ``close()`` or in a forked child (the core
    /// reports its own module's or host's closing).
    fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(crate::errors::make(
                py,
                bridgehost::ErrorKind::Closed,
                "closed: method is closed",
                0,
            ));
        }
        self.inner.check(py)
    }

    fn call_impl<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        release_gil: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.check(py)?;
        let mut slot = InputBuffer::new(py);
        // Released GIL => the input is immutable or copied (buffer.rs).
        let input = slot
            .export(data, |len| release_gil || len > KEEP_GIL_MAX_INPUT)
            .map_err(|e| buffer_error(py, "data", e))?;
        let method: &bridgehost::Method = &self.inner;
        let bytes = input.bytes;
        let isolated = self.isolated;
        with_scratch(|out| {
            let r = if input.detach && isolated && on_main_thread(py) {
                call_interruptible(py, method, bytes, out)?
            } else if input.detach {
                py.detach(|| method.call_with(bytes, out))
            } else {
                method.call_with(bytes, out)
            };
            match r {
                Ok(()) => to_bytes(py, out),
                Err(e) => Err(to_pyerr(py, &e)),
            }
        })
        // `slot` (the export) is released here, with the GIL, after the call.
    }

    /// Copy the input for `submit` (the core owns it from then on). An
    /// unusable `data` raises here; a closed method is the future's
    /// exception (`submit_with`), and so are a closed `SharedBuffer` and an
    /// input over `max_input`, which is refused before it is copied (a copy
    /// of a huge input, or the reading of a huge sparse `SharedBuffer`,
    /// costs its size in memory).
    fn owned_input(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<Result<Vec<u8>, Error>> {
        let mut slot = InputBuffer::new(py);
        let large = |len: usize| len > LARGE;
        let input = match slot.export(data, large) {
            Ok(input) => input,
            // A closed SharedBuffer is a refused submit, the future's
            // exception (as Java's `submit(SharedBuffer)` fails its future).
            Err(BufferError::Closed(e)) => return Ok(Err(e)),
            Err(e) => return Err(buffer_error(py, "data", e)),
        };
        if let Err(e) = self.inner.check_input_len(input.bytes.len()) {
            return Ok(Err(e));
        }
        let bytes = input.bytes;
        Ok(Ok(if input.detach {
            py.detach(|| bytes.to_vec())
        } else {
            bytes.to_vec()
        }))
    }
}

impl Method {
    /// The byte call under a typed call (typed/function.rs): the same GIL rule as
    /// ``call`` (kept only for small inputs to a non-blocking method of a
    /// thread-safe in-process module). `read` gets the output, which lands
    /// in this thread's reusable scratch buffer (as ``call``'s does).
    pub(crate) fn call_bytes<T>(
        &self,
        py: Python<'_>,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> PyResult<T>,
    ) -> PyResult<T> {
        self.check(py)?;
        let method: &bridgehost::Method = &self.inner;
        let keep_gil = self.keep_gil && input.len() <= KEEP_GIL_MAX_INPUT;
        with_scratch(|out| {
            let r = if keep_gil {
                method.call_with(input, out)
            } else if self.isolated && on_main_thread(py) {
                // Interruptible by Ctrl-C, as a bytes call is.
                call_interruptible(py, method, input, out)?
            } else {
                py.detach(|| method.call_with(input, out))
            };
            match r {
                Ok(()) => read(out),
                Err(e) => Err(to_pyerr(py, &e)),
            }
        })
    }

    /// [`Self::call_bytes`] of a function whose result is one `list<u8>`
    /// expected to hold `expect` bytes, in-process: the module's writes go
    /// straight into a `bytes` of that size allocated before the call
    /// (presized.rs), which is returned (`Ok(Ok(bytes))`) when the output is
    /// exactly such a run; any other output is `read` as `call_bytes` reads
    /// it (`Ok(Err(t))`). Isolated modules, and a `bytes` Python cannot
    /// allocate, take `call_bytes` itself (an isolated output is copied out
    /// of shared memory straight into the scratch buffer).
    pub(crate) fn call_bytes_run<'py, T>(
        &self,
        py: Python<'py>,
        input: &[u8],
        expect: usize,
        read: impl FnOnce(&[u8]) -> PyResult<T>,
    ) -> PyResult<Result<Bound<'py, PyBytes>, T>> {
        if self.isolated {
            return self.call_bytes(py, input, read).map(Err);
        }
        self.check(py)?;
        let Some(unfilled) = Unfilled::new(py, expect) else {
            return self.call_bytes(py, input, read).map(Err);
        };
        let method: &bridgehost::Method = &self.inner;
        let max = method.max_output();
        let detach = !(self.keep_gil && input.len() <= KEEP_GIL_MAX_INPUT);
        with_scratch(|spill| {
            let r = unfilled.fill(spill, |sink| {
                let mut out = CallOutput::to_sink(sink, max);
                let r = if detach {
                    py.detach(|| method.call_into(input, &mut out))
                } else {
                    method.call_into(input, &mut out)
                };
                r.map(|_| ())
            });
            match r {
                Ok(Some(bytes)) => Ok(Ok(bytes)),
                Ok(None) => read(spill).map(Err),
                Err(e) => Err(to_pyerr(py, &e)),
            }
        })
    }

    /// The parameter and result types of the method's typed function when it
    /// is direct-eligible (the core's [`bridgehost::Method::scalar_signature`]).
    #[inline]
    pub(crate) fn scalar_signature(&self) -> Option<&ScalarSignature> {
        self.inner.scalar_signature()
    }

    /// The scalar call under a typed call's fast path (typed/scalar.rs): one
    /// slot per argument, the result's slot back. The same checks and GIL
    /// rule as [`Self::call_bytes`] (the wire input of at most 8 scalars is
    /// far below `KEEP_GIL_MAX_INPUT`, so a non-blocking method of a
    /// thread-safe in-process module keeps the GIL; every other releases it).
    #[inline]
    pub(crate) fn call_scalar(&self, py: Python<'_>, args: &[u64]) -> PyResult<u64> {
        self.check(py)?;
        let method: &bridgehost::Method = &self.inner;
        let r = if self.keep_gil {
            method.call_scalar(args)
        } else if self.isolated && on_main_thread(py) {
            // Interruptible by Ctrl-C, as a bytes call is.
            interruptible(py, method, || method.call_scalar(args))?
        } else {
            py.detach(|| method.call_scalar(args))
        };
        r.map_err(|e| to_pyerr(py, &e))
    }

    /// The file the module was loaded from (for error messages).
    pub(crate) fn module_path(&self) -> String {
        self.inner.module().info().path.clone()
    }
}

#[pymethods]
impl Method {
    /// Only `Module.method` makes these (vectorcall.rs); from Python,
    /// ``TypeError`` as for a class without a constructor.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __new__(
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        crate::vectorcall::take_pending_method()
    }

    /// The signature of a call, ``(data, /)``, for :func:`inspect.signature`
    /// (the object is called through vectorcall; its type's ``__call__``
    /// shows only ``(*args, **kwargs)``).
    #[getter]
    fn __signature__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inspect = py.import("inspect")?;
        let parameter = inspect.getattr("Parameter")?;
        let data = parameter.call1(("data", parameter.getattr("POSITIONAL_ONLY")?))?;
        inspect.getattr("Signature")?.call1(([data],))
    }

    /// Call on this thread and return the output as ``bytes``.
    #[pyo3(signature = (data, /))]
    pub(crate) fn call<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(py, || self.call_impl(py, data, !self.keep_gil))
    }

    /// Same as ``call(data)``.
    #[pyo3(signature = (data, /))]
    pub(crate) fn __call__<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(py, || self.call_impl(py, data, !self.keep_gil))
    }

    /// Like ``call`` but always releases the GIL (for measuring the
    /// non-blocking fast path against the ordinary one).
    #[pyo3(signature = (data, /))]
    pub(crate) fn call_released<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(py, || self.call_impl(py, data, true))
    }

    /// Call, writing the output into the writable buffer ``out``; returns
    /// the number of bytes written. If it does not fit, raises
    /// ``BufferTooSmallError`` whose ``required`` is the size needed (the
    /// method did run; call again only if it is idempotent). ``out`` must not
    /// overlap ``data``.
    #[pyo3(signature = (data, out, /))]
    fn call_into(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        guard(py, || {
            self.check(py)?;
            let keep_gil = self.keep_gil;
            let mut in_slot = InputBuffer::new(py);
            let input = in_slot
                .export(data, |len| !keep_gil || len > KEEP_GIL_MAX_INPUT)
                .map_err(|e| buffer_error(py, "data", e))?;
            let mut out_slot = InputBuffer::new(py);
            let mut dst = out_slot
                .export_out(out, input.region)
                .map_err(|e| buffer_error(py, "out", e))?;
            let method: &bridgehost::Method = &self.inner;
            // Another thread (a numpy write with the GIL released) or process
            // may access `out` at any time, GIL or not: the module writes
            // into our scratch buffer and the output is copied into `out`
            // afterwards (buffer.rs, `OutRegion`).
            let (bytes, detach) = (input.bytes, input.detach);
            let isolated = self.isolated;
            with_scratch(|buf| {
                let r = if !detach {
                    method.call_with(bytes, buf)
                } else if isolated && on_main_thread(py) {
                    call_interruptible(py, method, bytes, buf)?
                } else {
                    py.detach(|| method.call_with(bytes, buf))
                };
                match r {
                    Ok(()) if dst.write(buf) => Ok(buf.len()),
                    Ok(()) => Err(to_pyerr(
                        py,
                        &Error::BufferTooSmall {
                            required: buf.len(),
                        },
                    )),
                    Err(e) => Err(to_pyerr(py, &e)),
                }
            })
        })
    }

    /// Run the call on bridgehost's pool threads; returns a
    /// ``concurrent.futures.Future`` resolving to ``bytes``.
    ///
    /// ``data`` is copied before this returns. An unusable ``data`` raises
    /// (``TypeError``, ``InvalidArgumentError``); every other failure is the
    /// future's exception, a refused submit included (``ClosedError``,
    /// ``OverloadedError`` when the submit queue is full,
    /// ``ResourceLimitError`` over ``max_input``). ``future.cancel()``
    /// reaches the core: it returns True if the call had not started (it
    /// then never runs) or is a running isolated call (its worker is killed
    /// and replaced), False for a running in-process call (it cannot be
    /// interrupted; its result arrives as usual).
    #[pyo3(signature = (data, /))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let input = self.owned_input(py, data)?;
            self.submit_with(py, input, false, false, |r| r, bytes_outcome)
        })
    }

    /// Like ``submit`` but returns an ``asyncio.Future`` of the running
    /// loop (``await method.submit_async(data)``); without a running loop it
    /// raises ``RuntimeError``. The result is handed to the loop with
    /// ``loop.call_soon_threadsafe``. Cancelling the asyncio future cancels
    /// the call if it has not started, and ends a running isolated call (its
    /// worker is killed and replaced); a running in-process call runs to its
    /// end, its result discarded.
    #[pyo3(signature = (data, /))]
    fn submit_async<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let input = self.owned_input(py, data)?;
            self.submit_with(py, input, true, false, |r| r, bytes_outcome)
        })
    }

    /// Close this method handle (idempotent): later calls on it raise
    /// ``ClosedError``. Calls in flight finish; the module stays open.
    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// ``with module.method("echo") as m:`` closes the handle on exit, like
    /// Java's ``Method`` (``AutoCloseable``) and C#'s (``IDisposable``).
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) {
        self.close() // returns None: exceptions propagate
    }

    /// True once this method, its module or its host was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed) || self.inner.stale() || self.inner.module().is_closed()
    }

    /// The method's scalar signature (docs/TYPED.md, "Direct calls"), e.g.
    /// ``"(u32, u32) -> u32"`` (``"(u32)"`` without a result), when its typed
    /// function takes at most 8 scalar parameters and returns none or one
    /// scalar (then ``call_scalar`` takes it); ``None`` otherwise.
    #[pyo3(name = "scalar_signature")]
    fn scalar_signature_text(&self) -> Option<String> {
        self.inner.scalar_signature().map(ToString::to_string)
    }

    /// Call a method that has a scalar signature with one 64-bit slot per
    /// argument (an ``int`` from -2**63 to 2**64 - 1; a negative one is its
    /// two's complement) and return the result's slot (0 without a result).
    /// The typed view and generated bindings use this for such functions;
    /// the slots and the checks are docs/TYPED.md's "Direct calls".
    #[pyo3(name = "call_scalar", signature = (*slots))]
    fn call_scalar_slots(&self, py: Python<'_>, slots: &Bound<'_, PyTuple>) -> PyResult<u64> {
        guard(py, || {
            let mut args = Vec::with_capacity(slots.len());
            for (i, item) in slots.iter().enumerate() {
                let slot = match item.extract::<i64>() {
                    Ok(v) => v as u64,
                    Err(_) => item.extract::<u64>().map_err(|_| {
                        if item.is_instance_of::<pyo3::types::PyInt>() {
                            to_pyerr(
                                py,
                                &Error::InvalidArgument(format!(
                                    "slot {i} does not fit in 64 bits"
                                )),
                            )
                        } else {
                            PyTypeError::new_err(format!(
                                "slot {i} must be an int, not {}",
                                item.get_type()
                                    .name()
                                    .map_or_else(|_| "?".to_string(), |n| n.to_string())
                            ))
                        }
                    })?,
                };
                args.push(slot);
            }
            self.call_scalar(py, &args)
        })
    }

    /// The method's name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// True when the module declares the method non-blocking; such calls on
    /// a thread-safe in-process module keep the GIL (it costs more to
    /// release it than to run them).
    #[getter]
    fn nonblocking(&self) -> bool {
        self.inner.is_nonblocking()
    }

    /// True when ``call`` keeps the GIL for this method's small inputs (up to
    /// 2 KiB): the module declares it non-blocking, and the module is
    /// thread-safe and in-process (no host lock, no owner thread, no IPC).
    #[getter]
    fn keeps_gil(&self) -> bool {
        self.keep_gil
    }

    /// The module this method belongs to.
    #[getter]
    fn module(&self, py: Python<'_>) -> Py<Module> {
        self.module.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.Method {}.{}{}>",
            self.inner.module().info().name,
            self.inner.name(),
            if self.closed() { " closed" } else { "" }
        )
    }
}
