//! Core `tracing` events → Python's `logging` (logger `bridgehost` and its
//! children: target `bridgehost::module` → logger `bridgehost.module`).
//!
//! The core calls the log sink on whatever thread logged — a Python thread
//! inside a call, a pool thread, a module's own thread — sometimes while it
//! holds a core lock (a module logging from inside `call` holds its
//! instance's lock). Taking the GIL there could deadlock against a Python
//! thread that holds the GIL and waits for that lock. So the sink never
//! touches Python: it queues the record (never blocking; a full queue drops
//! and counts) and one `bridgehost-log` thread delivers records, in order,
//! through `runtime::deliver`. `bridgehost.flush_logs()` waits until
//! everything queued so far was handed to `logging`.
#![forbid(unsafe_code)]

use crate::runtime;
use bridgehost::internal::sync::{Mutex, MutexGuard};
use bridgehost::logging::{
    set_log_sink, set_record_sink, FieldValue, LogLevel, LogRecord, RecordSink,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const QUEUE: usize = 16 * 1024;

enum Msg {
    Record(LogLevel, String, String, Vec<(&'static str, FieldValue)>),
    Flush(SyncSender<()>),
    Stop,
}

pub(crate) struct LogThread {
    tx: SyncSender<Msg>,
    handle: Option<JoinHandle<()>>,
}

static THREAD: Mutex<Option<LogThread>> = Mutex::new(None);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static EMIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn run(rx: Receiver<Msg>) {
    for msg in rx {
        match msg {
            Msg::Record(level, target, text, fields) => {
                runtime::deliver(|py| {
                    let r = EMIT
                        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                            Ok(py.import("bridgehost")?.getattr("_emit_log")?.unbind())
                        })
                        .and_then(|f| {
                            let d = PyDict::new(py);
                            for (name, value) in &fields {
                                match value {
                                    FieldValue::Str(v) => d.set_item(name, v)?,
                                    FieldValue::I64(v) => d.set_item(name, v)?,
                                    FieldValue::U64(v) => d.set_item(name, v)?,
                                    FieldValue::Bool(v) => d.set_item(name, v)?,
                                    FieldValue::F64(v) => d.set_item(name, v)?,
                                }
                            }
                            f.bind(py).call1((level as u8, target, text, d))
                        });
                    if let Err(e) = r {
                        e.write_unraisable(py, None);
                    }
                });
            }
            Msg::Flush(ack) => {
                let _ = ack.send(());
            }
            Msg::Stop => return,
        }
    }
}

/// Install the sink (idempotent) with `max_level`.
pub(crate) fn install(max_level: LogLevel) -> Result<(), bridgehost::Error> {
    let tx = {
        let mut t = THREAD.lock();
        if t.is_none() {
            let (tx, rx) = sync_channel::<Msg>(QUEUE);
            let handle = std::thread::Builder::new()
                .name("bridgehost-log".into())
                .spawn(move || run(rx))
                .map_err(|e| {
                    bridgehost::Error::Internal(format!("cannot start log thread: {e}"))
                })?;
            *t = Some(LogThread {
                tx,
                handle: Some(handle),
            });
        }
        t.as_ref()
            .map(|t| t.tx.clone())
            .expect("log thread set above")
    };
    // Fields stay apart: Python gets them as LogRecord attributes, not in the message.
    let sink: RecordSink = Arc::new(move |r: &LogRecord<'_>| {
        let rec = Msg::Record(
            r.level,
            r.target.to_owned(),
            r.message.to_owned(),
            r.fields.to_vec(),
        );
        if let Err(TrySendError::Full(_)) = tx.try_send(rec) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    });
    set_record_sink(max_level, Some(sink))
}

/// Records dropped because the queue was full.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Wait (GIL released by the caller) until every record queued before this
/// call was handed to `logging`. False on timeout or if the thread is gone.
pub(crate) fn flush(timeout: Duration) -> bool {
    let tx = match THREAD.lock().as_ref() {
        Some(t) => t.tx.clone(),
        None => return true,
    };
    let (ack_tx, ack_rx) = sync_channel(1);
    if tx.send(Msg::Flush(ack_tx)).is_err() {
        return false;
    }
    ack_rx.recv_timeout(timeout).is_ok()
}

/// The log thread's slot, as locked for a `fork()`.
pub(crate) type ThreadSlot = MutexGuard<'static, Option<LogThread>>;

/// Lock the log thread's slot for a `fork()` (the `before` hook), so that
/// the child never inherits it locked. Its holders never wait for the GIL.
pub(crate) fn lock_for_fork() -> ThreadSlot {
    THREAD.lock()
}

/// Set in a forked child: the core's log sink is the parent's.
static FORKED: AtomicBool = AtomicBool::new(false);

/// In a forked child, with the slot locked by [`lock_for_fork`]: the log
/// thread does not exist here; forget its handle (never join it). Records
/// logged in the child are dropped (the core's sink still points at the
/// parent's queue, which nobody reads here), unless `set_log_level` installs
/// a new sink in the child.
pub(crate) fn after_fork_child(mut slot: ThreadSlot) {
    if let Some(lt) = slot.take() {
        std::mem::forget(lt);
    }
    FORKED.store(true, Ordering::Release);
}

/// Remove the sink, deliver what is queued, and stop the thread (shutdown;
/// GIL released by the caller).
pub(crate) fn stop() {
    // In a forked child whose sink was inherited, leave the core's sink
    // alone: a parent thread may have been inside it at the fork (its read
    // lock is then held forever here), and it never enters Python anyway.
    let t = THREAD.lock().take();
    if !(FORKED.load(Ordering::Acquire) && t.is_none()) {
        let _ = set_log_sink(LogLevel::Error, None);
    }
    if let Some(mut t) = t {
        let _ = t.tx.send(Msg::Stop);
        if let Some(h) = t.handle.take() {
            let _ = h.join();
        }
    }
}
