//! The objects Java refers to, by generation-checked id.
//!
//! Java stores a `long` per object. An id is looked up on every use; a
//! stale id (the object was closed), a forged one, or an id of another table
//! (a module id passed as a method id) is not found, and the native method
//! throws `ClosedException` — never a crash, never another object.
#![forbid(unsafe_code)]

use crate::error::BridgeError;
use bridgehost::internal::handles::HandleTable;
use bridgehost::{Error, Host, Method, Module, SubmitHandle, Subscription};
use jni::sys::jlong;
use std::sync::Arc;

/// Open hosts.
pub(crate) static HOSTS: HandleTable<Host> = HandleTable::new(0x61);
/// Open modules.
pub(crate) static MODULES: HandleTable<Module> = HandleTable::new(0x62);
/// Resolved methods.
pub(crate) static METHODS: HandleTable<Method> = HandleTable::new(0x63);
/// Live subscriptions.
pub(crate) static SUBSCRIPTIONS: HandleTable<Subscription> = HandleTable::new(0x64);
/// Submitted calls not yet completed (for `cancel`). One insert and one
/// remove per submit: the core's short-lived table (remove = fence + scan,
/// no `membarrier` system call).
pub(crate) static TASKS: HandleTable<SubmitHandle> = HandleTable::new_short_lived(0x65);

/// The id Java stores (bit-for-bit).
pub(crate) fn to_java(id: u64) -> jlong {
    id as jlong
}

pub(crate) fn from_java(id: jlong) -> u64 {
    id as u64
}

fn lookup<T: ?Sized>(table: &HandleTable<T>, id: jlong, what: &str) -> Result<Arc<T>, BridgeError> {
    table
        .get(from_java(id))
        .ok_or_else(|| BridgeError::Core(Error::Closed(format!("{what} is closed"))))
}

/// The host behind `id`.
pub(crate) fn host(id: jlong) -> Result<Arc<Host>, BridgeError> {
    lookup(&HOSTS, id, "host")
}

/// The module behind `id`.
pub(crate) fn module(id: jlong) -> Result<Arc<Module>, BridgeError> {
    lookup(&MODULES, id, "module")
}

/// The method behind `id`.
pub(crate) fn method(id: jlong) -> Result<Arc<Method>, BridgeError> {
    lookup(&METHODS, id, "method")
}

/// Run `f` on the method behind `id` without cloning its `Arc` or taking a
/// lock (the hot path: [`HandleTable::with`]). A concurrent close cannot free
/// the method while `f` runs; it only makes later lookups fail.
pub(crate) fn with_method<R>(
    id: jlong,
    f: impl FnOnce(&Method) -> Result<R, BridgeError>,
) -> Result<R, BridgeError> {
    METHODS
        .with(from_java(id), f)
        .unwrap_or_else(|| Err(BridgeError::Core(Error::Closed("method is closed".into()))))
}

/// The subscription behind `id`.
pub(crate) fn subscription(id: jlong) -> Result<Arc<Subscription>, BridgeError> {
    lookup(&SUBSCRIPTIONS, id, "subscription")
}

/// Remove `id` from `table`; `None` when it was not live (closed twice: a no-op).
pub(crate) fn remove<T: ?Sized>(table: &HandleTable<T>, id: jlong) -> Option<Arc<T>> {
    table.remove(from_java(id))
}

/// Look up a task (no error: a completed task simply cannot be cancelled).
pub(crate) fn task(id: jlong) -> Option<Arc<SubmitHandle>> {
    TASKS.get(from_java(id))
}
