//! The worker → host records, as types. Their encoders (run by the worker)
//! are in `encode.rs`, the host's hostile-input decoders in `decode.rs`.

use super::*;
use crate::error::Error;
use crate::ffi::loader::{MethodInfo, ThreadModel};

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
