//! The storage behind [`HandleTable`](crate::handles::HandleTable): slots
//! addressed by `(index, generation)` whose values can be borrowed with no
//! lock and no locked instruction, while inserts and removes run
//! concurrently.
//!
//! * Slots never move: they live in buckets of doubling size (64, 128, ...)
//!   allocated once and kept for the table's life, so a slot's address is
//!   stable and can be announced as a [`hazard`](super::hazard).
//! * A slot's `state` is `generation | LIVE`. A reader announces the slot,
//!   reads `state` and uses the value only if it equals the generation its
//!   handle carries, with `LIVE` set.
//! * Writers (insert, remove, reclaim) are serialized by one mutex. Remove
//!   clones the value for its caller, bumps the generation and clears `LIVE`
//!   (the slot is *retired*: no new reader can use it), then tries to
//!   *reclaim* it: after a heavy fence, a retired slot no thread announces
//!   has its value dropped and goes to the free list. A slot still announced
//!   stays retired; the last reader to leave it sees it retired and runs
//!   the reclaim itself. A value is therefore never dropped while borrowed,
//!   a remove never waits for a reader, and a slot is reused only after its
//!   old value is gone.

use super::hazard::{self, Fences};
use crate::sync::shim::AtomicU64;
use crate::sync::MutexGuard;
use std::cell::UnsafeCell;
use std::ptr::NonNull;
// `live` and `pending` stay std atomics in every build (a table's `new` is a
// `const fn`; loom's atomics are not const). `pending` is ordered by the slot
// state: `retire` bumps it before its Release store, which a reader that
// sees the retirement loads with Acquire. Loom treats std atomics as
// sequentially consistent, so its models (`crate::handles`) take that
// ordering as given.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Generation bits (as the handle encoding carries them).
pub(crate) const GEN_MASK: u64 = (1 << 24) - 1;
const LIVE: u64 = 1 << 32;
/// Entries in the first bucket (each next bucket holds twice as many).
pub(crate) const FIRST_BUCKET: usize = 64;
/// 64 * (2^27 - 1) slots >= 2^32 indices.
const BUCKETS: usize = 27;

struct Slot<T: ?Sized> {
    state: AtomicU64,
    value: UnsafeCell<Option<Arc<T>>>,
}

impl<T: ?Sized> Slot<T> {
    fn new() -> Self {
        Slot {
            state: AtomicU64::new(0),
            value: UnsafeCell::new(None),
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as *const u8 as usize
    }
}

/// One reader's use of a slot; on drop (also on unwind) it retracts the
/// announcement and, if the slot was retired meanwhile, makes sure a reclaim
/// runs after it left (a reclaim may have skipped the slot because of it).
struct Visit<'a, T: ?Sized> {
    slots: &'a Slots<T>,
    slot: &'a Slot<T>,
    expected: u64,
    hazard: hazard::Hazard,
}

impl<T: ?Sized> Visit<'_, T> {
    /// Retract the announcement; then, if the slot was retired meanwhile,
    /// make sure a reclaim runs after us.
    #[inline(always)]
    fn leave(&mut self) {
        self.hazard.retract();
        self.slots.fences.reader();
        // Pairs with the remover's (state store, heavy fence, scan): either
        // it saw our retraction, or we see its retirement here.
        if self.slot.state.load(Ordering::Acquire) != self.expected {
            self.slots.after_visit(self.slot, self.expected);
        }
    }

    /// End the visit on the normal path, inline: the drop glue the compiler
    /// generates is an out-of-line call that reloads every field from memory
    /// (measured: 8 % of a 16-byte echo through the C ABI). Dropping (the
    /// unwind path) does the same.
    #[inline(always)]
    fn end(mut self) {
        self.leave();
        // Nothing left to drop: the hazard is retracted (a retracted hazard's
        // drop is a no-op) and the rest are references.
        std::mem::forget(self);
    }
}

impl<T: ?Sized> Drop for Visit<'_, T> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// A borrowed value (see [`Slots::borrow`]); not `Send` (its announcement
/// lives in this thread's hazard record).
///
/// The value is held as a raw pointer, not a `&'a Arc<T>`: a reference field
/// would stay live (and, when the guard is passed by value, protected) while
/// the guard's own drop lets a pending reclaim take the slot's value, which
/// is undefined behaviour under Rust's aliasing model (Miri reports it).
/// References are handed out only through [`Borrow::get`], borrowing the
/// guard, so none outlives the announcement.
pub(crate) struct Borrow<'a, T: ?Sized> {
    value: NonNull<Arc<T>>,
    _visit: Visit<'a, T>,
}

impl<T: ?Sized> Borrow<'_, T> {
    /// The value (valid while the guard lives).
    #[inline]
    pub(crate) fn get(&self) -> &Arc<T> {
        // SAFETY: `value` points at the slot's value, which is not taken
        // before `_visit` drops (see `Slots::borrow`); `_visit` drops with
        // the guard, after every reference returned here (they borrow
        // `self`) has ended. No writer mutates the value while it is LIVE.
        unsafe { self.value.as_ref() }
    }
}

/// What a [`Slots`]' writer mutex guards (opaque outside this module).
pub(crate) struct Writer {
    next: u64,
    free: Vec<u32>,
    retired: Vec<u32>,
}

/// The writer mutex of a [`Slots`], held ([`Slots::lock_writer`]).
pub(crate) struct WriterLock<'a> {
    _guard: crate::sync::RankedGuard<MutexGuard<'a, Writer>>,
}

/// The writer mutex of a [`Slots`] (what `crate::fork` holds across a fork
/// for a front end's table).
pub(crate) type WriterMutex = crate::sync::RankedMutex<Writer>;

pub(crate) struct Slots<T: ?Sized> {
    buckets: [OnceLock<Box<[Slot<T>]>>; BUCKETS],
    writer: crate::sync::RankedMutex<Writer>,
    live: AtomicUsize,
    /// Retired slots not yet reclaimed (readers check it on the way out).
    pending: AtomicUsize,
    fences: Fences,
}

// SAFETY: the values are `Arc<T>`s shared between threads exactly as an
// `Arc<T>` would be (readers get `&T`, `get` clones the `Arc`, the last
// drop may run on any thread), which needs T: Send + Sync. Every write to a
// `value` cell happens under the writer mutex on a slot no reader can use
// (not LIVE, and for a take: no announcement, see the module docs).
unsafe impl<T: ?Sized + Send + Sync> Sync for Slots<T> {}
// SAFETY: moving the table moves the Arc<T>s (T: Send + Sync as above).
unsafe impl<T: ?Sized + Send + Sync> Send for Slots<T> {}

/// Add `d` to a counter only writers change, under the writer mutex: a
/// plain load and store (readers only load it), no locked instruction.
fn bump(c: &AtomicUsize, d: isize) {
    c.store(
        c.load(Ordering::Relaxed).wrapping_add_signed(d),
        Ordering::Relaxed,
    );
}

/// Where `index` lives in buckets that double in size, the first holding
/// [`FIRST_BUCKET`] entries: (bucket, offset in it). Shared with the call
/// records (callbacks/records.rs), which are allocated the same way.
pub(crate) fn locate(index: u32) -> (usize, usize) {
    let j = index as u64 / FIRST_BUCKET as u64 + 1;
    let b = 63 - j.leading_zeros() as usize;
    let start = FIRST_BUCKET as u64 * ((1u64 << b) - 1);
    (b, (index as u64 - start) as usize)
}

impl<T: ?Sized> Slots<T> {
    pub(crate) const fn new(fences: Fences) -> Self {
        Slots {
            fences,
            buckets: [const { OnceLock::new() }; BUCKETS],
            writer: crate::sync::RankedMutex::new(
                crate::sync::Rank::Table,
                Writer {
                    next: 0,
                    free: Vec::new(),
                    retired: Vec::new(),
                },
            ),
            live: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
        }
    }

    fn slot(&self, index: u32) -> Option<&Slot<T>> {
        let (b, off) = locate(index);
        self.buckets[b].get()?.get(off)
    }

    /// Store `value`; its `(index, generation)`. `None` when 2^32 slots are
    /// in use.
    pub(crate) fn insert(&self, value: Arc<T>) -> Option<(u32, u64)> {
        let mut dropped = Vec::new();
        let mut w = self.writer.lock();
        if w.free.is_empty() {
            self.reclaim_locked(&mut w, &mut dropped);
        }
        let index = match w.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(w.next).ok()?;
                let (b, _) = locate(i);
                self.buckets[b].get_or_init(|| {
                    (0..FIRST_BUCKET << b)
                        .map(|_| Slot::new())
                        .collect::<Vec<_>>()
                        .into_boxed_slice()
                });
                w.next += 1;
                i
            }
        };
        let slot = self.slot(index).expect("slot allocated above");
        // Generation starts at 1 so that no handle of index 0 encodes to 0.
        let generation = match slot.state.load(Ordering::Relaxed) & GEN_MASK {
            0 => 1,
            g => g,
        };
        // SAFETY: the slot is fresh or came off the free list: not LIVE (no
        // reader uses its value) and its old value was taken by reclaim. We
        // hold the writer mutex, so no other writer touches it.
        unsafe { *slot.value.get() = Some(value) };
        // Release: a reader that sees LIVE (Acquire) sees the value.
        slot.state.store(generation | LIVE, Ordering::Release);
        bump(&self.live, 1);
        drop(w);
        drop(dropped);
        Some((index, generation))
    }

    /// Run `f` on the live value at `(index, generation)`: no lock, no
    /// locked instruction, no `Arc` clone. The value stays valid while `f`
    /// runs even if the slot is removed meanwhile; `f` may use the table.
    ///
    /// Deliberately not written as `self.borrow(..).map(|g| f(g.get()))`:
    /// that form measured ~10 ns slower per call through the C ABI
    /// (`bh_call_spill`, 57 → 68 ns), the guard's move defeating inlining.
    #[inline]
    pub(crate) fn with<R>(
        &self,
        index: u32,
        generation: u64,
        f: impl FnOnce(&Arc<T>) -> R,
    ) -> Option<R> {
        self.with_in(hazard::here(), index, generation, f)
    }

    /// [`with`](Self::with) announcing through a record already looked up
    /// (a call that goes on to announce more: see [`hazard::Here`]).
    #[inline]
    pub(crate) fn with_in<R>(
        &self,
        here: Option<hazard::Here>,
        index: u32,
        generation: u64,
        f: impl FnOnce(&Arc<T>) -> R,
    ) -> Option<R> {
        let slot = self.slot(index)?;
        let visit = Visit {
            slots: self,
            slot,
            expected: generation | LIVE,
            hazard: hazard::protect_in(here, slot.addr(), self.fences),
        };
        if slot.state.load(Ordering::Acquire) != visit.expected {
            return None;
        }
        // SAFETY: the slot was LIVE with our generation after our
        // announcement was published (protect's light fence), so a remover
        // either saw the announcement (and leaves the value in place until we
        // retract it) or retired the slot after our load saw it LIVE, in
        // which case its heavy fence and scan come after our announcement
        // and see it. Either way the value is not taken before `visit`
        // drops (after `f` returns or unwinds). LIVE was stored (Release)
        // after the value was written, and we loaded it with Acquire.
        let value = unsafe { (*slot.value.get()).as_ref() }?;
        let r = f(value);
        visit.end();
        Some(r)
    }

    /// Borrow the live value at `(index, generation)` until the returned
    /// guard drops (the guard form of [`Slots::with`], same guarantees).
    #[inline]
    pub(crate) fn borrow(&self, index: u32, generation: u64) -> Option<Borrow<'_, T>> {
        let slot = self.slot(index)?;
        let visit = Visit {
            slots: self,
            slot,
            expected: generation | LIVE,
            hazard: hazard::protect_with(slot.addr(), self.fences),
        };
        if slot.state.load(Ordering::Acquire) != visit.expected {
            return None;
        }
        // SAFETY: as in `with`: the value is not taken before `visit` drops,
        // and the guard keeps `visit` alive as long as it hands out the
        // reference (Deref borrows the guard).
        let value = unsafe { (*slot.value.get()).as_ref() }?;
        Some(Borrow {
            value: NonNull::from(value),
            _visit: visit,
        })
    }

    /// Retire `(index, generation)` if live; its value.
    pub(crate) fn remove(&self, index: u32, generation: u64) -> Option<Arc<T>> {
        let slot = self.slot(index)?;
        let mut dropped = Vec::new();
        let out = {
            let mut w = self.writer.lock();
            let s = slot.state.load(Ordering::Relaxed);
            if s != generation | LIVE {
                return None;
            }
            let out = self.retire(&mut w, index, slot, s);
            self.reclaim_locked(&mut w, &mut dropped);
            out
        };
        drop(dropped);
        Some(out)
    }

    /// Retire a LIVE slot (writer mutex held): clone its value for the
    /// caller, clear LIVE and bump the generation.
    fn retire(&self, w: &mut Writer, index: u32, slot: &Slot<T>, state: u64) -> Arc<T> {
        // SAFETY: the slot is LIVE and we hold the writer mutex: only
        // reclaim (also under the mutex) takes values, so the value is Some
        // and stays in place while we clone it.
        let value = unsafe { (*slot.value.get()).clone() }.expect("a LIVE slot holds a value");
        bump(&self.pending, 1);
        // Skip generation 0 so a recycled slot never encodes to a zero field.
        let next = match (state + 1) & GEN_MASK {
            0 => 1,
            n => n,
        };
        // Ordered before the scan by the writer's fence (reclaim_locked).
        slot.state.store(next, Ordering::Release);
        w.retired.push(index);
        bump(&self.live, -1);
        value
    }

    /// Drop the values of retired slots no thread announces and free them
    /// (writer mutex held). The values go to `dropped`, for the caller to
    /// drop after unlocking (a value's destructor may use this table).
    fn reclaim_locked(&self, w: &mut Writer, dropped: &mut Vec<Arc<T>>) {
        if w.retired.is_empty() {
            return;
        }
        self.fences.writer();
        // One slot (the common case: a remove): a scan without allocating.
        let announced = if w.retired.len() > 1 {
            hazard::snapshot()
        } else {
            Vec::new()
        };
        let one = w.retired.len() == 1;
        let Writer { free, retired, .. } = w;
        retired.retain(|&index| {
            let slot = self.slot(index).expect("retired slots exist");
            let busy = if one {
                hazard::is_protected(slot.addr())
            } else {
                announced.binary_search(&slot.addr()).is_ok()
            };
            if busy {
                return true;
            }
            // SAFETY: the slot is retired (not LIVE, stored before the heavy
            // fence) and no thread announces it after the fence: no reader
            // holds or can obtain a reference to the value (see `with`). We
            // hold the writer mutex.
            if let Some(v) = unsafe { (*slot.value.get()).take() } {
                dropped.push(v);
            }
            free.push(index);
            bump(&self.pending, -1);
            false
        });
    }

    #[cold]
    fn reclaim(&self) {
        let mut dropped = Vec::new();
        {
            let mut w = self.writer.lock();
            self.reclaim_locked(&mut w, &mut dropped);
        }
        drop(dropped);
    }

    #[cold]
    #[inline(never)]
    fn after_visit(&self, slot: &Slot<T>, expected: u64) {
        if slot.state.load(Ordering::Acquire) != expected
            && self.pending.load(Ordering::Relaxed) != 0
        {
            self.reclaim();
        }
    }

    /// Live values.
    pub(crate) fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Retire every live slot; their values.
    pub(crate) fn drain(&self) -> Vec<Arc<T>> {
        let mut out = Vec::new();
        let mut dropped = Vec::new();
        {
            let mut w = self.writer.lock();
            let n = u32::try_from(w.next).unwrap_or(u32::MAX);
            for index in 0..n {
                let Some(slot) = self.slot(index) else { break };
                let s = slot.state.load(Ordering::Relaxed);
                if s & LIVE != 0 {
                    out.push(self.retire(&mut w, index, slot, s));
                }
            }
            self.reclaim_locked(&mut w, &mut dropped);
        }
        drop(dropped);
        out
    }

    /// Hold the writer mutex until the guard drops (fork preparation, see
    /// `crate::fork`): no insert, remove or reclaim runs meanwhile.
    pub(crate) fn lock_writer(&self) -> WriterLock<'_> {
        WriterLock {
            _guard: self.writer.lock(),
        }
    }

    /// The writer mutex itself, for `crate::fork` to take across a fork.
    pub(crate) fn writer_mutex(&self) -> &WriterMutex {
        &self.writer
    }

    /// Retired slots whose values are not dropped yet (tests).
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_layout_covers_every_index() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        let (b, off) = locate(u32::MAX);
        assert!(b < BUCKETS);
        assert!(off < FIRST_BUCKET << b);
    }
}
