//! The objects Java refers to, by generation-checked id.
//!
//! Java stores a `long` per object. An id is looked up on every use; a
//! stale id (the object was closed), a forged one, or an id of another table
//! (a module id passed as a method id) is not found, and the native method
//! throws `ClosedException` — never a crash, never another object.
#![forbid(unsafe_code)]

use crate::error::BridgeError;
use bridgehost::internal::handles::{Registry, Stale};
use bridgehost::{Error, Host, Method, Module, SubmitHandle, Subscription};
use jni::sys::jlong;
use std::sync::Arc;

/// The bridge's tables (tag, name): the core's front-end registry, the one the
/// C ABI uses too; only the error a stale id maps to differs (`ClosedException`
/// here, docs/SYMMETRY.md).
const FAMILY: [(u8, &str); 6] = [
    (0x61, "host"),
    (0x62, "module"),
    (0x63, "method"),
    (0x64, "subscription"),
    (0x65, "task"),
    (0x66, "shared buffer"),
];

/// Open hosts.
pub(crate) static HOSTS: Registry<Host> = Registry::new(&FAMILY, 0);
/// Open modules.
pub(crate) static MODULES: Registry<Module> = Registry::new(&FAMILY, 1);
/// Resolved methods.
pub(crate) static METHODS: Registry<Method> = Registry::new(&FAMILY, 2);
/// Live subscriptions.
pub(crate) static SUBSCRIPTIONS: Registry<Subscription> = Registry::new(&FAMILY, 3);
/// Submitted calls not yet completed (for `cancel`). One insert and one
/// remove per submit: the core's short-lived table (remove = fence + scan,
/// no `membarrier` system call).
pub(crate) static TASKS: Registry<SubmitHandle> = Registry::new_short_lived(&FAMILY, 4);

/// Live shared buffers (`io.bridgehost.SharedBuffer`, [`crate::shared`]).
pub(crate) static SHARED_BUFFERS: Registry<crate::shared::Shared> = Registry::new(&FAMILY, 5);

/// A stale, forged or other-table id: `ClosedException` ("method is closed").
fn closed(s: Stale) -> BridgeError {
    BridgeError::from(Error::Closed(format!("{} is closed", s.table)))
}

/// The id Java stores (bit-for-bit).
pub(crate) fn to_java(id: u64) -> jlong {
    id as jlong
}

pub(crate) fn from_java(id: jlong) -> u64 {
    id as u64
}

fn lookup<T: ?Sized>(table: &Registry<T>, id: jlong) -> Result<Arc<T>, BridgeError> {
    table.get(from_java(id)).map_err(closed)
}

/// The host behind `id`.
pub(crate) fn host(id: jlong) -> Result<Arc<Host>, BridgeError> {
    lookup(&HOSTS, id)
}

/// The module behind `id`.
pub(crate) fn module(id: jlong) -> Result<Arc<Module>, BridgeError> {
    lookup(&MODULES, id)
}

/// The method behind `id`.
pub(crate) fn method(id: jlong) -> Result<Arc<Method>, BridgeError> {
    lookup(&METHODS, id)
}

/// Run `f` on the method behind `id` without cloning its `Arc` or taking a
/// lock (the hot path: [`HandleTable::with`]). A concurrent close cannot free
/// the method while `f` runs; it only makes later lookups fail.
#[inline(always)]
pub(crate) fn with_method<R>(
    id: jlong,
    f: impl FnOnce(&Method) -> Result<R, BridgeError>,
) -> Result<R, BridgeError> {
    METHODS.with(from_java(id), f).map_err(closed)?
}

/// `Method::call_scalar` on the method behind `id` (the core's one-lookup
/// typed primitive call: `Registry::call_scalar`).
#[inline(always)]
pub(crate) fn call_scalar(id: jlong, args: &[u64]) -> Result<u64, BridgeError> {
    Ok(METHODS
        .call_scalar(from_java(id), args)
        .map_err(closed)?
        .map_err(|e| *e)?)
}

/// The shared buffer behind `id`: its own `Arc`, held by a call for as long
/// as it reads the buffer.
pub(crate) fn shared_buffer(id: jlong) -> Result<Arc<crate::shared::Shared>, BridgeError> {
    lookup(&SHARED_BUFFERS, id)
}

/// The subscription behind `id`.
pub(crate) fn subscription(id: jlong) -> Result<Arc<Subscription>, BridgeError> {
    lookup(&SUBSCRIPTIONS, id)
}

/// Remove `id` from `table`; `None` when it was not live (closed twice: a no-op).
pub(crate) fn remove<T: ?Sized>(table: &'static Registry<T>, id: jlong) -> Option<Arc<T>> {
    table.remove(from_java(id)).ok()
}

/// Look up a task (no error: a completed task simply cannot be cancelled).
pub(crate) fn task(id: jlong) -> Option<Arc<SubmitHandle>> {
    TASKS.get(from_java(id)).ok()
}
