//! Bridging `tracing` to a front end's logging (Java's System.Logger,
//! Python's `logging`, a .NET callback).
//!
//! [`set_log_sink`] installs, once per process, a global `tracing`
//! subscriber whose only layer formats each event and hands it to the
//! current sink. The sink may be replaced or removed at any time. Events
//! above `max_level` are filtered before formatting.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::sync::{Rank, RankedGuard, RwLock};
use once_cell::sync::OnceCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Log levels, most severe first (the numbers cross every ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogLevel {
    /// Errors.
    Error = 0,
    /// Warnings.
    Warn = 1,
    /// Information.
    Info = 2,
    /// Debugging detail.
    Debug = 3,
    /// Per-call tracing.
    Trace = 4,
}

impl LogLevel {
    /// From the numeric value (clamped into range).
    pub fn from_u8(v: u8) -> LogLevel {
        match v {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            3 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }

    fn of(level: &Level) -> LogLevel {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// Receives `(level, target, message)`. Called on whatever thread logged;
/// must not block for long and must not panic (a panic is caught).
pub type LogSink = Arc<dyn Fn(LogLevel, &str, &str) + Send + Sync>;

static SINK: RwLock<Option<LogSink>> = RwLock::new(None);
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);
static INSTALLED: OnceCell<std::result::Result<(), String>> = OnceCell::new();

thread_local! {
    static IN_SINK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct SinkLayer;

struct MessageVisitor<'a>(&'a mut String);

impl Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        // Inside a sink this thread already holds the read lock (and the
        // sink is set): re-taking it could wait behind a queued writer.
        LogLevel::of(metadata.level()) as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
            && (IN_SINK.with(|c| c.get()) || {
                let present = Rank::LogSink.take(|| SINK.read()).is_some();
                present
            })
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        // A record logged from inside the sink (on this thread) is dropped:
        // the lock is not re-entrant (re-taking the read lock could wait
        // behind a queued writer, forever), and feeding a sink its own
        // records could recurse without end.
        if IN_SINK.with(|c| c.get()) {
            return;
        }
        // Held for the whole delivery, so that once `set_log_sink` returns
        // the old sink is never called.
        let guard = Rank::LogSink.take(|| SINK.read());
        let Some(sink) = guard.as_ref() else { return };
        let mut msg = String::new();
        event.record(&mut MessageVisitor(&mut msg));
        let level = LogLevel::of(event.metadata().level());
        let target = event.metadata().target();
        let was = IN_SINK.with(|c| c.replace(true));
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(level, target, &msg)));
        IN_SINK.with(|c| c.set(was));
    }
}

/// Fork preparation (see `crate::fork`): hold the sink exclusively, so that
/// no thread is inside a sink at the fork instant and the child inherits the
/// lock free. `None` if this thread is inside a sink itself (it holds the
/// read lock, which it releases in parent and child alike on its way out).
pub(crate) fn lock_for_fork() -> Option<SinkForkLock> {
    if IN_SINK.try_with(|c| c.get()).unwrap_or(true) {
        return None;
    }
    Some(Rank::LogSink.take(|| SINK.write()))
}

/// The sink, held exclusively across a fork ([`lock_for_fork`]).
pub(crate) type SinkForkLock = RankedGuard<std::sync::RwLockWriteGuard<'static, Option<LogSink>>>;

/// Route core logging to `sink` for events at `max_level` or more severe.
/// `None` removes the sink; when this returns, the previous sink is not
/// running and will not be called again (unless this is called from inside
/// it, which is refused). Fails only if another global `tracing`
/// subscriber was installed by someone else first.
pub fn set_log_sink(max_level: LogLevel, sink: Option<LogSink>) -> Result<()> {
    if IN_SINK.with(|c| c.get()) {
        return Err(Error::InvalidArgument(
            "set_log_sink cannot be called from inside a log sink".into(),
        ));
    }
    let installed = INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(SinkLayer);
        tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
    });
    if let Err(e) = installed {
        return Err(Error::InvalidArgument(format!(
            "cannot install the bridgehost log bridge: {e}"
        )));
    }
    MAX_LEVEL.store(max_level as u8, Ordering::Relaxed);
    *SINK.write() = sink;
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}
