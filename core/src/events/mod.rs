//! Event dispatch: module threads → bounded queue → dispatcher thread → subscribers.
//!
//! * **Any thread may emit.** `emit` never blocks: it appends to a bounded
//!   queue (bounded in events and in bytes: `event_queue_capacity`,
//!   `event_queue_bytes`, the bytes counting the batch being delivered too)
//!   or, when the queue is full, refuses the *new* event: the module
//!   sees `BH_API_OVERLOADED` and the refusal is counted in `events_refused`
//!   (the module may retry, so it is not a loss). An isolated worker's event
//!   that the full queue cannot take is lost and counted in `events_dropped`.
//! * [`EventHub::flush`] (`Module::flush`) waits until every event accepted
//!   so far has been delivered.
//! * **Callbacks run on the host's dispatcher thread** (`bridgehost-events`),
//!   one event at a time, in emit order per module.
//! * **After [`Subscription::unsubscribe`] returns, the callback is never
//!   invoked again.** Each subscription has a small state (`active`,
//!   `delivering`) guarded by one mutex: the dispatcher checks `active` and
//!   sets `delivering` under it; unsubscribe clears `active` and then waits
//!   until `delivering` is false. Called from inside its own callback (on the
//!   dispatcher thread) it does not wait — the running delivery is the
//!   caller's own, and no later one starts.
#![forbid(unsafe_code)]

use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::sync::{Condvar, Mutex};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

mod payload;
mod subscription;

pub use payload::{Event, EventCallback, Payload, INLINE_PAYLOAD};
pub(crate) use subscription::InTransit;
pub use subscription::Subscription;
use subscription::{deactivate_and_wait, SubEntry, SubState, ACTIVE};

/// How many times the dispatcher yields and re-checks an empty queue
/// before it blocks.
const SPIN_ROUNDS: usize = 32;

/// The dispatcher keeps its spare batch buffer at most this many events
/// long once a burst is over (a full queue's buffer is not kept twice).
const SPARE_KEEP: usize = 4096;

/// Longest topic accepted from a module (bytes).
pub const MAX_TOPIC_LEN: usize = 128;

struct Queued {
    module_id: u64,
    /// `None`: the topic of the event queued just before this one (the
    /// first event of every batch carries its topic). Consecutive events on
    /// one topic share one `Arc` without touching its reference count, so
    /// the emitting and the dispatching thread do not trade that cache line
    /// per event.
    topic: Option<Arc<str>>,
    data: Payload,
}

struct QueueState {
    /// In emit order. The dispatcher takes the whole buffer at once (a swap
    /// with its emptied spare), so it holds the lock for O(1), not per event.
    items: Vec<Queued>,
    stopping: bool,
    /// The dispatcher is blocked on `ready` (or about to be): the next
    /// emitter clears this and notifies. Emitters never notify otherwise
    /// (a notify is a syscall).
    sleeping: bool,
    /// The last topic emitted: consecutive events on one topic share it
    /// instead of allocating a copy each. Only emitters touch it.
    last_topic: Option<Arc<str>>,
    /// Events accepted so far (the sequence number of the last one).
    accepted: u64,
    /// Bytes held by the events in `items` ([`event_cost`] each). With the
    /// batch being delivered (`EventHub::delivering_bytes`) bounded by the
    /// hub's `byte_capacity`.
    queue_bytes: usize,
}

/// Bytes an event holds while queued: its queue slot and, for a payload
/// too large to be inline, its heap copy.
fn event_cost(len: usize) -> usize {
    std::mem::size_of::<Queued>() + if len > INLINE_PAYLOAD { len } else { 0 }
}

/// How far the dispatcher got: every event accepted up to `through` has
/// been delivered to every subscriber it was for (or discarded because
/// none wanted it). What [`EventHub::flush`] waits on.
struct Dispatched {
    through: u64,
    stopped: bool,
}

/// Keeps the queue (the lock both sides take) on cache lines of its own,
/// apart from the hub's reference counts, which every emit touches.
#[repr(align(64))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) struct EventHub {
    queue: Padded<Mutex<QueueState>>,
    ready: Condvar,
    /// Set by the emitter that makes the queue non-empty, cleared by the
    /// dispatcher when it takes the batch: the dispatcher polls this hint
    /// while it spins instead of taking the queue lock (which would pull the
    /// lock's cache line away from the emitters). Only a hint: the queue
    /// itself is always checked under the lock.
    pending: Padded<AtomicBool>,
    capacity: usize,
    /// Most bytes held by queued and in-delivery events (see [`event_cost`]).
    byte_capacity: usize,
    /// Bytes of the batch the dispatcher is delivering: set when it takes
    /// the queue's events (under the queue lock), zero once they are
    /// delivered and freed (before `flush` waiters are told).
    delivering_bytes: AtomicUsize,
    subs: Mutex<HashMap<u64, Vec<Arc<SubEntry>>>>, // module_id → subscribers
    next_id: AtomicU64,
    dispatcher: Mutex<Option<(ThreadId, JoinHandle<()>)>>,
    stopped: AtomicBool,
    dispatched: Mutex<Dispatched>,
    dispatched_cv: Condvar,
    /// Threads waiting in `flush`: the dispatcher notifies only when one
    /// is (a notify is a syscall; most batches have no flusher).
    flush_waiters: AtomicUsize,
    /// Deactivated subscriptions kept in `subs` until the dispatcher has
    /// passed their `discard_through` (it counts what they miss), then
    /// removed by the dispatcher.
    tombstones: Mutex<Vec<Arc<SubEntry>>>,
    /// `tombstones.len()`, read by the dispatcher without the lock.
    tombstone_count: AtomicUsize,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub")
            .field("capacity", &self.capacity)
            .finish()
    }
}

thread_local! {
    static ON_DISPATCHER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True when the current thread is a bridgehost event dispatcher.
pub fn on_dispatcher_thread() -> bool {
    ON_DISPATCHER.with(|c| c.get())
}

impl EventHub {
    #[cfg(test)]
    pub(crate) fn start(capacity: usize, name: &str) -> Result<Arc<EventHub>> {
        Self::start_bounded(capacity, usize::MAX, name)
    }

    /// Start a hub holding at most `capacity` events and `byte_capacity`
    /// bytes of them (an event larger than that is taken only when nothing
    /// else is held).
    pub(crate) fn start_bounded(
        capacity: usize,
        byte_capacity: usize,
        name: &str,
    ) -> Result<Arc<EventHub>> {
        let hub = Arc::new(EventHub {
            queue: Padded(Mutex::new(QueueState {
                items: Vec::with_capacity(capacity.min(1024)),
                stopping: false,
                sleeping: false,
                last_topic: None,
                accepted: 0,
                queue_bytes: 0,
            })),
            ready: Condvar::new(),
            pending: Padded(AtomicBool::new(false)),
            capacity,
            byte_capacity,
            delivering_bytes: AtomicUsize::new(0),
            subs: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            dispatcher: Mutex::new(None),
            stopped: AtomicBool::new(false),
            dispatched: Mutex::new(Dispatched {
                through: 0,
                stopped: false,
            }),
            dispatched_cv: Condvar::new(),
            flush_waiters: AtomicUsize::new(0),
            tombstones: Mutex::new(Vec::new()),
            tombstone_count: AtomicUsize::new(0),
        });
        let worker = Arc::clone(&hub);
        let handle = thread::Builder::new()
            .name(format!("{name}-events"))
            .spawn(move || worker.run())
            .map_err(|e| Error::Internal(format!("cannot start dispatcher thread: {e}")))?;
        let tid = handle.thread().id();
        *hub.dispatcher.lock() = Some((tid, handle));
        Ok(hub)
    }

    /// Queue an event; never blocks. `Err(Overloaded)` when full or stopped.
    pub(crate) fn emit(
        &self,
        module_id: u64,
        topic: &str,
        data: &[u8],
        counters: &Counters,
    ) -> Result<()> {
        // Large payloads are copied before the lock; inline ones straight
        // into their queue slot (built on the stack and moved, the copy's
        // narrow stores stall the wide loads of the move).
        let cost = event_cost(data.len());
        let heap = (data.len() > INLINE_PAYLOAD).then(|| data.to_vec());
        let mut q = self.queue.lock();
        if q.stopping {
            return Err(Error::closed("event dispatcher"));
        }
        if q.items.len() >= self.capacity {
            drop(q);
            // The caller counts it: a refusal the module is told about
            // (`events_refused`) or a loss (`events_dropped`).
            return Err(Error::Overloaded(format!(
                "event queue full ({} events); event dropped",
                self.capacity
            )));
        }
        let held = q.queue_bytes + self.delivering_bytes.load(Ordering::Relaxed);
        if self.over_bytes(held, cost) {
            drop(q);
            drop(heap);
            return Err(self.full_bytes());
        }
        q.queue_bytes += cost;
        let same = matches!(&q.last_topic, Some(t) if **t == *topic);
        if !same {
            q.last_topic = Some(Arc::from(topic));
        }
        // The first event of a buffer carries its topic (the dispatcher may
        // have taken the previous one); later ones only when it changes.
        let was_empty = q.items.is_empty();
        let topic = if same && !was_empty {
            None
        } else {
            q.last_topic.clone()
        };
        match heap {
            Some(v) => q.items.push(Queued {
                module_id,
                topic,
                data: Payload::Heap(v),
            }),
            None => {
                q.items.push(Queued {
                    module_id,
                    topic,
                    data: Payload::Inline {
                        len: data.len() as u8,
                        buf: [0; INLINE_PAYLOAD],
                    },
                });
                if let Some(Queued {
                    data: Payload::Inline { buf, .. },
                    ..
                }) = q.items.last_mut()
                {
                    buf[..data.len()].copy_from_slice(data);
                }
            }
        }
        if was_empty {
            // Once per batch, not per event (see `pending`).
            self.pending.store(true, Ordering::Relaxed);
        }
        // A plain load and store, no locked instruction: every increment of
        // `events_emitted` happens here, under this lock (a module's counters
        // belong to one host, hence to one hub), so none is lost.
        let emitted = &counters.events_emitted;
        emitted.store(emitted.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        q.accepted += 1;
        let wake = std::mem::take(&mut q.sleeping);
        drop(q);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// True when an event costing `cost` does not fit beside `held` bytes
    /// (one that is larger than the whole bound fits only alone).
    fn over_bytes(&self, held: usize, cost: usize) -> bool {
        held > 0 && held.saturating_add(cost) > self.byte_capacity
    }

    fn full_bytes(&self) -> Error {
        Error::Overloaded(format!(
            "event queue full ({} bytes); event dropped",
            self.byte_capacity
        ))
    }

    pub(crate) fn subscribe(
        self: &Arc<Self>,
        module_id: u64,
        topic: &str,
        callback: EventCallback,
        counters: Arc<Counters>,
        transit: Option<Box<dyn InTransit>>,
    ) -> Result<Subscription> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(Error::closed("host"));
        }
        if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
            return Err(Error::InvalidArgument(format!(
                "topic must be 1..={MAX_TOPIC_LEN} bytes (\"*\" for every topic)"
            )));
        }
        // Read before the entry is registered: an event accepted from now on
        // (numbered after it) is this subscription's once the dispatcher
        // finds it registered; one accepted before never is.
        let after = self.queue.lock().accepted;
        let entry = Arc::new(SubEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            module_id,
            topic: if topic == "*" {
                None
            } else {
                Some(Arc::from(topic))
            },
            active_fast: AtomicBool::new(true),
            state: Mutex::new(SubState {
                active: true,
                waiters: 0,
                delivering: None,
                callback: Some(Arc::new(callback)),
            }),
            idle: Condvar::new(),
            counters,
            discard_through: AtomicU64::new(ACTIVE),
            after,
            transit,
        });
        self.subs
            .lock()
            .entry(module_id)
            .or_default()
            .push(Arc::clone(&entry));
        Ok(Subscription {
            hub: Arc::clone(self),
            entry,
        })
    }

    fn remove(&self, entry: &SubEntry) {
        let mut subs = self.subs.lock();
        if let Some(list) = subs.get_mut(&entry.module_id) {
            list.retain(|s| s.id != entry.id);
            if list.is_empty() {
                subs.remove(&entry.module_id);
            }
        }
    }

    /// Deactivate `entry` and wait out its delivery in progress; the events
    /// accepted so far that it wanted and will not get are counted in
    /// `events_discarded` (the first deactivation fixes which).
    fn deactivate_counting(&self, entry: &SubEntry) {
        self.mark_inactive(&[entry]);
        deactivate_and_wait(entry);
    }

    /// Deactivate `entries` at once, without waiting (no delivery to any of
    /// them starts after this); their bound is the last event accepted now.
    ///
    /// A subscription to a module whose events reach the hub later
    /// (isolated) is ended through its [`InTransit`], which also counts the
    /// events still on their way.
    fn mark_inactive(&self, entries: &[&SubEntry]) {
        for entry in entries {
            match &entry.transit {
                Some(t) => t.end(entry.topic.as_ref(), &entry.counters, &mut || {
                    self.mark_one_inactive(entry)
                }),
                None => {
                    self.mark_one_inactive(entry);
                }
            }
        }
    }

    /// Deactivate `entry`, its bound the last event accepted now; false if
    /// it was deactivated before (its bound stays).
    fn mark_one_inactive(&self, entry: &SubEntry) -> bool {
        let through = self.queue.lock().accepted;
        // Before `active` is cleared: a dispatcher that sees the
        // subscription inactive sees its bound.
        let first = entry
            .discard_through
            .compare_exchange(ACTIVE, through, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        entry.state.lock().active = false;
        entry.active_fast.store(false, Ordering::SeqCst);
        first
    }

    /// Unsubscribe `entry`: deactivate it, then remove it from the registry
    /// at once if the dispatcher is past every event it could miss, or else
    /// leave it there as a tombstone for the dispatcher to count what it
    /// misses and remove it.
    fn retire(&self, entry: &Arc<SubEntry>) {
        self.deactivate_counting(entry);
        let bound = entry.discard_through.load(Ordering::SeqCst);
        let passed = {
            let d = self.dispatched.lock();
            d.stopped || d.through >= bound
        };
        if passed {
            self.remove(entry);
        } else {
            let mut t = self.tombstones.lock();
            if !t.iter().any(|e| e.id == entry.id) {
                t.push(Arc::clone(entry));
                self.tombstone_count.store(t.len(), Ordering::SeqCst);
            }
        }
    }

    /// Remove the tombstones the dispatcher is past (it dispatched every
    /// event up to `through`).
    fn prune_tombstones(&self, through: u64) {
        let done: Vec<Arc<SubEntry>> = {
            let mut t = self.tombstones.lock();
            let (done, keep): (Vec<_>, Vec<_>) = t
                .drain(..)
                .partition(|e| e.discard_through.load(Ordering::SeqCst) <= through);
            *t = keep;
            self.tombstone_count.store(t.len(), Ordering::SeqCst);
            done
        };
        for e in &done {
            self.remove(e);
        }
    }

    /// Deactivate and wait out every subscription of `module_id` (the
    /// events queued for them are counted as discarded).
    pub(crate) fn unsubscribe_module(&self, module_id: u64) {
        let list = self
            .subs
            .lock()
            .get(&module_id)
            .cloned()
            .unwrap_or_default();
        // All at once: a delivery in progress to one of them must not let
        // the others go on receiving events while it is waited out.
        self.mark_inactive(&list.iter().map(|e| &**e).collect::<Vec<_>>());
        for entry in list {
            self.retire(&entry);
        }
    }

    /// Wait until every event accepted before this call has been delivered
    /// to every subscriber it was for (callbacks returned). `Timeout` when
    /// `timeout` passes first; `Closed` when the host stopped first (queued
    /// events are then discarded); `InvalidArgument` on the dispatcher
    /// thread itself (from inside a callback it would wait for itself).
    pub(crate) fn flush(&self, timeout: Duration) -> Result<()> {
        if on_dispatcher_thread() {
            return Err(Error::InvalidArgument(
                "flush cannot be called from an event callback (it would wait for itself)".into(),
            ));
        }
        let target = self.queue.lock().accepted;
        let deadline = Instant::now().checked_add(timeout);
        self.flush_waiters.fetch_add(1, Ordering::SeqCst);
        let mut d = self.dispatched.lock();
        let r = loop {
            if d.through >= target {
                break Ok(());
            }
            if d.stopped {
                break Err(Error::closed("host"));
            }
            match deadline {
                None => self.dispatched_cv.wait(&mut d),
                Some(dl) => {
                    if self.dispatched_cv.wait_until(&mut d, dl).timed_out() && d.through < target {
                        break Err(Error::Timeout(timeout));
                    }
                }
            }
        };
        drop(d);
        self.flush_waiters.fetch_sub(1, Ordering::SeqCst);
        r
    }

    /// Record that every event accepted up to `through` was dispatched, and
    /// wake the flushers, if any.
    fn mark_dispatched(&self, through: u64, stopped: bool) {
        {
            let mut d = self.dispatched.lock();
            d.through = d.through.max(through);
            d.stopped |= stopped;
        }
        // After the update (SeqCst): a flusher that registers later reads
        // the new value under the lock.
        if self.flush_waiters.load(Ordering::SeqCst) > 0 {
            self.dispatched_cv.notify_all();
        }
    }

    /// Stop the dispatcher: every subscription is deactivated (and waited
    /// out), queued events are dropped (those a subscriber wanted are
    /// counted in `events_discarded`), the thread is joined unless this is
    /// the dispatcher itself.
    pub(crate) fn stop(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        // Deactivated but left in the registry: the dispatcher counts what
        // they miss in the batch it is delivering; this counts the queue.
        let all: Vec<Arc<SubEntry>> = self.subs.lock().values().flatten().cloned().collect();
        self.mark_inactive(&all.iter().map(|e| &**e).collect::<Vec<_>>());
        for entry in &all {
            self.deactivate_counting(entry);
        }
        let (items, accepted) = {
            let mut q = self.queue.lock();
            q.stopping = true;
            q.queue_bytes = 0;
            (std::mem::take(&mut q.items), q.accepted)
        };
        self.count_discarded_queue(&items, accepted);
        drop(items);
        self.mark_dispatched(0, true);
        self.ready.notify_all();
        let handle = self.dispatcher.lock().take();
        let mut joined = true;
        if let Some((tid, handle)) = handle {
            if tid != thread::current().id() {
                let _ = handle.join();
            } else {
                // Inside a callback: the dispatcher clears the registry
                // when it sees `stopping`, after its batch.
                joined = false;
            }
        }
        if joined {
            self.clear_registry();
        }
    }

    fn clear_registry(&self) {
        self.subs.lock().clear();
        self.tombstones.lock().clear();
        self.tombstone_count.store(0, Ordering::SeqCst);
    }

    /// Count, for every subscriber, the queued events (`items`, the last of
    /// which is number `last`) it wanted and will never get.
    fn count_discarded_queue(&self, items: &[Queued], last: u64) {
        if items.is_empty() {
            return;
        }
        let subs = self.subs.lock();
        let first = last + 1 - items.len() as u64;
        let mut topic: Option<&Arc<str>> = None;
        for (i, item) in items.iter().enumerate() {
            if let Some(t) = &item.topic {
                topic = Some(t);
            }
            let (Some(topic), Some(list)) = (topic, subs.get(&item.module_id)) else {
                continue;
            };
            let seq = first + i as u64;
            for sub in list {
                if sub.wants(topic)
                    && seq > sub.after
                    && seq <= sub.discard_through.load(Ordering::SeqCst)
                {
                    Counters::inc(&sub.counters.events_discarded);
                }
            }
        }
    }

    fn run(self: Arc<Self>) {
        ON_DISPATCHER.with(|c| c.set(true));
        let mut batch: Vec<Queued> = Vec::with_capacity(self.capacity.min(1024));
        let mut through: u64;
        loop {
            {
                if !self.pending.load(Ordering::Relaxed) {
                    // A burst usually continues: look again briefly before
                    // sleeping (bounded: ~SPIN_ROUNDS yields, then block), so a
                    // steady stream does not pay a futex wake per event.
                    for _ in 0..SPIN_ROUNDS {
                        thread::yield_now();
                        if self.pending.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                }
                let mut q = self.queue.lock();
                while q.items.is_empty() && !q.stopping {
                    q.sleeping = true;
                    self.ready.wait(&mut q);
                }
                q.sleeping = false;
                if q.stopping {
                    drop(q);
                    self.clear_registry();
                    return;
                }
                // Take every queued event at once; emitters go on in the
                // (empty, pre-allocated) spare buffer.
                std::mem::swap(&mut q.items, &mut batch);
                let held = std::mem::take(&mut q.queue_bytes);
                self.delivering_bytes.store(held, Ordering::Relaxed);
                self.pending.store(false, Ordering::Relaxed);
                // Every accepted event is in this batch or an earlier one.
                through = q.accepted;
            }
            // The batch holds events number `first..=through`.
            let first = through + 1 - batch.len() as u64;
            // Deliver runs of events from the same module together: one
            // subscriber snapshot per run, one state bracket per subscriber
            // per run (see `deliver_run`).
            let n = batch.len();
            // Index of the event holding the topic in force (batch[0] has one).
            let mut topic_at = 0;
            let mut start = 0;
            while start < n {
                let module_id = batch[start].module_id;
                let end = batch[start..]
                    .iter()
                    .position(|q| q.module_id != module_id)
                    .map_or(n, |p| start + p);
                if batch[start].topic.is_some() {
                    topic_at = start;
                }
                let (before, run) = batch.split_at_mut(start);
                let first_topic = match before.get(topic_at) {
                    Some(q) => q.topic.as_ref(),
                    None => run[0].topic.as_ref(),
                };
                debug_assert!(first_topic.is_some(), "a batch starts with a topic");
                let Some(first_topic) = first_topic.cloned() else {
                    // Unreachable: the first event of a batch carries its topic.
                    start = end;
                    continue;
                };
                self.deliver_run(
                    module_id,
                    first_topic,
                    &mut run[..end - start],
                    first + start as u64,
                );
                if let Some(p) = batch[start..end].iter().rposition(|q| q.topic.is_some()) {
                    topic_at = start + p;
                }
                start = end;
            }
            batch.clear();
            self.delivering_bytes.store(0, Ordering::Relaxed);
            if self.tombstone_count.load(Ordering::SeqCst) > 0 {
                self.prune_tombstones(through);
            }
            self.mark_dispatched(through, false);
            if batch.capacity() > SPARE_KEEP && n < batch.capacity() / 4 {
                batch.shrink_to(SPARE_KEEP.max(2 * n));
            }
        }
    }

    /// Deliver `run` (events of `module_id`, numbered from `first_seq`; the
    /// first one's topic is `first_topic` unless it carries its own) to the
    /// module's subscribers. A deactivated subscriber still registered
    /// (a tombstone, or deactivated during the run) gets the events it
    /// wanted up to its `discard_through` counted as discarded instead.
    fn deliver_run(
        &self,
        module_id: u64,
        first_topic: Arc<str>,
        run: &mut [Queued],
        first_seq: u64,
    ) {
        // Snapshot the subscribers without holding the registry lock during
        // callbacks (a callback may subscribe or unsubscribe).
        let targets: Vec<Arc<SubEntry>> = match self.subs.lock().get(&module_id) {
            None => return,
            Some(list) => list.clone(),
        };
        let me = thread::current().id();
        // One `Event` handed to every callback: each event's payload is
        // swapped into it for the call and back out after, and its topic
        // changes only when the events' topic does (no reference count per
        // event).
        let mut event = Event {
            topic: first_topic,
            data: Payload::Inline {
                len: 0,
                buf: [0; INLINE_PAYLOAD],
            },
        };
        let initial_topic = Arc::clone(&event.topic);
        for sub in targets {
            // The run's events numbered up to `sub.after` were accepted
            // before the subscription began: not its events.
            let first_own = usize::try_from(sub.after.saturating_sub(first_seq - 1))
                .unwrap_or(usize::MAX)
                .min(run.len());
            if first_own == run.len() {
                continue;
            }
            let callback = {
                let mut st = sub.state.lock();
                match (&st.callback, st.active) {
                    (Some(cb), true) => {
                        let cb = Arc::clone(cb);
                        st.delivering = Some(me);
                        cb
                    }
                    _ => {
                        drop(st);
                        self.count_discarded_run(&sub, &initial_topic, run, first_seq, first_own);
                        continue;
                    }
                }
            };
            let topic_matches = |t: &Arc<str>| sub.wants(t);
            // The topic of the current event, and whether it is this
            // subscriber's: compared once per topic change, not per event.
            let mut topic: &Arc<str> = &initial_topic;
            let mut wanted = topic_matches(topic);
            let mut delivered = 0u64;
            let mut stopped_at = None;
            for (i, item) in run.iter_mut().enumerate() {
                if let Some(t) = &item.topic {
                    if !Arc::ptr_eq(t, topic) {
                        topic = t;
                        wanted = topic_matches(topic);
                    }
                }
                if !wanted || i < first_own {
                    continue;
                }
                // Re-checked before every event: once `unsubscribe` cleared
                // it, no further event of this run starts; `unsubscribe`
                // waits for the one in progress (`delivering` is still set).
                if !sub.active_fast.load(Ordering::SeqCst) {
                    stopped_at = Some(i);
                    break;
                }
                if !Arc::ptr_eq(&event.topic, topic) {
                    event.topic = Arc::clone(topic);
                }
                std::mem::swap(&mut event.data, &mut item.data);
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (callback)(&event)));
                std::mem::swap(&mut event.data, &mut item.data);
                delivered += 1;
                if result.is_err() {
                    sub.counters.add_callback_error();
                    tracing::error!(target: "bridgehost::events", "event callback panicked; panic caught and counted");
                }
            }
            drop(callback);
            sub.counters
                .events_delivered
                .fetch_add(delivered, Ordering::Relaxed);
            if let Some(i) = stopped_at {
                // Before `delivering` is cleared: counted when the
                // unsubscribe that interrupted the run returns.
                self.count_discarded_run(&sub, &initial_topic, run, first_seq, i);
            }
            let mut st = sub.state.lock();
            st.delivering = None;
            let wake = st.waiters > 0;
            drop(st);
            if wake {
                sub.idle.notify_all();
            }
        }
    }
}

impl EventHub {
    /// Count in `events_discarded` the events of `run` from index `from` on
    /// that the deactivated `sub` wanted and was not given (those accepted
    /// up to its `discard_through`).
    fn count_discarded_run(
        &self,
        sub: &SubEntry,
        first_topic: &Arc<str>,
        run: &[Queued],
        first_seq: u64,
        from: usize,
    ) {
        let bound = sub.discard_through.load(Ordering::SeqCst);
        if bound == ACTIVE || bound < first_seq + from as u64 {
            return;
        }
        let mut topic = first_topic;
        let mut wanted = sub.wants(topic);
        let mut n = 0u64;
        for (i, item) in run.iter().enumerate() {
            if let Some(t) = &item.topic {
                if !Arc::ptr_eq(t, topic) {
                    topic = t;
                    wanted = sub.wants(topic);
                }
            }
            if i >= from && wanted && first_seq + i as u64 <= bound {
                n += 1;
            }
        }
        if n > 0 {
            sub.counters
                .events_discarded
                .fetch_add(n, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests;
