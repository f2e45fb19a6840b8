//! The shared regions the host maps into the worker (`Regions`, kept in step
//! with each request's generations) and the output sink that writes a call's
//! output into the inline area or an output region, announcing finished
//! chunks so the host copies them while the module writes on.
#![forbid(unsafe_code)]

use super::super::protocol::{self as p, ctl, MapMsg, RawResponse, RegionKind};
use super::super::sys::{self, SharedMem};
use super::channel::Chan;
use super::EXIT_CHANNEL;
use crate::output::{OutputSink, WriteError};
use crate::sync::Mutex;
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// Receive a `MAP` message (blocking) and map its region. `Err`: the
/// region does not fit this worker's address space (ENOMEM: the memory
/// limit); anything else wrong with the message ends the worker.
pub(super) fn recv_map(sock: BorrowedFd<'_>) -> Result<(MapMsg, SharedMem), String> {
    let mut buf = [0u8; 64];
    let pkt = match sys::recv_packet(sock, &mut buf, true, false) {
        Ok(Some(p)) => p,
        _ => std::process::exit(EXIT_CHANNEL),
    };
    let msg = match MapMsg::decode(&buf[..pkt.len]) {
        Ok(m) if pkt.fds.len() == 1 && !pkt.truncated => m,
        _ => std::process::exit(EXIT_CHANNEL),
    };
    let fd = pkt.fds.into_iter().next().expect("checked above");
    let size = usize::try_from(msg.size).unwrap_or(usize::MAX);
    // A caller's buffer is sealed against writable mappings: read-only.
    let writable = msg.kind != RegionKind::Caller;
    match SharedMem::from_fd(fd, size, msg.offset, writable) {
        Ok(m) => Ok((msg, m)),
        // Under the address-space limit: a resource error for the call (the
        // worker then retires, so the host's view of the regions no longer
        // matters).
        Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => Err(format!(
            "the worker cannot map a shared region of {size} bytes within its memory limit ({e})"
        )),
        Err(_) => std::process::exit(EXIT_CHANNEL),
    }
}

/// The regions the host shared, kept in step with the generation numbers
/// each request carries.
#[derive(Default)]
pub(super) struct Regions {
    pub(super) input: Option<(u32, SharedMem)>,
    pub(super) output: Option<(u32, SharedMem)>,
    /// A caller's buffer the host lent (read-only).
    pub(super) caller: Option<(u32, SharedMem)>,
}

impl Regions {
    /// Take the mapping of `kind` out (put it back with `slot`).
    pub(super) fn take(&mut self, kind: RegionKind) -> Option<(u32, SharedMem)> {
        self.slot(kind).take()
    }

    pub(super) fn slot(&mut self, kind: RegionKind) -> &mut Option<(u32, SharedMem)> {
        match kind {
            RegionKind::Input => &mut self.input,
            RegionKind::Output => &mut self.output,
            RegionKind::Caller => &mut self.caller,
        }
    }

    pub(super) fn gen(slot: &Option<(u32, SharedMem)>) -> u32 {
        slot.as_ref().map_or(0, |(g, _)| *g)
    }

    /// Make the mapping of `kind` match generation `want` (0: none), reading
    /// `MAP` messages the host sent ahead of the request. `Err`: a region did
    /// not fit the address space (see [`recv_map`]).
    pub(super) fn sync(
        &mut self,
        sock: BorrowedFd<'_>,
        kind: RegionKind,
        want: u32,
    ) -> Result<(), String> {
        if want == 0 {
            *self.slot(kind) = None;
            return Ok(());
        }
        let mut guard = 0;
        while Self::gen(self.slot(kind)) != want {
            let (msg, mem) = recv_map(sock)?;
            *self.slot(msg.kind) = Some((msg.gen, mem));
            guard += 1;
            if guard > 16 {
                std::process::exit(EXIT_CHANNEL);
            }
        }
        Ok(())
    }
}

/// Output sink writing into shared memory: inline area first, then an
/// output region the host provides on request (`GROW`).
pub(super) struct ShmSink<'a> {
    pub(super) chan: &'a Chan<'a>,
    pub(super) sock: BorrowedFd<'a>,
    pub(super) regions: &'a Mutex<Regions>,
    pub(super) seq: u32,
    pub(super) len: usize,
    pub(super) in_region: bool,
    /// Chunks of the output region announced final (`OUT_READY`).
    pub(super) published: u32,
    pub(super) failure: Option<String>,
}

impl ShmSink<'_> {
    /// Ask the host for an output region of at least `need` bytes and move
    /// what was written so far into it.
    pub(super) fn grow(&mut self, need: usize) -> Result<(), String> {
        self.chan.post(&RawResponse {
            op: p::OP_GROW,
            seq: self.seq,
            grow_need: need as u64,
            ..Default::default()
        });
        self.chan.wait_message(Duration::from_micros(200));
        let req = self.chan.request();
        if req.seq != self.seq {
            std::process::exit(EXIT_CHANNEL);
        }
        match req.op {
            p::OP_GROW_OK => {}
            p::OP_GROW_DENIED => {
                return Err(format!("the host refused an output region of {need} bytes"))
            }
            _ => std::process::exit(EXIT_CHANNEL),
        }
        let mut regions = self.regions.lock();
        let old = regions.output.take();
        regions.sync(self.sock, RegionKind::Output, req.out_gen)?;
        let Some((_, new)) = regions.output.as_ref() else {
            std::process::exit(EXIT_CHANNEL);
        };
        if new.len() < need || (req.out_cap as usize) != new.len() {
            std::process::exit(EXIT_CHANNEL);
        }
        let moved = if self.in_region {
            old.as_ref()
                .is_some_and(|(_, o)| o.copy_to(0, new, 0, self.len))
        } else {
            self.chan.ctl.copy_to(ctl::OFF_RESP_DATA, new, 0, self.len)
        };
        if !moved {
            return Err("cannot move output into the new region".into());
        }
        self.in_region = true;
        Ok(())
    }
}

impl ShmSink<'_> {
    pub(super) fn region_cap(&self) -> usize {
        self.regions
            .lock()
            .output
            .as_ref()
            .map_or(0, |(_, m)| m.len())
    }
}

impl OutputSink for ShmSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        if self.failure.is_some() {
            return Err(WriteError::TooLarge);
        }
        let end = self
            .len
            .checked_add(data.len())
            .ok_or(WriteError::TooLarge)?;
        if !self.in_region && end <= ctl::INLINE_CAP {
            self.chan
                .ctl
                .write_from(ctl::OFF_RESP_DATA + self.len, data);
            self.len = end;
            return Ok(());
        }
        if self.region_cap() < end {
            if let Err(e) = self.grow(end) {
                self.failure = Some(e);
                return Err(WriteError::TooLarge);
            }
        } else if !self.in_region {
            // The current region is large enough: move the inline bytes.
            let regions = self.regions.lock();
            let moved = regions
                .output
                .as_ref()
                .is_some_and(|(_, r)| self.chan.ctl.copy_to(ctl::OFF_RESP_DATA, r, 0, self.len));
            if !moved {
                return Err(WriteError::TooLarge);
            }
            self.in_region = true;
        }
        let regions = self.regions.lock();
        let Some((_, m)) = regions.output.as_ref() else {
            return Err(WriteError::TooLarge);
        };
        // Chunk by chunk, announcing each completed chunk, so the host copies
        // the output out while the rest is still being written.
        let mut rest = data;
        while !rest.is_empty() {
            let to_boundary = ctl::STREAM_CHUNK - self.len % ctl::STREAM_CHUNK;
            let (now, later) = rest.split_at(rest.len().min(to_boundary));
            if !m.write_from(self.len, now) {
                return Err(WriteError::TooLarge);
            }
            self.len += now.len();
            rest = later;
            let ready = u32::try_from(self.len / ctl::STREAM_CHUNK).unwrap_or(u32::MAX);
            if ready > self.published {
                self.published = ready;
                self.chan.publish_ready(ready);
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        if self.published > 0 {
            // Announced output cannot be taken back: fail the call instead.
            self.failure = Some("output was reset after part of it was announced".into());
        }
        self.len = 0;
        self.in_region = false;
    }
}
