//! Respawn back-off and the circuit breaker.
//!
//! A *failure* is a worker that died or was killed for a reason other than
//! the host closing it: a crash, an exit, a timeout, a protocol violation, a
//! start-up failure. A successful call resets the count. When `threshold`
//! failures happen within `window` with no success in between, the breaker
//! opens: calls fail at once with `Unavailable` and no worker is started
//! until the cool-down ends (so a crash storm costs no CPU). After the
//! cool-down the breaker is half-open: workers are started and calls go
//! through; the first success closes it, the next failure reopens it with
//! twice the cool-down (capped at [`MAX_COOLDOWN`]).
//!
//! A failure is dated when the host first knew of it (the kill, or the reap
//! of a worker that died on its own), not when the supervisor got round to
//! reaping it: a failure older than the last success does not count, so reaps
//! that lag behind successful calls on a busy machine cannot open the breaker.
//!
//! Respawns after consecutive failures are delayed exponentially
//! ([`Breaker::respawn_delay`]): the first replacement is immediate (a warm
//! spare usually makes even that invisible).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Longest cool-down after repeated trips.
pub(crate) const MAX_COOLDOWN: Duration = Duration::from_secs(60);
/// Longest delay between respawns.
pub(crate) const MAX_RESPAWN_DELAY: Duration = Duration::from_secs(1);
const FIRST_RESPAWN_DELAY: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    window: Duration,
    cooldown: Duration,
    /// Failures since the last success (at most `threshold` kept).
    failures: VecDeque<Instant>,
    /// Consecutive failures since the last success (for back-off).
    consecutive: u32,
    open_until: Option<Instant>,
    half_open: bool,
    trips: u32,
    last_failure: Option<Instant>,
    /// The latest success: failures dated before it are already answered.
    last_success: Option<Instant>,
}

/// The breaker's answer to "may a call go ahead now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Closed,
    Open { retry_in: Duration },
}

impl Breaker {
    pub(crate) fn new(threshold: u32, window: Duration, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            window,
            cooldown,
            failures: VecDeque::new(),
            consecutive: 0,
            open_until: None,
            half_open: false,
            trips: 0,
            last_failure: None,
            last_success: None,
        }
    }

    /// Record a failure that happened at `at` (when the host first knew of
    /// it); true when this failure opened the breaker. A failure dated before
    /// the last recorded success is ignored: a success came after it.
    pub(crate) fn record_failure(&mut self, at: Instant) -> bool {
        if self.last_success.is_some_and(|s| at < s) {
            return false;
        }
        let now = at;
        self.consecutive = self.consecutive.saturating_add(1);
        self.last_failure = Some(self.last_failure.map_or(now, |f| f.max(now)));
        if self.is_open(now) {
            return false;
        }
        if self.half_open {
            return self.trip(now);
        }
        self.failures.push_back(now);
        while let Some(&t) = self.failures.front() {
            if now.duration_since(t) > self.window {
                self.failures.pop_front();
            } else {
                break;
            }
        }
        while self.failures.len() > self.threshold as usize {
            self.failures.pop_front();
        }
        if self.failures.len() >= self.threshold as usize {
            return self.trip(now);
        }
        false
    }

    fn trip(&mut self, now: Instant) -> bool {
        let factor = 1u32 << self.trips.min(16);
        let cool = self
            .cooldown
            .saturating_mul(factor)
            .min(MAX_COOLDOWN.max(self.cooldown));
        self.open_until = Some(now + cool);
        self.trips = self.trips.saturating_add(1);
        self.half_open = false;
        self.failures.clear();
        true
    }

    /// Record a successful call at `now`: the breaker closes and back-off
    /// resets.
    pub(crate) fn record_success(&mut self, now: Instant) {
        self.last_success = Some(self.last_success.map_or(now, |s| s.max(now)));
        if self.consecutive == 0 && !self.half_open && self.trips == 0 {
            return;
        }
        self.failures.clear();
        self.consecutive = 0;
        self.half_open = false;
        self.trips = 0;
        self.open_until = None;
    }

    fn is_open(&self, now: Instant) -> bool {
        self.open_until.is_some_and(|t| now < t)
    }

    /// May a call (or a respawn) go ahead now?
    pub(crate) fn gate(&mut self, now: Instant) -> Gate {
        match self.open_until {
            Some(t) if now < t => Gate::Open { retry_in: t - now },
            Some(_) => {
                self.open_until = None;
                self.half_open = true;
                Gate::Closed
            }
            None => Gate::Closed,
        }
    }

    /// When the breaker reopens for business (None: it is not open).
    pub(crate) fn open_until(&self) -> Option<Instant> {
        self.open_until
    }

    /// Earliest time the next worker may be started.
    pub(crate) fn respawn_at(&self, now: Instant) -> Instant {
        if let Some(t) = self.open_until {
            if now < t {
                return t;
            }
        }
        match self.last_failure {
            Some(f) => f + self.respawn_delay(),
            None => now,
        }
    }

    /// Delay before the next respawn after `consecutive` failures: 0 for the
    /// first, then 5 ms doubling up to [`MAX_RESPAWN_DELAY`].
    pub(crate) fn respawn_delay(&self) -> Duration {
        match self.consecutive {
            0 | 1 => Duration::ZERO,
            n => FIRST_RESPAWN_DELAY
                .saturating_mul(1u32 << (n - 2).min(16))
                .min(MAX_RESPAWN_DELAY),
        }
    }

    pub(crate) fn threshold(&self) -> u32 {
        self.threshold
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_after_threshold_consecutive_failures_in_window() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(10), Duration::from_secs(1));
        assert!(!b.record_failure(t0));
        assert!(!b.record_failure(t0 + Duration::from_millis(1)));
        assert_eq!(b.gate(t0), Gate::Closed);
        assert!(b.record_failure(t0 + Duration::from_millis(2)));
        assert!(matches!(
            b.gate(t0 + Duration::from_millis(3)),
            Gate::Open { .. }
        ));
        // No respawn before the cool-down ends.
        assert_eq!(
            b.respawn_at(t0 + Duration::from_millis(3)),
            t0 + Duration::from_millis(1002)
        );
        // After the cool-down: half-open; the next failure reopens for 2x.
        let t1 = t0 + Duration::from_millis(1003);
        assert_eq!(b.gate(t1), Gate::Closed);
        assert!(b.record_failure(t1));
        match b.gate(t1) {
            Gate::Open { retry_in } => assert_eq!(retry_in, Duration::from_secs(2)),
            g => panic!("{g:?}"),
        }
        // Half-open success closes it and resets everything.
        let t2 = t1 + Duration::from_secs(3);
        assert_eq!(b.gate(t2), Gate::Closed);
        b.record_success(t2);
        assert!(!b.record_failure(t2));
        assert_eq!(b.respawn_delay(), Duration::ZERO);
    }

    #[test]
    fn successes_in_between_keep_it_closed() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(10), Duration::from_secs(1));
        for i in 0..100 {
            assert!(!b.record_failure(t0 + Duration::from_millis(i)));
            b.record_success(t0 + Duration::from_millis(i));
        }
        assert_eq!(b.gate(t0 + Duration::from_millis(100)), Gate::Closed);
    }

    #[test]
    fn failures_older_than_the_last_success_do_not_count() {
        // Five workers killed at t0..t4, each followed by a success on
        // another worker; the supervisor reaps all five only afterwards.
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = Breaker::new(3, Duration::from_secs(10), Duration::from_secs(1));
        for i in 0..5 {
            b.record_success(t0 + ms(10 * i + 5));
        }
        for i in 0..5 {
            assert!(!b.record_failure(t0 + ms(10 * i)), "reap {i} opened it");
        }
        assert_eq!(b.gate(t0 + ms(60)), Gate::Closed);
        assert_eq!(b.respawn_delay(), Duration::ZERO);
        // Failures after the last success still count.
        assert!(!b.record_failure(t0 + ms(60)));
        assert!(!b.record_failure(t0 + ms(61)));
        assert!(b.record_failure(t0 + ms(62)));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(1), Duration::from_secs(1));
        assert!(!b.record_failure(t0));
        assert!(!b.record_failure(t0 + Duration::from_secs(2)));
        assert!(!b.record_failure(t0 + Duration::from_secs(4)));
        assert_eq!(b.gate(t0 + Duration::from_secs(4)), Gate::Closed);
    }

    #[test]
    fn respawn_back_off_grows_and_is_capped() {
        let t0 = Instant::now();
        let mut b = Breaker::new(100, Duration::from_secs(10), Duration::from_secs(1));
        b.record_failure(t0);
        assert_eq!(b.respawn_delay(), Duration::ZERO);
        b.record_failure(t0);
        assert_eq!(b.respawn_delay(), Duration::from_millis(5));
        b.record_failure(t0);
        assert_eq!(b.respawn_delay(), Duration::from_millis(10));
        for _ in 0..40 {
            b.record_failure(t0);
        }
        assert_eq!(b.respawn_delay(), MAX_RESPAWN_DELAY);
        assert_eq!(b.respawn_at(t0), t0 + MAX_RESPAWN_DELAY);
    }
}
