//! The worker's two ways to the host: the control socket (`Conn`), with the
//! outbox that batches the instance's events and logs onto it from one
//! sender thread, and the shared control block (`Chan`) that carries
//! requests and responses.
#![forbid(unsafe_code)]

use super::super::protocol::{self as p, ctl, RawResponse, Request};
use super::super::sys::{self, SharedMem};
use super::{check_parent, EXIT_CHANNEL, PARK_SLICE};
use crate::ffi::callbacks::InstanceEvents;
use crate::sync::Mutex;
use bridgehost_module_abi as abi;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The control socket, shared by the main thread and the sender thread.
pub(super) struct Conn {
    sock: OwnedFd,
    send: Mutex<()>,
}

impl Conn {
    pub(super) fn new(sock: OwnedFd) -> Conn {
        Conn {
            sock,
            send: Mutex::new(()),
        }
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Send a whole record, blocking for buffer space. A record is never
    /// left half-sent: if the channel fails mid-record the worker exits.
    pub(super) fn send_record(&self, kind: u8, payload: &[u8]) -> Result<(), ()> {
        let _g = self.send.lock();
        for (i, packet) in p::fragment(kind, payload).iter().enumerate() {
            if sys::send_packet(self.fd(), packet, &[], false).is_err() {
                if i == 0 {
                    return Err(());
                }
                std::process::exit(EXIT_CHANNEL);
            }
        }
        Ok(())
    }
}

/// Most events (and bytes) queued in the worker before `emit` refuses with
/// `BH_API_OVERLOADED` (the same drop-newest policy as the host's queue).
const QUEUE_EVENTS: usize = 65_536;
const QUEUE_BYTES: usize = 16 << 20;

enum Item {
    Event(String, Vec<u8>),
    Log(i32, String),
}

#[derive(Default)]
struct QueueState {
    items: std::collections::VecDeque<Item>,
    bytes: usize,
    dropped: u32,
    closed: bool,
}

/// Events and logs of the instance, queued by any module thread and sent to
/// the host by one sender thread in batches (order preserved).
#[derive(Default)]
pub(super) struct Outbox {
    state: Mutex<QueueState>,
    ready: crate::sync::Condvar,
    /// Events accepted so far (wrapping): every response carries it, so that
    /// the host knows which events a returned call emitted and `flush` can
    /// wait for them to arrive.
    pub(super) accepted_events: AtomicU32,
}

impl Outbox {
    fn push(&self, item: Item, size: usize) -> i32 {
        let mut q = self.state.lock();
        if q.closed {
            return abi::API_STALE;
        }
        if q.items.len() >= QUEUE_EVENTS || q.bytes.saturating_add(size) > QUEUE_BYTES {
            if matches!(item, Item::Event(..)) {
                q.dropped = q.dropped.saturating_add(1);
                drop(q);
                self.ready.notify_one();
            }
            return abi::API_OVERLOADED;
        }
        let was_empty = q.items.is_empty();
        if matches!(item, Item::Event(..)) {
            // Under the queue lock: a count never runs ahead of the queue.
            self.accepted_events.fetch_add(1, Ordering::SeqCst);
        }
        q.items.push_back(item);
        q.bytes += size;
        drop(q);
        if was_empty {
            self.ready.notify_one();
        }
        abi::API_OK
    }

    /// Refuse new items; the sender drains what is queued and stops.
    pub(super) fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_all();
    }

    /// The sender thread's loop.
    pub(super) fn run(&self, conn: &Conn) {
        loop {
            let (dropped, batch) = {
                let mut q = self.state.lock();
                while q.items.is_empty() && q.dropped == 0 && !q.closed {
                    self.ready.wait(&mut q);
                }
                if q.items.is_empty() && q.dropped == 0 {
                    return; // closed and drained
                }
                let mut batch = Vec::new();
                let mut size = 0;
                while let Some(front) = q.items.front() {
                    let n = match front {
                        Item::Event(t, d) => p::event_size(t, d),
                        Item::Log(..) if batch.is_empty() => 0,
                        Item::Log(..) => break,
                    };
                    if !batch.is_empty()
                        && (size + n > p::BATCH_BYTES || batch.len() >= p::MAX_BATCH)
                    {
                        break;
                    }
                    let item = q.items.pop_front().expect("front exists");
                    q.bytes -= match &item {
                        Item::Event(t, d) => t.len() + d.len(),
                        Item::Log(_, m) => m.len(),
                    };
                    size += n;
                    let is_log = matches!(item, Item::Log(..));
                    batch.push(item);
                    if is_log {
                        break;
                    }
                }
                (std::mem::take(&mut q.dropped), batch)
            };
            let sent = match batch.first() {
                Some(Item::Log(level, msg)) => {
                    conn.send_record(p::REC_LOG, &p::encode_log(*level, msg))
                }
                _ => {
                    let events = batch.iter().filter_map(|i| match i {
                        Item::Event(t, d) => Some((t.as_str(), d.as_slice())),
                        Item::Log(..) => None,
                    });
                    let events: Vec<(&str, &[u8])> = events.collect();
                    conn.send_record(
                        p::REC_EVENTS,
                        &p::encode_events(dropped, events.into_iter()),
                    )
                }
            };
            if sent.is_err() {
                // The host is gone (or the channel broke): nothing to send to.
                std::process::exit(EXIT_CHANNEL);
            }
        }
    }
}

/// Events and logs of the module instance go to the host through the outbox.
pub(super) struct WorkerEvents {
    pub(super) outbox: Arc<Outbox>,
    pub(super) max_event: usize,
}

impl InstanceEvents for WorkerEvents {
    fn emit(&self, topic: &str, data: &[u8]) -> i32 {
        self.outbox.push(
            Item::Event(topic.to_string(), data.to_vec()),
            topic.len() + data.len(),
        )
    }

    fn max_event_size(&self) -> usize {
        self.max_event
    }

    fn log(&self, level: i32, msg: &str) {
        let _ = self
            .outbox
            .push(Item::Log(level, msg.to_string()), msg.len());
    }
}

/// The control block seen from the worker.
pub(super) struct Chan<'a> {
    pub(super) ctl: &'a SharedMem,
    /// The outbox's accepted-event count, reported in every response (none
    /// while validating).
    pub(super) events: Option<&'a AtomicU32>,
    /// Last value of TO_WORKER consumed.
    seen: AtomicU32,
    /// Our TO_HOST counter.
    posted: AtomicU32,
}

pub(super) enum Wait {
    Message,
    Idle,
}

impl<'a> Chan<'a> {
    /// The control block `ctl`, reporting `events`' count in every response
    /// (`None` while validating).
    pub(super) fn new(ctl: &'a SharedMem, events: Option<&'a AtomicU32>) -> Chan<'a> {
        Chan {
            ctl,
            events,
            seen: AtomicU32::new(0),
            posted: AtomicU32::new(0),
        }
    }
}

impl Chan<'_> {
    pub(super) fn post(&self, resp: &RawResponse) {
        let resp = RawResponse {
            events: self.events.map_or(0, |e| e.load(Ordering::SeqCst)),
            ..*resp
        };
        self.ctl.write_from(ctl::OFF_RESP, &resp.encode());
        let v = self.posted.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        self.ctl
            .atomic_u32(ctl::OFF_TO_HOST)
            .store(v, Ordering::SeqCst);
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        if parked.swap(0, Ordering::SeqCst) != 0 {
            sys::futex_wake(parked, i32::MAX);
        }
    }

    /// Announce that the first `chunks * STREAM_CHUNK` bytes of the output
    /// region are final (the host copies them out while the module writes
    /// on), waking the host if it sleeps.
    pub(super) fn publish_ready(&self, chunks: u32) {
        self.ctl
            .atomic_u32(ctl::OFF_OUT_READY)
            .store(chunks, Ordering::Release);
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        if parked.swap(0, Ordering::SeqCst) != 0 {
            sys::futex_wake(parked, i32::MAX);
        }
    }

    /// Wait for the host's next message: spin for `spin`, then sleep in
    /// slices of [`PARK_SLICE`]. `Idle` after a slice with no message.
    pub(super) fn wait(&self, spin: Duration) -> Wait {
        let word = self.ctl.atomic_u32(ctl::OFF_TO_WORKER);
        let seen = self.seen.load(Ordering::Relaxed);
        let take = |v: u32| {
            self.seen.store(v, Ordering::Relaxed);
            Wait::Message
        };
        let start = Instant::now();
        let mut i = 0u32;
        loop {
            let v = word.load(Ordering::Acquire);
            if v != seen {
                return take(v);
            }
            i = i.wrapping_add(1);
            if i < super::super::remote::SPIN_TIGHT {
                std::hint::spin_loop();
                continue;
            }
            if start.elapsed() >= spin {
                break;
            }
            // If the host shares this CPU, let it run.
            std::thread::yield_now();
        }
        // Park: announce it, re-check, then sleep on the PARKED word; the
        // host clears it (swap to 0) before waking us, so a wake-up between
        // the re-check and the sleep is never lost.
        let parked = self.ctl.atomic_u32(ctl::OFF_WORKER_PARKED);
        parked.store(1, Ordering::SeqCst);
        let v = word.load(Ordering::SeqCst);
        if v != seen {
            parked.store(0, Ordering::Relaxed);
            return take(v);
        }
        sys::futex_wait(parked, 1, Some(PARK_SLICE));
        parked.store(0, Ordering::Relaxed);
        let v = word.load(Ordering::Acquire);
        if v != seen {
            return take(v);
        }
        Wait::Idle
    }

    /// Wait for a message, however long (the host's death kills us).
    pub(super) fn wait_message(&self, spin: Duration) {
        while let Wait::Idle = self.wait(spin) {
            check_parent();
        }
    }

    pub(super) fn request(&self) -> Request {
        let mut b = [0u8; p::REQ_LEN];
        self.ctl.read_into(ctl::OFF_REQ, &mut b);
        match Request::decode(&b) {
            Ok(r) => r,
            Err(_) => std::process::exit(EXIT_CHANNEL),
        }
    }
}
