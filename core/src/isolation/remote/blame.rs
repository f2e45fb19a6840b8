//! Blame: which call a worker's protocol violation or death belongs to. A
//! violation belongs to the call in flight when the worker committed it, or
//! to no call, never to a later one ([`Worker::report_violation`],
//! [`Worker::begin_call`], [`Worker::end_call`]); a dead worker's call fails
//! with the error its death explains ([`Worker::dead_error`]).
#![forbid(unsafe_code)]

use super::{classify, ctl, realtime_ns, sys, CallCx, CallError, CallState, KillReason, Worker};
use crate::error::Error;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Worker {
    /// The supervisor found a protocol violation that the worker committed
    /// at `sent_ns` (`CLOCK_REALTIME` ns; `None`: unknown, taken as now).
    /// Committed during the call in flight: the worker is killed and that
    /// call fails with `Protocol`. Committed while idle, or before the call
    /// in flight was posted: no call is blamed. An idle worker is killed at
    /// once (a call that checks it out afterwards goes to another worker,
    /// see [`Worker::begin_call`]); an innocent call in flight runs to its
    /// end and the worker is killed then ([`Worker::end_call`]).
    pub(crate) fn report_violation(&self, sent_ns: Option<u64>, msg: String) {
        let mut b = self.blame.lock();
        match b.call_posted {
            Some(posted) if sent_ns.is_some_and(|s| s < posted) => {
                tracing::warn!(target: "bridgehost::isolation", pid = self.pid, "worker protocol violation before the call in flight (the worker is replaced after it): {msg}");
                b.after_call.get_or_insert(msg);
            }
            in_flight => {
                let when = if in_flight.is_some() {
                    "during a call"
                } else {
                    "while idle"
                };
                tracing::warn!(target: "bridgehost::isolation", pid = self.pid, "worker protocol violation {when}: {msg}");
                self.kill(if in_flight.is_some() {
                    KillReason::Protocol(msg)
                } else {
                    KillReason::IdleViolation(msg)
                });
            }
        }
    }

    /// Before a call is handed over: false when the worker is (being)
    /// replaced, so the call must go to another worker. Otherwise the call
    /// is in flight from now on (for [`Worker::report_violation`]).
    pub(super) fn begin_call(&self, st: &CallState) -> bool {
        // Only the worker's response to a request moves the counter: moved
        // while idle, it is junk the next call must not be blamed for.
        let to_host = self.ctl.atomic_u32(ctl::OFF_TO_HOST).load(Ordering::SeqCst);
        if to_host != st.to_host {
            tracing::warn!(target: "bridgehost::isolation", pid = self.pid, "worker protocol violation while idle: response counter moved from {} to {to_host}", st.to_host);
            self.kill(KillReason::IdleViolation(
                "the worker moved its response counter while idle".into(),
            ));
            return false;
        }
        let mut b = self.blame.lock();
        // Under the blame lock: a violation reported from now on sees this
        // call in flight; one reported before has set the kill reason.
        if self.kill_reason.lock().is_some() {
            return false;
        }
        b.call_posted = Some(realtime_ns());
        true
    }

    /// After a call: nothing is in flight; a violation that came before the
    /// call replaces the worker now (its caller checks the kill reason).
    pub(super) fn end_call(&self) {
        let mut b = self.blame.lock();
        b.call_posted = None;
        if let Some(msg) = b.after_call.take() {
            self.kill(KillReason::IdleViolation(msg));
        }
    }

    pub(super) fn violation(&self, msg: String) -> CallError {
        tracing::warn!(target: "bridgehost::isolation", pid = self.pid, "worker protocol violation: {msg}");
        self.kill(KillReason::Protocol(msg.clone()));
        CallError::Failed {
            error: Error::Protocol(msg),
            worker_ok: false,
        }
    }

    /// The control socket failed: wait (briefly) for the supervisor to
    /// reap the worker, then report its death.
    pub(super) fn await_death(&self, seq: u32, cx: &CallCx<'_>) -> CallError {
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.is_dead() && Instant::now() < deadline {
            parked.store(1, Ordering::SeqCst);
            if self.is_dead() {
                break;
            }
            sys::futex_wait(parked, 1, Some(Duration::from_millis(50)));
        }
        parked.store(0, Ordering::Relaxed);
        if !self.is_dead() {
            return self.violation("the control socket failed but the worker lives".into());
        }
        self.dead_error(seq, cx)
    }

    pub(super) fn dead_error(&self, seq: u32, cx: &CallCx<'_>) -> CallError {
        let accepted = self
            .ctl
            .atomic_u32(ctl::OFF_ACCEPTED)
            .load(Ordering::SeqCst);
        let death = self.death();
        // Killed for a violation blamed on no call (e.g. it stopped itself
        // before it began this one): not this call's doing either.
        let killed_for_the_call = death.as_ref().is_some_and(|d| {
            d.kill
                .as_ref()
                .is_some_and(|k| !matches!(k, KillReason::IdleViolation(_)))
        });
        if accepted != seq && !killed_for_the_call {
            return CallError::NotStarted;
        }
        let error = match death {
            Some(d) => classify(&d, &cx.limits, cx.method),
            None => Error::Internal("worker marked dead without a recorded death".into()),
        };
        CallError::Failed {
            error,
            worker_ok: false,
        }
    }
}
