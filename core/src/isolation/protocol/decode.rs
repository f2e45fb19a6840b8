//! Host side: the decoders of everything a worker sends, which treat it as
//! hostile. Every id, length, count and status is checked against what the
//! host expects; no input makes them panic (`fuzz_host_decoder`).

use super::*;
use crate::error::Error;
use crate::ffi::loader::{MethodInfo, ThreadModel};
use bridgehost_module_abi as abi;
use std::collections::HashSet;

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

impl Hello {
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

pub(crate) fn decode_log(payload: &[u8]) -> PResult<(i32, String)> {
    let mut r = Reader::new(payload);
    let level = r.i32("level")?;
    let msg = r.str16(MAX_MESSAGE, "log message")?.to_string();
    if !r.is_empty() {
        return Err(ProtoError::new("log: trailing bytes"));
    }
    Ok((level, msg))
}

impl LastWords {
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

/// The worker's accepted-event count in a response header. Not validated:
/// a lying count can only make `flush` wait for events that never come,
/// until its deadline.
pub(crate) fn response_events(b: &[u8; RESP_LEN]) -> u32 {
    RawResponse::decode(b).events
}

/// Whether `resp` is the result of the call `req` handed over (the last
/// request was a call and the response names its sequence number). Not
/// validated beyond that (see `Worker::between_calls`).
pub(crate) fn response_answers(req: &[u8; REQ_LEN], resp: &[u8; RESP_LEN]) -> bool {
    let r = RawResponse::decode(resp);
    r.op == OP_RESULT && request_seq(req) == Some(r.seq)
}

/// The sequence number of the call a request header belongs to (a call,
/// or the answer to that call's request for a larger output region); `None`
/// for any other op.
pub(crate) fn request_seq(req: &[u8; REQ_LEN]) -> Option<u32> {
    let word = |i: usize| u32::from_le_bytes([req[i], req[i + 1], req[i + 2], req[i + 3]]);
    matches!(word(0), OP_CALL | OP_GROW_OK | OP_GROW_DENIED).then(|| word(4))
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
