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

/// Receives `(level, target, message)`, the message with the record's fields appended as
/// ` name=value` ([`LogRecord::text`]). Called on whatever thread logged; must not block for
/// long and must not panic (a panic is caught).
pub type LogSink = Arc<dyn Fn(LogLevel, &str, &str) + Send + Sync>;

/// Receives each record with its fields kept apart ([`set_record_sink`]), for a front end
/// whose logging has structured records (Python's `LogRecord` attributes). Same rules as
/// [`LogSink`].
pub type RecordSink = Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>;

/// The value of one structured field of a [`LogRecord`].
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Text (a `%display` or `?debug` field is formatted to text).
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    F64(f64),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Str(s) => f.write_str(s),
            FieldValue::I64(v) => write!(f, "{v}"),
            FieldValue::U64(v) => write!(f, "{v}"),
            FieldValue::Bool(v) => write!(f, "{v}"),
            FieldValue::F64(v) => write!(f, "{v:?}"),
        }
    }
}

/// One core log record: its message and its structured fields (e.g. `module`, `pid`).
#[derive(Debug)]
pub struct LogRecord<'a> {
    /// Severity.
    pub level: LogLevel,
    /// Where it comes from (`bridgehost::module`, `bridgehost::isolation`, ...).
    pub target: &'a str,
    /// The message, without the fields.
    pub message: &'a str,
    /// The fields, in the order they were recorded.
    pub fields: &'a [(&'static str, FieldValue)],
}

impl LogRecord<'_> {
    /// The message with every field appended as ` name=value`: what a [`LogSink`] receives.
    pub fn text(&self) -> String {
        let mut s = self.message.to_string();
        for (name, value) in self.fields {
            let _ = write!(s, " {name}={value}");
        }
        s
    }
}

static SINK: RwLock<Option<RecordSink>> = RwLock::new(None);
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);
static INSTALLED: OnceCell<std::result::Result<(), String>> = OnceCell::new();

thread_local! {
    static IN_SINK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct SinkLayer;

/// Collects an event's message and its fields apart.
#[derive(Default)]
struct RecordVisitor {
    message: String,
    fields: Vec<(&'static str, FieldValue)>,
}

impl Visit for RecordVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields
                .push((field.name(), FieldValue::Str(format!("{value:?}"))));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields
                .push((field.name(), FieldValue::Str(value.to_string())));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), FieldValue::I64(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), FieldValue::U64(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), FieldValue::Bool(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.push((field.name(), FieldValue::F64(value)));
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
        let mut rec = RecordVisitor::default();
        event.record(&mut rec);
        let record = LogRecord {
            level: LogLevel::of(event.metadata().level()),
            target: event.metadata().target(),
            message: &rec.message,
            fields: &rec.fields,
        };
        let was = IN_SINK.with(|c| c.replace(true));
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(&record)));
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
pub(crate) type SinkForkLock =
    RankedGuard<std::sync::RwLockWriteGuard<'static, Option<RecordSink>>>;

/// Route core logging to `sink` for events at `max_level` or more severe.
/// `None` removes the sink; when this returns, the previous sink is not
/// running and will not be called again (unless this is called from inside
/// it, which is refused). Fails only if another global `tracing`
/// subscriber was installed by someone else first.
pub fn set_log_sink(max_level: LogLevel, sink: Option<LogSink>) -> Result<()> {
    set_record_sink(
        max_level,
        sink.map(|f| -> RecordSink {
            Arc::new(move |r: &LogRecord<'_>| f(r.level, r.target, &r.text()))
        }),
    )
}

/// [`set_log_sink`] for a sink that takes each record with its fields kept apart.
pub fn set_record_sink(max_level: LogLevel, sink: Option<RecordSink>) -> Result<()> {
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
