//! The handle tables: one static, generation-checked core `HandleTable` per
//! handle type, each with its own tag, so a handle of one type never resolves
//! as another and a stale, double-freed or forged handle is a clean
//! `BH_E_INVALID_ARGUMENT`.
#![forbid(unsafe_code)]

use crate::types::{bh_buffer, bh_host, bh_method, bh_module, bh_subscription, bh_task, Handle};
use bhcore::internal::handles::HandleTable;
use bhcore::{Error, Host, Method, Module, Result, SubmitHandle, Subscription};
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

/// What a task handle refers to. The handle exists before the task is queued
/// (its completion retires it); the submit handle is set right after.
#[derive(Debug, Default)]
pub(crate) struct TaskSlot {
    pub(crate) submitted: OnceLock<SubmitHandle>,
}

/// A typed handle table: values of type `T`, handles of C type `H`.
#[derive(Debug)]
pub(crate) struct Table<T: ?Sized + 'static, H> {
    name: &'static str,
    tag: u8,
    table: HandleTable<T>,
    handle: PhantomData<fn(H) -> H>,
}

/// Bits above the tag in the core's handle encoding (`tag | generation | index`).
const TAG_SHIFT: u32 = 56;

impl<T: ?Sized + 'static, H: Handle> Table<T, H> {
    const fn new(tag: u8, name: &'static str) -> Self {
        Table {
            name,
            tag,
            table: HandleTable::new(tag),
            handle: PhantomData,
        }
    }

    /// A table whose handles are removed about as often as they are looked
    /// up (per-call output buffers, tasks): the core's short-lived table,
    /// whose remove is a fence and a scan rather than a `membarrier` system
    /// call. Same guarantees.
    const fn new_short_lived(tag: u8, name: &'static str) -> Self {
        Table {
            name,
            tag,
            table: HandleTable::new_short_lived(tag),
            handle: PhantomData,
        }
    }

    /// Store `value`; its new handle.
    pub(crate) fn insert(&self, value: Arc<T>) -> H {
        H::from_id(self.table.insert(value))
    }

    /// The live value of `h`.
    pub(crate) fn get(&self, h: H) -> Result<Arc<T>> {
        self.table.get(h.id()).ok_or_else(|| self.stale(h.id()))
    }

    /// Run `f` on the live value of `h`, borrowed for the length of `f`
    /// (no `Arc` clone, no lock: the core's lock-free lookup, safe to hold
    /// across a long call, nested calls and a concurrent remove included).
    #[inline]
    pub(crate) fn with<R>(&self, h: H, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.table.with(h.id(), f).ok_or_else(|| self.stale(h.id()))
    }

    /// Retire `h`; its value. A second remove is a clean error.
    pub(crate) fn remove(&self, h: H) -> Result<Arc<T>> {
        self.table.remove(h.id()).ok_or_else(|| self.stale(h.id()))
    }

    /// Retire `h` if it is still live (a completion retiring its own task).
    pub(crate) fn retire(&self, h: H) {
        drop(self.table.remove(h.id()));
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn stale(&self, h: u64) -> Error {
        let tag = (h >> TAG_SHIFT) as u8;
        let other = TAGS
            .iter()
            .find(|(t, _)| *t == tag && *t != self.tag)
            .map(|(_, n)| format!(" (it is a {n} handle)"))
            .unwrap_or_default();
        Error::InvalidArgument(format!(
            "stale or invalid {} handle 0x{h:016x}{other}",
            self.name
        ))
    }
}

const TAGS: [(u8, &str); 6] = [
    (0xb1, "bh_host"),
    (0xb2, "bh_module"),
    (0xb3, "bh_method"),
    (0xb4, "bh_buffer"),
    (0xb5, "bh_subscription"),
    (0xb6, "bh_task"),
];

/// `bh_host` handles.
pub(crate) static HOSTS: Table<Host, bh_host> = Table::new(TAGS[0].0, TAGS[0].1);
/// `bh_module` handles.
pub(crate) static MODULES: Table<Module, bh_module> = Table::new(TAGS[1].0, TAGS[1].1);
/// `bh_method` handles.
pub(crate) static METHODS: Table<Method, bh_method> = Table::new(TAGS[2].0, TAGS[2].1);
/// `bh_buffer` handles (one per spilled or `bh_call` output: short-lived).
pub(crate) static BUFFERS: Table<Vec<u8>, bh_buffer> = Table::new_short_lived(TAGS[3].0, TAGS[3].1);
/// `bh_subscription` handles.
pub(crate) static SUBSCRIPTIONS: Table<Subscription, bh_subscription> =
    Table::new(TAGS[4].0, TAGS[4].1);
/// `bh_task` handles (one per submit: short-lived).
pub(crate) static TASKS: Table<TaskSlot, bh_task> = Table::new_short_lived(TAGS[5].0, TAGS[5].1);

/// Live handles of every type.
pub(crate) fn live() -> u64 {
    [
        HOSTS.len(),
        MODULES.len(),
        METHODS.len(),
        BUFFERS.len(),
        SUBSCRIPTIONS.len(),
        TASKS.len(),
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
        assert_eq!(b.id >> TAG_SHIFT, 0xb4);
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
