//! Shared-memory regions for large inputs and outputs, and the copy-out of
//! output the worker announced final while the call still runs (so the
//! module's write and the host's copy overlap).
#![forbid(unsafe_code)]

use super::super::shared_buffer::Lent;
use super::copy::copy_range;
use super::{
    ctl, sys, CallCx, CallError, CallState, CallerWindow, MapMsg, OutputAt, Region, RegionKind,
    SharedMem, Worker, MIN_REGION,
};
use crate::error::Error;
use crate::output::CallOutput;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The regions the host creates (a caller's buffer is lent instead:
/// [`Worker::ensure_caller`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HostRegion {
    Input,
    Output,
}

impl Worker {
    /// Make sure a region of `kind` holds at least `need` bytes, creating a
    /// new one (and announcing it to the worker) if not.
    pub(super) fn ensure_region(
        &self,
        st: &mut CallState,
        kind: HostRegion,
        need: usize,
        cap_hint: usize,
        cx: &CallCx<'_>,
    ) -> Result<(), CallError> {
        let current = match kind {
            HostRegion::Input => &st.input,
            HostRegion::Output => &st.output,
        };
        let have = current.as_ref().map_or(0, |r| r.mem.len());
        if have >= need {
            return Ok(());
        }
        let size = need
            .max(have.saturating_mul(2))
            .max(MIN_REGION)
            .min(cap_hint.max(need))
            .checked_next_multiple_of(4096)
            .ok_or_else(|| CallError::Failed {
                error: Error::ResourceLimit(format!(
                    "a shared region of {need} bytes is too large"
                )),
                worker_ok: true,
            })?;
        let (name, map_kind) = match kind {
            HostRegion::Input => (c"bridgehost-input", RegionKind::Input),
            HostRegion::Output => (c"bridgehost-output", RegionKind::Output),
        };
        let mem = SharedMem::create(name, size).map_err(|e| CallError::Failed {
            error: Error::ResourceLimit(format!(
                "cannot create a shared region of {size} bytes: {e}"
            )),
            worker_ok: true,
        })?;
        st.next_gen = st.next_gen.wrapping_add(1).max(1);
        let gen = st.next_gen;
        let msg = MapMsg {
            kind: map_kind,
            gen,
            size: size as u64,
            offset: 0,
        };
        let Some(fd) = mem.fd() else {
            return Err(CallError::Failed {
                error: Error::Internal("a new region has no descriptor".into()),
                worker_ok: true,
            });
        };
        self.announce(st, &msg, fd, cx)?;
        let region = Some(Region { gen, mem });
        match kind {
            HostRegion::Input => st.input = region,
            HostRegion::Output => st.output = region,
        }
        Ok(())
    }

    /// Send a `MAP` with its descriptor. Non-blocking: a worker that does
    /// not read its socket is broken.
    fn announce(
        &self,
        st: &CallState,
        msg: &MapMsg,
        fd: BorrowedFd<'_>,
        cx: &CallCx<'_>,
    ) -> Result<(), CallError> {
        match sys::send_packet(self.sock.as_fd(), &msg.encode(), &[fd], true) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Err(self.violation("the worker does not read its control socket".into()))
            }
            // The peer is gone: report how it died (or re-dispatch the call
            // if it never started it).
            Err(_) => Err(self.await_death(st.seq, cx)),
        }
    }

    /// Make sure the worker has mapped the pages of the caller's buffer
    /// that hold the input (`len` bytes at `lent.off`): only those, so a
    /// small slice of a large buffer costs the worker no more memory (nor
    /// address space under `memory_limit`) than the slice. A window already
    /// mapped that holds the input is reused (one window at a time: mapping
    /// another replaces it in the worker). Returns where the input starts in
    /// the window.
    pub(super) fn ensure_caller(
        &self,
        st: &mut CallState,
        lent: &Lent,
        len: usize,
        cx: &CallCx<'_>,
    ) -> Result<usize, CallError> {
        let (off, end) = (lent.off, lent.off + len); // inside the buffer (lent)
        if let Some(w) = &st.caller {
            let same = w
                .buf
                .upgrade()
                .is_some_and(|i| Arc::ptr_eq(&i, &lent.inner));
            if same && w.start <= off && end <= w.start + w.len {
                return Ok(off - w.start);
            }
        }
        let page = sys::page_size();
        let start = off - off % page;
        let stop = end
            .checked_next_multiple_of(page)
            .map_or(lent.size(), |e| e.min(lent.size()));
        st.next_gen = st.next_gen.wrapping_add(1).max(1);
        let gen = st.next_gen;
        let msg = MapMsg {
            kind: RegionKind::Caller,
            gen,
            size: (stop - start) as u64,
            offset: start as u64,
        };
        self.announce(st, &msg, lent.inner.fd(), cx)?;
        tracing::trace!(target: "bridgehost::isolation", worker = self.id, buffer = lent.id(), gen, start, len = stop - start, "lent a shared buffer window");
        st.caller = Some(CallerWindow {
            buf: Arc::downgrade(&lent.inner),
            gen,
            start,
            len: stop - start,
        });
        Ok(off - start)
    }

    /// Copy out what the worker announced as final output (`OUT_READY`)
    /// beyond the `streamed` bytes already in `out`. `Err`: the announcement
    /// is a violation (moved back, or past the output region or
    /// `max_output`).
    pub(super) fn stream_ready(
        &self,
        st: &CallState,
        max_output: usize,
        out: &mut CallOutput<'_>,
        streamed: &mut usize,
    ) -> Result<(), String> {
        let ready = self
            .ctl
            .atomic_u32(ctl::OFF_OUT_READY)
            .load(Ordering::Acquire);
        let bytes = (ready as usize).saturating_mul(ctl::STREAM_CHUNK);
        if bytes == *streamed {
            return Ok(());
        }
        let Some(r) = &st.output else {
            return Err(format!(
                "the worker announced {bytes} bytes of output without an output region"
            ));
        };
        if bytes < *streamed {
            return Err(format!(
                "the worker moved its announced output back from {streamed} to {bytes} bytes"
            ));
        }
        if bytes > r.mem.len() || bytes > max_output {
            return Err(format!(
                "the worker announced {bytes} bytes of output, past its output region ({} bytes) or max_output ({max_output})",
                r.mem.len()
            ));
        }
        copy_range(&r.mem, *streamed, bytes - *streamed, out).map_err(|e| e.to_string())?;
        *streamed = bytes;
        Ok(())
    }

    pub(super) fn copy_output(
        &self,
        st: &CallState,
        at: OutputAt,
        from: usize,
        out: &mut CallOutput<'_>,
    ) -> Result<(), Error> {
        let (mem, base, len) = match at {
            OutputAt::Inline(n) => (&self.ctl, ctl::OFF_RESP_DATA, n),
            OutputAt::Region(n) => match &st.output {
                Some(r) => (&r.mem, 0, n),
                None => return Err(Error::Internal("output region vanished".into())),
            },
        };
        // `from` <= len (checked by the caller).
        copy_range(mem, base + from, len - from, out)?;
        out.finish().map(|_| ())
    }
}
