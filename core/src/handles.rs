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
//!
//! Lookups take no lock and execute no locked instruction: a reader announces
//! the slot it reads in a per-thread hazard record and checks the slot's
//! generation; a remove retires the slot and drops the value only once no
//! reader announces it (see `ffi/slots.rs` and `ffi/hazard.rs`). So:
//! * [`HandleTable::with`] borrows the value for the length of a closure at
//!   the cost of two plain stores and a few loads (~1-3 ns), and is safe to
//!   hold across a long call: inserts and removes on the table, including a
//!   remove of the very handle being used (from another thread, or from
//!   inside the closure), do not wait for it and do not invalidate the
//!   borrow. [`HandleTable::borrow`] is the same as a guard ([`Ref`], derefs
//!   to `T`). **Front ends should use `with` or `borrow` on their per-call
//!   path** (not `get`).
//! * [`HandleTable::get`] clones the `Arc` inside such a borrow (two locked
//!   instructions: the clone and the later drop).
//! * A generation repeats after 2^24 reuses of one slot: a handle kept across
//!   that many close/open cycles of the same slot would resolve again.
#![forbid(unsafe_code)]

use crate::ffi::hazard::Fences;
use crate::ffi::slots::{Borrow, Slots, WriterLock, GEN_MASK};
use std::sync::Arc;

/// A value borrowed from a [`HandleTable`] ([`HandleTable::borrow`]): derefs
/// to `T`. While it lives the value stays valid, even if its handle is
/// removed meanwhile (the table's reference is dropped after the guard).
/// Holding it costs nothing on other threads; it is not `Send` (it is an
/// entry in this thread's hazard record) and is meant for the length of one
/// call.
pub struct Ref<'a, T: ?Sized> {
    inner: Borrow<'a, T>,
}

impl<T: ?Sized> std::ops::Deref for Ref<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.inner.get()
    }
}

impl<T: ?Sized> Ref<'_, T> {
    /// An owned reference to the value (one `Arc` clone).
    pub fn to_arc(&self) -> Arc<T> {
        Arc::clone(self.inner.get())
    }
}

impl<T: ?Sized> std::fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ref").finish_non_exhaustive()
    }
}

const INDEX_BITS: u32 = 32;
const GEN_BITS: u32 = 24;

/// A table of `Arc<T>` addressed by generation-checked `u64` handles.
pub struct HandleTable<T: ?Sized> {
    tag: u8,
    slots: Slots<T>,
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
    /// A new table whose handles carry `tag` (must be non-zero). Lookups
    /// are nearly free; a remove costs a `membarrier(2)` system call
    /// (~0.5 us here). For long-lived objects (hosts, modules, methods,
    /// subscriptions).
    pub const fn new(tag: u8) -> Self {
        assert!(tag != 0, "tag 0 is reserved");
        HandleTable {
            tag,
            slots: Slots::new(Fences::Asymmetric),
        }
    }

    /// A table for handles removed about as often as they are looked up
    /// (a per-call output buffer, a submitted task): a remove costs a fence
    /// and a scan of the thread records instead of a system call; a lookup
    /// pays two `SeqCst` fences (still no lock, no `Arc` clone for `with`
    /// and `borrow`). Same guarantees as [`HandleTable::new`].
    pub const fn new_short_lived(tag: u8) -> Self {
        assert!(tag != 0, "tag 0 is reserved");
        HandleTable {
            tag,
            slots: Slots::new(Fences::Symmetric),
        }
    }

    fn encode(&self, index: u32, generation: u64) -> u64 {
        (u64::from(self.tag) << (INDEX_BITS + GEN_BITS))
            | ((generation & GEN_MASK) << INDEX_BITS)
            | u64::from(index)
    }

    /// True when `handle` has the shape of a handle this table issues (its tag,
    /// a non-zero generation), live or not: what a freed handle still has and a
    /// forged value or another table's handle usually lacks.
    pub fn is_own(&self, handle: u64) -> bool {
        self.decode(handle).is_some()
    }

    #[inline]
    fn decode(&self, handle: u64) -> Option<(u32, u64)> {
        let tag = (handle >> (INDEX_BITS + GEN_BITS)) as u8;
        if tag != self.tag {
            return None;
        }
        let generation = (handle >> INDEX_BITS) & GEN_MASK;
        if generation == 0 {
            return None;
        }
        Some((handle as u32, generation))
    }

    /// Store `value` and return its handle.
    pub fn insert(&self, value: Arc<T>) -> u64 {
        let (index, generation) = self.slots.insert(value).expect("handle table exhausted");
        self.encode(index, generation)
    }

    /// The value for `handle`, if it is live (an owned `Arc`: prefer
    /// [`HandleTable::with`] on a hot path).
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        self.slots.with(index, generation, Arc::clone)
    }

    /// Run `f` on the value for `handle`, if it is live, without cloning the
    /// `Arc` and without a lock: the value stays valid while `f` runs, even
    /// if the handle is removed meanwhile (its drop is deferred until `f`
    /// returns). `f` may insert into and remove from this table.
    #[inline]
    pub fn with<R>(&self, handle: u64, f: impl FnOnce(&T) -> R) -> Option<R> {
        let (index, generation) = self.decode(handle)?;
        self.slots.with(index, generation, |v| f(v))
    }

    /// [`with`](Self::with) through this thread's record, looked up once by
    /// the caller and handed on to `f`.
    #[inline]
    pub(crate) fn with_in<R>(
        &self,
        here: Option<crate::ffi::hazard::Here>,
        handle: u64,
        f: impl FnOnce(&T) -> R,
    ) -> Option<R> {
        let (index, generation) = self.decode(handle)?;
        self.slots.with_in(here, index, generation, |v| f(v))
    }

    /// Borrow the value for `handle`, if it is live: the guard form of
    /// [`HandleTable::with`] (no lock, no locked instruction, no `Arc`
    /// clone), for code that prefers `?` to a closure:
    /// `let m = METHODS.borrow(h).ok_or(..)?; m.call_with(..)`.
    #[inline]
    pub fn borrow(&self, handle: u64) -> Option<Ref<'_, T>> {
        let (index, generation) = self.decode(handle)?;
        self.slots
            .borrow(index, generation)
            .map(|inner| Ref { inner })
    }

    /// Remove `handle`; returns its value if it was live. A second remove of
    /// the same handle returns `None`. Never waits for lookups in flight.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        self.slots.remove(index, generation)
    }

    /// Number of live handles (for leak tests).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no handle is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every live entry and return their values.
    pub fn drain(&self) -> Vec<Arc<T>> {
        self.slots.drain()
    }

    /// The table's writer mutex, for `crate::fork` to take across a fork.
    pub(crate) fn writer_mutex(&self) -> &crate::ffi::slots::WriterMutex {
        self.slots.writer_mutex()
    }

    /// Hold the table's writer lock until the guard drops (fork
    /// preparation): no insert or remove runs meanwhile; lookups do not
    /// take it.
    pub(crate) fn lock_writer(&self) -> WriterLock<'_> {
        self.slots.lock_writer()
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
        for _ in 0..if cfg!(miri) { 1 << 8 } else { 1 << 12 } {
            let h = t.insert(Arc::new(()));
            assert_ne!(h, 0);
            assert_ne!(h, last);
            last = h;
            t.remove(h).unwrap();
        }
    }

    /// A value that records its drop and checks it is never used after.
    struct Probe {
        alive: std::sync::atomic::AtomicBool,
        drops: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Probe {
        fn new(drops: &Arc<std::sync::atomic::AtomicUsize>) -> Arc<Probe> {
            Arc::new(Probe {
                alive: std::sync::atomic::AtomicBool::new(true),
                drops: Arc::clone(drops),
            })
        }
        fn check(&self) {
            assert!(
                self.alive.load(std::sync::atomic::Ordering::SeqCst),
                "value used after drop"
            );
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.alive.store(false, std::sync::atomic::Ordering::SeqCst);
            self.drops.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn remove_inside_with_defers_the_drop_until_the_borrow_ends() {
        remove_inside_with_defers_the_drop(HandleTable::new(4));
        remove_inside_with_defers_the_drop(HandleTable::new_short_lived(4));
    }

    fn remove_inside_with_defers_the_drop(t: HandleTable<Probe>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let drops = Arc::new(AtomicUsize::new(0));
        let h = t.insert(Probe::new(&drops));
        let r = t.with(h, |p| {
            let removed = t.remove(h).expect("live");
            drop(removed);
            assert!(t.get(h).is_none(), "retired at once");
            assert!(t.with(h, |_| ()).is_none());
            // The table's own reference is still held back for us.
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            p.check();
            // A new insert cannot reuse the slot we are reading.
            let h2 = t.insert(Probe::new(&drops));
            assert_ne!(h2 as u32, h as u32, "slot reused while borrowed");
            t.remove(h2).unwrap();
            7
        });
        assert_eq!(r, Some(7));
        assert_eq!(
            drops.load(Ordering::SeqCst),
            2,
            "dropped once the borrow ended"
        );
        assert_eq!(t.slots.pending(), 0);
        assert!(t.is_empty());
    }

    #[test]
    fn a_borrow_outlives_the_remove_of_its_handle() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let drops = Arc::new(AtomicUsize::new(0));
        let t: HandleTable<Probe> = HandleTable::new(8);
        let h = t.insert(Probe::new(&drops));
        let b = t.borrow(h).expect("live");
        let b2 = t.borrow(h).expect("nested borrows");
        drop(t.remove(h).expect("live"));
        assert!(t.borrow(h).is_none(), "retired at once");
        b.check();
        let owned = b.to_arc();
        drop(b);
        b2.check();
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(b2);
        assert_eq!(t.slots.pending(), 0, "reclaimed when the last borrow ended");
        assert_eq!(drops.load(Ordering::SeqCst), 0, "the owned Arc keeps it");
        drop(owned);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(t.borrow(0).is_none() && t.borrow(u64::MAX).is_none());
    }

    #[test]
    fn stale_generation_after_slot_reuse_is_rejected() {
        let t: HandleTable<u32> = HandleTable::new(5);
        let h1 = t.insert(Arc::new(1));
        t.remove(h1).unwrap();
        let h2 = t.insert(Arc::new(2));
        assert_eq!(h1 as u32, h2 as u32, "slot reused");
        assert_ne!(h1, h2);
        assert!(t.with(h1, |v| *v).is_none());
        assert!(t.get(h1).is_none());
        assert!(t.remove(h1).is_none());
        assert_eq!(t.with(h2, |v| *v), Some(2));
        // A forged handle with generation 0 or an index never issued.
        assert!(t.get(h2 & !(GEN_MASK << INDEX_BITS)).is_none());
        assert!(t.get((h2 & !0xffff_ffff) | 0xfff_ffff).is_none());
        assert_eq!(t.drain().len(), 1);
        assert!(t.get(h2).is_none());
        assert!(t.is_empty());
    }

    #[test]
    fn many_slots_across_buckets() {
        let t: HandleTable<usize> = HandleTable::new(6);
        let hs: Vec<u64> = (0..1000).map(|i| t.insert(Arc::new(i))).collect();
        for (i, &h) in hs.iter().enumerate() {
            assert_eq!(t.with(h, |v| *v), Some(i));
        }
        for &h in hs.iter().step_by(2) {
            t.remove(h).unwrap();
        }
        assert_eq!(t.len(), 500);
        for (i, &h) in hs.iter().enumerate() {
            assert_eq!(t.get(h).map(|v| *v), (i % 2 == 1).then_some(i));
        }
    }

    /// Stress (no loom): readers look handles up (with and get) while
    /// writers remove and re-insert them. No value is used after its drop,
    /// every value is dropped exactly once, a stale handle never resolves to
    /// a newer value, and nothing leaks.
    #[test]
    fn removes_racing_lookups_many_threads() {
        removes_racing_lookups(HandleTable::new(7));
    }

    #[test]
    fn removes_racing_lookups_many_threads_short_lived_table() {
        removes_racing_lookups(HandleTable::new_short_lived(9));
    }

    fn removes_racing_lookups(table: HandleTable<(u64, Probe)>) {
        use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
        let drops = Arc::new(AtomicUsize::new(0));
        let table: Arc<HandleTable<(u64, Probe)>> = Arc::new(table);
        const KEYS: usize = 8;
        let created = Arc::new(AtomicUsize::new(0));
        let mk = |serial: u64| {
            created.fetch_add(1, Ordering::SeqCst);
            Arc::new((
                serial,
                Probe {
                    alive: AtomicBool::new(true),
                    drops: Arc::clone(&drops),
                },
            ))
        };
        let serial = Arc::new(AtomicU64::new(0));
        let current: Arc<Vec<AtomicU64>> = Arc::new(
            (0..KEYS)
                .map(|_| AtomicU64::new(table.insert(mk(serial.fetch_add(1, Ordering::SeqCst)))))
                .collect(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicU64::new(0));
        let readers: Vec<_> = (0..3)
            .map(|r| {
                let (table, current, stop, hits) = (
                    Arc::clone(&table),
                    Arc::clone(&current),
                    Arc::clone(&stop),
                    Arc::clone(&hits),
                );
                std::thread::spawn(move || {
                    let mut i = r;
                    while !stop.load(Ordering::Relaxed) {
                        i = (i + 1) % KEYS;
                        let h = current[i].load(Ordering::SeqCst);
                        let seen = table.with(h, |(s, p)| {
                            p.check();
                            std::hint::spin_loop();
                            p.check();
                            *s
                        });
                        if let Some(got) = table.get(h) {
                            got.1.check();
                            if let Some(s) = seen {
                                assert_eq!(got.0, s, "a handle resolved to another value");
                            }
                            hits.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (table, current, serial) = (
                    Arc::clone(&table),
                    Arc::clone(&current),
                    Arc::clone(&serial),
                );
                let drops = Arc::clone(&drops);
                let created = Arc::clone(&created);
                std::thread::spawn(move || {
                    // Miri: the same races, fewer rounds (it is ~1000x slower).
                    for n in 0..if cfg!(miri) { 40 } else { 3000 } {
                        let k = (n * 2 + w) % KEYS;
                        let old = current[k].load(Ordering::SeqCst);
                        let s = serial.fetch_add(1, Ordering::SeqCst);
                        created.fetch_add(1, Ordering::SeqCst);
                        let h = table.insert(Arc::new((
                            s,
                            Probe {
                                alive: AtomicBool::new(true),
                                drops: Arc::clone(&drops),
                            },
                        )));
                        current[k].store(h, Ordering::SeqCst);
                        let v = table.remove(old).expect("each writer owns its keys");
                        v.1.check();
                        assert!(table.remove(old).is_none(), "double remove");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        assert!(hits.load(Ordering::Relaxed) > 0);
        assert_eq!(table.len(), KEYS);
        drop(table.drain());
        assert_eq!(table.slots.pending(), 0, "every retired slot reclaimed");
        assert!(table.is_empty());
        assert_eq!(drops.load(Ordering::SeqCst), created.load(Ordering::SeqCst));
    }
}

/// Loom models of the lock-free handle table (`ffi/slots.rs` under
/// [`HandleTable`], the hazard records, the fence pair in its loom form).
/// Run by `scripts/loom.sh`; see docs/CONCURRENCY.md. No `unsafe` here: a
/// use after free shows as a probe that reads its own drop.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering::Relaxed;

    /// A value that records its drop (Relaxed: loom may show a reader any
    /// store not ordered before it, so an overlap with the drop is found).
    struct Probe {
        id: u32,
        alive: AtomicBool,
    }

    impl Probe {
        fn new(id: u32) -> Arc<Probe> {
            Arc::new(Probe {
                id,
                alive: AtomicBool::new(true),
            })
        }
        fn check(&self) -> u32 {
            assert!(self.alive.load(Relaxed), "value used after its drop");
            self.id
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.alive.store(false, Relaxed);
        }
    }

    fn builder() -> loom::model::Builder {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b
    }

    /// A lookup concurrent with a remove of its handle either misses or
    /// uses the value before its drop (never after), and the retired slot is
    /// reclaimed by the time both are done (by the remover, or by the reader
    /// on its way out).
    #[test]
    fn loom_handles_remove_never_frees_under_a_lookup() {
        // The closure form (`with`), then the guard form (`borrow`): one
        // lookup per model, so a reclaim the lookup owes is not made up for
        // by a later one.
        for guard_form in [false, true] {
            builder().check(move || {
                let table = loom::sync::Arc::new(HandleTable::<Probe>::new(1));
                let h = table.insert(Probe::new(1));
                let reader = {
                    let table = loom::sync::Arc::clone(&table);
                    loom::thread::spawn(move || {
                        let seen = if guard_form {
                            table.borrow(h).map(|r| r.check())
                        } else {
                            table.with(h, Probe::check)
                        };
                        assert!(matches!(seen, None | Some(1)), "{seen:?}");
                    })
                };
                drop(table.remove(h).expect("live"));
                reader.join().unwrap();
                // Before any further lookup (whose own exit would reclaim).
                assert_eq!(table.slots.pending(), 0, "retired slot never reclaimed");
                assert!(table.get(h).is_none(), "removed handle resolves");
                assert!(table.is_empty());
            });
        }
    }

    /// A stale handle never resolves to the value that replaced it, even
    /// when its slot is reclaimed and reused while a lookup runs.
    #[test]
    fn loom_handles_stale_generation_never_resolves() {
        builder().check(|| {
            let table = loom::sync::Arc::new(HandleTable::<Probe>::new(1));
            let h1 = table.insert(Probe::new(1));
            let reader = {
                let table = loom::sync::Arc::clone(&table);
                loom::thread::spawn(move || {
                    let seen = table.with(h1, Probe::check);
                    assert!(matches!(seen, None | Some(1)), "stale handle saw {seen:?}");
                })
            };
            drop(table.remove(h1).expect("live"));
            let h2 = table.insert(Probe::new(2));
            assert_ne!(h1, h2);
            reader.join().unwrap();
            assert_eq!(table.slots.pending(), 0, "retired slot never reclaimed");
            assert!(table.get(h1).is_none());
            assert_eq!(table.with(h2, Probe::check), Some(2));
        });
    }

    /// Two concurrent removes of one handle: exactly one gets the value.
    #[test]
    fn loom_handles_concurrent_removes_hand_out_the_value_once() {
        builder().check(|| {
            let table = loom::sync::Arc::new(HandleTable::<Probe>::new(1));
            let h = table.insert(Probe::new(1));
            let other = {
                let table = loom::sync::Arc::clone(&table);
                loom::thread::spawn(move || table.remove(h).map(|v| v.check()))
            };
            let mine = table.remove(h).map(|v| v.check());
            let theirs = other.join().unwrap();
            assert!(mine.is_some() != theirs.is_some(), "{mine:?} {theirs:?}");
            assert!(table.is_empty());
        });
    }
}
