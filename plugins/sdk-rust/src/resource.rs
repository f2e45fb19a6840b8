//! Handle tables for WIT resources (docs/TYPED.md, "Resources (handles)"), used by the code
//! `bridgehost bindgen --lang rust` generates: one [`Table`] per resource per module instance.
//!
//! * A handle is `generation << 32 | (slot + 1)`, so `0` is never a live handle. A slot's
//!   generation changes every time its object is removed, and the first generation of a table is
//!   random: a handle that was dropped, that another instance (or a worker before a restart)
//!   issued, or that was never issued is refused with [`INVALID_HANDLE`] (`EINVAL`) and the
//!   message `stale handle: no live <R> has handle 0x...`, never confused with a live object.
//! * The table holds each object in an [`Arc`]: [`Table::get`] lends a clone to a running call,
//!   so an object removed (dropped by the caller) while a call still uses it is destroyed when
//!   the last such call returns, never under it.
//! * Dropping the table (with the module instance) drops every object still in it.
//!
//! Safe code only; one mutex per table, never held while an object is created or destroyed.

use crate::ModuleError;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Module error code of a stale or unknown handle (22, like `EINVAL`).
pub const INVALID_HANDLE: i32 = 22;

/// Module error code when a table has no free slot (12, like `ENOMEM`).
pub const OUT_OF_SLOTS: i32 = 12;

/// Slots a table may hold: slot indexes run to `u32::MAX - 1` (the handle's low half is
/// `slot + 1`).
const MAX_SLOTS: usize = u32::MAX as usize;

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

/// The live objects of one resource in one module instance, by handle. `Send + Sync` when `T`
/// is: calls on several threads share it.
pub struct Table<T> {
    resource: &'static str,
    first_generation: u32,
    inner: Mutex<Slots<T>>,
}

impl<T> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("resource", &self.resource)
            .field("live", &self.len())
            .finish()
    }
}

/// A per-table random number: std's randomly keyed SipHash over a process-wide counter and the
/// time (not cryptographic; it only has to differ between instances and runs).
fn random_generation() -> u32 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

impl<T> Table<T> {
    /// An empty table for resource `resource` (its WIT name, for error messages), with a random
    /// first generation.
    pub fn new(resource: &'static str) -> Self {
        Table {
            resource,
            first_generation: random_generation(),
            inner: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
            }),
        }
    }

    /// The resource's WIT name.
    pub fn resource(&self) -> &'static str {
        self.resource
    }

    // A panic while the lock is held cannot leave the slots inconsistent (every update is a
    // single assignment after the checks), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The error for a handle that names no live object.
    pub fn stale(&self, handle: u64) -> ModuleError {
        ModuleError::new(
            INVALID_HANDLE,
            format!(
                "stale handle: no live {} has handle {handle:#018x}",
                self.resource
            ),
        )
    }

    /// Add `value`; returns its new handle. Fails only when every one of the 2^32 - 1 slots
    /// is live.
    pub fn insert(&self, value: T) -> Result<u64, ModuleError> {
        let value = Arc::new(value);
        let mut s = self.lock();
        let slot = match s.free.pop() {
            Some(i) => i as usize,
            None => {
                if s.slots.len() >= MAX_SLOTS {
                    drop(s);
                    return Err(ModuleError::new(
                        OUT_OF_SLOTS,
                        format!("too many live {} objects", self.resource),
                    ));
                }
                s.slots.push(Slot {
                    generation: self.first_generation,
                    value: None,
                });
                s.slots.len() - 1
            }
        };
        let generation = s.slots[slot].generation;
        s.slots[slot].value = Some(value);
        s.live += 1;
        Ok((u64::from(generation) << 32) | (slot as u64 + 1))
    }

    /// The slot a handle names, if its generation matches a live object.
    fn find(s: &Slots<T>, handle: u64) -> Option<usize> {
        let low = (handle & 0xffff_ffff) as usize;
        let slot = low.checked_sub(1)?;
        let entry = s.slots.get(slot)?;
        (entry.value.is_some() && u64::from(entry.generation) == handle >> 32).then_some(slot)
    }

    /// The object behind `handle`, lent to a call: it stays alive until the returned [`Arc`]
    /// is dropped, even if the handle is removed meanwhile.
    pub fn get(&self, handle: u64) -> Result<Arc<T>, ModuleError> {
        let s = self.lock();
        match Self::find(&s, handle).and_then(|i| s.slots[i].value.clone()) {
            Some(v) => Ok(v),
            None => {
                drop(s);
                Err(self.stale(handle))
            }
        }
    }

    /// Remove `handle` (`[resource-drop]R`): the object is destroyed now, or when the last
    /// call that borrowed it returns. An unknown or already removed handle is refused like
    /// [`Table::get`].
    pub fn remove(&self, handle: u64) -> Result<(), ModuleError> {
        let value = {
            let mut s = self.lock();
            let Some(i) = Self::find(&s, handle) else {
                drop(s);
                return Err(self.stale(handle));
            };
            let slot = &mut s.slots[i];
            slot.generation = slot.generation.wrapping_add(1);
            let value = slot.value.take();
            s.live -= 1;
            s.free.push(i as u32);
            value
        };
        // Destroyed (when this was the last reference) outside the lock: the object's `Drop`
        // may use the table.
        drop(value);
        Ok(())
    }

    /// Handles live in this table (objects a running call still borrows after their handle
    /// was removed are not counted).
    pub fn len(&self) -> usize {
        self.lock().live
    }

    /// Whether no handle is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start inserting the objects of one call's result: the handles a [`Batch`] inserted are
    /// removed again unless it is [committed](Batch::commit), so a result that fails to encode
    /// leaves no object behind that the caller never learned the handle of.
    pub fn batch(&self) -> Batch<'_, T> {
        Batch {
            table: self,
            inserted: Vec::new(),
        }
    }
}

/// Handles inserted for one call's result; see [`Table::batch`].
pub struct Batch<'t, T> {
    table: &'t Table<T>,
    inserted: Vec<u64>,
}

impl<T> fmt::Debug for Batch<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("resource", &self.table.resource)
            .field("inserted", &self.inserted.len())
            .finish()
    }
}

impl<T> Batch<'_, T> {
    /// Insert `value` into the table; returns its handle.
    pub fn insert(&mut self, value: T) -> Result<u64, ModuleError> {
        let h = self.table.insert(value)?;
        self.inserted.push(h);
        Ok(h)
    }

    /// Keep every handle inserted (the result reached the caller).
    pub fn commit(mut self) {
        self.inserted.clear();
    }
}

impl<T> Drop for Batch<'_, T> {
    fn drop(&mut self) {
        for h in self.inserted.drain(..) {
            // Each was inserted by this batch and not handed out: it is still live.
            let _ = self.table.remove(h);
        }
    }
}
