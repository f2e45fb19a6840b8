//! Event dispatch: module threads → bounded queue → dispatcher thread → subscribers.
//!
//! * **Any thread may emit.** `emit` never blocks: it appends to a bounded
//!   queue or, when the queue is full, drops the *new* event and counts it
//!   (`events_dropped`); the module sees `BH_API_OVERLOADED`.
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
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};

/// How many times the dispatcher yields and re-checks an empty queue
/// before it blocks.
const SPIN_ROUNDS: usize = 32;

/// Longest topic accepted from a module (bytes).
pub const MAX_TOPIC_LEN: usize = 128;

/// Payloads up to this size are stored inline in the event (no allocation).
pub const INLINE_PAYLOAD: usize = 46;

/// An event payload: small ones inline, larger ones on the heap. Derefs to `[u8]`.
#[derive(Clone)]
pub enum Payload {
    /// Up to [`INLINE_PAYLOAD`] bytes.
    Inline {
        /// Bytes used in `buf`.
        len: u8,
        /// Storage.
        buf: [u8; INLINE_PAYLOAD],
    },
    /// Larger payloads.
    Heap(Vec<u8>),
}

impl Payload {
    /// Copy `data` into a payload.
    pub fn copy_from(data: &[u8]) -> Payload {
        if data.len() <= INLINE_PAYLOAD {
            let mut buf = [0u8; INLINE_PAYLOAD];
            buf[..data.len()].copy_from_slice(data);
            Payload::Inline {
                len: data.len() as u8,
                buf,
            }
        } else {
            Payload::Heap(data.to_vec())
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Payload::Inline { len, buf } => &buf[..*len as usize],
            Payload::Heap(v) => v,
        }
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Payload").field(&&**self).finish()
    }
}

/// An event as delivered to a subscriber.
#[derive(Debug, Clone)]
pub struct Event {
    /// The topic the module emitted on.
    pub topic: Arc<str>,
    /// The payload (copied out of the module at emit time).
    pub data: Payload,
}

/// A subscriber callback. Runs on the dispatcher thread; a panic is caught and counted.
pub type EventCallback = Box<dyn Fn(&Event) + Send + Sync + 'static>;

struct SubState {
    active: bool,
    /// The dispatcher thread running the callback right now, if any.
    delivering: Option<ThreadId>,
    /// Dropped by `unsubscribe` on the unsubscribing thread once no delivery
    /// runs, so what the callback owns (a JNI global ref, a Python object) is
    /// released before `unsubscribe` returns.
    callback: Option<Arc<EventCallback>>,
}

pub(crate) struct SubEntry {
    id: u64,
    module_id: u64,
    topic: Option<Arc<str>>, // None: every topic ("*")
    /// Mirror of `state.active`, read by the dispatcher before every event.
    active_fast: AtomicBool,
    state: Mutex<SubState>,
    idle: Condvar,
    counters: Arc<Counters>,
}

struct Queued {
    module_id: u64,
    event: Event,
}

struct QueueState {
    items: VecDeque<Queued>,
    stopping: bool,
    /// The last topic emitted: consecutive events on one topic share it
    /// instead of allocating a copy each.
    last_topic: Option<Arc<str>>,
}

pub(crate) struct EventHub {
    queue: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
    subs: Mutex<HashMap<u64, Vec<Arc<SubEntry>>>>, // module_id → subscribers
    next_id: AtomicU64,
    dispatcher: Mutex<Option<(ThreadId, JoinHandle<()>)>>,
    stopped: AtomicBool,
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
    pub(crate) fn start(capacity: usize, name: &str) -> Result<Arc<EventHub>> {
        let hub = Arc::new(EventHub {
            queue: Mutex::new(QueueState {
                items: VecDeque::with_capacity(capacity.min(1024)),
                stopping: false,
                last_topic: None,
            }),
            ready: Condvar::new(),
            capacity,
            subs: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            dispatcher: Mutex::new(None),
            stopped: AtomicBool::new(false),
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
        let data = Payload::copy_from(data);
        let mut q = self.queue.lock();
        if q.stopping {
            return Err(Error::closed("event dispatcher"));
        }
        if q.items.len() >= self.capacity {
            drop(q);
            Counters::inc(&counters.events_dropped);
            return Err(Error::Overloaded(format!(
                "event queue full ({} events); event dropped",
                self.capacity
            )));
        }
        let topic = match &q.last_topic {
            Some(t) if **t == *topic => Arc::clone(t),
            _ => {
                let t: Arc<str> = Arc::from(topic);
                q.last_topic = Some(Arc::clone(&t));
                t
            }
        };
        let was_empty = q.items.is_empty();
        q.items.push_back(Queued {
            module_id,
            event: Event { topic, data },
        });
        drop(q);
        Counters::inc(&counters.events_emitted);
        if was_empty {
            self.ready.notify_one();
        }
        Ok(())
    }

    pub(crate) fn subscribe(
        self: &Arc<Self>,
        module_id: u64,
        topic: &str,
        callback: EventCallback,
        counters: Arc<Counters>,
    ) -> Result<Subscription> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(Error::closed("host"));
        }
        if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
            return Err(Error::InvalidArgument(format!(
                "topic must be 1..={MAX_TOPIC_LEN} bytes (\"*\" for every topic)"
            )));
        }
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
                delivering: None,
                callback: Some(Arc::new(callback)),
            }),
            idle: Condvar::new(),
            counters,
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

    /// Deactivate and wait out every subscription of `module_id`.
    pub(crate) fn unsubscribe_module(&self, module_id: u64) {
        let list = self.subs.lock().remove(&module_id).unwrap_or_default();
        for entry in list {
            deactivate_and_wait(&entry);
        }
    }

    /// Stop the dispatcher: every subscription is deactivated (and waited
    /// out), queued events are dropped, the thread is joined unless this is
    /// the dispatcher itself.
    pub(crate) fn stop(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        let all: Vec<Arc<SubEntry>> = self.subs.lock().drain().flat_map(|(_, v)| v).collect();
        for entry in &all {
            deactivate_and_wait(entry);
        }
        {
            let mut q = self.queue.lock();
            q.stopping = true;
            q.items.clear();
        }
        self.ready.notify_all();
        let handle = self.dispatcher.lock().take();
        if let Some((tid, handle)) = handle {
            if tid != thread::current().id() {
                let _ = handle.join();
            }
        }
    }

    fn run(self: Arc<Self>) {
        ON_DISPATCHER.with(|c| c.set(true));
        let mut batch: Vec<Queued> = Vec::with_capacity(256);
        loop {
            {
                let mut q = self.queue.lock();
                if q.items.is_empty() && !q.stopping {
                    // A burst usually continues: look again briefly before
                    // sleeping (bounded: ~SPIN_ROUNDS yields, then block), so a
                    // steady stream does not pay a futex wake per event.
                    for _ in 0..SPIN_ROUNDS {
                        drop(q);
                        thread::yield_now();
                        q = self.queue.lock();
                        if !q.items.is_empty() || q.stopping {
                            break;
                        }
                    }
                }
                while q.items.is_empty() && !q.stopping {
                    self.ready.wait(&mut q);
                }
                if q.stopping {
                    return;
                }
                let n = q.items.len().min(256);
                batch.extend(q.items.drain(..n));
            }
            // Deliver runs of events from the same module together: one
            // subscriber snapshot per run, one state bracket per subscriber
            // per run (see `deliver_run`).
            let mut start = 0;
            while start < batch.len() {
                let module_id = batch[start].module_id;
                let end = batch[start..]
                    .iter()
                    .position(|q| q.module_id != module_id)
                    .map_or(batch.len(), |p| start + p);
                self.deliver_run(module_id, &batch[start..end]);
                start = end;
            }
            batch.clear();
        }
    }

    fn deliver_run(&self, module_id: u64, run: &[Queued]) {
        // Snapshot the subscribers without holding the registry lock during
        // callbacks (a callback may subscribe or unsubscribe).
        let targets: Vec<Arc<SubEntry>> = match self.subs.lock().get(&module_id) {
            None => return,
            Some(list) => list.clone(),
        };
        let me = thread::current().id();
        for sub in targets {
            let callback = {
                let mut st = sub.state.lock();
                match (&st.callback, st.active) {
                    (Some(cb), true) => {
                        let cb = Arc::clone(cb);
                        st.delivering = Some(me);
                        cb
                    }
                    _ => continue,
                }
            };
            let mut delivered = 0u64;
            for item in run {
                if let Some(t) = &sub.topic {
                    if **t != *item.event.topic {
                        continue;
                    }
                }
                // Re-checked before every event: once `unsubscribe` cleared
                // it, no further event of this run starts; `unsubscribe`
                // waits for the one in progress (`delivering` is still set).
                if !sub.active_fast.load(Ordering::SeqCst) {
                    break;
                }
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (callback)(&item.event)
                }));
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
            let mut st = sub.state.lock();
            st.delivering = None;
            drop(st);
            sub.idle.notify_all();
        }
    }
}

fn deactivate_and_wait(entry: &SubEntry) {
    let mut st = entry.state.lock();
    st.active = false;
    entry.active_fast.store(false, Ordering::SeqCst);
    let me = thread::current().id();
    // Called from inside this subscription's own callback, we do not wait:
    // the delivery in progress is on this very stack (waiting would
    // deadlock), and no new delivery can start because `active` is false.
    // The dispatcher's clone of the callback is dropped when it returns.
    while st.delivering.is_some() && st.delivering != Some(me) {
        entry.idle.wait(&mut st);
    }
    let callback = st.callback.take();
    drop(st);
    drop(callback);
}

/// A live subscription. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<EventHub>,
    entry: Arc<SubEntry>,
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
    pub fn unsubscribe(&self) {
        self.hub.remove(&self.entry);
        deactivate_and_wait(&self.entry);
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
