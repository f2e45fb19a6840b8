//! The owned handles of a typed result (`own<R>` anywhere in it) on their way
//! to the caller: whoever does not receive a result does not own its handles,
//! so they are dropped here rather than left in the module instance until it
//! closes (docs/TYPED.md, "Resources (handles)"; the same rule as Java's and
//! C#'s generated bindings, whose objects are made as the output is decoded).
//!
//! * A function whose result can hold an owned handle gets a [`Drops`] table
//!   (the `[resource-drop]R` method of every resource).
//! * The decoder reports the owned handles it read
//!   (`wire::decode_result_owned`): all of them, or those read before the
//!   output turned out malformed; those of a malformed output, or of one that
//!   could not be presented, are dropped at once.
//! * An async call's handles travel with its outcome as an [`OwnedHandles`]
//!   (`bridgehost._futures`: `OwnedFuture`, `OwningSubmitFuture`): the future
//!   that hands the result over claims them; a result nobody receives
//!   (cancelled awaiter, a future collected unread, a closed loop) releases
//!   them: each drop is submitted to the host's pool, never waited for, its
//!   outcome ignored, as a `Resource`'s finalizer does.
#![forbid(unsafe_code)]

use crate::method::Method;
use bridgehost::interface::typed::{Interface, Type, TypeDefKind, TypeIndex};
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Per type index of an interface: the drop method of the resource it names
/// (through aliases), if any.
pub(crate) type Drops = Arc<[Option<Py<Method>>]>;

/// The [`Drops`] of a module's interface: `drop(name)` opens a method.
pub(crate) fn drops(
    py: Python<'_>,
    iface: &Interface,
    mut open: impl FnMut(&str) -> PyResult<Py<Method>>,
) -> PyResult<Drops> {
    let mut by_resource: Vec<Option<Py<Method>>> = iface.types.iter().map(|_| None).collect();
    for i in iface.resources() {
        // A module without the drop method cannot have its handles dropped
        // by anyone: they live until the instance closes.
        by_resource[i] = open(&iface.drop_method(i)).ok();
    }
    let all: Vec<Option<Py<Method>>> = (0..iface.types.len())
        .map(|i| match iface.resolve(&Type::Named(i)) {
            Type::Named(j) if iface.types[*j].kind == TypeDefKind::Resource => {
                by_resource[*j].as_ref().map(|m| m.clone_ref(py))
            }
            _ => None,
        })
        .collect();
    Ok(all.into())
}

/// Owned handles not yet handed over (``bridgehost._futures``): ``claim()``
/// marks them handed to the caller; ``release()``, or being collected
/// unclaimed, drops them.
#[pyclass(module = "bridgehost._native", name = "OwnedHandles", frozen)]
pub(crate) struct OwnedHandles {
    handles: Mutex<Vec<(Py<Method>, u64)>>,
    claimed: AtomicBool,
}

impl OwnedHandles {
    /// `handles` as (resource type, handle) from the decoder; `None` when
    /// there are none.
    pub(crate) fn new(drops: &Drops, handles: Vec<(TypeIndex, u64)>) -> Option<Self> {
        if handles.is_empty() {
            return None;
        }
        let handles = handles
            .into_iter()
            .filter_map(|(i, h)| {
                let m = drops.get(i)?.as_ref()?;
                Some((Python::attach(|py| m.clone_ref(py)), h))
            })
            .collect();
        Some(OwnedHandles {
            handles: Mutex::new(handles),
            claimed: AtomicBool::new(false),
        })
    }

    fn take(&self) -> Vec<(Py<Method>, u64)> {
        std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn drop_all(&self) {
        for (m, h) in self.take() {
            m.get().submit_ignored(h.to_le_bytes().to_vec());
        }
    }
}

#[pymethods]
impl OwnedHandles {
    /// The result was handed over: the handles are not dropped when this
    /// object is collected.
    fn claim(&self) {
        self.claimed.store(true, Ordering::Release);
    }

    /// Nobody will receive the result: submit the drop of every handle, now
    /// (once; also after ``claim()``, for a hand-over that was not a delivery,
    /// such as a cancelled task's wakeup reading the result).
    fn release(&self) {
        self.drop_all();
    }

    fn __len__(&self) -> usize {
        self.handles.lock().map(|v| v.len()).unwrap_or(0)
    }
}

impl Drop for OwnedHandles {
    fn drop(&mut self) {
        if !self.claimed.load(Ordering::Acquire) {
            self.drop_all();
        }
    }
}

/// Drop now the handles of an output that will not be delivered (malformed,
/// or not presentable).
pub(crate) fn release_now(drops: &Drops, handles: Vec<(TypeIndex, u64)>) {
    if let Some(o) = OwnedHandles::new(drops, handles) {
        o.drop_all();
    }
}
