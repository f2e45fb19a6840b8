//! Host-owned output sinks.
//!
//! A module never hands the host memory it allocated: it writes its output
//! through `bh_host_api.write`, which copies into a [`CallOutput`]. The output
//! is bounded by the module's `max_output`, checked *before* any allocation,
//! so a module that writes without end (or claims a huge length) cannot
//! exhaust the host's memory.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The output would exceed the limit.
    TooLarge,
}

/// A custom destination for output bytes: the isolation worker uses one to
/// write a call's output straight into shared memory.
pub trait OutputSink: Send {
    /// Store `data` after what is already stored. `Err`: it cannot be
    /// stored (the call then fails with a resource-limit error).
    fn write(&mut self, data: &[u8]) -> Result<(), WriteError>;
    /// Discard everything stored.
    fn reset(&mut self);
}

enum Target<'a> {
    Vec(&'a mut Vec<u8>),
    Slice(&'a mut [u8]),
    Sink(&'a mut dyn OutputSink),
}

/// Destination of one call's output.
pub struct CallOutput<'a> {
    target: Target<'a>,
    len: usize,
    max: usize,
    exceeded: bool,
}

impl std::fmt::Debug for CallOutput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOutput")
            .field("len", &self.len)
            .field("max", &self.max)
            .field("exceeded", &self.exceeded)
            .finish()
    }
}

impl<'a> CallOutput<'a> {
    /// Write into `v` (cleared first), at most `max` bytes.
    pub fn to_vec(v: &'a mut Vec<u8>, max: usize) -> Self {
        v.clear();
        CallOutput {
            target: Target::Vec(v),
            len: 0,
            max,
            exceeded: false,
        }
    }

    /// Write into a caller buffer. Bytes past its end are counted, not
    /// stored, so [`CallOutput::finish`] can report the size required.
    pub fn to_slice(s: &'a mut [u8], max: usize) -> Self {
        CallOutput {
            target: Target::Slice(s),
            len: 0,
            max,
            exceeded: false,
        }
    }

    /// Write into a custom sink, at most `max` bytes.
    pub fn to_sink(sink: &'a mut dyn OutputSink, max: usize) -> Self {
        sink.reset();
        CallOutput {
            target: Target::Sink(sink),
            len: 0,
            max,
            exceeded: false,
        }
    }

    /// Append `data`.
    pub fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        let new_len = match self.len.checked_add(data.len()) {
            Some(n) if n <= self.max => n,
            _ => {
                self.exceeded = true;
                return Err(WriteError::TooLarge);
            }
        };
        match &mut self.target {
            Target::Vec(v) => v.extend_from_slice(data),
            Target::Slice(s) => {
                if new_len <= s.len() {
                    s[self.len..new_len].copy_from_slice(data);
                }
                // else: past the caller's buffer; only counted.
            }
            Target::Sink(s) => {
                if let Err(e) = s.write(data) {
                    self.exceeded = true;
                    return Err(e);
                }
            }
        }
        self.len = new_len;
        Ok(())
    }

    /// Bytes written so far (including counted-only bytes).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True once a write was refused for exceeding the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// Record that a write was refused for size without attempting it.
    pub fn mark_exceeded(&mut self) {
        self.exceeded = true;
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Discard what was written (used before a retry).
    pub fn reset(&mut self) {
        match &mut self.target {
            Target::Vec(v) => v.clear(),
            Target::Slice(_) => {}
            Target::Sink(s) => s.reset(),
        }
        self.len = 0;
        self.exceeded = false;
    }

    /// Conclude: the number of bytes in the destination, or the error that
    /// the sink recorded (limit exceeded; caller buffer too small).
    pub fn finish(&self) -> Result<usize> {
        if self.exceeded {
            return Err(Error::ResourceLimit(format!(
                "output exceeds the module's max_output of {} bytes",
                self.max
            )));
        }
        if let Target::Slice(s) = &self.target {
            if self.len > s.len() {
                return Err(Error::BufferTooSmall { required: self.len });
            }
        }
        Ok(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_output_is_bounded_before_allocating() {
        let mut v = vec![9, 9];
        let mut o = CallOutput::to_vec(&mut v, 4);
        o.write(b"ab").unwrap();
        assert_eq!(o.write(b"abc"), Err(WriteError::TooLarge));
        assert!(o.exceeded());
        assert!(matches!(o.finish(), Err(Error::ResourceLimit(_))));
        let mut o = CallOutput::to_vec(&mut v, usize::MAX);
        o.write(b"x").unwrap();
        // A length that would overflow usize is refused, not wrapped.
        let huge = vec![0u8; 0];
        assert_eq!(o.write(&huge), Ok(()));
        assert_eq!(o.finish().unwrap(), 1);
    }

    #[test]
    fn slice_output_counts_past_the_end() {
        let mut buf = [0u8; 3];
        let mut o = CallOutput::to_slice(&mut buf, 100);
        o.write(b"ab").unwrap();
        o.write(b"cd").unwrap();
        assert_eq!(o.finish(), Err(Error::BufferTooSmall { required: 4 }));
        let mut buf = [0u8; 4];
        let mut o = CallOutput::to_slice(&mut buf, 100);
        o.write(b"ab").unwrap();
        o.write(b"cd").unwrap();
        assert_eq!(o.finish(), Ok(4));
        assert_eq!(&buf, b"abcd");
    }
}
