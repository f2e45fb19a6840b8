//! Wire formats between the host and a worker, and the host's decoders.
//!
//! Two channels connect them:
//!
//! * a `SOCK_SEQPACKET` socket for messages that are not on the call path:
//!   host → worker `INIT` and `MAP` (shared-memory descriptors); worker → host
//!   records `HELLO`, `INIT_ERROR`, `EVENT`, `LOG`, `LAST_WORDS`. A record may
//!   span several datagrams (`FIRST`/`LAST` flags) so that events up to
//!   `max_event` fit whatever the socket buffer size.
//! * a shared-memory control block for calls: request and response headers,
//!   two inline data areas, and futex words (see [`ctl`]).
//!
//! Everything a worker sends is untrusted. The host decodes it with the
//! functions here, which check every id, length, count and status against
//! what the host expects and never panic on any input: a violation is a
//! [`ProtoError`], and the host kills the worker. The fuzz target
//! (`fuzz/fuzz_targets/host_decoder.rs`) drives [`fuzz_host_decoder`].
//! All integers are little-endian.
#![forbid(unsafe_code)]

use crate::error::Error;
use crate::ffi::loader::{MethodInfo, ThreadModel};
use bridgehost_module_abi as abi;
use std::collections::HashSet;

/// Protocol version carried in `INIT`; a worker refuses any other.
pub(crate) const PROTOCOL_VERSION: u32 = 1;
/// Largest datagram either side sends (and the host's receive buffer).
pub(crate) const MAX_PACKET: usize = 64 * 1024;
/// Datagram header: kind u8, flags u8, reserved u16, total_len u32.
pub(crate) const PACKET_HEADER: usize = 8;
/// Largest `HELLO` record (1024 methods of 128-byte names fit easily, plus
/// the module's typed interface text of at most `INTERFACE_MAX_TEXT` bytes).
pub(crate) const MAX_HELLO: usize = 256 * 1024 + abi::INTERFACE_MAX_TEXT + 64;
/// Longest message in `LOG` / `INIT_ERROR` / a module error.
pub(crate) const MAX_MESSAGE: usize = crate::ffi::callbacks::MAX_MESSAGE_LEN;

/// Datagram flag: first fragment of a record.
pub(crate) const FLAG_FIRST: u8 = 1;
/// Datagram flag: last fragment of a record.
pub(crate) const FLAG_LAST: u8 = 2;

/// Worker → host: the module loaded and its instance is ready.
pub(crate) const REC_HELLO: u8 = 1;
/// Worker → host: loading or initialising the module failed.
pub(crate) const REC_INIT_ERROR: u8 = 2;
/// Worker → host: a batch of events emitted by the module (and a count of
/// events the worker's queue dropped).
pub(crate) const REC_EVENTS: u8 = 3;
/// Most events in one `EVENTS` record.
pub(crate) const MAX_BATCH: usize = 65_536;
/// The worker stops adding events to a batch past this many bytes (a single
/// larger event travels alone).
pub(crate) const BATCH_BYTES: usize = 60 * 1024;
/// Worker → host: a module log message.
pub(crate) const REC_LOG: u8 = 4;
/// Worker → host: sent by the crash handler just before the worker dies.
pub(crate) const REC_LAST_WORDS: u8 = 5;
/// Worker → host: `INIT` accepted; the worker is about to load the module.
pub(crate) const REC_STARTED: u8 = 6;
/// Host → worker: start-up parameters (+ descriptors).
pub(crate) const MSG_INIT: u8 = 10;
/// Host → worker: a shared-memory region (+ its descriptor).
pub(crate) const MSG_MAP: u8 = 11;

/// A protocol violation by the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtoError(pub(crate) String);

impl ProtoError {
    fn new(msg: impl Into<String>) -> ProtoError {
        ProtoError(msg.into())
    }
}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Error {
        Error::Protocol(e.0)
    }
}

type PResult<T> = Result<T, ProtoError>;

// ------------------------------------------------------------ byte cursor

/// Reads fields from an untrusted buffer; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &str) -> PResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| ProtoError::new(format!("{what}: truncated")))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self, what: &str) -> PResult<u8> {
        Ok(self.bytes(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> PResult<u16> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: &str) -> PResult<u32> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn i32(&mut self, what: &str) -> PResult<i32> {
        Ok(self.u32(what)? as i32)
    }

    pub(crate) fn u64(&mut self, what: &str) -> PResult<u64> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// A u16-length-prefixed UTF-8 string of at most `max` bytes.
    pub(crate) fn str16(&mut self, max: usize, what: &str) -> PResult<&'a str> {
        let n = self.u16(what)? as usize;
        if n > max {
            return Err(ProtoError::new(format!("{what}: {n} bytes exceeds {max}")));
        }
        std::str::from_utf8(self.bytes(n, what)?)
            .map_err(|_| ProtoError::new(format!("{what}: not UTF-8")))
    }
}

/// Appends little-endian fields.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.u32(v as u32)
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// u16 length + bytes, truncated to `max` bytes at a char boundary.
    pub(crate) fn str16(&mut self, s: &str, max: usize) -> &mut Self {
        let mut end = s.len().min(max).min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.u16(end as u16).bytes(&s.as_bytes()[..end])
    }
}

// ------------------------------------------------------------ datagrams

/// Split a record into datagrams of at most [`MAX_PACKET`] bytes.
pub(crate) fn fragment(kind: u8, payload: &[u8]) -> Vec<Vec<u8>> {
    let room = MAX_PACKET - PACKET_HEADER;
    let total = payload.len() as u32;
    let mut out = Vec::new();
    let mut chunks: Vec<&[u8]> = payload.chunks(room).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (i, c) in chunks.into_iter().enumerate() {
        let mut flags = 0;
        if i == 0 {
            flags |= FLAG_FIRST;
        }
        if i == last {
            flags |= FLAG_LAST;
        }
        let mut w = Writer::default();
        w.u8(kind)
            .u8(flags)
            .u16(0)
            .u32(if i == 0 { total } else { 0 })
            .bytes(c);
        out.push(w.buf);
    }
    out
}

/// Per-kind size limits the host enforces on records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The module's `max_event`.
    pub(crate) max_event: usize,
}

impl Limits {
    fn max_record(&self, kind: u8) -> Option<usize> {
        match kind {
            REC_HELLO => Some(MAX_HELLO),
            REC_INIT_ERROR => Some(2 * MAX_MESSAGE + 4096 + 32),
            // dropped u32 + count u32 + one event (topic u16 + topic + len u32 +
            // data) or a batch of small ones.
            REC_EVENTS => {
                Some(8 + 6 + crate::events::MAX_TOPIC_LEN + self.max_event.max(BATCH_BYTES))
            }
            REC_LOG => Some(4 + 2 + MAX_MESSAGE),
            REC_LAST_WORDS => Some(LastWords::PAYLOAD),
            REC_STARTED => Some(0),
            _ => None,
        }
    }
}

struct Partial {
    kind: u8,
    total: usize,
    buf: Vec<u8>,
}

/// Reassembles worker → host records from datagrams, enforcing sizes
/// before any allocation.
#[derive(Default)]
pub(crate) struct Reassembler {
    partial: Option<Partial>,
}

impl Reassembler {
    /// Feed one datagram; returns a complete record (kind, payload) when the
    /// datagram finished one.
    pub(crate) fn push(
        &mut self,
        packet: &[u8],
        limits: &Limits,
    ) -> PResult<Option<(u8, Vec<u8>)>> {
        if packet.len() < PACKET_HEADER {
            return Err(ProtoError::new(format!(
                "datagram of {} bytes is shorter than its header",
                packet.len()
            )));
        }
        if packet.len() > MAX_PACKET {
            return Err(ProtoError::new("datagram exceeds the maximum size"));
        }
        let mut r = Reader::new(packet);
        let kind = r.u8("kind")?;
        let flags = r.u8("flags")?;
        let reserved = r.u16("reserved")?;
        let total = r.u32("total")? as usize;
        let body = r.rest();
        if flags & !(FLAG_FIRST | FLAG_LAST) != 0 || reserved != 0 {
            return Err(ProtoError::new("unknown datagram flags"));
        }
        let max = limits
            .max_record(kind)
            .ok_or_else(|| ProtoError::new(format!("unknown record kind {kind}")))?;
        if flags & FLAG_FIRST != 0 {
            if self.partial.is_some() {
                return Err(ProtoError::new(
                    "a record started before the previous one ended",
                ));
            }
            if total > max {
                return Err(ProtoError::new(format!(
                    "record kind {kind} of {total} bytes exceeds {max}"
                )));
            }
            if body.len() > total {
                return Err(ProtoError::new("fragment longer than its record"));
            }
            if flags & FLAG_LAST != 0 {
                if body.len() != total {
                    return Err(ProtoError::new("record shorter than announced"));
                }
                return Ok(Some((kind, body.to_vec())));
            }
            let mut buf = Vec::with_capacity(total.min(MAX_PACKET * 4));
            buf.extend_from_slice(body);
            self.partial = Some(Partial { kind, total, buf });
            return Ok(None);
        }
        let p = self
            .partial
            .as_mut()
            .ok_or_else(|| ProtoError::new("continuation without a first fragment"))?;
        if p.kind != kind || total != 0 {
            return Err(ProtoError::new("continuation does not match its record"));
        }
        if p.buf.len() + body.len() > p.total {
            return Err(ProtoError::new(
                "fragments exceed the announced record size",
            ));
        }
        p.buf.extend_from_slice(body);
        if flags & FLAG_LAST != 0 {
            let p = self.partial.take().expect("checked above");
            if p.buf.len() != p.total {
                return Err(ProtoError::new("record shorter than announced"));
            }
            return Ok(Some((p.kind, p.buf)));
        }
        Ok(None)
    }
}

// ------------------------------------------------------------ records

/// What a worker's `HELLO` says about its module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) abi_version: u32,
    pub(crate) thread_model: ThreadModel,
    /// `BH_MODULE_STATEFUL` was set in the descriptor.
    pub(crate) stateful: bool,
    pub(crate) methods: Vec<MethodInfo>,
    /// The module's typed interface as the worker read it: WIT text and
    /// declared hash. Re-validated by the host (`crate::interface`).
    pub(crate) interface: Option<(String, [u8; 32])>,
}

impl Hello {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(self.abi_version)
            .u32(self.thread_model.to_abi())
            .str16(&self.name, abi::MAX_NAME_LEN)
            .str16(&self.version, abi::MAX_NAME_LEN)
            .u32(self.methods.len() as u32);
        for m in &self.methods {
            w.str16(&m.name, abi::MAX_NAME_LEN).u32(m.flags);
        }
        w.u32(if self.stateful {
            abi::MODULE_STATEFUL
        } else {
            0
        });
        match &self.interface {
            None => {
                w.u8(0);
            }
            Some((text, hash)) => {
                w.u8(1)
                    .u32(text.len() as u32)
                    .bytes(text.as_bytes())
                    .bytes(hash);
            }
        }
        w.buf
    }

    /// Decode and validate with the same rules the loader applies to a
    /// descriptor: the worker is not trusted to have done so.
    pub(crate) fn decode(payload: &[u8]) -> PResult<Hello> {
        let mut r = Reader::new(payload);
        let abi_version = r.u32("abi_version")?;
        if abi_version != abi::ABI_VERSION {
            return Err(ProtoError::new(format!("hello: ABI version {abi_version}")));
        }
        let tm = r.u32("thread_model")?;
        let thread_model = ThreadModel::from_abi(tm)
            .ok_or_else(|| ProtoError::new(format!("hello: thread model {tm}")))?;
        let name = valid_name(r.str16(abi::MAX_NAME_LEN, "module name")?, "module name")?;
        let version = valid_name(
            r.str16(abi::MAX_NAME_LEN, "module version")?,
            "module version",
        )?;
        let count = r.u32("method count")?;
        if count == 0 || count > abi::MAX_METHODS {
            return Err(ProtoError::new(format!("hello: method count {count}")));
        }
        let mut methods = Vec::with_capacity(count as usize);
        let mut seen = HashSet::new();
        for _ in 0..count {
            let mname = valid_name(r.str16(abi::MAX_NAME_LEN, "method name")?, "method name")?;
            let flags = r.u32("method flags")?;
            if flags & !abi::METHOD_KNOWN_FLAGS != 0 {
                return Err(ProtoError::new(format!(
                    "hello: method {mname:?} has unknown flags"
                )));
            }
            if !seen.insert(mname.clone()) {
                return Err(ProtoError::new(format!(
                    "hello: duplicate method {mname:?}"
                )));
            }
            methods.push(MethodInfo { name: mname, flags });
        }
        let module_flags = r.u32("module flags")?;
        if module_flags & !abi::MODULE_KNOWN_FLAGS != 0 {
            return Err(ProtoError::new(format!(
                "hello: unknown module flags 0x{module_flags:x}"
            )));
        }
        let interface = match r.u8("interface tag")? {
            0 => None,
            1 => {
                let len = r.u32("interface length")? as usize;
                if len == 0 || len > abi::INTERFACE_MAX_TEXT {
                    return Err(ProtoError::new(format!("hello: interface length {len}")));
                }
                let text = std::str::from_utf8(r.bytes(len, "interface text")?)
                    .map_err(|_| ProtoError::new("hello: interface text is not UTF-8"))?
                    .to_string();
                let mut hash = [0u8; 32];
                hash.copy_from_slice(r.bytes(32, "interface hash")?);
                Some((text, hash))
            }
            t => return Err(ProtoError::new(format!("hello: interface tag {t}"))),
        };
        if !r.is_empty() {
            return Err(ProtoError::new("hello: trailing bytes"));
        }
        Ok(Hello {
            name,
            version,
            abi_version,
            thread_model,
            stateful: module_flags & abi::MODULE_STATEFUL != 0,
            methods,
            interface,
        })
    }
}

fn valid_name(s: &str, what: &str) -> PResult<String> {
    if s.is_empty() || s.contains('\0') {
        return Err(ProtoError::new(format!(
            "hello: {what} is empty or contains NUL"
        )));
    }
    Ok(s.to_string())
}

/// Encode an error the worker hit while starting (load / init).
pub(crate) fn encode_init_error(e: &Error) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(e.kind().code() as u32).u64(e.detail_code() as u64);
    match e {
        Error::AbiMismatch { path, reason } => w.str16(path, 4096).str16(reason, MAX_MESSAGE),
        Error::Module { message, .. }
        | Error::NotFound(message)
        | Error::InvalidArgument(message)
        | Error::ResourceLimit(message)
        | Error::Internal(message) => w.str16("", 0).str16(message, MAX_MESSAGE),
        other => w.str16("", 0).str16(&other.to_string(), MAX_MESSAGE),
    };
    w.buf
}

/// Decode a start-up error. Only the kinds a worker can legitimately report
/// are accepted; the message is kept as text.
pub(crate) fn decode_init_error(payload: &[u8]) -> PResult<Error> {
    use crate::error::ErrorKind as K;
    let mut r = Reader::new(payload);
    let code = r.u32("kind")? as i32;
    let detail = r.u64("detail")? as i64;
    let a = r.str16(4096, "path")?.to_string();
    let b = r.str16(MAX_MESSAGE, "message")?.to_string();
    if !r.is_empty() {
        return Err(ProtoError::new("init error: trailing bytes"));
    }
    let kind =
        K::from_code(code).ok_or_else(|| ProtoError::new(format!("init error: kind {code}")))?;
    Ok(match kind {
        K::AbiMismatch => Error::AbiMismatch { path: a, reason: b },
        K::Module => {
            let code = i32::try_from(detail)
                .ok()
                .filter(|&c| c != 0)
                .ok_or_else(|| ProtoError::new("init error: module error code out of range"))?;
            Error::Module { code, message: b }
        }
        K::NotFound => Error::NotFound(b),
        K::InvalidArgument => Error::InvalidArgument(b),
        K::ResourceLimit => Error::ResourceLimit(b),
        K::Internal => Error::Internal(b),
        other => {
            return Err(ProtoError::new(format!(
                "init error: kind {other} is not a start-up error"
            )))
        }
    })
}

/// One event in an `EVENTS` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventRecord {
    pub(crate) topic: String,
    pub(crate) data: Vec<u8>,
}

/// A decoded `EVENTS` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventBatch {
    /// Events the worker's queue dropped (full) since its previous record.
    pub(crate) dropped: u32,
    pub(crate) events: Vec<EventRecord>,
}

/// Encoded size of one event inside a batch.
pub(crate) fn event_size(topic: &str, data: &[u8]) -> usize {
    6 + topic.len() + data.len()
}

/// Encode an `EVENTS` record.
pub(crate) fn encode_events<'a>(
    dropped: u32,
    events: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(dropped).u32(events.len() as u32);
    for (topic, data) in events {
        w.str16(topic, crate::events::MAX_TOPIC_LEN)
            .u32(data.len() as u32)
            .bytes(data);
    }
    w.buf
}

/// Decode and validate an `EVENTS` record: every topic 1..=128 bytes of
/// UTF-8, every payload at most `max_event`, nothing left over.
pub(crate) fn decode_events(payload: &[u8], limits: &Limits) -> PResult<EventBatch> {
    let mut r = Reader::new(payload);
    let dropped = r.u32("dropped")?;
    let count = r.u32("event count")? as usize;
    if count > MAX_BATCH {
        return Err(ProtoError::new(format!("{count} events in one record")));
    }
    let mut events = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let topic = r.str16(crate::events::MAX_TOPIC_LEN, "topic")?;
        if topic.is_empty() {
            return Err(ProtoError::new("event: empty topic"));
        }
        let n = r.u32("event size")? as usize;
        if n > limits.max_event {
            return Err(ProtoError::new(format!(
                "event of {n} bytes exceeds max_event"
            )));
        }
        let data = r.bytes(n, "event data")?.to_vec();
        events.push(EventRecord {
            topic: topic.to_string(),
            data,
        });
    }
    if !r.is_empty() {
        return Err(ProtoError::new("events: trailing bytes"));
    }
    Ok(EventBatch { dropped, events })
}

pub(crate) fn encode_log(level: i32, msg: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.i32(level).str16(msg, MAX_MESSAGE);
    w.buf
}

pub(crate) fn decode_log(payload: &[u8]) -> PResult<(i32, String)> {
    let mut r = Reader::new(payload);
    let level = r.i32("level")?;
    let msg = r.str16(MAX_MESSAGE, "log message")?.to_string();
    if !r.is_empty() {
        return Err(ProtoError::new("log: trailing bytes"));
    }
    Ok((level, msg))
}

/// What the worker's crash handler reports before dying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LastWords {
    pub(crate) signal: i32,
    pub(crate) code: i32,
    pub(crate) errno: i32,
    pub(crate) vm_peak_kib: u64,
    pub(crate) vm_size_kib: u64,
    pub(crate) fault_addr: u64,
}

impl LastWords {
    pub(crate) const PAYLOAD: usize = 12 + 24;
    pub(crate) const PACKET: usize = PACKET_HEADER + Self::PAYLOAD;

    /// One complete datagram. No allocation: called from a signal handler.
    pub(crate) fn encode(&self) -> [u8; Self::PACKET] {
        let mut b = [0u8; Self::PACKET];
        b[0] = REC_LAST_WORDS;
        b[1] = FLAG_FIRST | FLAG_LAST;
        b[4..8].copy_from_slice(&(Self::PAYLOAD as u32).to_le_bytes());
        b[8..12].copy_from_slice(&self.signal.to_le_bytes());
        b[12..16].copy_from_slice(&self.code.to_le_bytes());
        b[16..20].copy_from_slice(&self.errno.to_le_bytes());
        b[20..28].copy_from_slice(&self.vm_peak_kib.to_le_bytes());
        b[28..36].copy_from_slice(&self.vm_size_kib.to_le_bytes());
        b[36..44].copy_from_slice(&self.fault_addr.to_le_bytes());
        b
    }

    pub(crate) fn decode(payload: &[u8]) -> PResult<LastWords> {
        let mut r = Reader::new(payload);
        let w = LastWords {
            signal: r.i32("signal")?,
            code: r.i32("code")?,
            errno: r.i32("errno")?,
            vm_peak_kib: r.u64("vm_peak")?,
            vm_size_kib: r.u64("vm_size")?,
            fault_addr: r.u64("fault_addr")?,
        };
        if !r.is_empty() {
            return Err(ProtoError::new("last words: trailing bytes"));
        }
        Ok(w)
    }
}

/// A decoded worker → host record.
#[derive(Debug)]
pub(crate) enum Record {
    Hello(Hello),
    InitError(Error),
    Events(EventBatch),
    Log(i32, String),
    LastWords(LastWords),
    Started,
}

/// Decode a reassembled record.
pub(crate) fn decode_record(kind: u8, payload: Vec<u8>, limits: &Limits) -> PResult<Record> {
    Ok(match kind {
        REC_HELLO => Record::Hello(Hello::decode(&payload)?),
        REC_INIT_ERROR => Record::InitError(decode_init_error(&payload)?),
        REC_EVENTS => Record::Events(decode_events(&payload, limits)?),
        REC_LOG => {
            let (l, m) = decode_log(&payload)?;
            Record::Log(l, m)
        }
        REC_LAST_WORDS => Record::LastWords(LastWords::decode(&payload)?),
        REC_STARTED if payload.is_empty() => Record::Started,
        k => return Err(ProtoError::new(format!("unknown record kind {k}"))),
    })
}

// ------------------------------------------------------------ host → worker

/// Start-up parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Init {
    pub(crate) host_pid: i32,
    pub(crate) sandbox: bool,
    /// Load and validate the module, send HELLO, create no instance (run no
    /// `init`), and wait for SHUTDOWN: the "validate" request.
    pub(crate) validate_only: bool,
    /// RLIMIT_AS (0: unlimited).
    pub(crate) memory_limit: u64,
    /// RLIMIT_CPU soft limit, seconds (0: unlimited).
    pub(crate) cpu_limit_secs: u64,
    pub(crate) open_files: u64,
    pub(crate) max_event: u64,
    pub(crate) config_len: u64,
    pub(crate) path: String,
}

impl Init {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(MSG_INIT)
            .u8(FLAG_FIRST | FLAG_LAST)
            .u16(0)
            .u32(0)
            .u32(PROTOCOL_VERSION)
            .i32(self.host_pid)
            .u32(u32::from(self.sandbox) | (u32::from(self.validate_only) << 1))
            .u64(self.memory_limit)
            .u64(self.cpu_limit_secs)
            .u64(self.open_files)
            .u64(self.max_event)
            .u64(self.config_len)
            .str16(&self.path, 4096);
        w.buf
    }

    pub(crate) fn decode(packet: &[u8]) -> PResult<Init> {
        let mut r = Reader::new(packet);
        if r.u8("kind")? != MSG_INIT {
            return Err(ProtoError::new("expected INIT"));
        }
        r.bytes(7, "header")?;
        let version = r.u32("version")?;
        if version != PROTOCOL_VERSION {
            return Err(ProtoError::new(format!(
                "protocol version {version}, worker speaks {PROTOCOL_VERSION}"
            )));
        }
        let host_pid = r.i32("host pid")?;
        let flags = r.u32("flags")?;
        if flags & !3 != 0 {
            return Err(ProtoError::new(format!("unknown INIT flags 0x{flags:x}")));
        }
        let init = Init {
            host_pid,
            sandbox: flags & 1 != 0,
            validate_only: flags & 2 != 0,
            memory_limit: r.u64("memory limit")?,
            cpu_limit_secs: r.u64("cpu limit")?,
            open_files: r.u64("open files")?,
            max_event: r.u64("max event")?,
            config_len: r.u64("config len")?,
            path: r.str16(4096, "path")?.to_string(),
        };
        Ok(init)
    }
}

/// Which shared region a `MAP` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegionKind {
    Input = 0,
    Output = 1,
}

/// A shared region announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapMsg {
    pub(crate) kind: RegionKind,
    pub(crate) gen: u32,
    pub(crate) size: u64,
}

impl MapMsg {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(MSG_MAP)
            .u8(FLAG_FIRST | FLAG_LAST)
            .u16(0)
            .u32(0)
            .u32(self.kind as u32)
            .u32(self.gen)
            .u64(self.size);
        w.buf
    }

    pub(crate) fn decode(packet: &[u8]) -> PResult<MapMsg> {
        let mut r = Reader::new(packet);
        if r.u8("kind")? != MSG_MAP {
            return Err(ProtoError::new("expected MAP"));
        }
        r.bytes(7, "header")?;
        let kind = match r.u32("region kind")? {
            0 => RegionKind::Input,
            1 => RegionKind::Output,
            k => return Err(ProtoError::new(format!("region kind {k}"))),
        };
        Ok(MapMsg {
            kind,
            gen: r.u32("gen")?,
            size: r.u64("size")?,
        })
    }
}

// ------------------------------------------------------------ control block

/// Layout of the shared control block (one per worker, created by the host).
pub(crate) mod ctl {
    /// "BHCTL001".
    pub(crate) const MAGIC: u64 = 0x3130_304c_5443_4842;
    /// Offset of the magic (u64, written by the host).
    pub(crate) const OFF_MAGIC: usize = 0;
    /// Host → worker message counter (futex word).
    pub(crate) const OFF_TO_WORKER: usize = 64;
    /// 1 while the worker sleeps (or is about to) on `TO_WORKER`.
    pub(crate) const OFF_WORKER_PARKED: usize = 68;
    /// Sequence number of the call the worker started running.
    pub(crate) const OFF_ACCEPTED: usize = 72;
    /// Worker → host message counter (futex word), its own cache line.
    pub(crate) const OFF_TO_HOST: usize = 128;
    /// 1 while the host sleeps (or is about to) on `TO_HOST`.
    pub(crate) const OFF_HOST_PARKED: usize = 132;
    /// Request header (host → worker).
    pub(crate) const OFF_REQ: usize = 256;
    /// Response header (worker → host).
    pub(crate) const OFF_RESP: usize = 512;
    /// Inline request data.
    pub(crate) const OFF_REQ_DATA: usize = 4096;
    /// Inline data capacity, each direction.
    pub(crate) const INLINE_CAP: usize = 64 * 1024;
    /// Inline response data (output, or an error message).
    pub(crate) const OFF_RESP_DATA: usize = OFF_REQ_DATA + INLINE_CAP;
    /// Total size.
    pub(crate) const SIZE: usize = OFF_RESP_DATA + INLINE_CAP;
}

/// Request header length.
pub(crate) const REQ_LEN: usize = 48;
/// Response header length.
pub(crate) const RESP_LEN: usize = 48;

/// Request ops.
pub(crate) const OP_CALL: u32 = 1;
pub(crate) const OP_GROW_OK: u32 = 2;
pub(crate) const OP_GROW_DENIED: u32 = 3;
pub(crate) const OP_SHUTDOWN: u32 = 4;
/// Response ops.
pub(crate) const OP_RESULT: u32 = 1;
pub(crate) const OP_GROW: u32 = 2;

/// Result statuses.
pub(crate) const ST_OK: u32 = 0;
pub(crate) const ST_MODULE_ERROR: u32 = 1;
pub(crate) const ST_TOO_LARGE: u32 = 2;
pub(crate) const ST_BAD_METHOD: u32 = 3;
pub(crate) const ST_INTERNAL: u32 = 4;
pub(crate) const ST_RESOURCE: u32 = 5;

/// Where data lives.
pub(crate) const LOC_INLINE: u32 = 0;
pub(crate) const LOC_REGION: u32 = 1;

/// Host → worker request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Request {
    pub(crate) op: u32,
    pub(crate) seq: u32,
    pub(crate) method: u32,
    pub(crate) input_loc: u32,
    pub(crate) input_len: u64,
    /// Current input region generation (0: none).
    pub(crate) in_gen: u32,
    /// Current output region generation (0: none).
    pub(crate) out_gen: u32,
    /// Its size.
    pub(crate) out_cap: u64,
    pub(crate) max_output: u64,
}

impl Request {
    pub(crate) fn encode(&self) -> [u8; REQ_LEN] {
        let mut w = Writer::default();
        w.u32(self.op)
            .u32(self.seq)
            .u32(self.method)
            .u32(self.input_loc)
            .u64(self.input_len)
            .u32(self.in_gen)
            .u32(self.out_gen)
            .u64(self.out_cap)
            .u64(self.max_output);
        let mut b = [0u8; REQ_LEN];
        b[..w.buf.len()].copy_from_slice(&w.buf);
        b
    }

    pub(crate) fn decode(b: &[u8; REQ_LEN]) -> PResult<Request> {
        let mut r = Reader::new(b);
        Ok(Request {
            op: r.u32("op")?,
            seq: r.u32("seq")?,
            method: r.u32("method")?,
            input_loc: r.u32("input loc")?,
            input_len: r.u64("input len")?,
            in_gen: r.u32("in gen")?,
            out_gen: r.u32("out gen")?,
            out_cap: r.u64("out cap")?,
            max_output: r.u64("max output")?,
        })
    }
}

/// Worker → host response header, as raw fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RawResponse {
    pub(crate) op: u32,
    pub(crate) seq: u32,
    pub(crate) status: u32,
    pub(crate) code: i32,
    pub(crate) output_len: u64,
    pub(crate) output_loc: u32,
    pub(crate) out_gen: u32,
    pub(crate) msg_len: u32,
    pub(crate) grow_need: u64,
    /// Events the worker had accepted from the module when it answered
    /// (wrapping count since the worker started).
    pub(crate) events: u32,
}

impl RawResponse {
    pub(crate) fn encode(&self) -> [u8; RESP_LEN] {
        let mut w = Writer::default();
        w.u32(self.op)
            .u32(self.seq)
            .u32(self.status)
            .i32(self.code)
            .u64(self.output_len)
            .u32(self.output_loc)
            .u32(self.out_gen)
            .u32(self.msg_len)
            .u32(self.events)
            .u64(self.grow_need);
        let mut b = [0u8; RESP_LEN];
        b[..w.buf.len()].copy_from_slice(&w.buf);
        b
    }

    fn decode(b: &[u8; RESP_LEN]) -> RawResponse {
        let mut r = Reader::new(b);
        // RESP_LEN covers every field: these reads cannot fail.
        let mut f = || r.u32("").unwrap_or(0);
        let op = f();
        let seq = f();
        let status = f();
        let code = f() as i32;
        let lo = f();
        let hi = f();
        let output_len = u64::from(lo) | (u64::from(hi) << 32);
        let output_loc = f();
        let out_gen = f();
        let msg_len = f();
        let events = f();
        let lo = f();
        let hi = f();
        RawResponse {
            op,
            seq,
            status,
            code,
            output_len,
            output_loc,
            out_gen,
            msg_len,
            grow_need: u64::from(lo) | (u64::from(hi) << 32),
            events,
        }
    }
}

/// The worker's accepted-event count in a response header. Not validated:
/// a lying count can only make `flush` wait for events that never come,
/// until its deadline.
pub(crate) fn response_events(b: &[u8; RESP_LEN]) -> u32 {
    RawResponse::decode(b).events
}

/// What the host expects of the next response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect {
    pub(crate) seq: u32,
    /// The output region the worker may use (gen 0: none) and its size.
    pub(crate) out_gen: u32,
    pub(crate) out_cap: u64,
    pub(crate) max_output: u64,
}

/// Where a successful result's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputAt {
    Inline(usize),
    Region(usize),
}

/// A validated response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Response {
    /// The worker needs an output region of at least `need` bytes.
    Grow { need: u64 },
    /// The call succeeded.
    Ok(OutputAt),
    /// The call failed; the message (`msg_len` bytes) is inline.
    Failed {
        status: u32,
        code: i32,
        msg_len: usize,
    },
}

/// Validate a response header copied out of shared memory.
pub(crate) fn decode_response(b: &[u8; RESP_LEN], e: &Expect) -> PResult<Response> {
    let r = RawResponse::decode(b);
    if r.seq != e.seq {
        return Err(ProtoError::new(format!(
            "response for call {} while call {} is running",
            r.seq, e.seq
        )));
    }
    match r.op {
        OP_GROW => {
            if r.grow_need <= e.out_cap
                || r.grow_need > e.max_output
                || r.grow_need > isize::MAX as u64
            {
                return Err(ProtoError::new(format!(
                    "asked for an output region of {} bytes (current {}, max_output {})",
                    r.grow_need, e.out_cap, e.max_output
                )));
            }
            if r.grow_need <= ctl::INLINE_CAP as u64 && e.out_cap == 0 {
                return Err(ProtoError::new(
                    "asked for an output region for output that fits inline",
                ));
            }
            Ok(Response::Grow { need: r.grow_need })
        }
        OP_RESULT => match r.status {
            ST_OK => {
                let len = usize::try_from(r.output_len)
                    .ok()
                    .filter(|&l| l as u64 <= e.max_output)
                    .ok_or_else(|| {
                        ProtoError::new(format!(
                            "output of {} bytes exceeds max_output",
                            r.output_len
                        ))
                    })?;
                match r.output_loc {
                    LOC_INLINE if len <= ctl::INLINE_CAP => Ok(Response::Ok(OutputAt::Inline(len))),
                    LOC_REGION if r.out_gen == e.out_gen && e.out_gen != 0 && (len as u64) <= e.out_cap => {
                        Ok(Response::Ok(OutputAt::Region(len)))
                    }
                    loc => Err(ProtoError::new(format!(
                        "output of {len} bytes at location {loc} (region {}) is outside what the host provided",
                        r.out_gen
                    ))),
                }
            }
            ST_MODULE_ERROR | ST_TOO_LARGE | ST_BAD_METHOD | ST_INTERNAL | ST_RESOURCE => {
                let msg_len = r.msg_len as usize;
                if msg_len > MAX_MESSAGE {
                    return Err(ProtoError::new(format!("error message of {msg_len} bytes")));
                }
                if r.status == ST_MODULE_ERROR && r.code == 0 {
                    return Err(ProtoError::new("module error with code 0"));
                }
                Ok(Response::Failed {
                    status: r.status,
                    code: r.code,
                    msg_len,
                })
            }
            s => Err(ProtoError::new(format!("unknown result status {s}"))),
        },
        op => Err(ProtoError::new(format!("unknown response op {op}"))),
    }
}

// ------------------------------------------------------------ fuzzing

/// Drive every host-side decoder with arbitrary bytes (the cargo-fuzz
/// target). Never panics; returns how many records decoded successfully.
#[doc(hidden)]
pub fn fuzz_host_decoder(data: &[u8]) -> usize {
    let limits = Limits { max_event: 4096 };
    let mut ok = 0;
    // A response header against a fixed expectation.
    if data.len() >= RESP_LEN {
        let mut b = [0u8; RESP_LEN];
        b.copy_from_slice(&data[..RESP_LEN]);
        let expect = Expect {
            seq: u32::from_le_bytes([data[4], data[5], data[6], data[7]]),
            out_gen: 1,
            out_cap: 1 << 20,
            max_output: 1 << 24,
        };
        if decode_response(&b, &expect).is_ok() {
            ok += 1;
        }
    }
    // A sequence of datagrams, each prefixed by a u16 length.
    let mut rest = data;
    let mut re = Reassembler::default();
    while rest.len() >= 2 {
        let n = (u16::from_le_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let packet = &rest[2..2 + n];
        rest = &rest[2 + n..];
        match re.push(packet, &limits) {
            Ok(Some((kind, payload))) => {
                if decode_record(kind, payload, &limits).is_ok() {
                    ok += 1;
                }
            }
            Ok(None) => {}
            Err(_) => re = Reassembler::default(),
        }
    }
    // Host → worker decoders (the worker's side) must not panic either.
    let _ = Init::decode(data);
    let _ = MapMsg::decode(data);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { max_event: 1 << 20 }
    }

    fn roundtrip(kind: u8, payload: &[u8]) -> (u8, Vec<u8>) {
        let mut re = Reassembler::default();
        let packets = fragment(kind, payload);
        let mut out = None;
        for (i, p) in packets.iter().enumerate() {
            assert!(p.len() <= MAX_PACKET);
            let r = re.push(p, &limits()).unwrap();
            if i + 1 < packets.len() {
                assert!(r.is_none());
            } else {
                out = r;
            }
        }
        out.unwrap()
    }

    #[test]
    fn records_fragment_and_reassemble() {
        let big = vec![7u8; 300_000];
        let ev = encode_events(3, [("tick", &big[..])].into_iter());
        let (k, p) = roundtrip(REC_EVENTS, &ev);
        assert_eq!(k, REC_EVENTS);
        let b = decode_events(&p, &limits()).unwrap();
        assert_eq!(b.dropped, 3);
        assert_eq!(
            (b.events[0].topic.as_str(), b.events[0].data.len()),
            ("tick", 300_000)
        );
        let small: Vec<(&str, &[u8])> = vec![("a", b"1"), ("bb", b""), ("c", b"333")];
        let (_, p) = roundtrip(REC_EVENTS, &encode_events(0, small.into_iter()));
        let b = decode_events(&p, &limits()).unwrap();
        assert_eq!(b.events.len(), 3);
        assert_eq!(
            (b.events[2].topic.as_str(), &b.events[2].data[..]),
            ("c", &b"333"[..])
        );
        // A drop report alone.
        let (_, p) = roundtrip(REC_EVENTS, &encode_events(9, std::iter::empty()));
        assert_eq!(
            decode_events(&p, &limits()).unwrap(),
            EventBatch {
                dropped: 9,
                events: vec![]
            }
        );
    }

    #[test]
    fn event_batches_are_validated() {
        let l = Limits { max_event: 10 };
        let ok = encode_events(0, [("t", &[1u8; 10][..])].into_iter());
        assert!(decode_events(&ok, &l).is_ok());
        let big = encode_events(0, [("t", &[1u8; 11][..])].into_iter());
        assert!(decode_events(&big, &l).is_err(), "over max_event");
        let empty_topic = encode_events(0, [("", &[1u8][..])].into_iter());
        assert!(decode_events(&empty_topic, &l).is_err());
        let mut lying = encode_events(0, [("t", &[1u8][..])].into_iter());
        lying[4] = 2; // claims two events, holds one
        assert!(decode_events(&lying, &l).is_err());
        let mut trailing = ok.clone();
        trailing.push(0);
        assert!(decode_events(&trailing, &l).is_err());
        let mut huge_count = ok;
        huge_count[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_events(&huge_count, &l).is_err());
        let mut w = Writer::default();
        w.u32(0).u32(1).u16(2).bytes(&[0xff, 0xfe]).u32(0);
        assert!(decode_events(&w.buf, &l).is_err(), "topic not UTF-8");
    }

    #[test]
    fn reassembler_rejects_malformed_streams() {
        let mut re = Reassembler::default();
        let l = limits();
        assert!(re.push(&[1, 2, 3], &l).is_err(), "short datagram");
        assert!(
            re.push(&[99, 3, 0, 0, 0, 0, 0, 0], &l).is_err(),
            "unknown kind"
        );
        assert!(
            re.push(&[REC_LOG, 7, 0, 0, 0, 0, 0, 0], &l).is_err(),
            "unknown flags"
        );
        assert!(
            re.push(&[REC_LOG, 0, 0, 0, 0, 0, 0, 0], &l).is_err(),
            "continuation first"
        );
        // Announced size above the kind's limit: refused before allocating.
        let mut p = vec![REC_HELLO, FLAG_FIRST, 0, 0];
        p.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(re.push(&p, &l).is_err());
        // A record that claims 10 bytes but ends after 4.
        let mut p = vec![REC_LOG, FLAG_FIRST | FLAG_LAST, 0, 0];
        p.extend_from_slice(&10u32.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        assert!(re.push(&p, &l).is_err());
        // Interleaved records.
        let mut first = vec![REC_LOG, FLAG_FIRST, 0, 0];
        first.extend_from_slice(&8u32.to_le_bytes());
        first.extend_from_slice(&[0, 0]);
        assert!(re.push(&first, &l).unwrap().is_none());
        assert!(re.push(&first, &l).is_err());
        // Fragments longer than announced.
        let mut re = Reassembler::default();
        assert!(re.push(&first, &l).unwrap().is_none());
        let mut cont = vec![REC_LOG, FLAG_LAST, 0, 0, 0, 0, 0, 0];
        cont.extend_from_slice(&[0u8; 20]);
        assert!(re.push(&cont, &l).is_err());
    }

    #[test]
    fn hello_validation() {
        let h = Hello {
            name: "m".into(),
            version: "1".into(),
            abi_version: 1,
            thread_model: ThreadModel::Serialized,
            stateful: false,
            methods: vec![
                MethodInfo {
                    name: "a".into(),
                    flags: 0,
                },
                MethodInfo {
                    name: "b".into(),
                    flags: abi::METHOD_NONBLOCKING,
                },
            ],
            interface: None,
        };
        assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
        // With an interface, and with a hostile interface length or tag.
        let mut with = h.clone();
        with.interface = Some(("package t:t; interface t { a: func(); }".into(), [7; 32]));
        assert_eq!(Hello::decode(&with.encode()).unwrap(), with);
        let mut b = h.encode();
        let tag = b.len() - 1;
        b[tag] = 2;
        assert!(Hello::decode(&b).is_err(), "interface tag");
        b[tag] = 1;
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(Hello::decode(&b).is_err(), "interface length");
        let mut cut = with.encode();
        cut.pop();
        assert!(Hello::decode(&cut).is_err(), "truncated hash");
        let mut dup = h.clone();
        dup.methods[1].name = "a".into();
        assert!(Hello::decode(&dup.encode()).is_err(), "duplicate names");
        let mut bad = h.clone();
        bad.methods[0].flags = 0x80;
        assert!(Hello::decode(&bad.encode()).is_err(), "unknown flags");
        let mut none = h.clone();
        none.methods.clear();
        assert!(Hello::decode(&none.encode()).is_err(), "no methods");
        let mut empty = h.clone();
        empty.name.clear();
        assert!(Hello::decode(&empty.encode()).is_err(), "empty name");
        let mut stateful = h.clone();
        stateful.stateful = true;
        assert_eq!(Hello::decode(&stateful.encode()).unwrap(), stateful);
        let mut flags = h.encode();
        let at = flags.len() - 5; // module flags, then the interface tag
        flags[at] = 0x82;
        assert!(Hello::decode(&flags).is_err(), "unknown module flags");
        let mut trailing = h.encode();
        trailing.push(0);
        assert!(Hello::decode(&trailing).is_err());
        // A count that promises more methods than the record holds.
        let mut w = Writer::default();
        w.u32(1).u32(0).str16("m", 128).str16("1", 128).u32(1000);
        assert!(Hello::decode(&w.buf).is_err());
    }

    #[test]
    fn init_errors_keep_their_kind() {
        let e = Error::AbiMismatch {
            path: "/x.so".into(),
            reason: "wrong magic".into(),
        };
        assert_eq!(decode_init_error(&encode_init_error(&e)).unwrap(), e);
        let e = Error::Module {
            code: 42,
            message: "nope".into(),
        };
        assert_eq!(decode_init_error(&encode_init_error(&e)).unwrap(), e);
        // A worker may not claim, e.g., that start-up was "cancelled".
        let e = Error::Cancelled;
        assert!(decode_init_error(&encode_init_error(&e)).is_err());
    }

    fn resp(r: RawResponse) -> [u8; RESP_LEN] {
        r.encode()
    }

    #[test]
    fn responses_are_checked_against_expectations() {
        let e = Expect {
            seq: 5,
            out_gen: 2,
            out_cap: 1 << 20,
            max_output: 1 << 22,
        };
        let ok = RawResponse {
            op: OP_RESULT,
            seq: 5,
            output_len: 10,
            ..Default::default()
        };
        assert_eq!(
            decode_response(&resp(ok), &e).unwrap(),
            Response::Ok(OutputAt::Inline(10))
        );
        assert!(
            decode_response(&resp(RawResponse { seq: 4, ..ok }), &e).is_err(),
            "stale seq"
        );
        assert!(
            decode_response(
                &resp(RawResponse {
                    output_len: ctl::INLINE_CAP as u64 + 1,
                    ..ok
                }),
                &e
            )
            .is_err(),
            "inline overflow"
        );
        let region = RawResponse {
            output_loc: LOC_REGION,
            out_gen: 2,
            output_len: 1 << 20,
            ..ok
        };
        assert_eq!(
            decode_response(&resp(region), &e).unwrap(),
            Response::Ok(OutputAt::Region(1 << 20))
        );
        assert!(
            decode_response(
                &resp(RawResponse {
                    out_gen: 1,
                    ..region
                }),
                &e
            )
            .is_err(),
            "old region"
        );
        assert!(
            decode_response(
                &resp(RawResponse {
                    output_len: (1 << 20) + 1,
                    ..region
                }),
                &e
            )
            .is_err(),
            "past the region"
        );
        assert!(decode_response(
            &resp(RawResponse {
                output_len: u64::MAX,
                ..region
            }),
            &e
        )
        .is_err());
        assert!(decode_response(&resp(RawResponse { status: 77, ..ok }), &e).is_err());
        assert!(decode_response(&resp(RawResponse { op: 9, ..ok }), &e).is_err());
        let failed = RawResponse {
            status: ST_MODULE_ERROR,
            code: 42,
            msg_len: 5,
            ..ok
        };
        assert!(matches!(
            decode_response(&resp(failed), &e).unwrap(),
            Response::Failed { code: 42, .. }
        ));
        assert!(decode_response(&resp(RawResponse { code: 0, ..failed }), &e).is_err());
        assert!(decode_response(
            &resp(RawResponse {
                msg_len: 1 << 20,
                ..failed
            }),
            &e
        )
        .is_err());
        let grow = RawResponse {
            op: OP_GROW,
            seq: 5,
            grow_need: 2 << 20,
            ..Default::default()
        };
        assert_eq!(
            decode_response(&resp(grow), &e).unwrap(),
            Response::Grow { need: 2 << 20 }
        );
        assert!(
            decode_response(
                &resp(RawResponse {
                    grow_need: 100,
                    ..grow
                }),
                &e
            )
            .is_err(),
            "fits already"
        );
        assert!(
            decode_response(
                &resp(RawResponse {
                    grow_need: 1 << 23,
                    ..grow
                }),
                &e
            )
            .is_err(),
            "over max"
        );
    }

    #[test]
    fn last_words_roundtrip() {
        let w = LastWords {
            signal: 11,
            code: 1,
            errno: 12,
            vm_peak_kib: 1000,
            vm_size_kib: 900,
            fault_addr: 0xdead,
        };
        let p = w.encode();
        let mut re = Reassembler::default();
        let (k, payload) = re.push(&p, &limits()).unwrap().unwrap();
        assert_eq!(k, REC_LAST_WORDS);
        assert_eq!(LastWords::decode(&payload).unwrap(), w);
    }

    #[test]
    fn host_to_worker_messages_roundtrip() {
        let i = Init {
            host_pid: 7,
            sandbox: true,
            validate_only: true,
            memory_limit: 1 << 30,
            cpu_limit_secs: 60,
            open_files: 64,
            max_event: 1 << 20,
            config_len: 3,
            path: "/a/b.so".into(),
        };
        assert_eq!(Init::decode(&i.encode()).unwrap(), i);
        let m = MapMsg {
            kind: RegionKind::Output,
            gen: 9,
            size: 1 << 21,
        };
        assert_eq!(MapMsg::decode(&m.encode()).unwrap(), m);
        let rq = Request {
            op: OP_CALL,
            seq: 3,
            method: 1,
            input_loc: LOC_REGION,
            input_len: 99,
            in_gen: 2,
            out_gen: 1,
            out_cap: 4096,
            max_output: 1 << 30,
        };
        assert_eq!(Request::decode(&rq.encode()).unwrap(), rq);
    }

    #[test]
    fn fuzz_entry_survives_garbage() {
        let mut seed = 0x1234_5678_u64;
        for len in 0..512 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            fuzz_host_decoder(&data);
        }
    }
}
