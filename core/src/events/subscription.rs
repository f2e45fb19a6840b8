//! A subscription's state and the one rule that ends it: after
//! [`Subscription::unsubscribe`] returns, the callback is not running and never
//! runs again (unless called from inside it).
#![forbid(unsafe_code)]

use super::{EventCallback, EventHub};
use crate::counters::Counters;
use crate::sync::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, ThreadId};

pub(super) struct SubState {
    pub(super) active: bool,
    /// Threads blocked in `deactivate_and_wait` on `idle`: the dispatcher
    /// notifies only when there is one (a notify is a syscall).
    pub(super) waiters: usize,
    /// The dispatcher thread running the callback right now, if any.
    pub(super) delivering: Option<ThreadId>,
    /// Dropped by `unsubscribe` on the unsubscribing thread once no delivery
    /// runs, so what the callback owns (a JNI global ref, a Python object) is
    /// released before `unsubscribe` returns.
    pub(super) callback: Option<Arc<EventCallback>>,
}

pub(crate) struct SubEntry {
    pub(super) id: u64,
    pub(super) module_id: u64,
    pub(super) topic: Option<Arc<str>>, // None: every topic ("*")
    /// Mirror of `state.active`, read by the dispatcher before every event.
    pub(super) active_fast: AtomicBool,
    pub(super) state: Mutex<SubState>,
    pub(super) idle: Condvar,
    pub(super) counters: Arc<Counters>,
    /// `u64::MAX` while active. Set once, when the subscription is
    /// deactivated (unsubscribe, module close, host close), to the sequence
    /// number of the last event accepted then: the events up to it that it
    /// wanted and did not get are counted in `events_discarded` (by the
    /// dispatcher as it reaches them, or by `stop` for those still queued).
    pub(super) discard_through: AtomicU64,
    /// The sequence number of the last event accepted when the subscription
    /// began: that event and every one before it are not this
    /// subscription's, even when the dispatcher reaches them after it began.
    pub(super) after: u64,
    /// For a module whose accepted events reach the hub later (isolated):
    /// ends the subscription so that the events still on their way are
    /// counted too (see [`InTransit`]).
    pub(super) transit: Option<Box<dyn InTransit>>,
}

/// A module whose events are accepted before they reach the hub: an
/// isolated module's worker accepts an event (its `emit` returns) and sends
/// it to the host later. When a subscription to it ends, the hub's own
/// count covers the events already in the hub; this covers the rest.
pub(crate) trait InTransit: Send + Sync {
    /// End the subscription: run `deactivate` (it fixes the hub-side bound
    /// of the subscription's discards, and returns false if it had ended
    /// already) while no event of the module moves into the hub; then count
    /// in `counters.events_discarded`, as they arrive, the events on `topic`
    /// (`None`: every topic) accepted while the subscription existed that
    /// were still on their way.
    fn end(
        &self,
        topic: Option<&Arc<str>>,
        counters: &Arc<Counters>,
        deactivate: &mut dyn FnMut() -> bool,
    );
}

pub(super) const ACTIVE: u64 = u64::MAX;

impl SubEntry {
    /// Whether this subscription is for events on `topic`.
    pub(super) fn wants(&self, topic: &Arc<str>) -> bool {
        match &self.topic {
            None => true,
            Some(want) => Arc::ptr_eq(want, topic) || **want == **topic,
        }
    }
}

pub(super) fn deactivate_and_wait(entry: &SubEntry) {
    let mut st = entry.state.lock();
    st.active = false;
    entry.active_fast.store(false, Ordering::SeqCst);
    let me = thread::current().id();
    // Called from inside this subscription's own callback, we do not wait:
    // the delivery in progress is on this very stack (waiting would
    // deadlock), and no new delivery can start because `active` is false.
    // The dispatcher's clone of the callback is dropped when it returns.
    while st.delivering.is_some() && st.delivering != Some(me) {
        st.waiters += 1;
        entry.idle.wait(&mut st);
        st.waiters -= 1;
    }
    let callback = st.callback.take();
    drop(st);
    drop(callback);
}

/// A live subscription. Dropping it unsubscribes.
pub struct Subscription {
    pub(super) hub: Arc<EventHub>,
    pub(super) entry: Arc<SubEntry>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.entry.id)
            .field("active", &self.is_active())
            .finish()
    }
}

impl Subscription {
    /// Stop deliveries. When this returns, the callback is not running (unless
    /// this is called from inside it) and will never be invoked again, so the
    /// caller may free whatever the callback uses. Idempotent.
    ///
    /// Events accepted before this call that this subscription wanted and
    /// did not get are counted in `events_discarded` (each as the
    /// dispatcher reaches it: exact once a `flush` or the host's close has
    /// returned). For an isolated module, so are those still on their way
    /// from a worker that a returned call's answer had announced (each as
    /// it arrives; see `isolation::transit`).
    pub fn unsubscribe(&self) {
        self.hub.retire(&self.entry);
    }

    /// False once unsubscribed (or its module/host closed).
    pub fn is_active(&self) -> bool {
        self.entry.state.lock().active
    }

    /// A unique id (for logs).
    pub fn id(&self) -> u64 {
        self.entry.id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.unsubscribe();
    }
}
