//! The shared control block: its layout, the request header (host → worker)
//! and the raw response header (worker → host; validated by
//! `decode::decode_response`).

use super::*;

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
    /// Worker → host, during a call: the first `OUT_READY * STREAM_CHUNK`
    /// bytes of the current output region are final output, which the host
    /// copies out while the module still writes the rest. Zeroed by the host
    /// before each call; validated (monotonic, within the region and
    /// `max_output`) before the host reads a byte of it.
    pub(crate) const OFF_OUT_READY: usize = 136;
    /// Granularity of `OUT_READY`.
    pub(crate) const STREAM_CHUNK: usize = 1 << 20;
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
pub(crate) const REQ_LEN: usize = 64;
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
/// The input is `input_len` bytes at `input_off` of the caller's buffer the
/// host lent (`caller_gen`; a `SharedBuffer`, mapped read-only).
pub(crate) const LOC_CALLER: u32 = 2;

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
    /// The caller's buffer the worker keeps mapped (0: none; a mapping of
    /// another generation is dropped).
    pub(crate) caller_gen: u32,
    /// Where the input starts in it (`LOC_CALLER`).
    pub(crate) input_off: u64,
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
            .u64(self.max_output)
            .u32(self.caller_gen)
            .u32(0)
            .u64(self.input_off);
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
            caller_gen: r.u32("caller gen")?,
            input_off: {
                r.u32("pad")?;
                r.u64("input off")?
            },
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

    pub(super) fn decode(b: &[u8; RESP_LEN]) -> RawResponse {
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
