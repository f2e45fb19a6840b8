//! `bridgehost._native`: the Python extension of bridgehost (PyO3, abi3).
//!
//! A translation layer only: every behaviour lives in the core crate. This
//! crate turns Python arguments into core calls, core errors into the
//! exception classes of `bridgehost/errors.py`, and core threads into GIL
//! discipline:
//!
//! * every call into the core runs with the GIL released (`py.detach`),
//!   except methods a thread-safe in-process module declares non-blocking;
//! * every drop that may close a core object runs with the GIL released
//!   ([`release::DropDetached`]): closing waits for deliveries that may be
//!   waiting for the GIL;
//! * callbacks from bridgehost threads (events, completions, logs) enter
//!   Python only through [`runtime::deliver`], holding the GIL for the
//!   delivery alone, never after the `atexit` hook switched deliveries off;
//! * every method body runs inside [`errors::guard`]: a panic becomes
//!   `InternalError`.
//!
//! `unsafe` is confined to [`buffer`] (the buffer protocol), [`runtime`]
//! (thread states of bridgehost threads), [`presized`] (a `bytes` result
//! the module writes into) and [`vectorcall`] (typed functions' call entry,
//! `Method.call` as a `METH_O` method).
#![deny(unsafe_code)]

mod buffer;
mod errors;
mod host;
mod logging;
mod method;
mod module;
mod options;
mod presized;
mod release;
mod runtime;
mod shared;
mod typed;
mod vectorcall;

use bridgehost::logging::LogLevel;
use pyo3::prelude::*;
use std::cell::RefCell;
use std::time::Duration;

/// Close every live host, deliver queued log records, then stop all entries
/// into Python from bridgehost threads. Called by the package's `atexit`
/// hook, which runs before the interpreter finalizes. Returns the number of
/// hosts it closed.
#[pyfunction]
fn _shutdown(py: Python<'_>) -> PyResult<usize> {
    errors::guard(py, || {
        let n = py.detach(host::close_all);
        py.detach(logging::stop);
        runtime::switch_delivery_off();
        Ok(n)
    })
}

thread_local! {
    /// The bridge's process-global locks, held by the forking thread from
    /// the `before` hook until the `after_in_parent` / `after_in_child` hook.
    static FORK_LOCKS: RefCell<Option<(host::RegistryGuard, logging::ThreadSlot)>> =
        const { RefCell::new(None) };
}

/// `os.register_at_fork(before=...)`: lock the bridge's global state, so
/// that no other thread holds it at the fork instant (the child would
/// inherit it locked by a thread that does not exist there).
#[pyfunction]
fn _before_fork() {
    let held = (host::lock_for_fork(), logging::lock_for_fork());
    FORK_LOCKS.with(|l| *l.borrow_mut() = Some(held));
}

/// `os.register_at_fork(after_in_parent=...)` (also after a failed fork).
#[pyfunction]
fn _after_fork_parent() {
    FORK_LOCKS.with(|l| drop(l.borrow_mut().take()));
}

/// `os.register_at_fork(after_in_child=...)`: objects created before the
/// fork belong to the parent (their threads do not exist in the child): they
/// raise `ClosedError` here and are never closed or joined. Hosts created in
/// the child work normally.
#[pyfunction]
fn _after_fork_child() {
    runtime::after_fork_in_child();
    if let Some((registry, log_thread)) = FORK_LOCKS.with(|l| l.borrow_mut().take()) {
        host::after_fork_child(registry);
        logging::after_fork_child(log_thread);
    }
}

/// Wait until the log records queued so far reached `logging` (seconds).
#[pyfunction]
#[pyo3(signature = (timeout=5.0))]
fn flush_logs(py: Python<'_>, timeout: f64) -> PyResult<bool> {
    errors::guard(py, || {
        if !(timeout.is_finite() && timeout >= 0.0) {
            return Err(errors::invalid(py, "timeout must be a finite number >= 0"));
        }
        let t = Duration::from_secs_f64(timeout.min(3600.0));
        Ok(py.detach(|| logging::flush(t)))
    })
}

/// Set the most verbose core level forwarded to `logging`:
/// 0 error, 1 warning, 2 info, 3 debug, 4 trace.
#[pyfunction]
fn _set_core_log_level(py: Python<'_>, level: u8) -> PyResult<()> {
    errors::guard(py, || {
        if level > 4 {
            return Err(errors::invalid(py, "level must be 0..=4"));
        }
        py.detach(|| logging::install(LogLevel::from_u8(level)))
            .map_err(|e| errors::to_pyerr(py, &e))
    })
}

/// Test hook: panics inside the panic boundary (proves a panic surfaces as
/// `InternalError`).
#[pyfunction]
fn _debug_panic(py: Python<'_>, message: &str) -> PyResult<()> {
    errors::guard(py, || panic!("{message}"))
}

/// Diagnostics for tests: live hosts and dropped log records.
#[pyfunction]
fn _debug_state(py: Python<'_>) -> PyResult<(usize, u64)> {
    errors::guard(py, || Ok((host::live_count(), logging::dropped())))
}

/// Test hook: true when a call reads `obj` in place even with the GIL
/// released (an immutable exporter); false when it copies it first.
#[pyfunction]
fn _input_is_borrowed(obj: &Bound<'_, PyAny>) -> bool {
    buffer::immutable(obj)
}

#[pymodule]
#[pyo3(name = "_native")]
fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<host::Host>()?;
    m.add_class::<host::ModuleInfo>()?;
    m.add_class::<module::Module>()?;
    m.add_class::<module::Subscription>()?;
    m.add_class::<method::Method>()?;
    vectorcall::install_one_argument_methods(m.py())?;
    m.add_class::<method::SubmitHandle>()?;
    m.add_class::<shared::PySharedBuffer>()?;
    m.add_class::<typed::PyInterface>()?;
    m.add_class::<typed::TypedView>()?;
    m.add_class::<typed::TypedListener>()?;
    m.add_class::<typed::TypedFunction>()?;
    m.add_function(wrap_pyfunction!(_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(flush_logs, m)?)?;
    m.add_function(wrap_pyfunction!(_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_parent, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_child, m)?)?;
    m.add_function(wrap_pyfunction!(_set_core_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_state, m)?)?;
    m.add_function(wrap_pyfunction!(_input_is_borrowed, m)?)?;
    m.add("CORE_VERSION", bridgehost::VERSION)?;
    // The core's defaults (re-exported by the package as bridgehost.DEFAULT_*).
    let h = bridgehost::HostOptions::default();
    let o = bridgehost::ModuleOptions::default();
    m.add("DEFAULT_SUBMIT_THREADS", h.submit_threads)?;
    m.add("DEFAULT_SUBMIT_QUEUE_CAPACITY", h.submit_queue_capacity)?;
    m.add("DEFAULT_EVENT_QUEUE_CAPACITY", h.event_queue_capacity)?;
    m.add("DEFAULT_EVENT_QUEUE_BYTES", h.event_queue_bytes)?;
    m.add("DEFAULT_THREAD_NAME", h.thread_name)?;
    m.add("DEFAULT_WORKERS", o.workers)?;
    m.add(
        "DEFAULT_CALL_TIMEOUT",
        o.call_timeout.map(|t| t.as_secs_f64()),
    )?;
    m.add("DEFAULT_MEMORY_LIMIT", o.memory_limit)?;
    m.add("DEFAULT_MAX_INPUT", o.max_input)?;
    m.add("DEFAULT_MAX_OUTPUT", o.max_output)?;
    m.add("DEFAULT_MAX_EVENT", o.max_event)?;
    Ok(())
}
