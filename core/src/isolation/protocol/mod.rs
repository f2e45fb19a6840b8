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
use bridgehost_module_abi as abi;

/// Protocol version carried in `INIT`; a worker refuses any other.
pub(crate) const PROTOCOL_VERSION: u32 = 2;
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

mod control;
mod cursor;
mod decode;
mod encode;
mod host_msgs;
mod records;
#[cfg(test)]
mod tests;

pub(crate) use control::*;
pub(crate) use cursor::*;
pub(crate) use decode::*;
pub(crate) use encode::*;
pub(crate) use host_msgs::*;
pub(crate) use records::*;

// ------------------------------------------------------------ fuzzing

/// Drive every host-side decoder with arbitrary bytes (the cargo-fuzz
/// target). Never panics; returns how many records decoded successfully.
/// Only with the `fuzz` feature (and in the core's unit tests).
#[cfg(any(test, feature = "fuzz"))]
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
