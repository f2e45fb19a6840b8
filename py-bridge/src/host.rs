//! `bridgehost.Host`.
#![forbid(unsafe_code)]

use crate::errors::{guard, IntoPy};
use crate::module::Module;
use crate::options;
use crate::release::DropDetached;
use bridgehost::internal::sync::{Mutex, MutexGuard};
use bridgehost::options::{Numeric, Span};
use bridgehost::{Error, ErrorKind, HostOptions};
use pyo3::exceptions::PyResourceWarning;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Every open host, so that the `atexit` hook can close them before the
/// interpreter finalizes (see `runtime`).
static LIVE: Mutex<Registry> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Set by `_shutdown`: no new host may start.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

fn unregister(id: u64) {
    LIVE.lock().retain(|(i, _)| *i != id);
}

/// Close every live host (GIL released by the caller) and refuse new ones.
pub(crate) fn close_all() -> usize {
    let hosts: Vec<(u64, bridgehost::Host)> = {
        // Under the registry lock, so that a host being created concurrently
        // either is in the list taken here or sees the flag (see `Host::new`).
        let mut live = LIVE.lock();
        SHUTTING_DOWN.store(true, Ordering::Release);
        std::mem::take(&mut *live)
    };
    let n = hosts.len();
    for (_, h) in hosts {
        h.close();
    }
    n
}

/// The registry of open hosts.
pub(crate) type Registry = Vec<(u64, bridgehost::Host)>;

/// The registry, as locked for a `fork()`.
pub(crate) type RegistryGuard = MutexGuard<'static, Registry>;

/// Lock the registry for a `fork()` (the `before` hook): the child then
/// never inherits it locked by a thread that does not exist there. Holders
/// of the registry never wait for the GIL, so taking it with the GIL held
/// cannot deadlock.
pub(crate) fn lock_for_fork() -> RegistryGuard {
    LIVE.lock()
}

/// In a forked child, with the registry locked by [`lock_for_fork`]: forget
/// the parent's hosts (their threads do not exist here; closing them would
/// join threads that are not there).
pub(crate) fn after_fork_child(mut live: RegistryGuard) {
    for h in live.drain(..) {
        std::mem::forget(h);
    }
}

/// Number of live hosts (tests).
pub(crate) fn live_count() -> usize {
    LIVE.lock().len()
}

/// A bridgehost host: owns modules, the submit pool and the event dispatcher.
///
/// Use it as a context manager, or call ``close()``. Closing is idempotent;
/// queued submits complete with ``ClosedError``, calls in flight finish,
/// every module opened from it is closed and no event callback runs after
/// ``close()`` returns.
#[pyclass(module = "bridgehost", name = "Host", frozen, weakref)]
pub(crate) struct Host {
    id: u64,
    pub(crate) inner: DropDetached<bridgehost::Host>,
}

impl Host {
    fn close_detached(&self, py: Python<'_>) {
        let inner: &bridgehost::Host = &self.inner;
        py.detach(|| inner.close());
        unregister(self.id);
    }
}

#[pymethods]
impl Host {
    #[new]
    #[pyo3(signature = (*, module_dirs=None, submit_threads=None, submit_queue_capacity=None,
                        event_queue_capacity=None, thread_name=None, event_queue_bytes=None))]
    fn new(
        py: Python<'_>,
        module_dirs: Option<&Bound<'_, PyAny>>,
        submit_threads: Option<&Bound<'_, PyAny>>,
        submit_queue_capacity: Option<&Bound<'_, PyAny>>,
        event_queue_capacity: Option<&Bound<'_, PyAny>>,
        thread_name: Option<&Bound<'_, PyString>>,
        event_queue_bytes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let mut o = HostOptions::default();
            if let Some(dirs) = module_dirs {
                o.module_dirs = options::paths(py, "module_dirs", dirs)?;
            }
            // Types are checked here; ranges (and the thread name) by the core's one rule for
            // each option (`bridgehost::options`), here or when the host is created.
            if let Some(v) = submit_threads {
                o.submit_threads = options::numeric(py, Numeric::SubmitThreads, v)? as usize;
            }
            if let Some(v) = submit_queue_capacity {
                o.submit_queue_capacity =
                    options::numeric(py, Numeric::SubmitQueueCapacity, v)? as usize;
            }
            if let Some(v) = event_queue_capacity {
                o.event_queue_capacity =
                    options::numeric(py, Numeric::EventQueueCapacity, v)? as usize;
            }
            if let Some(v) = event_queue_bytes {
                o.event_queue_bytes = options::numeric(py, Numeric::EventQueueBytes, v)? as usize;
            }
            if let Some(name) = thread_name {
                o.thread_name = options::utf8(py, "thread_name", name)?.into_owned();
            }
            let shutting_down =
                || Err(Error::Closed("the interpreter is shutting down".into())).py_err(py);
            if SHUTTING_DOWN.load(Ordering::Acquire) {
                return shutting_down();
            }
            let host = py.detach(|| bridgehost::Host::with_options(o)).py_err(py)?;
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            {
                let mut live = LIVE.lock();
                if SHUTTING_DOWN.load(Ordering::Acquire) {
                    drop(live);
                    py.detach(|| host.close());
                    return shutting_down();
                }
                live.push((id, host.clone()));
            }
            Ok(Host {
                id,
                inner: DropDetached::new(host),
            })
        })
    }

    /// Open a module by bundled name (``"std"``, ``"zlib"``) or path.
    ///
    /// Keyword options: ``isolation`` (``"in-process"`` or ``"process"``),
    /// ``workers``, ``call_timeout`` (seconds; isolation only),
    /// ``memory_limit`` (bytes; isolation only), ``max_input``,
    /// ``max_output``, ``max_event`` (bytes), ``config`` (bytes-like, passed
    /// to the module's init), ``worker_path``, ``validate_in_worker`` (bool,
    /// in-process only: load and validate the module in a worker first, so a
    /// module whose loading exits, crashes or hangs is a typed error).
    ///
    /// Supervision of the workers (docs/ISOLATION.md, "Supervision"; durations
    /// in seconds, int or float): ``spare_workers`` (1), ``breaker_failures``
    /// (5), ``breaker_window`` (30), ``breaker_cooldown`` (1),
    /// ``startup_timeout`` (10), ``close_grace`` (5), ``cpu_limit`` (3600;
    /// ``math.inf``: no limit), ``open_files`` (64), ``sandbox`` (bool, True).
    /// Left out or None: the default. In-process, a value other than the
    /// default is ``InvalidArgumentError`` ("requires process isolation";
    /// ``startup_timeout`` and ``sandbox`` are accepted with
    /// ``validate_in_worker=True``, whose worker they configure).
    #[pyo3(signature = (spec, /, *, isolation=None, workers=None, call_timeout=None,
                        memory_limit=None, max_input=None, max_output=None, max_event=None,
                        config=None, worker_path=None, validate_in_worker=None,
                        spare_workers=None, breaker_failures=None, breaker_window=None,
                        breaker_cooldown=None, startup_timeout=None, close_grace=None,
                        cpu_limit=None, open_files=None, sandbox=None))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        slf: &Bound<'_, Self>,
        spec: &Bound<'_, PyAny>,
        isolation: Option<&Bound<'_, PyAny>>,
        workers: Option<&Bound<'_, PyAny>>,
        call_timeout: Option<&Bound<'_, PyAny>>,
        memory_limit: Option<&Bound<'_, PyAny>>,
        max_input: Option<&Bound<'_, PyAny>>,
        max_output: Option<&Bound<'_, PyAny>>,
        max_event: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        worker_path: Option<&Bound<'_, PyAny>>,
        validate_in_worker: Option<&Bound<'_, PyAny>>,
        spare_workers: Option<&Bound<'_, PyAny>>,
        breaker_failures: Option<&Bound<'_, PyAny>>,
        breaker_window: Option<&Bound<'_, PyAny>>,
        breaker_cooldown: Option<&Bound<'_, PyAny>>,
        startup_timeout: Option<&Bound<'_, PyAny>>,
        close_grace: Option<&Bound<'_, PyAny>>,
        cpu_limit: Option<&Bound<'_, PyAny>>,
        open_files: Option<&Bound<'_, PyAny>>,
        sandbox: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Module> {
        let py = slf.py();
        guard(py, || {
            slf.get().inner.check(py)?;
            let spec = options::path_string(py, "spec", spec)?;
            let o = options::module_options(
                py,
                options::ModuleArgs {
                    isolation,
                    workers,
                    call_timeout,
                    memory_limit,
                    max_input,
                    max_output,
                    max_event,
                    config,
                    worker_path,
                    validate_in_worker,
                    spare_workers,
                    breaker_failures,
                    breaker_window,
                    breaker_cooldown,
                    startup_timeout,
                    close_grace,
                    cpu_limit,
                    open_files,
                    sandbox,
                },
            )?;
            let host: &bridgehost::Host = &slf.get().inner;
            let module = match py.detach(|| host.open(&spec, o.clone())) {
                // A name found nowhere else: a module another distribution declares in the
                // `bridgehost.modules` entry-point group (bridgehost/_modules.py).
                Err(e) if e.kind() == ErrorKind::NotFound && is_bare_name(&spec) => {
                    let found = py
                        .import("bridgehost._modules")?
                        .call_method1("find", (spec.as_str(),))?;
                    if found.is_none() {
                        return Err(e).py_err(py);
                    }
                    let path: String = found.extract()?;
                    py.detach(|| host.open(&path, o)).py_err(py)?
                }
                r => r.py_err(py)?,
            };
            Ok(Module::new(module, slf.clone().unbind()))
        })
    }

    /// Inspect a module without opening it: it is loaded and its descriptor
    /// validated in a worker process (its constructors and entry function run
    /// there, its init never runs), never in this process. Only a validated
    /// descriptor is success: a constructor that exits (with status 0 too) is
    /// ``WorkerExitedError``, one that crashes ``WorkerCrashedError``, silence
    /// past ``timeout`` (seconds, positive and at most one year, else
    /// ``InvalidArgumentError`` with the core's message; default 10)
    /// ``TimeoutError``, a lying
    /// descriptor ``AbiMismatchError``. Found as ``open`` finds it.
    #[pyo3(signature = (spec, /, *, timeout=None))]
    fn inspect(
        &self,
        py: Python<'_>,
        spec: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<ModuleInfo> {
        guard(py, || {
            let deadline = timeout
                .map(|t| options::span(py, Span::InspectDeadline, t))
                .transpose()?;
            self.describe(py, spec, Some(deadline))
        })
    }

    /// ``inspect`` in this process: the module's file is loaded here (its
    /// constructors and entry function run in this process, which nothing
    /// can protect against), its descriptor read without faulting and
    /// validated; no instance is created. Prefer ``inspect``.
    #[pyo3(signature = (spec, /))]
    fn inspect_in_process(&self, py: Python<'_>, spec: &Bound<'_, PyAny>) -> PyResult<ModuleInfo> {
        guard(py, || self.describe(py, spec, None))
    }

    /// Add a directory searched for modules by name (after ``module_dirs``
    /// and the directories added before). ``NotFoundError`` if it does not
    /// exist, ``InvalidArgumentError`` if it is not a directory.
    #[pyo3(signature = (path, /))]
    fn add_module_dir(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            self.inner.check(py)?;
            let path = options::path_string(py, "path", path)?;
            self.inner.add_module_dir(&path).py_err(py)
        })
    }

    /// Close the host (idempotent). See the class docs.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            if self.inner.stale() {
                return Ok(()); // the parent's host: closed as far as this child goes
            }
            // Refused (InvalidArgument) from inside a call of one of its modules.
            let inner: &bridgehost::Host = &self.inner;
            py.detach(|| inner.try_close()).py_err(py)?;
            self.close_detached(py);
            Ok(())
        })
    }

    /// True once closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.stale() || self.inner.is_closed()
    }

    /// Counters summed over every module this host opened, as a dict.
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
        crate::module::coroutine(slf.as_any(), "_aclose")
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        crate::module::coroutine(slf.as_any(), "_aenter")
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        slf: &Bound<'py, Self>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::module::coroutine(slf.as_any(), "_aclose")
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.Host {}>",
            if self.inner.is_closed() {
                "closed"
            } else {
                "open"
            }
        )
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.inner.stale() {
            return; // a parent's host in a forked child: leaked, never closed here
        }
        if self.inner.is_closed() {
            unregister(self.id);
            return;
        }
        // Like an unclosed file: warn (ResourceWarning, shown in dev mode),
        // then close with the GIL released.
        Python::attach(|py| {
            // A host can be freed while an exception propagates: in
            // `Host().open("missing")` the temporary goes away with the
            // NotFoundError pending. Warning (Python code) with it set lost
            // it ("SystemError: error return without exception set"): take
            // it aside and put it back.
            let pending = PyErr::take(py);
            let cat = py.get_type::<PyResourceWarning>();
            if let Err(e) = PyErr::warn(
                py,
                cat.as_any(),
                c"unclosed bridgehost.Host; use 'with Host() as host:' or call close()",
                1,
            ) {
                e.write_unraisable(py, None);
            }
            self.close_detached(py);
            if let Some(e) = pending {
                e.restore(py);
            }
        });
    }
}

/// A module name `open` searches for (no `/`, no `.so` suffix), as opposed to a path.
impl Host {
    /// `inspect` (`worker` = Some(deadline)) or `inspect_in_process` (None),
    /// with `open`'s fallback to the `bridgehost.modules` entry points.
    fn describe(
        &self,
        py: Python<'_>,
        spec: &Bound<'_, PyAny>,
        worker: Option<Option<std::time::Duration>>,
    ) -> PyResult<ModuleInfo> {
        self.inner.check(py)?;
        let spec = options::path_string(py, "spec", spec)?;
        let host: &bridgehost::Host = &self.inner;
        let run = |spec: &str| match worker {
            Some(deadline) => host.inspect(spec, deadline),
            None => host.inspect_in_process(spec),
        };
        let info = match py.detach(|| run(&spec)) {
            Err(e) if e.kind() == ErrorKind::NotFound && is_bare_name(&spec) => {
                let found = py
                    .import("bridgehost._modules")?
                    .call_method1("find", (spec.as_str(),))?;
                if found.is_none() {
                    return Err(e).py_err(py);
                }
                let path: String = found.extract()?;
                py.detach(|| run(&path)).py_err(py)?
            }
            r => r.py_err(py)?,
        };
        Ok(ModuleInfo::from(info))
    }
}

/// What a module declares, as ``Host.inspect`` found it (validated, without
/// opening the module). Immutable.
#[pyclass(module = "bridgehost", name = "ModuleInfo", frozen)]
pub(crate) struct ModuleInfo {
    info: bridgehost::ModuleInfo,
}

impl From<bridgehost::ModuleInfo> for ModuleInfo {
    fn from(info: bridgehost::ModuleInfo) -> Self {
        ModuleInfo { info }
    }
}

#[pymethods]
impl ModuleInfo {
    /// The name the module declares.
    #[getter]
    fn name(&self) -> &str {
        &self.info.name
    }

    /// The version the module declares.
    #[getter]
    fn version(&self) -> &str {
        &self.info.version
    }

    /// The file the module was loaded from.
    #[getter]
    fn path(&self) -> &str {
        &self.info.path
    }

    /// The module ABI version (1).
    #[getter]
    fn abi_version(&self) -> u32 {
        self.info.abi_version
    }

    /// ``"thread-safe"``, ``"serialized"`` or ``"single-thread"`` (as ``Module.thread_model``).
    #[getter]
    fn thread_model(&self) -> &'static str {
        self.info.thread_model.name()
    }

    /// True when the module declares itself stateful (isolated: one worker, a
    /// restart reported once as ``StateLostError``).
    #[getter]
    fn stateful(&self) -> bool {
        self.info.stateful
    }

    /// True when the module embeds a typed interface (docs/TYPED.md).
    #[getter]
    fn typed(&self) -> bool {
        self.info.interface.is_some()
    }

    /// The method names, in declaration order.
    #[getter]
    fn methods(&self) -> Vec<String> {
        self.info.methods.iter().map(|m| m.name.clone()).collect()
    }

    /// The methods the module promises never block.
    #[getter]
    fn nonblocking(&self) -> Vec<String> {
        self.info
            .methods
            .iter()
            .filter(|m| m.is_nonblocking())
            .map(|m| m.name.clone())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "<bridgehost.ModuleInfo {} {} ({}, {} methods)>",
            self.info.name,
            self.info.version,
            self.info.thread_model.name(),
            self.info.methods.len()
        )
    }
}

fn is_bare_name(spec: &str) -> bool {
    !spec.contains('/') && !spec.ends_with(".so")
}
