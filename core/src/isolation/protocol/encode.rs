//! Worker side: encoders of the worker → host records and their datagrams.

use super::*;
use crate::error::Error;
use bridgehost_module_abi as abi;

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

pub(crate) fn encode_log(level: i32, msg: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.i32(level).str16(msg, MAX_MESSAGE);
    w.buf
}

impl LastWords {
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
}
