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
    /// The caller's buffer while the output fits, then (from the first write
    /// that does not fit) a `Vec` holding everything written.
    Spill(&'a mut [u8], Option<Vec<u8>>),
    Sink(&'a mut dyn OutputSink),
}

/// Where the output of [`CallOutput::to_slice_or_spill`] ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spilled {
    /// It fit: the first `n` bytes of the caller's buffer.
    InBuffer(usize),
    /// It did not fit: the whole output (the caller's buffer holds an
    /// unspecified prefix of it).
    Spilled(Vec<u8>),
}

/// Memory of the caller's that [`CallOutput::write_direct`] lets a producer
/// fill in place.
pub(crate) enum Direct<'b> {
    /// Exactly this many bytes of the caller's buffer, to be overwritten.
    Slice(&'b mut [u8]),
    /// The caller's vector, to which exactly the announced count is appended.
    Vec(&'b mut Vec<u8>),
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

    /// Write into `buf` while the output fits; an output that does not fit
    /// is kept whole in a new `Vec` instead (one call, whatever the size).
    /// Read the result with [`CallOutput::finish_spill`].
    pub fn to_slice_or_spill(buf: &'a mut [u8], max: usize) -> Self {
        CallOutput {
            target: Target::Spill(buf, None),
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
    #[inline]
    pub fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        let new_len = match self.len.checked_add(data.len()) {
            Some(n) if n <= self.max => n,
            _ => {
                self.exceeded = true;
                return Err(WriteError::TooLarge);
            }
        };
        // The common case, a caller buffer with room, inline; the rest out of line.
        let room = match &mut self.target {
            Target::Slice(buf) | Target::Spill(buf, None) => buf.get_mut(self.len..new_len),
            _ => None,
        };
        match room {
            Some(dst) => dst.copy_from_slice(data),
            None => self.write_other(data, new_len)?,
        }
        self.len = new_len;
        Ok(())
    }

    /// Append `n` bytes that `fill` produces straight into the caller's
    /// memory (the isolation host copies a worker's output out of shared
    /// memory this way: one copy, no intermediate buffer). `fill` gets
    /// exactly `n` bytes of the caller's buffer, or the caller's vector to
    /// append exactly `n` bytes to, and returns whether it did.
    ///
    /// `Ok(false)`: nothing was written (no such destination: a custom sink,
    /// a caller buffer without room, a spill; or `fill` refused); use
    /// [`CallOutput::write`]. `Err`: over `max`, as for `write`.
    pub(crate) fn write_direct(
        &mut self,
        n: usize,
        fill: impl FnOnce(Direct<'_>) -> bool,
    ) -> Result<bool, WriteError> {
        let new_len = match self.len.checked_add(n) {
            Some(l) if l <= self.max => l,
            _ => {
                self.exceeded = true;
                return Err(WriteError::TooLarge);
            }
        };
        let done = match &mut self.target {
            Target::Slice(buf) | Target::Spill(buf, None) => match buf.get_mut(self.len..new_len) {
                Some(dst) => fill(Direct::Slice(dst)),
                None => false,
            },
            Target::Vec(v) => {
                let before = v.len();
                let ok = fill(Direct::Vec(v));
                // A filler that appended anything but `n` bytes broke the
                // contract: undo it rather than misreport the output.
                if !ok || v.len() != before + n {
                    v.truncate(before);
                    false
                } else {
                    true
                }
            }
            Target::Spill(_, Some(_)) | Target::Sink(_) => false,
        };
        if done {
            self.len = new_len;
        }
        Ok(done)
    }

    /// [`CallOutput::write`] of `data` (ending at `new_len`, within `max`)
    /// into anything but a caller buffer with room.
    #[inline(never)]
    fn write_other(&mut self, data: &[u8], new_len: usize) -> Result<(), WriteError> {
        match &mut self.target {
            Target::Vec(v) => v.extend_from_slice(data),
            // Past the caller's buffer: only counted (finish reports the size).
            Target::Slice(_) => {}
            Target::Spill(buf, spill) => match spill {
                Some(v) => v.extend_from_slice(data),
                None => {
                    // While nothing spilled, `len` bytes sit in `buf`.
                    let head = buf.get(..self.len).unwrap_or_default();
                    *spill = Some(spill_from(head, data, new_len));
                }
            },
            Target::Sink(s) => {
                if let Err(e) = s.write(data) {
                    self.exceeded = true;
                    return Err(e);
                }
            }
        }
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
            Target::Spill(_, spill) => *spill = None,
            Target::Sink(s) => s.reset(),
        }
        self.len = 0;
        self.exceeded = false;
    }

    /// Conclude: the number of bytes in the destination, or the error that
    /// the sink recorded (limit exceeded; caller buffer too small).
    pub fn finish(&self) -> Result<usize> {
        if self.exceeded {
            return Err(exceeded(self.max));
        }
        if let Target::Slice(s) = &self.target {
            if self.len > s.len() {
                return Err(Error::BufferTooSmall { required: self.len });
            }
        }
        Ok(self.len)
    }

    /// Conclude an output made by [`CallOutput::to_slice_or_spill`]: where
    /// the bytes are, or the error [`CallOutput::finish`] reports. (For the
    /// other targets the bytes are where their constructor put them, and
    /// this is `InBuffer(len)`.)
    #[inline]
    pub fn finish_spill(self) -> Result<Spilled> {
        if self.exceeded {
            return Err(exceeded(self.max));
        }
        match self.target {
            Target::Spill(_, Some(v)) => Ok(Spilled::Spilled(v)),
            Target::Slice(s) if self.len > s.len() => {
                Err(Error::BufferTooSmall { required: self.len })
            }
            _ => Ok(Spilled::InBuffer(self.len)),
        }
    }
}

/// The error of an output that exceeded `max` (kept off the call path).
#[cold]
#[inline(never)]
fn exceeded(max: usize) -> Error {
    Error::ResourceLimit(format!(
        "output exceeds the module's max_output of {max} bytes"
    ))
}

/// The first write that does not fit the caller's buffer: a `Vec` of `len`
/// bytes holding what the buffer has (`head`) and then `data`.
#[cold]
#[inline(never)]
fn spill_from(head: &[u8], data: &[u8], len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(head);
    v.extend_from_slice(data);
    v
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

    /// Write `chunks` into a spill output over a `cap`-byte buffer.
    fn spill_run(cap: usize, max: usize, chunks: &[&[u8]]) -> (Result<Spilled>, Vec<u8>) {
        let mut buf = vec![0xccu8; cap];
        let mut out = CallOutput::to_slice_or_spill(&mut buf, max);
        for c in chunks {
            if out.write(c).is_err() {
                break;
            }
        }
        let r = out.finish_spill();
        (r, buf)
    }

    #[test]
    fn spill_output_stays_in_the_caller_buffer_while_it_fits() {
        let (r, buf) = spill_run(8, 100, &[b"abc", b"de", b"fgh"]);
        assert_eq!(r, Ok(Spilled::InBuffer(8)));
        assert_eq!(&buf, b"abcdefgh");
        let (r, buf) = spill_run(4, 100, &[b"", b"ab"]);
        assert_eq!(r, Ok(Spilled::InBuffer(2)));
        assert_eq!(&buf, &[b'a', b'b', 0xcc, 0xcc]);
        assert_eq!(spill_run(0, 100, &[]).0, Ok(Spilled::InBuffer(0)));
    }

    #[test]
    fn a_spill_holds_the_whole_output_in_order() {
        // The first chunk fits, the second does not: the spill starts with the first.
        let (r, _) = spill_run(4, 100, &[b"abc", b"defg", b"h", b"ijk"]);
        assert_eq!(r, Ok(Spilled::Spilled(b"abcdefghijk".to_vec())));
        // Nothing fits a zero-capacity buffer.
        assert_eq!(
            spill_run(0, 100, &[b"x"]).0,
            Ok(Spilled::Spilled(b"x".to_vec()))
        );
    }

    #[test]
    fn max_output_bounds_a_spill_and_reset_discards_it() {
        let (r, _) = spill_run(2, 5, &[b"abc", b"def"]);
        assert!(matches!(r, Err(Error::ResourceLimit(_))), "{r:?}");
        let mut buf = [0u8; 2];
        let mut out = CallOutput::to_slice_or_spill(&mut buf, 100);
        out.write(b"abc").unwrap();
        out.reset();
        out.write(b"x").unwrap();
        assert_eq!(out.finish_spill(), Ok(Spilled::InBuffer(1)));
        assert_eq!(buf[0], b'x');
    }

    /// A filler for `write_direct` that writes `data`.
    fn put(data: &[u8]) -> impl FnOnce(Direct<'_>) -> bool + '_ {
        move |d| {
            match d {
                Direct::Slice(s) => s.copy_from_slice(data),
                Direct::Vec(v) => v.extend_from_slice(data),
            }
            true
        }
    }

    #[test]
    fn direct_writes_land_in_the_callers_memory_within_max() {
        let mut v = vec![1, 2, 3];
        let mut o = CallOutput::to_vec(&mut v, 5);
        o.write(b"a").unwrap();
        assert_eq!(o.write_direct(3, put(b"bcd")), Ok(true));
        assert_eq!(o.write_direct(2, put(b"ef")), Err(WriteError::TooLarge));
        assert!(matches!(o.finish(), Err(Error::ResourceLimit(_))));
        assert_eq!(v, b"abcd");

        let mut buf = [0u8; 4];
        let mut o = CallOutput::to_slice(&mut buf, 100);
        assert_eq!(o.write_direct(3, put(b"xyz")), Ok(true));
        // No room left in the caller's buffer: nothing is written directly.
        assert_eq!(o.write_direct(2, put(b"!!")), Ok(false));
        assert_eq!(o.finish(), Ok(3));
        assert_eq!(&buf[..3], b"xyz");
    }

    #[test]
    fn a_direct_write_that_breaks_its_contract_is_undone() {
        let mut v = Vec::new();
        let mut o = CallOutput::to_vec(&mut v, 100);
        assert_eq!(o.write_direct(3, put(b"toolong")), Ok(false));
        assert_eq!(o.write_direct(3, |_| false), Ok(false));
        assert_eq!(o.finish(), Ok(0));
        assert!(v.is_empty());
        let mut sink_buf = [0u8; 1];
        let mut o = CallOutput::to_slice_or_spill(&mut sink_buf, 100);
        o.write(b"ab").unwrap(); // spilled
        assert_eq!(o.write_direct(1, put(b"c")), Ok(false));
    }
}

/// Where a [`ListRunSink`] puts the payload of the `list<u8>` it expects:
/// memory of the caller's (a `&mut [u8]`, or a runtime's uninitialized new
/// byte string through a front end's own implementation).
pub trait RunDest: Send {
    /// The payload's length: the length of the list expected.
    fn len(&self) -> usize;
    /// Whether the list expected is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copy `data` to payload offset `at`; `at + data.len() <= len()`.
    fn write_at(&mut self, at: usize, data: &[u8]);
    /// The first `n` payload bytes, every one of them written before;
    /// `n <= len()`.
    fn written(&self, n: usize) -> &[u8];
}

impl RunDest for &mut [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn write_at(&mut self, at: usize, data: &[u8]) {
        self[at..at + data.len()].copy_from_slice(data);
    }
    fn written(&self, n: usize) -> &[u8] {
        &self[..n]
    }
}

/// An output sink for a typed call whose result is one `list<u8>` of an
/// expected length (docs/TYPED.md: a 4-byte little-endian length, then the
/// bytes): while the output is a possible run of exactly `dst.len()` bytes,
/// the length prefix is kept aside and the payload goes straight into `dst`;
/// from the first write that shows otherwise (another length, more bytes),
/// everything written (before included) moves to `spill`, which takes every
/// later write. [`ListRunSink::finish`] says which: the front ends return
/// `dst` as the result with no copy, or decode `spill` as any other output
/// (same values, same errors).
pub struct ListRunSink<'a, D: RunDest> {
    dst: D,
    /// The length prefix.
    head: [u8; 4],
    /// Bytes written so far while `direct` (prefix included): the first
    /// `min(len, 4)` are in `head`, the next `len - 4` in `dst`.
    len: usize,
    spill: &'a mut Vec<u8>,
    /// Still writing into `head` and `dst`.
    direct: bool,
}

impl<D: RunDest> std::fmt::Debug for ListRunSink<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListRunSink")
            .field("expected", &self.dst.len())
            .field("written", &self.len)
            .field("direct", &self.direct)
            .finish()
    }
}

impl<'a, D: RunDest> ListRunSink<'a, D> {
    /// A sink expecting a `list<u8>` of `dst.len()` bytes; `spill` (cleared
    /// on first use) takes any other output.
    pub fn new(dst: D, spill: &'a mut Vec<u8>) -> Self {
        ListRunSink {
            dst,
            head: [0; 4],
            len: 0,
            spill,
            direct: true,
        }
    }

    /// Whether appending `data` keeps the output a possible run of
    /// `dst.len()` bytes: within `4 + dst.len()` bytes, and a prefix (once
    /// complete) of exactly `dst.len()`.
    fn fits(&self, data: &[u8]) -> bool {
        let n = self.dst.len();
        if self.len.saturating_add(data.len()) > n.saturating_add(4) {
            return false;
        }
        if self.len < 4 && self.len + data.len() >= 4 {
            let mut head = self.head;
            head[self.len..].copy_from_slice(&data[..4 - self.len]);
            return u32::from_le_bytes(head) as usize == n;
        }
        true
    }

    /// Move everything written so far into `spill`, which takes every later
    /// write.
    fn spill_all(&mut self) {
        self.spill.clear();
        self.spill.extend_from_slice(&self.head[..self.len.min(4)]);
        if self.len > 4 {
            self.spill.extend_from_slice(self.dst.written(self.len - 4));
        }
        self.direct = false;
    }

    /// True when the output is a complete run of `dst.len()` bytes (every
    /// byte of `dst` written); otherwise the whole output is in `spill`.
    pub fn finish(&mut self) -> bool {
        if self.direct && self.len == 4 + self.dst.len() {
            return true;
        }
        if self.direct {
            self.spill_all();
        }
        false
    }
}

impl<D: RunDest> OutputSink for ListRunSink<'_, D> {
    fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        if self.direct && !self.fits(data) {
            self.spill_all();
        }
        if !self.direct {
            self.spill.extend_from_slice(data);
            return Ok(());
        }
        let mut data = data;
        if self.len < 4 {
            let k = data.len().min(4 - self.len);
            self.head[self.len..self.len + k].copy_from_slice(&data[..k]);
            self.len += k;
            data = &data[k..];
        }
        if !data.is_empty() {
            // `fits`: `len - 4 + data.len() <= dst.len()`.
            self.dst.write_at(self.len - 4, data);
            self.len += data.len();
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.len = 0;
        self.direct = true;
        self.spill.clear();
    }
}

#[cfg(test)]
mod list_run_tests {
    use super::*;

    /// The output `chunks` make through a sink for a run of `n` bytes:
    /// `Ok(payload)` when it went straight into `dst`, `Err(spilled)`.
    fn through(n: usize, chunks: &[&[u8]], reset_after: Option<usize>) -> Result<Vec<u8>, Vec<u8>> {
        let mut dst = vec![0xeeu8; n];
        let mut spill = vec![9u8; 3]; // stale content: cleared by the first spill
        let mut sink = ListRunSink::new(&mut dst[..], &mut spill);
        sink.reset();
        for (i, c) in chunks.iter().enumerate() {
            sink.write(c).unwrap();
            if reset_after == Some(i) {
                sink.reset();
            }
        }
        if sink.finish() {
            Ok(dst)
        } else {
            Err(spill)
        }
    }

    #[test]
    fn an_exact_run_goes_straight_into_dst_however_it_is_split() {
        let whole = [&[3u8, 0, 0, 0][..], b"abc"].concat();
        for split in 0..=whole.len() {
            for split2 in split..=whole.len() {
                let (a, rest) = whole.split_at(split);
                let (b, c) = rest.split_at(split2 - split);
                assert_eq!(through(3, &[a, b, c], None), Ok(b"abc".to_vec()));
            }
        }
        assert_eq!(through(0, &[b"\x00\x00\x00\x00"], None), Ok(Vec::new()));
    }

    #[test]
    fn any_other_output_is_spilled_whole_however_it_is_split() {
        let cases: [&[u8]; 7] = [
            b"\x03\x00\x00\x00abcd",
            b"\x03\x00\x00\x00ab",
            b"\x04\x00\x00\x00abc",
            b"\x02\x00\x00\x00abc",
            b"\x03\x00\x00",
            b"\x03",
            b"",
        ];
        for out in cases {
            for split in 0..=out.len() {
                let (a, b) = out.split_at(split);
                assert_eq!(
                    through(3, &[a, b], None),
                    Err(out.to_vec()),
                    "{out:?} at {split}"
                );
            }
        }
    }

    #[test]
    fn a_reset_discards_what_was_written_direct_or_spilled() {
        let run: &[u8] = b"\x03\x00\x00\x00abc";
        assert_eq!(
            through(3, &[b"\x03\x00", run], Some(0)),
            Ok(b"abc".to_vec())
        );
        assert_eq!(
            through(3, &[b"\x09\x00\x00\x00", run], Some(0)),
            Ok(b"abc".to_vec())
        );
        assert_eq!(through(3, &[run, b"x"], Some(1)), Err(Vec::new()));
        assert_eq!(
            through(3, &[run, b"x", b"\x01\x00\x00\x00z"], Some(1)),
            Err(b"\x01\x00\x00\x00z".to_vec())
        );
    }
}
