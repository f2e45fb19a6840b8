//! Dropping core objects with the GIL released.
//!
//! Dropping the last reference to a core host, module or subscription closes
//! it, and closing waits: for calls in flight, and for an event delivery in
//! progress — which may itself be waiting for the GIL. A Python object that
//! owns a core object is deallocated with the GIL held, so the core object
//! must be dropped with the GIL *released*, or the two threads deadlock.
//! [`DropDetached`] makes that a property of the field's type.
#![forbid(unsafe_code)]

use pyo3::prelude::*;
use std::ops::Deref;

/// Owns a `T` and drops it with the GIL released.
///
/// It also remembers the fork generation it was created in: in a child
/// process after `fork()` the object belongs to the parent (its threads do
/// not exist here), so it reports [`DropDetached::stale`] and is leaked
/// rather than dropped.
pub(crate) struct DropDetached<T: Send> {
    value: Option<T>,
    generation: u64,
}

impl<T: Send> DropDetached<T> {
    pub(crate) fn new(v: T) -> Self {
        DropDetached {
            value: Some(v),
            generation: crate::runtime::fork_generation(),
        }
    }

    /// True in a forked child for an object created before the fork.
    #[inline]
    pub(crate) fn stale(&self) -> bool {
        self.generation != crate::runtime::fork_generation()
    }

    /// `ClosedError` if the object is stale (see [`DropDetached::stale`]).
    #[inline]
    pub(crate) fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.stale() {
            return Err(crate::errors::make(
                py,
                bridgehost::ErrorKind::Closed,
                "closed: this object was created before fork(); create a new Host in the child process",
                0,
            ));
        }
        Ok(())
    }
}

impl<T: Send> Deref for DropDetached<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // Only `drop` takes the value out.
        self.value.as_ref().expect("DropDetached used after drop")
    }
}

impl<T: Send> Drop for DropDetached<T> {
    fn drop(&mut self) {
        let Some(v) = self.value.take() else { return };
        if self.stale() {
            // A parent's object in a forked child: dropping it could join
            // threads that do not exist here. Its memory is the child's copy
            // of the parent's; leave it.
            std::mem::forget(v);
            return;
        }
        // Python objects are deallocated with the GIL held; `attach` then
        // only takes a token. If deliveries are off (the interpreter is
        // shutting down) every host is closed already and the drop is cheap.
        if crate::runtime::delivery_off() {
            drop(v);
            return;
        }
        Python::attach(|py| py.detach(move || drop(v)));
    }
}
