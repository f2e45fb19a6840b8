//! Counters readable from every runtime.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters (atomics, relaxed: each is exact, a snapshot is not atomic as a whole).
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) calls: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) crashes: AtomicU64,
    pub(crate) respawns: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) submits: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) events_emitted: AtomicU64,
    pub(crate) events_delivered: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) callback_errors: AtomicU64,
    pub(crate) latency_samples: AtomicU64,
    pub(crate) latency_ns_total: AtomicU64,
    pub(crate) latency_ns_max: AtomicU64,
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
    /// Events dropped because the queue was full (drop-newest policy).
    pub events_dropped: u64,
    /// Callbacks (event or completion) that panicked or whose front end reported an error.
    pub callback_errors: u64,
    /// Calls whose latency was sampled (every [`LATENCY_SAMPLE_EVERY`]th call).
    pub latency_samples: u64,
    /// Sum of sampled latencies, ns.
    pub latency_ns_total: u64,
    /// Largest sampled latency, ns.
    pub latency_ns_max: u64,
}

/// Latency is measured on one call in this many (clock reads cost more than a fast call).
pub const LATENCY_SAMPLE_EVERY: u64 = 16;

impl Counters {
    /// Copy the counters.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            calls: self.calls.load(Relaxed),
            errors: self.errors.load(Relaxed),
            crashes: self.crashes.load(Relaxed),
            respawns: self.respawns.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            submits: self.submits.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            events_emitted: self.events_emitted.load(Relaxed),
            events_delivered: self.events_delivered.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            callback_errors: self.callback_errors.load(Relaxed),
            latency_samples: self.latency_samples.load(Relaxed),
            latency_ns_total: self.latency_ns_total.load(Relaxed),
            latency_ns_max: self.latency_ns_max.load(Relaxed),
        }
    }

    pub(crate) fn record_latency(&self, ns: u64) {
        self.latency_samples.fetch_add(1, Relaxed);
        self.latency_ns_total.fetch_add(ns, Relaxed);
        self.latency_ns_max.fetch_max(ns, Relaxed);
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
    /// `(name, value)` pairs, stable names for every runtime.
    pub fn pairs(&self) -> [(&'static str, u64); 14] {
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
        ]
    }
}
