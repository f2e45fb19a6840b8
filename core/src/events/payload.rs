//! What an event carries: its payload (small ones inline) and the event itself.
#![forbid(unsafe_code)]

use std::sync::Arc;

/// Payloads up to this size are stored inline in the event (no allocation).
pub const INLINE_PAYLOAD: usize = 46;

/// An event payload: small ones inline, larger ones on the heap. Derefs to `[u8]`.
#[derive(Clone)]
pub enum Payload {
    /// Up to [`INLINE_PAYLOAD`] bytes.
    Inline {
        /// Bytes used in `buf`.
        len: u8,
        /// Storage.
        buf: [u8; INLINE_PAYLOAD],
    },
    /// Larger payloads.
    Heap(Vec<u8>),
}

impl Payload {
    /// Copy `data` into a payload.
    pub fn copy_from(data: &[u8]) -> Payload {
        if data.len() <= INLINE_PAYLOAD {
            let mut buf = [0u8; INLINE_PAYLOAD];
            buf[..data.len()].copy_from_slice(data);
            Payload::Inline {
                len: data.len() as u8,
                buf,
            }
        } else {
            Payload::Heap(data.to_vec())
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Payload::Inline { len, buf } => &buf[..*len as usize],
            Payload::Heap(v) => v,
        }
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Payload").field(&&**self).finish()
    }
}

/// An event as delivered to a subscriber.
#[derive(Debug, Clone)]
pub struct Event {
    /// The topic the module emitted on.
    pub topic: Arc<str>,
    /// The payload (copied out of the module at emit time).
    pub data: Payload,
}

/// A subscriber callback. Runs on the dispatcher thread; a panic is caught and counted.
pub type EventCallback = Box<dyn Fn(&Event) + Send + Sync + 'static>;
