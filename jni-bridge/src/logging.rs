//! Core `tracing` → Java `System.Logger` ("io.bridgehost").
//!
//! The core calls the sink on whatever thread logged — a module's own
//! thread, a caller's thread holding core locks. The sink therefore never
//! calls Java: it only queues the record (bounded; a full queue drops and
//! counts). One bridge thread, attached once as a daemon, drains the queue
//! and calls `Log.fromNative(level, target, message)`, each record in its
//! own local frame.
#![forbid(unsafe_code)]

use crate::error::{BResult, BridgeError};
use crate::jvm;
use bridgehost::internal::sync::Mutex;
use bridgehost::logging::{set_log_sink, LogLevel, LogSink};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// Records queued beyond this are dropped (and counted).
const QUEUE_CAPACITY: usize = 4096;

struct Record {
    level: LogLevel,
    target: String,
    message: String,
}

static SENDER: Mutex<Option<SyncSender<Record>>> = Mutex::new(None);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Records dropped because the queue was full.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn sender() -> BResult<SyncSender<Record>> {
    let mut guard = SENDER.lock();
    if let Some(s) = guard.as_ref() {
        return Ok(s.clone());
    }
    let (tx, rx) = sync_channel::<Record>(QUEUE_CAPACITY);
    std::thread::Builder::new()
        .name("bridgehost-log".into())
        .spawn(move || drain(rx))
        .map_err(|e| {
            BridgeError::from(bridgehost::Error::Internal(format!(
                "cannot start the log thread: {e}"
            )))
        })?;
    *guard = Some(tx.clone());
    Ok(tx)
}

/// Runs on `bridgehost-log` for the life of the process. It never logs
/// through `tracing` itself (that would feed its own queue).
fn drain(rx: Receiver<Record>) {
    while let Ok(r) = rx.recv() {
        let _ = jvm::with_attached_env(4, |env| {
            let target = env.new_string(&r.target)?;
            let message = env.new_string(&r.message)?;
            jvm::call_log(env, r.level as i32, &target, &message)
        });
    }
}

/// Forward core records at `level` or more severe (0 error … 4 trace);
/// a negative level turns forwarding off.
pub(crate) fn set_level(level: i32) -> BResult<()> {
    if level < 0 {
        set_log_sink(LogLevel::Error, None)?;
        return Ok(());
    }
    let tx = sender()?;
    let sink: LogSink = Arc::new(move |level, target: &str, message: &str| {
        let r = Record {
            level,
            target: target.to_string(),
            message: message.to_string(),
        };
        match tx.try_send(r) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    set_log_sink(LogLevel::from_u8(level.min(4) as u8), Some(sink))?;
    Ok(())
}
