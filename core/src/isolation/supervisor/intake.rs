//! What workers send the supervisor: control-socket datagrams (records,
//! the start-up `HELLO`, last words) and stderr, read within per-worker
//! budgets (token buckets: rate, bytes, CPU spent here) so that a flooding
//! worker costs itself, not the host; the excess is dropped and counted.
//! A datagram that breaks the protocol is blamed on the call in flight when
//! it was sent, or on no call.
#![forbid(unsafe_code)]

use super::super::protocol::{self as p, Hello, Record};
use super::super::remote::realtime_ns;
use super::super::sys;
use super::{
    Supervisor, CTL_EVENTS_PER_UNIT, CTL_RESUME_UNITS, CTL_UNIT_BYTES, HANGUP_GRACE, LOGS_PER_SEC,
    READ_BURST, STDERR_CHUNK, STDERR_LINES_PER_SEC, STDERR_LINE_MAX, STDERR_READ_INTERVAL,
};
use crate::counters::Counters;
use crate::error::Error;
use std::io::ErrorKind as IoKind;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A token bucket: refills at `rate` tokens per second up to its burst size.
/// Taking more than it holds leaves a debt, repaid before tokens accrue.
#[derive(Debug)]
pub(super) struct Budget {
    tokens: u64,
    debt: u64,
    burst: u64,
    rate: u64,
    at: Instant,
}

impl Budget {
    pub(super) fn new(rate: u64, burst: u64) -> Budget {
        Budget {
            tokens: burst,
            debt: 0,
            burst,
            rate: rate.max(1),
            at: Instant::now(),
        }
    }

    /// Add what accrued since the last refill; the bytes available now.
    pub(super) fn refill(&mut self, now: Instant) -> u64 {
        let ns = now.saturating_duration_since(self.at).as_nanos();
        let add = ns.saturating_mul(u128::from(self.rate)) / 1_000_000_000;
        if add > 0 {
            let add = u64::try_from(add).unwrap_or(u64::MAX);
            let repaid = add.min(self.debt);
            self.debt -= repaid;
            self.tokens = (add - repaid).saturating_add(self.tokens).min(self.burst);
            self.at = now;
        }
        self.tokens
    }

    pub(super) fn take(&mut self, n: u64) {
        let over = n.saturating_sub(self.tokens);
        self.tokens = self.tokens.saturating_sub(n);
        self.debt = self.debt.saturating_add(over);
    }

    /// How long until `need` tokens are available (zero if they are).
    pub(super) fn time_until(&self, need: u64) -> Duration {
        let missing = need
            .min(self.burst)
            .saturating_sub(self.tokens)
            .saturating_add(self.debt);
        Duration::from_nanos(missing.saturating_mul(1_000_000_000) / self.rate)
    }
}

/// Keep only printable characters of untrusted text, bounded.
pub(super) fn sanitize(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_string()
}

impl Supervisor {
    /// The datagram being processed (sent at `self.sent_ns`) broke the
    /// protocol: blame the call in flight when it was sent, or no call
    /// ([`Worker::report_violation`]); read nothing more from this worker.
    pub(super) fn violation(&mut self, i: usize, msg: String) {
        let t = &mut self.tracked[i];
        tracing::debug!(target: "bridgehost::isolation", module = %self.name, pid = t.worker.pid, "worker protocol violation: {msg}");
        t.worker.report_violation(self.sent_ns, msg);
        t.sock_open = false;
    }

    /// Read what the worker sent on its control socket, within its budget
    /// (`budgeted`; otherwise up to `READ_BURST` datagrams: at exit).
    pub(super) fn read_socket(&mut self, i: usize, buf: &mut [u8], budgeted: bool) {
        let now = Instant::now();
        let allowed = if budgeted {
            self.tracked[i].sock_budget.refill(now)
        } else {
            u64::MAX
        };
        let used = self.read_datagrams(i, buf, allowed);
        if !budgeted {
            return;
        }
        let t = &mut self.tracked[i];
        t.sock_budget.take(used);
        // An empty (or nearly empty) bucket: stop polling the socket until
        // it holds some again. Until then the socket's buffer fills and the
        // worker waits on its own `send`.
        if t.sock_budget.tokens < CTL_RESUME_UNITS {
            t.sock_resume = Some(now + t.sock_budget.time_until(CTL_RESUME_UNITS));
        }
    }

    /// Read and handle datagrams until the socket is empty or closed, a
    /// violation, `READ_BURST` datagrams, or `allowed` units (see
    /// [`CTL_UNITS_PER_SEC`]) are used; returns the units used.
    pub(super) fn read_datagrams(&mut self, i: usize, buf: &mut [u8], allowed: u64) -> u64 {
        let mut used = 0u64;
        for _ in 0..READ_BURST {
            if used >= allowed {
                return used;
            }
            let t = &mut self.tracked[i];
            if !t.sock_open {
                return used;
            }
            let got = sys::recv_packet_stamped(t.worker.sock.as_fd(), buf, true);
            if let Ok(Some(pkt)) = &got {
                used = used.saturating_add(1 + pkt.len as u64 / CTL_UNIT_BYTES);
            }
            match got {
                Ok(None) => {
                    t.sock_open = false;
                    t.hangup_deadline = Some(Instant::now() + HANGUP_GRACE);
                    t.hangup_seen = Some(realtime_ns());
                    return used;
                }
                Ok(Some(pkt)) => {
                    // Without a timestamp (never expected), "now": the call
                    // in flight, if any, is blamed, as it would have been
                    // before timestamps.
                    self.sent_ns = Some(pkt.sent_ns.unwrap_or_else(realtime_ns));
                    if pkt.truncated || pkt.ctrunc {
                        let what = if pkt.ctrunc {
                            "sent descriptors"
                        } else {
                            "sent an oversized datagram"
                        };
                        self.violation(i, format!("the worker {what}"));
                        return used;
                    }
                    let limits = self.rec_limits;
                    match t.reasm.push(&buf[..pkt.len], &limits) {
                        Ok(None) => {}
                        Ok(Some((kind, payload))) => match p::decode_record(kind, payload, &limits)
                        {
                            Ok(rec) => {
                                if let Record::Events(batch) = &rec {
                                    used = used.saturating_add(
                                        batch.events.len() as u64 / CTL_EVENTS_PER_UNIT,
                                    );
                                }
                                self.record(i, rec)
                            }
                            Err(e) => {
                                self.violation(i, e.0);
                                return used;
                            }
                        },
                        Err(e) => {
                            self.violation(i, e.0);
                            return used;
                        }
                    }
                }
                Err(e) if e.kind() == IoKind::WouldBlock => return used,
                Err(e) => {
                    tracing::debug!(target: "bridgehost::isolation", "control socket error: {e}");
                    t.sock_open = false;
                    t.hangup_deadline = Some(Instant::now() + HANGUP_GRACE);
                    t.hangup_seen = Some(realtime_ns());
                    return used;
                }
            }
        }
        used
    }

    pub(super) fn record(&mut self, i: usize, rec: Record) {
        match rec {
            Record::Hello(h) => self.hello(i, h),
            Record::InitError(e) => {
                // The file is named as the caller named it, not as the worker
                // (which loads the canonical path) saw it.
                let e = match e {
                    Error::AbiMismatch { reason, .. } => Error::AbiMismatch {
                        path: self.shared.cfg.path_shown.clone(),
                        reason,
                    },
                    other => other,
                };
                let t = &self.tracked[i];
                if t.hello {
                    self.violation(i, "start-up error after HELLO".into());
                    return;
                }
                let mut pool = self.shared.pool.lock();
                if pool.hello.is_none() && pool.startup_error.is_none() {
                    pool.startup_error = Some(e);
                    drop(pool);
                    self.shared.cv.notify_all();
                } else {
                    tracing::warn!(target: "bridgehost::isolation", module = %self.name, pid = t.worker.pid, "replacement worker failed to start: {e}");
                }
            }
            Record::Events(batch) => {
                let c = &self.shared.counters;
                // The worker refused these to the module (BH_API_OVERLOADED):
                // the module was told and may have retried.
                if batch.dropped > 0 {
                    c.events_refused
                        .fetch_add(u64::from(batch.dropped), Ordering::Relaxed);
                }
                let worker = &self.tracked[i].worker;
                let hub = self.shared.hub.upgrade();
                // Handing the batch over and counting it received exclude a
                // subscription's end (see `isolation::transit`).
                let mut transit = self.shared.transit.lock();
                let (_, base) = worker.event_counts();
                for (k, ev) in (1u32..).zip(&batch.events) {
                    // The worker already accepted it: a refusal here is
                    // a loss the module never hears of.
                    let dropped = hub.as_ref().is_some_and(|hub| {
                        matches!(
                            hub.emit(self.shared.cfg.module_id, &ev.topic, &ev.data, c),
                            Err(Error::Overloaded(_))
                        )
                    });
                    if dropped {
                        Counters::inc(&c.events_dropped);
                    } else {
                        transit.arrived(worker.id, base.wrapping_add(k), &ev.topic);
                    }
                }
                // Each is now queued in the hub or counted as dropped: a
                // flush may go on to wait for the hub.
                // (A batch holds at most MAX_BATCH events.)
                let n = u32::try_from(batch.events.len()).unwrap_or(u32::MAX);
                worker.events_arrived(n);
                transit.passed(worker.id, base.wrapping_add(n));
                drop(transit);
                let _g = self.shared.arrivals.lock();
                self.shared.arrivals_cv.notify_all();
            }
            Record::Log(level, msg) => {
                let m = &self.name;
                let (start, count, suppressed) = &mut self.tracked[i].log_window;
                let now = Instant::now();
                if now.duration_since(*start) >= Duration::from_secs(1) {
                    if *suppressed > 0 {
                        tracing::warn!(target: "bridgehost::module", module = %m, "{suppressed} log messages dropped (more than {LOGS_PER_SEC}/s)");
                    }
                    *start = now;
                    *count = 0;
                    *suppressed = 0;
                }
                if *count >= LOGS_PER_SEC {
                    *suppressed += 1;
                    self.shared
                        .counters
                        .worker_output_dropped
                        .fetch_add(msg.len() as u64, Ordering::Relaxed);
                    return;
                }
                *count += 1;
                match level {
                    i32::MIN..=0 => {
                        tracing::error!(target: "bridgehost::module", module = %m, "{msg}")
                    }
                    1 => tracing::warn!(target: "bridgehost::module", module = %m, "{msg}"),
                    2 => tracing::info!(target: "bridgehost::module", module = %m, "{msg}"),
                    3 => tracing::debug!(target: "bridgehost::module", module = %m, "{msg}"),
                    _ => tracing::trace!(target: "bridgehost::module", module = %m, "{msg}"),
                }
            }
            Record::LastWords(w) => self.tracked[i].last_words = Some(w),
            Record::Started => {
                if std::mem::replace(&mut self.tracked[i].started, true) {
                    self.violation(i, "a second STARTED".into());
                }
            }
        }
    }

    pub(super) fn hello(&mut self, i: usize, h: Hello) {
        if self.tracked[i].hello {
            self.violation(i, "a second HELLO".into());
            return;
        }
        let mut pool = self.shared.pool.lock();
        match &pool.hello {
            None => {
                self.name = h.name.clone();
                pool.hello = Some(h);
            }
            Some(first) if *first == h => {}
            Some(_) => {
                drop(pool);
                self.violation(i, "HELLO differs from the first worker's".into());
                return;
            }
        }
        let t = &mut self.tracked[i];
        t.hello = true;
        t.startup_deadline = None;
        let role = pool.ready(&t.worker, self.shared.cfg.workers);
        drop(pool);
        tracing::debug!(target: "bridgehost::isolation", module = %self.name, pid = t.worker.pid, ?role, "worker ready");
        self.shared.cv.notify_all();
    }

    /// Read what the worker wrote to stderr, within its byte budget (all of
    /// it, up to a bound, once the worker has exited: `at_exit`).
    pub(super) fn read_stderr(&mut self, i: usize, at_exit: bool) {
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.resize(STDERR_CHUNK, 0);
        let now = Instant::now();
        // At exit the pipe holds what the worker wrote last (its tail is
        // shown with the death): read a bounded amount regardless of budget.
        let mut allowed = if at_exit {
            4 * STDERR_CHUNK as u64
        } else {
            self.tracked[i].stderr_budget.refill(now)
        };
        let mut read = 0u64;
        while allowed > 0 {
            let t = &mut self.tracked[i];
            if !t.stderr_open {
                break;
            }
            let want = (allowed as usize).min(STDERR_CHUNK);
            match sys::read_some(t.worker.stderr.as_fd(), &mut chunk[..want]) {
                Ok(0) => {
                    t.stderr_open = false;
                    if !t.stderr_buf.is_empty() {
                        let rest = std::mem::take(&mut t.stderr_buf);
                        let spare = self.stderr_line(i, rest);
                        self.tracked[i].stderr_buf = spare;
                    }
                    break;
                }
                Ok(n) => {
                    read += n as u64;
                    allowed -= n as u64;
                    self.stderr_data(i, &chunk[..n]);
                }
                Err(e) if e.kind() == IoKind::WouldBlock => break,
                Err(_) => {
                    t.stderr_open = false;
                    break;
                }
            }
        }
        self.chunk = chunk;
        if at_exit {
            return;
        }
        let t = &mut self.tracked[i];
        t.stderr_budget.take(read);
        // Look again after the read interval, or once the bucket holds a
        // chunk again (until then the pipe fills and the worker waits).
        let wait = t
            .stderr_budget
            .time_until(STDERR_CHUNK as u64)
            .max(STDERR_READ_INTERVAL);
        t.stderr_resume = Some(now + wait);
    }

    /// Split what was read into lines (at most `STDERR_LINE_MAX` bytes; a
    /// partial line waits in `stderr_buf`).
    pub(super) fn stderr_data(&mut self, i: usize, mut data: &[u8]) {
        while !data.is_empty() {
            let t = &mut self.tracked[i];
            let room = STDERR_LINE_MAX.saturating_sub(t.stderr_buf.len()).max(1);
            let seg = &data[..data.len().min(room)];
            match seg.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    t.stderr_buf.extend_from_slice(&seg[..=nl]);
                    data = &data[nl + 1..];
                }
                None => {
                    t.stderr_buf.extend_from_slice(seg);
                    data = &data[seg.len()..];
                    if t.stderr_buf.len() < STDERR_LINE_MAX {
                        break;
                    }
                }
            }
            let line = std::mem::take(&mut t.stderr_buf);
            let spare = self.stderr_line(i, line);
            self.tracked[i].stderr_buf = spare;
        }
    }

    /// One line of the worker's stderr: logged (a few per second) or
    /// dropped and counted, and kept in the tail shown if the worker dies.
    /// Returns an empty buffer to reuse (no allocation per line).
    pub(super) fn stderr_line(&mut self, i: usize, line: Vec<u8>) -> Vec<u8> {
        if line
            .iter()
            .all(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            let mut line = line;
            line.clear();
            return line;
        }
        let t = &mut self.tracked[i];
        let now = Instant::now();
        let (start, count, suppressed) = &mut t.stderr_window;
        if now.duration_since(*start) >= Duration::from_secs(1) {
            if *suppressed > 0 {
                tracing::debug!(target: "bridgehost::worker", module = %self.name, pid = t.worker.pid, "{suppressed} stderr lines not logged");
            }
            *start = now;
            *count = 0;
            *suppressed = 0;
        }
        if *count < STDERR_LINES_PER_SEC {
            *count += 1;
            let text = sanitize(&line, STDERR_LINE_MAX);
            tracing::debug!(target: "bridgehost::worker", module = %self.name, pid = t.worker.pid, "stderr: {text}");
        } else {
            *suppressed += 1;
            self.shared
                .counters
                .worker_output_dropped
                .fetch_add(line.len() as u64, Ordering::Relaxed);
        }
        t.stderr_tail.push_back(line);
        let mut spare = if t.stderr_tail.len() > 4 {
            t.stderr_tail.pop_front().unwrap_or_default()
        } else {
            Vec::with_capacity(STDERR_LINE_MAX)
        };
        spare.clear();
        spare
    }
}
