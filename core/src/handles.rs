//! Generation-checked handle tables.
//!
//! A handle is a `u64`: `tag (8 bits) | generation (24 bits) | index (32 bits)`.
//! Removing an entry bumps the slot's generation, so a stale, double-freed or
//! forged handle is looked up as "not found" — never as another object. The
//! tag keeps a handle of one table from resolving in another (a module handle
//! passed where a host handle is expected is rejected). Handle 0 is never
//! issued.
//!
//! The C ABI's opaque handles and the module ABI's instance tokens both come
//! from here.
#![forbid(unsafe_code)]

use parking_lot::RwLock;
use std::sync::Arc;

const INDEX_BITS: u32 = 32;
const GEN_BITS: u32 = 24;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;

struct Slot<T: ?Sized> {
    generation: u64,
    value: Option<Arc<T>>,
}

/// A table of `Arc<T>` addressed by generation-checked `u64` handles.
pub struct HandleTable<T: ?Sized> {
    tag: u8,
    inner: RwLock<Inner<T>>,
}

struct Inner<T: ?Sized> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T: ?Sized> std::fmt::Debug for HandleTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleTable")
            .field("tag", &self.tag)
            .field("live", &self.len())
            .finish()
    }
}

impl<T: ?Sized> HandleTable<T> {
    /// A new table whose handles carry `tag` (must be non-zero).
    pub const fn new(tag: u8) -> Self {
        assert!(tag != 0, "tag 0 is reserved");
        HandleTable {
            tag,
            inner: RwLock::new(Inner {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
            }),
        }
    }

    fn encode(&self, index: u32, generation: u64) -> u64 {
        (u64::from(self.tag) << (INDEX_BITS + GEN_BITS))
            | ((generation & GEN_MASK) << INDEX_BITS)
            | u64::from(index)
    }

    fn decode(&self, handle: u64) -> Option<(usize, u64)> {
        let tag = (handle >> (INDEX_BITS + GEN_BITS)) as u8;
        if tag != self.tag {
            return None;
        }
        let generation = (handle >> INDEX_BITS) & GEN_MASK;
        let index = (handle & 0xffff_ffff) as usize;
        Some((index, generation))
    }

    /// Store `value` and return its handle.
    pub fn insert(&self, value: Arc<T>) -> u64 {
        let mut g = self.inner.write();
        g.live += 1;
        if let Some(index) = g.free.pop() {
            let slot = &mut g.slots[index as usize];
            slot.value = Some(value);
            let generation = slot.generation;
            return self.encode(index, generation);
        }
        let index = u32::try_from(g.slots.len()).expect("handle table exhausted");
        // Generation starts at 1 so that no handle encodes to 0 for index 0.
        g.slots.push(Slot {
            generation: 1,
            value: Some(value),
        });
        self.encode(index, 1)
    }

    /// The value for `handle`, if it is live.
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        let g = self.inner.read();
        let slot = g.slots.get(index)?;
        if slot.generation & GEN_MASK != generation {
            return None;
        }
        slot.value.clone()
    }

    /// Run `f` on the value for `handle`, if it is live, without cloning the
    /// `Arc` (the table's read lock is held while `f` runs: `f` must not
    /// insert into or remove from this table).
    pub fn with<R>(&self, handle: u64, f: impl FnOnce(&T) -> R) -> Option<R> {
        let (index, generation) = self.decode(handle)?;
        let g = self.inner.read();
        let slot = g.slots.get(index)?;
        if slot.generation & GEN_MASK != generation {
            return None;
        }
        slot.value.as_deref().map(f)
    }

    /// Remove `handle`; returns its value if it was live. A second remove of
    /// the same handle returns `None`.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        let mut g = self.inner.write();
        let slot = g.slots.get_mut(index)?;
        if slot.generation & GEN_MASK != generation || slot.value.is_none() {
            return None;
        }
        let value = slot.value.take();
        // Skip generation 0 so a recycled slot never encodes to a zero field.
        slot.generation = match (slot.generation + 1) & GEN_MASK {
            0 => 1,
            n => n,
        };
        g.free.push(index as u32);
        g.live -= 1;
        value
    }

    /// Number of live handles (for leak tests).
    pub fn len(&self) -> usize {
        self.inner.read().live
    }

    /// True when no handle is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every live entry and return their values.
    pub fn drain(&self) -> Vec<Arc<T>> {
        let mut g = self.inner.write();
        let mut out = Vec::new();
        let mut freed = Vec::new();
        for (i, slot) in g.slots.iter_mut().enumerate() {
            if let Some(v) = slot.value.take() {
                slot.generation = match (slot.generation + 1) & GEN_MASK {
                    0 => 1,
                    n => n,
                };
                out.push(v);
                freed.push(i as u32);
            }
        }
        g.free.extend(freed);
        g.live = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_forged_and_cross_table_handles_are_rejected() {
        let a: HandleTable<u32> = HandleTable::new(1);
        let b: HandleTable<u32> = HandleTable::new(2);
        let h = a.insert(Arc::new(7));
        assert_ne!(h, 0);
        assert_eq!(*a.get(h).unwrap(), 7);
        assert!(
            b.get(h).is_none(),
            "a handle of table a must not resolve in b"
        );
        assert!(a.get(h ^ 1).is_none() || h ^ 1 == h);
        assert!(a.get(0).is_none());
        assert!(a.get(u64::MAX).is_none());
        assert_eq!(*a.remove(h).unwrap(), 7);
        assert!(a.remove(h).is_none(), "double free is a clean miss");
        assert!(a.get(h).is_none(), "stale handle is a clean miss");
        let h2 = a.insert(Arc::new(8));
        assert_ne!(h, h2, "recycled slot gets a new generation");
        assert!(a.get(h).is_none());
        assert_eq!(*a.get(h2).unwrap(), 8);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn generation_wraps_without_reissuing_zero() {
        let t: HandleTable<()> = HandleTable::new(3);
        let mut last = 0;
        for _ in 0..(1 << 12) {
            let h = t.insert(Arc::new(()));
            assert_ne!(h, 0);
            assert_ne!(h, last);
            last = h;
            t.remove(h).unwrap();
        }
    }
}
