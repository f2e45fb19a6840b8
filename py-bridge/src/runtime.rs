//! Entering Python from bridgehost's own threads (boundary module: `unsafe`).
//!
//! Event callbacks, submit completions and log records run on threads that
//! CPython did not create (`bridgehost-events`, `bridgehost-pool-N`,
//! `bridgehost-log`). Every such entry goes through [`deliver`], which
//! enforces two rules:
//!
//! 1. **No entry once shutdown began.** The package's `atexit` hook calls
//!    `_native._shutdown()`, which closes every live host *before* the
//!    interpreter starts finalizing (atexit callbacks run first), then sets
//!    [`DELIVERY_OFF`]. After that no bridgehost thread attaches to the
//!    interpreter again; a delivery that would have run is dropped. (A thread
//!    that attaches while CPython finalizes is terminated by CPython or
//!    hangs; this rule keeps our threads away from that window.)
//! 2. **The GIL is held only for the delivery.** Each delivery attaches,
//!    runs, and detaches.
//!
//! Attaching a thread that has no Python thread state makes CPython create
//! one and destroy it again at the end of every `PyGILState_Ensure` /
//! `PyGILState_Release` pair — several microseconds per event. A bridgehost
//! thread therefore keeps one thread state for its whole life (an *anchor*):
//! created on its first delivery, released (GIL not held) between deliveries,
//! destroyed when the thread exits. Between deliveries the thread holds no
//! GIL, so the anchor changes nothing but the cost of the next attach.
#![allow(unsafe_code)]

use pyo3::ffi;
use pyo3::prelude::*;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set (forever) by `_shutdown` once every host is closed: from then on
/// bridgehost threads never attach to the interpreter.
static DELIVERY_OFF: AtomicBool = AtomicBool::new(false);

/// True once deliveries into Python are switched off.
pub(crate) fn delivery_off() -> bool {
    DELIVERY_OFF.load(Ordering::Acquire)
}

/// Switch deliveries off for the rest of the process.
pub(crate) fn switch_delivery_off() {
    DELIVERY_OFF.store(true, Ordering::Release);
}

/// Incremented in a child process after `fork()` (`os.register_at_fork`).
/// Objects created before the fork belong to the parent: their threads do
/// not exist in the child, so the child refuses to use them
/// (`ClosedError`) and never drops them (that would join threads that do
/// not exist, or wait on locks a parent thread held at the fork).
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation (0 in the process that imported bridgehost).
#[inline]
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// Called in the child after `fork()`.
pub(crate) fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The thread state a bridgehost thread keeps between deliveries.
struct Anchor {
    gstate: ffi::PyGILState_STATE,
    tstate: *mut ffi::PyThreadState,
}

impl Drop for Anchor {
    fn drop(&mut self) {
        // The thread is exiting. If deliveries are off the interpreter may
        // already be finalizing: leave the thread state to it (finalization
        // frees every thread state of the interpreter).
        if delivery_off() {
            return;
        }
        // SAFETY: `tstate` came from `PyEval_SaveThread` on this thread and
        // was not restored since (deliveries restore and save it in balanced
        // pairs through PyGILState_Ensure/Release); restoring it re-acquires
        // the GIL. The interpreter is not finalizing: deliveries are on,
        // which `_shutdown` switches off before finalization begins.
        unsafe { ffi::PyEval_RestoreThread(self.tstate) };
        // SAFETY: this thread holds the GIL from the restore above until the
        // release below, and the token does not outlive that. It is taken
        // without `Python::attach`, which would use pyo3's thread-locals: this
        // runs in a thread-local's destructor, at thread exit.
        let py = unsafe { Python::assume_attached() };
        forget_python_thread(py);
        // SAFETY: the GIL is held (restored above; `forget_python_thread`
        // neither releases nor re-takes it). `gstate` is the value of this
        // thread's first `PyGILState_Ensure`; releasing it drops the last
        // reference and deletes the thread state.
        unsafe { ffi::PyGILState_Release(self.gstate) };
    }
}

thread_local! {
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
    static CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// Give this thread a lasting thread state if it has none (see module docs).
/// True when this call created it (the thread's first delivery).
fn anchor_thread() -> bool {
    if CHECKED.with(Cell::get) {
        return false;
    }
    CHECKED.with(|c| c.set(true));
    // SAFETY: the interpreter is initialized (this extension is loaded in
    // it) and not finalizing (deliveries are on). PyGILState_GetThisThreadState
    // only reads thread-local storage.
    let has_state = unsafe { !ffi::PyGILState_GetThisThreadState().is_null() };
    if has_state {
        // A thread CPython knows (a Python thread that released the GIL
        // around a call into bridgehost): attach normally.
        return false;
    }
    // SAFETY: this thread holds no GIL (bridgehost threads never do outside
    // a delivery, and `has_state` is false). PyGILState_Ensure creates the
    // thread state and takes the GIL; PyEval_SaveThread releases the GIL and
    // returns that same thread state, which stays associated with the thread
    // (its gilstate counter is 1) until `Anchor::drop`.
    let anchor = unsafe {
        let gstate = ffi::PyGILState_Ensure();
        let tstate = ffi::PyEval_SaveThread();
        Anchor { gstate, tstate }
    };
    ANCHOR.with(|a| a.set(Some(anchor)));
    true
}

/// Run `f` with the GIL on a bridgehost thread (or a Python thread that
/// released it). Returns `None`, without touching Python, once deliveries
/// are off or the interpreter cannot be attached to.
pub(crate) fn deliver<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    if delivery_off() {
        return None;
    }
    let fresh = anchor_thread();
    Python::try_attach(|py| {
        if fresh {
            name_python_thread(py);
        }
        f(py)
    })
}

/// Remove the exiting thread's entry from `threading` (the `_DummyThread`
/// that [`name_python_thread`] named). CPython never removes a dummy
/// thread's entry itself, so a pool thread that exits after its idle time
/// stayed in `threading.enumerate()`, `is_alive()` true, until another
/// thread reused its id. Best effort: a failure is ignored.
fn forget_python_thread(py: Python<'_>) {
    let _ = py.import("threading").and_then(|t| {
        let ident = t.call_method0("get_ident")?;
        t.getattr("_active")?
            .call_method1("pop", (ident, py.None()))
            .map(drop)
    });
}

/// Give the `threading` object of a bridgehost thread (a `_DummyThread`,
/// created by `threading.current_thread()`) the native thread's name, so
/// `threading.enumerate()`, logging's `threadName` and debuggers show
/// `bridgehost-events`, `bridgehost-pool-0`, ... instead of `Dummy-N`.
/// Cosmetic: a failure is ignored.
fn name_python_thread(py: Python<'_>) {
    let Some(name) = std::thread::current().name().map(str::to_owned) else {
        return;
    };
    let _ = py
        .import("threading")
        .and_then(|t| t.call_method0("current_thread"))
        .and_then(|t| t.setattr("name", name));
}
