//! The handle tables: one static table per handle type over the core's front-end
//! registry (`Registry`, shared with the JNI bridge), each with its own tag, so a
//! handle of one type never resolves as another: a retired (freed, double-freed)
//! handle is a clean `BH_E_CLOSED`, a forged or cross-type one
//! `BH_E_INVALID_ARGUMENT`.
#![forbid(unsafe_code)]

use crate::types::{
    bh_buffer, bh_host, bh_method, bh_module, bh_shared_buffer, bh_subscription, bh_task, Handle,
};
use bhcore::internal::handles::{Registry, Stale};
use bhcore::{Error, Host, Method, Module, Result, SharedBuffer, SubmitHandle, Subscription};
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

/// What a task handle refers to. The handle exists before the task is queued
/// (its completion retires it); the submit handle is set right after.
#[derive(Debug, Default)]
pub(crate) struct TaskSlot {
    pub(crate) submitted: OnceLock<SubmitHandle>,
}

/// A typed handle table: values of type `T`, handles of C type `H`, over the
/// core's one front-end registry (`bridgehost::internal::handles::Registry`,
/// shared with the JNI bridge); a stale, forged or cross-type handle is an
/// error with the registry's message ([`stale`]).
#[derive(Debug)]
pub(crate) struct Table<T: ?Sized + 'static, H> {
    reg: Registry<T>,
    handle: PhantomData<fn(H) -> H>,
}

impl<T: ?Sized + 'static, H: Handle> Table<T, H> {
    const fn new(index: usize) -> Self {
        Table {
            reg: Registry::new(&TAGS, index),
            handle: PhantomData,
        }
    }

    /// A table whose handles are removed about as often as they are looked
    /// up (per-call output buffers, tasks): the core's short-lived table,
    /// whose remove is a fence and a scan rather than a `membarrier` system
    /// call. Same guarantees.
    const fn new_short_lived(index: usize) -> Self {
        Table {
            reg: Registry::new_short_lived(&TAGS, index),
            handle: PhantomData,
        }
    }

    /// Store `value`; its new handle.
    pub(crate) fn insert(&'static self, value: Arc<T>) -> H {
        H::from_id(self.reg.insert(value))
    }

    /// The live value of `h`.
    pub(crate) fn get(&self, h: H) -> Result<Arc<T>> {
        self.reg.get(h.id()).map_err(stale)
    }

    /// Run `f` on the live value of `h`, borrowed for the length of `f`
    /// (no `Arc` clone, no lock: the core's lock-free lookup, safe to hold
    /// across a long call, nested calls and a concurrent remove included).
    #[inline]
    pub(crate) fn with<R>(&self, h: H, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.reg.with(h.id(), f).map_err(stale)
    }

    /// Retire `h`; its value. A second remove is a clean error.
    pub(crate) fn remove(&'static self, h: H) -> Result<Arc<T>> {
        self.reg.remove(h.id()).map_err(stale)
    }

    /// Retire `h` if it is still live (a completion retiring its own task).
    pub(crate) fn retire(&'static self, h: H) {
        drop(self.reg.remove(h.id()));
    }

    fn len(&self) -> usize {
        self.reg.len()
    }
}

impl Table<Method, bh_method> {
    /// `Method::call_scalar` on `h` (the core's one-lookup typed primitive
    /// call: `Registry::call_scalar`).
    #[inline]
    pub(crate) fn call_scalar(&self, h: bh_method, args: &[u64]) -> Result<u64> {
        self.reg
            .call_scalar(h.id(), args)
            .map_err(stale)?
            .map_err(|e| *e)
    }
}

/// A retired handle of the table (freed, or removed after its object closed)
/// is `BH_E_CLOSED`, as a closed object is in every runtime (docs/SYMMETRY.md,
/// "Stale handles"): `"stale or invalid bh_module handle 0x…: retired (freed,
/// closed or completed)"`.
/// NULL, garbage and another table's handle are `BH_E_INVALID_ARGUMENT`:
/// `"stale or invalid bh_host handle 0x… (it is a bh_module handle)"`.
fn stale(s: Stale) -> Error {
    if s.retired {
        Error::Closed(format!("{s}: retired (freed, closed or completed)"))
    } else {
        Error::InvalidArgument(s.to_string())
    }
}

const TAGS: [(u8, &str); 7] = [
    (0xb1, "bh_host"),
    (0xb2, "bh_module"),
    (0xb3, "bh_method"),
    (0xb4, "bh_buffer"),
    (0xb5, "bh_subscription"),
    (0xb6, "bh_task"),
    (0xb7, "bh_shared_buffer"),
];

/// `bh_host` handles.
pub(crate) static HOSTS: Table<Host, bh_host> = Table::new(0);
/// `bh_module` handles.
pub(crate) static MODULES: Table<Module, bh_module> = Table::new(1);
/// `bh_method` handles.
pub(crate) static METHODS: Table<Method, bh_method> = Table::new(2);
/// `bh_buffer` handles (one per spilled or `bh_call` output: short-lived).
pub(crate) static BUFFERS: Table<Vec<u8>, bh_buffer> = Table::new_short_lived(3);
/// `bh_subscription` handles.
pub(crate) static SUBSCRIPTIONS: Table<Subscription, bh_subscription> = Table::new(4);
/// `bh_task` handles (one per submit: short-lived).
pub(crate) static TASKS: Table<TaskSlot, bh_task> = Table::new_short_lived(5);
/// `bh_shared_buffer` handles.
pub(crate) static SHARED_BUFFERS: Table<SharedBuffer, bh_shared_buffer> = Table::new(6);

/// Live handles of every type.
pub(crate) fn live() -> u64 {
    [
        HOSTS.len(),
        MODULES.len(),
        METHODS.len(),
        BUFFERS.len(),
        SUBSCRIPTIONS.len(),
        TASKS.len(),
        SHARED_BUFFERS.len(),
    ]
    .iter()
    .map(|&n| n as u64)
    .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_of_one_type_never_resolve_as_another() {
        let b = BUFFERS.insert(Arc::new(vec![1, 2, 3]));
        assert_eq!(b.id >> 56, 0xb4);
        let e = HOSTS.get(bh_host { id: b.id }).unwrap_err().to_string();
        assert!(e.contains("stale or invalid bh_host handle"), "{e}");
        assert!(e.contains("(it is a bh_buffer handle)"), "{e}");
        assert_eq!(*BUFFERS.remove(b).unwrap(), vec![1, 2, 3]);
        let e = BUFFERS.remove(b).unwrap_err().to_string();
        assert!(e.contains("stale or invalid bh_buffer handle"), "{e}");
        assert!(!e.contains("it is a"), "{e}");
        let tags: std::collections::HashSet<u8> = TAGS.iter().map(|t| t.0).collect();
        assert_eq!(tags.len(), TAGS.len(), "tags are distinct");
    }
}
