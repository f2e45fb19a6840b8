//! The worker pool shared by callers and the supervisor thread.
//!
//! Every live worker has a slot with a role: `Starting` (spawned, no `HELLO`
//! yet), `Idle` / `Busy` (the N pool members), `Spare` (ready, kept warm to
//! replace a member at once), `Doomed` (killed or shutting down, waiting to
//! be reaped). Callers check an `Idle` worker out, run one call on it, and
//! check it back in. Calls wait in [`Shared::checkout`] when every member is
//! busy or being replaced, so a call queued behind a crashed worker is
//! simply served by its replacement: it is never lost.
//!
//! A stateful module (`BH_MODULE_STATEFUL`) has one member and no spare; its
//! state lives in the worker that served its calls (the *state holder*).
//! When a call is about to run on another worker, the holder is gone (it
//! crashed, timed out, was cancelled, recycled or stopped) and its state with
//! it: [`Shared::checkout`] fails that one call with `StateLost` (it does not
//! run) and makes the new worker the holder.
#![forbid(unsafe_code)]

use super::breaker::{Breaker, Gate};
use super::protocol::Hello;
use super::remote::Worker;
use super::sys::EventFd;
use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::events::EventHub;
use crate::sync::{Condvar, Mutex};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Everything fixed at open time.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) module_id: u64,
    pub(crate) path: PathBuf,
    pub(crate) path_shown: String,
    pub(crate) exe: PathBuf,
    pub(crate) workers: usize,
    pub(crate) spares: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) memory_limit: Option<u64>,
    pub(crate) cpu_limit: Option<Duration>,
    pub(crate) open_files: u64,
    pub(crate) max_input: usize,
    pub(crate) max_event: usize,
    pub(crate) config: Vec<u8>,
    pub(crate) sandbox: bool,
    /// Workers only validate the module (no instance): see `crate::validate`.
    pub(crate) validate_only: bool,
    pub(crate) startup_timeout: Duration,
    pub(crate) close_grace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Starting,
    Idle,
    Busy,
    Spare,
    Doomed,
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) worker: Arc<Worker>,
    pub(crate) role: Role,
    last_used: u64,
}

#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) slots: Vec<Slot>,
    /// The first worker's `HELLO`; every later one must match it.
    pub(crate) hello: Option<Hello>,
    /// Why the first worker could not start (reported by `open`).
    pub(crate) startup_error: Option<Error>,
    pub(crate) closing: bool,
    pub(crate) breaker: Breaker,
    use_counter: u64,
    /// A stateful module's state holder: the id of the worker that served
    /// its calls (`None` until the first call).
    state_holder: Option<u64>,
}

/// How a checked-out worker comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The worker answered (success or module error): it is healthy.
    Healthy,
    /// The worker died or is being killed.
    Lost,
}

/// State shared by the backend (callers) and the supervisor thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) hub: Weak<EventHub>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) pool: Mutex<Pool>,
    pub(crate) cv: Condvar,
    /// Wakes the supervisor's poll loop.
    pub(crate) wake: EventFd,
    /// Set by close: the supervisor shuts every worker down and exits.
    pub(crate) stop: AtomicBool,
    /// Notified by the supervisor when events arrive from a worker (or a
    /// worker dies): wakes `Isolated::settle_events`.
    pub(crate) arrivals: Mutex<()>,
    pub(crate) arrivals_cv: Condvar,
    /// What ended subscriptions are owed of the events still on their way.
    /// Held by the supervisor while it hands a batch of events to the hub
    /// and counts it received, and by a subscription's end while it fixes
    /// its bounds: an event is in the hub or in transit, never both. Taken
    /// before `pool` and the hub's locks.
    pub(crate) transit: Mutex<super::transit::Transit>,
}

impl Pool {
    pub(crate) fn new(breaker: Breaker) -> Pool {
        Pool {
            slots: Vec::new(),
            hello: None,
            startup_error: None,
            closing: false,
            breaker,
            use_counter: 0,
            state_holder: None,
        }
    }

    pub(crate) fn count(&self, roles: &[Role]) -> usize {
        self.slots
            .iter()
            .filter(|s| roles.contains(&s.role))
            .count()
    }

    pub(crate) fn slot_mut(&mut self, w: &Arc<Worker>) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| Arc::ptr_eq(&s.worker, w))
    }

    pub(crate) fn add(&mut self, worker: Arc<Worker>) {
        self.slots.push(Slot {
            worker,
            role: Role::Starting,
            last_used: 0,
        });
    }

    pub(crate) fn remove(&mut self, w: &Arc<Worker>) -> Option<Role> {
        let i = self.slots.iter().position(|s| Arc::ptr_eq(&s.worker, w))?;
        Some(self.slots.swap_remove(i).role)
    }

    /// A starting worker became ready: a member if the pool is short, else a
    /// spare.
    pub(crate) fn ready(&mut self, w: &Arc<Worker>, members: usize) -> Role {
        let role = if self.count(&[Role::Idle, Role::Busy]) < members {
            Role::Idle
        } else {
            Role::Spare
        };
        if let Some(s) = self.slot_mut(w) {
            s.role = role;
        }
        role
    }

    /// Promote spares while the pool has fewer than `members` members.
    /// True when a worker became idle.
    pub(crate) fn rebalance(&mut self, members: usize) -> bool {
        let mut have = self.count(&[Role::Idle, Role::Busy]);
        let mut promoted = false;
        while have < members {
            match self.slots.iter_mut().find(|s| s.role == Role::Spare) {
                Some(s) => {
                    s.role = Role::Idle;
                    have += 1;
                    promoted = true;
                }
                None => break,
            }
        }
        promoted
    }

    /// The module declared itself stateful (known once a worker said HELLO).
    pub(crate) fn stateful(&self) -> bool {
        self.hello.as_ref().is_some_and(|h| h.stateful)
    }

    /// Warm spares to keep: none for a stateful module (a spare would run
    /// `init` a second time, and its instance could never hold the state).
    pub(crate) fn spares(&self, configured: usize) -> usize {
        if self.stateful() {
            0
        } else {
            configured
        }
    }

    /// Workers alive or starting (not doomed).
    pub(crate) fn live(&self) -> usize {
        self.count(&[Role::Starting, Role::Idle, Role::Busy, Role::Spare])
    }
}

impl Shared {
    /// Take an idle worker, waiting while none is available: at most until
    /// `deadline` (the call's one deadline, `call_timeout` after it was made,
    /// bounds the wait for a free or restarting worker and then the run),
    /// then `Timeout(timeout)` (also when the deadline passed before a
    /// worker was found idle: the call would have no time to run); `Cancelled` once
    /// `cancelled` is set (a submitted call's cancel hook sets it).
    ///
    /// `drops`: the call is the `[resource-drop]R` of a resource the
    /// interface declares. When the state holder is gone, such a call has
    /// nothing to drop (every object of the lost instance went with it, and
    /// the new instance has none yet: the call that reports the loss comes
    /// before any call that could make one), so it is answered `Ok(None)`:
    /// it does not run, and it leaves the one-time `StateLost` to the next
    /// call that would run against the lost state. A drop a Cleaner or
    /// finalizer submits, or a `close` while a crash's error unwinds, must
    /// not be the call that silently takes that report.
    pub(crate) fn checkout(
        &self,
        deadline: Option<(Instant, Duration)>,
        cancelled: &std::sync::atomic::AtomicBool,
        drops: bool,
    ) -> Result<Option<Arc<Worker>>> {
        let mut pool = self.pool.lock();
        loop {
            if pool.closing {
                return Err(Error::closed("module"));
            }
            if cancelled.load(std::sync::atomic::Ordering::Acquire) {
                return Err(Error::Cancelled);
            }
            if let Some((at, timeout)) = deadline {
                if Instant::now() >= at {
                    return Err(Error::Timeout(timeout));
                }
            }
            if let Gate::Open { retry_in } = pool.breaker.gate(Instant::now()) {
                let (k, w) = (pool.breaker.threshold(), pool.breaker.window());
                let name = pool
                    .hello
                    .as_ref()
                    .map_or_else(|| self.cfg.path_shown.clone(), |h| h.name.clone());
                return Err(Error::Unavailable(format!(
                    "module {name:?}: {k} worker failures within {w:?}, circuit breaker open; retry in {} ms",
                    retry_in.as_millis()
                )));
            }
            let best = pool
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.role == Role::Idle && !s.worker.is_dead())
                .max_by_key(|(_, s)| s.last_used)
                .map(|(i, _)| i);
            if let Some(i) = best {
                if pool.stateful() {
                    let id = pool.slots[i].worker.id;
                    match pool.state_holder {
                        Some(prev) if prev != id && drops => {
                            let name = pool.hello.as_ref().map_or("?", |h| h.name.as_str());
                            tracing::debug!(
                                target: "bridgehost::isolation",
                                module = %name,
                                "stateful module: a resource drop after its worker was \
                                 restarted has nothing to drop; not run"
                            );
                            return Ok(None);
                        }
                        _ => {}
                    }
                    match pool.state_holder.replace(id) {
                        Some(prev) if prev != id => {
                            // The worker that held the state is gone. This
                            // call does not run: it reports the loss, once.
                            Counters::inc(&self.counters.state_lost);
                            let name = pool.hello.as_ref().map_or("?", |h| h.name.as_str());
                            tracing::warn!(
                                target: "bridgehost::isolation",
                                module = %name,
                                "stateful module: its worker was restarted, its state is lost"
                            );
                            return Err(Error::StateLost(format!(
                                "module {name:?} is stateful and its worker was restarted \
                                 (crash, timeout, cancel or recycle) since its previous call: \
                                 its state is gone; this call did not run, the next one runs \
                                 against a fresh instance"
                            )));
                        }
                        _ => {}
                    }
                }
                pool.use_counter += 1;
                let u = pool.use_counter;
                let s = &mut pool.slots[i];
                s.role = Role::Busy;
                s.last_used = u;
                return Ok(Some(Arc::clone(&s.worker)));
            }
            // Bounded wait: breaker transitions are time-based.
            let mut wait = Duration::from_millis(100);
            if let Some((at, _)) = deadline {
                // Past `at`, the next round returns `Timeout`.
                wait = wait.min(at.saturating_duration_since(Instant::now()));
            }
            if crate::executor::poll_installed() {
                // A cancellable call: ask its poll between short waits,
                // without the pool lock (a cancel's hook notifies `cv`).
                self.cv
                    .wait_for(&mut pool, wait.min(crate::executor::POLL_EVERY));
                drop(pool);
                crate::executor::poll_cancel();
                pool = self.pool.lock();
            } else {
                self.cv.wait_for(&mut pool, wait);
            }
        }
    }

    /// Return a worker after a call.
    pub(crate) fn checkin(&self, w: &Arc<Worker>, outcome: Outcome) {
        let mut pool = self.pool.lock();
        let members = self.cfg.workers;
        if let Some(s) = pool.slot_mut(w) {
            if s.role == Role::Busy {
                s.role = if outcome == Outcome::Healthy && !w.is_dead() {
                    Role::Idle
                } else {
                    Role::Doomed
                };
            }
        }
        if outcome == Outcome::Healthy {
            pool.breaker.record_success(Instant::now());
        } else if let Some(at) = w.take_kill_failure() {
            // Killed by its caller (a timeout, a protocol violation): the
            // breaker hears of it now, before a later call can succeed on a
            // spare and make this failure look older than that success
            // (the supervisor, which reaps the worker later, does not count
            // it again).
            if pool.breaker.record_failure(at) {
                tracing::error!(
                    target: "bridgehost::isolation",
                    module = %self.cfg.path_shown,
                    "{} worker failures within {:?}: circuit breaker open",
                    pool.breaker.threshold(),
                    pool.breaker.window(),
                );
            }
        }
        pool.rebalance(members);
        drop(pool);
        self.cv.notify_all();
        if outcome == Outcome::Lost {
            self.wake.signal();
        }
    }

    /// Wait until the first worker said `HELLO` (or could not start).
    pub(crate) fn wait_first_ready(&self, timeout: Duration) -> Result<Hello> {
        let deadline = Instant::now() + timeout;
        let mut pool = self.pool.lock();
        loop {
            if let Some(h) = &pool.hello {
                return Ok(h.clone());
            }
            if let Some(e) = pool.startup_error.take() {
                return Err(e);
            }
            if self.cv.wait_until(&mut pool, deadline).timed_out() && pool.hello.is_none() {
                return Err(pool.startup_error.take().unwrap_or(Error::Timeout(timeout)));
            }
        }
    }
}
