//! Counters readable from every runtime.
#![forbid(unsafe_code)]

use crate::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

/// One counter cell per cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Cell(AtomicU64);

const FIRST_CELLS: usize = 16;
/// 16 * (2^20 - 1) thread ids.
const CELL_BUCKETS: usize = 20;

/// A counter whose increment executes no locked instruction: each thread
/// adds to its own cell (a plain load and store: one writer per cell), a
/// read sums the cells. Exact: a thread's id (from its hazard record) is
/// owned by one live thread at a time, handed over with Release/Acquire, so
/// no increment is lost. A read sees every increment that happened before it
/// (same thread, or ordered by a join, channel, lock...).
///
/// Why: one uncontended `lock xadd` costs ~13-15 ns here; the module `calls`
/// counter was the last locked instruction on the in-process call path.
#[derive(Debug, Default)]
pub(crate) struct PerThreadCounter {
    buckets: [OnceLock<Box<[Cell]>>; CELL_BUCKETS],
    /// Increments from threads without an id (slow path).
    shared: AtomicU64,
}

/// A bucket of `n` zeroed cells (allocated once per bucket, off the call path).
#[cold]
fn new_bucket(n: usize) -> Box<[Cell]> {
    (0..n).map(|_| Cell::default()).collect()
}

impl PerThreadCounter {
    /// Add one for the thread whose id is `thread` (see
    /// `ffi::hazard::Hazard::thread_index`; `None`: a shared atomic add).
    #[inline]
    pub(crate) fn inc(&self, thread: Option<usize>) {
        self.add(thread, 1);
    }

    /// Add one and return the cell's value before (this thread's count, or
    /// the shared count for a thread without a cell): drives sampling.
    #[inline]
    pub(crate) fn inc_get(&self, thread: Option<usize>) -> u64 {
        match thread.and_then(|t| self.cell(t)) {
            Some(c) => {
                let n = c.0.load(Relaxed);
                c.0.store(n.wrapping_add(1), Relaxed);
                n
            }
            None => self.shared.fetch_add(1, Relaxed),
        }
    }

    /// Add `n` (see [`PerThreadCounter::inc`]).
    #[inline]
    pub(crate) fn add(&self, thread: Option<usize>, n: u64) {
        match thread.and_then(|t| self.cell(t)) {
            Some(c) => c.0.store(c.0.load(Relaxed).wrapping_add(n), Relaxed),
            None => {
                self.shared.fetch_add(n, Relaxed);
            }
        }
    }

    /// Raise this thread's cell to `n` if lower (a maximum kept per thread;
    /// read it with [`PerThreadCounter::max`]).
    #[inline]
    pub(crate) fn raise(&self, thread: Option<usize>, n: u64) {
        match thread.and_then(|t| self.cell(t)) {
            Some(c) => {
                if c.0.load(Relaxed) < n {
                    c.0.store(n, Relaxed);
                }
            }
            None => {
                self.shared.fetch_max(n, Relaxed);
            }
        }
    }

    /// The largest cell (for counters updated with [`PerThreadCounter::raise`]).
    pub(crate) fn max(&self) -> u64 {
        self.buckets
            .iter()
            .filter_map(|b| b.get())
            .flat_map(|b| b.iter())
            .map(|c| c.0.load(Relaxed))
            .fold(self.shared.load(Relaxed), u64::max)
    }

    #[inline]
    fn cell(&self, thread: usize) -> Option<&Cell> {
        if thread < FIRST_CELLS {
            // The first bucket, which most processes never outgrow.
            return self.buckets[0]
                .get_or_init(|| new_bucket(FIRST_CELLS))
                .get(thread);
        }
        let j = thread / FIRST_CELLS + 1;
        let b = (usize::BITS - 1 - j.leading_zeros()) as usize;
        let off = thread - FIRST_CELLS * ((1 << b) - 1);
        let bucket = self
            .buckets
            .get(b)?
            .get_or_init(|| new_bucket(FIRST_CELLS << b));
        bucket.get(off)
    }

    /// The sum.
    pub(crate) fn sum(&self) -> u64 {
        let cells: u64 = self
            .buckets
            .iter()
            .filter_map(|b| b.get())
            .flat_map(|b| b.iter())
            .fold(0u64, |a, c| a.wrapping_add(c.0.load(Relaxed)));
        cells.wrapping_add(self.shared.load(Relaxed))
    }
}

/// Live counters (atomics, relaxed: each is exact, a snapshot is not atomic as a whole).
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls counted by callers that share one atomic (isolation, single-thread owner).
    pub(crate) calls: AtomicU64,
    /// Calls counted per thread by the in-process gate.
    pub(crate) calls_local: PerThreadCounter,
    pub(crate) errors: AtomicU64,
    pub(crate) crashes: AtomicU64,
    pub(crate) respawns: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) submits: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) events_emitted: AtomicU64,
    pub(crate) events_delivered: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) events_refused: AtomicU64,
    pub(crate) events_discarded: AtomicU64,
    pub(crate) callback_errors: AtomicU64,
    pub(crate) state_lost: AtomicU64,
    pub(crate) latency_samples: PerThreadCounter,
    pub(crate) latency_ns_total: PerThreadCounter,
    pub(crate) latency_ns_max: PerThreadCounter,
    pub(crate) worker_output_dropped: AtomicU64,
    pub(crate) unblamed_violations: AtomicU64,
    /// The host's totals: when these counters are dropped (no module,
    /// subscription, handle or instance can move them any more) their final
    /// values are folded into it, so a long-lived host keeps one
    /// [`CounterSnapshot`] for all its closed modules instead of every
    /// module's counters (issue 12: ~2 KiB per open, ~6 KiB once called).
    retire_to: OnceLock<Weak<CounterTotals>>,
}

impl Drop for Counters {
    fn drop(&mut self) {
        if let Some(totals) = self.retire_to.get().and_then(Weak::upgrade) {
            totals.retire(self.snapshot());
        }
    }
}

/// Sums of the counters of every module a host opened: the live ones are
/// read on demand, the dropped ones were folded into `retired`.
#[derive(Debug, Default)]
pub(crate) struct CounterTotals {
    state: Mutex<TotalsState>,
}

#[derive(Debug, Default)]
struct TotalsState {
    live: Vec<Weak<Counters>>,
    retired: CounterSnapshot,
}

impl CounterTotals {
    /// Count `c` in these totals from now on, and after it is dropped.
    pub(crate) fn track(self: &Arc<Self>, c: &Arc<Counters>) {
        let _ = c.retire_to.set(Arc::downgrade(self));
        let mut st = self.state.lock();
        // Entries whose counters are gone were folded (or are being folded)
        // into `retired`: drop them, so `live` holds only live modules.
        st.live.retain(|w| w.strong_count() > 0);
        st.live.push(Arc::downgrade(c));
    }

    fn retire(&self, s: CounterSnapshot) {
        let mut st = self.state.lock();
        st.retired.add(&s);
        st.live.retain(|w| w.strong_count() > 0);
    }

    /// The sum over live and retired counters. (Counters being dropped at
    /// this very moment may be missing until their drop has folded them.)
    pub(crate) fn snapshot(&self) -> CounterSnapshot {
        let st = self.state.lock();
        let mut sum = st.retired;
        for c in st.live.iter().filter_map(Weak::upgrade) {
            sum.add(&c.snapshot());
        }
        sum
    }

    /// Counters tracked and still alive (tests).
    pub(crate) fn live(&self) -> usize {
        let st = self.state.lock();
        st.live.iter().filter(|w| w.strong_count() > 0).count()
    }
}

/// A point-in-time copy of [`Counters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Calls started (sync and async).
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Worker crashes.
    pub crashes: u64,
    /// Worker respawns.
    pub respawns: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Submits accepted.
    pub submits: u64,
    /// Submits cancelled before they ran.
    pub cancelled: u64,
    /// Events modules emitted and the host accepted.
    pub events_emitted: u64,
    /// Event deliveries to subscribers.
    pub events_delivered: u64,
    /// Events lost without the module being told: an isolated worker's
    /// event the host's full queue could not take (the worker had already
    /// accepted it). An event refused to the module is not counted here
    /// (see `events_refused`): the module may retry it.
    pub events_dropped: u64,
    /// Callbacks (event or completion) that panicked or whose front end reported an error.
    pub callback_errors: u64,
    /// Emits refused with `BH_API_OVERLOADED` (queue full): the module was
    /// told and may retry, so a refused emit is not necessarily a lost event.
    pub events_refused: u64,
    /// Calls whose latency was sampled (every [`LATENCY_SAMPLE_EVERY`]th call).
    pub latency_samples: u64,
    /// Sum of sampled latencies, ns.
    pub latency_ns_total: u64,
    /// Largest sampled latency, ns.
    pub latency_ns_max: u64,
    /// Restarts of a stateful module's isolated worker reported to a caller
    /// as `StateLost` (each lost state counts once).
    pub state_lost: u64,
    /// Deliveries that never happened because their subscriber went away
    /// first: an event accepted for a subscription that was then
    /// unsubscribed, or whose module or host was closed, before the event
    /// reached it (one per subscriber, like `events_delivered`). Counted as
    /// the dispatcher reaches each event: exact once a `flush` or the
    /// host's close has returned.
    pub events_discarded: u64,
    /// Bytes of isolated workers' stderr the host read but did not log
    /// (beyond a few lines per second per worker). What a worker writes
    /// faster than the host reads it (about 1 MiB/s per worker) is not
    /// read at all: the worker waits on its own write.
    pub worker_output_dropped: u64,
    /// Protocol violations of isolated workers blamed on no call: committed
    /// while the worker was idle (junk or a record it may not send, its
    /// response counter moved, its control channel closed, the worker
    /// stopped itself) or before the call in flight was handed over. The
    /// worker was replaced and no caller saw an error; such a replacement is
    /// counted here, not in `crashes`.
    pub unblamed_violations: u64,
}

/// Latency is measured on one call in this many: two clock reads cost more
/// than a whole in-process call on these VMs (at 1 in 16 they were 6 % of a
/// 16-byte echo through the C ABI).
pub const LATENCY_SAMPLE_EVERY: u64 = 64;

/// Whether the call after `tick` earlier ones (of this thread) is sampled.
#[inline]
pub(crate) fn is_sampled(tick: u64) -> bool {
    tick.is_multiple_of(LATENCY_SAMPLE_EVERY)
}

thread_local! {
    static SAMPLE_TICK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// True on every [`LATENCY_SAMPLE_EVERY`]th call of this thread (a
/// thread-local tick: no shared cache line).
fn sample_this_call() -> bool {
    SAMPLE_TICK.with(|c| {
        let n = c.get();
        c.set(n.wrapping_add(1));
        is_sampled(n)
    })
}

impl Counters {
    /// Copy the counters.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            calls: self
                .calls
                .load(Relaxed)
                .wrapping_add(self.calls_local.sum()),
            errors: self.errors.load(Relaxed),
            crashes: self.crashes.load(Relaxed),
            respawns: self.respawns.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            submits: self.submits.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            events_emitted: self.events_emitted.load(Relaxed),
            events_delivered: self.events_delivered.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            events_refused: self.events_refused.load(Relaxed),
            callback_errors: self.callback_errors.load(Relaxed),
            latency_samples: self.latency_samples.sum(),
            latency_ns_total: self.latency_ns_total.sum(),
            latency_ns_max: self.latency_ns_max.max(),
            state_lost: self.state_lost.load(Relaxed),
            events_discarded: self.events_discarded.load(Relaxed),
            worker_output_dropped: self.worker_output_dropped.load(Relaxed),
            unblamed_violations: self.unblamed_violations.load(Relaxed),
        }
    }

    /// Record one sampled latency in `t`'s cells (`t` from
    /// `ffi::hazard::Hazard::thread_index`; no locked instruction).
    pub(crate) fn record_latency_on(&self, t: Option<usize>, ns: u64) {
        self.latency_samples.inc(t);
        self.latency_ns_total.add(t, ns);
        self.latency_ns_max.raise(t, ns);
    }

    /// Run `f`; when `sample`, record how long it took (in `thread`'s
    /// cells, see [`Counters::record_latency_on`]).
    #[inline]
    pub(crate) fn timed<R>(&self, sample: bool, thread: Option<usize>, f: impl FnOnce() -> R) -> R {
        if !sample {
            return f();
        }
        let t0 = Instant::now();
        let r = f();
        let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.record_latency_on(thread, ns);
        r
    }

    /// [`Counters::timed`] for backends without a per-thread tick of their
    /// own (the in-process gate counts entries): samples on a thread-local
    /// tick, and looks the thread's cells up only for a sampled call.
    pub(crate) fn timed_on_thread_tick<R>(&self, f: impl FnOnce() -> R) -> R {
        let sample = sample_this_call();
        let thread = if sample {
            crate::ffi::hazard::thread_index()
        } else {
            None
        };
        self.timed(sample, thread, f)
    }

    /// Count one callback error reported by a front end.
    pub fn add_callback_error(&self) {
        self.callback_errors.fetch_add(1, Relaxed);
    }

    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }
}

impl CounterSnapshot {
    /// Add `o` to these sums (the maximum latency is a maximum).
    pub fn add(&mut self, o: &CounterSnapshot) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.crashes += o.crashes;
        self.respawns += o.respawns;
        self.timeouts += o.timeouts;
        self.submits += o.submits;
        self.cancelled += o.cancelled;
        self.events_emitted += o.events_emitted;
        self.events_delivered += o.events_delivered;
        self.events_dropped += o.events_dropped;
        self.events_refused += o.events_refused;
        self.callback_errors += o.callback_errors;
        self.latency_samples += o.latency_samples;
        self.latency_ns_total += o.latency_ns_total;
        self.latency_ns_max = self.latency_ns_max.max(o.latency_ns_max);
        self.state_lost += o.state_lost;
        self.events_discarded += o.events_discarded;
        self.worker_output_dropped += o.worker_output_dropped;
        self.unblamed_violations += o.unblamed_violations;
    }

    /// `(name, value)` pairs, stable names for every runtime.
    pub fn pairs(&self) -> [(&'static str, u64); 19] {
        [
            ("calls", self.calls),
            ("errors", self.errors),
            ("crashes", self.crashes),
            ("respawns", self.respawns),
            ("timeouts", self.timeouts),
            ("submits", self.submits),
            ("cancelled", self.cancelled),
            ("events_emitted", self.events_emitted),
            ("events_delivered", self.events_delivered),
            ("events_dropped", self.events_dropped),
            ("callback_errors", self.callback_errors),
            ("latency_samples", self.latency_samples),
            ("latency_ns_total", self.latency_ns_total),
            ("latency_ns_max", self.latency_ns_max),
            ("events_refused", self.events_refused),
            ("state_lost", self.state_lost),
            ("events_discarded", self.events_discarded),
            ("worker_output_dropped", self.worker_output_dropped),
            ("unblamed_violations", self.unblamed_violations),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_thread_counter_is_exact_across_threads_and_ids() {
        let c = std::sync::Arc::new(PerThreadCounter::default());
        c.inc(None);
        c.inc(Some(0));
        c.inc(Some(15));
        c.inc(Some(16));
        c.inc(Some(1000));
        assert_eq!(c.sum(), 5);
        let m = PerThreadCounter::default();
        m.raise(Some(3), 7);
        m.raise(Some(3), 5);
        m.raise(Some(40), 9);
        m.raise(None, 8);
        assert_eq!(m.max(), 9);
        // Miri: the same concurrent increments, fewer of them.
        let per_thread: u64 = if cfg!(miri) { 200 } else { 10_000 };
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = std::sync::Arc::clone(&c);
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        // Distinct ids: one writer per cell, as the hazard
                        // records guarantee.
                        c.inc(Some(100 + t));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(c.sum(), 5 + 4 * per_thread);
    }
}
