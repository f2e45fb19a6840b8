//! The supervisor: one thread per isolated module.
//!
//! It spawns workers (so that a worker's parent-death signal fires when the
//! module closes or the host dies), performs the start-up handshake, reads
//! every worker's control socket (events, logs, last words) and stderr, and
//! watches each worker's pidfd. When a worker exits it reaps it (never any
//! other child of the host), classifies the death, records it for the call
//! it interrupted, promotes a warm spare, counts the failure for the circuit
//! breaker, and starts a replacement with back-off.
#![forbid(unsafe_code)]

use super::breaker::Breaker;
use super::pool::{Role, Shared};
use super::protocol::{
    self as p, ctl, Hello, Init, LastWords, Limits as RecLimits, Reassembler, Record,
};
use super::remote::{classify, realtime_ns, Death, KillReason, Limits, Worker};
use super::sys::{self, ExitKind, PollSet, SharedMem};
use super::worker::{EXIT_INIT_FAILED, EXIT_RETIRED};
use crate::counters::Counters;
use crate::error::Error;
use std::collections::VecDeque;
use std::io::ErrorKind as IoKind;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// After the control socket closes, how long the process gets to exit
/// before it is killed.
const HANGUP_GRACE: Duration = Duration::from_millis(250);
/// How long idle workers get to destroy their instance and exit at close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Datagrams read from one worker per loop iteration (fairness).
const READ_BURST: usize = 256;
/// Stderr lines logged per worker per second (the rest are dropped and
/// counted in `worker_output_dropped`).
const STDERR_LINES_PER_SEC: u32 = 20;
/// Bytes of one worker's stderr the host reads per second, and at most in
/// one burst (a token bucket). Beyond it the host stops reading that pipe
/// until the bucket refills: the pipe fills and the worker's own `write`
/// blocks, so a flood costs the worker its time, not the host its CPU.
const STDERR_BYTES_PER_SEC: u64 = 1 << 20;
const STDERR_BURST: u64 = 1 << 20;
/// After reading a worker's stderr the host does not look at it again for
/// this long: at most 100 reads per second per worker, however small the
/// worker's writes (each read takes up to a pipe's worth, 64 KiB).
const STDERR_READ_INTERVAL: Duration = Duration::from_millis(10);
/// Size of one read from a worker's stderr (a default pipe's capacity).
const STDERR_CHUNK: usize = 64 << 10;
/// Module log records forwarded per worker per second (the rest are dropped
/// and their bytes counted in `worker_output_dropped`): a worker must not be
/// able to flood the host runtime's logging.
const LOGS_PER_SEC: u32 = 1000;
/// What the host spends reading one worker's control socket, in units: a
/// datagram costs one unit plus one per `CTL_UNIT_BYTES` it carries, and a
/// batch of events one more per `CTL_EVENTS_PER_UNIT` events (decoding and
/// delivering an event costs far more than its bytes: a token bucket, like
/// stderr's). Beyond it the host stops polling that
/// socket until the bucket holds `CTL_RESUME_UNITS` again: the socket's
/// buffer fills and the worker's own `send` blocks (its module's emits are
/// then refused, counted in `events_refused`), so a flood of records costs
/// the worker its time, not the host its CPU. 5000 small datagrams a
/// second, about 60 MiB/s of large events, or about 80,000 small events a
/// second, per worker. What one datagram costs beyond the tokens left (a
/// batch of many events) is a debt the next refills pay first.
const CTL_UNITS_PER_SEC: u64 = 5000;
const CTL_BURST: u64 = 1000;
const CTL_UNIT_BYTES: u64 = 16 << 10;
const CTL_EVENTS_PER_UNIT: u64 = 16;
const CTL_RESUME_UNITS: u64 = 50;
const STDERR_LINE_MAX: usize = 512;

struct Tracked {
    worker: Arc<Worker>,
    reasm: Reassembler,
    sock_open: bool,
    stderr_open: bool,
    stderr_buf: Vec<u8>,
    /// The last lines, raw (sanitized only when shown): buffers are reused,
    /// so a line costs no allocation.
    stderr_tail: VecDeque<Vec<u8>>,
    stderr_window: (Instant, u32, u64),
    stderr_budget: Budget,
    /// Not polled until then (read interval, or an empty bucket).
    stderr_resume: Option<Instant>,
    log_window: (Instant, u32, u64),
    /// Control-socket reads ([`CTL_UNITS_PER_SEC`]).
    sock_budget: Budget,
    /// The socket is not polled until then (an empty bucket).
    sock_resume: Option<Instant>,
    last_words: Option<LastWords>,
    started: bool,
    hello: bool,
    startup_deadline: Option<Instant>,
    hangup_deadline: Option<Instant>,
    /// When the control socket was found closed (`CLOCK_REALTIME` ns): the
    /// time a hangup violation is blamed by.
    hangup_seen: Option<u64>,
}

struct Supervisor {
    shared: Arc<Shared>,
    tracked: Vec<Tracked>,
    next_id: u64,
    spawned: usize,
    name: String,
    limits: Limits,
    rec_limits: RecLimits,
    /// Reused buffer for reads of workers' stderr.
    chunk: Vec<u8>,
    /// When the datagram being processed was sent (kernel timestamp,
    /// `CLOCK_REALTIME` ns): what a violation found in it is blamed by.
    sent_ns: Option<u64>,
}

/// A token bucket: refills at `rate` tokens per second up to its burst size.
/// Taking more than it holds leaves a debt, repaid before tokens accrue.
#[derive(Debug)]
struct Budget {
    tokens: u64,
    debt: u64,
    burst: u64,
    rate: u64,
    at: Instant,
}

impl Budget {
    fn new(rate: u64, burst: u64) -> Budget {
        Budget {
            tokens: burst,
            debt: 0,
            burst,
            rate: rate.max(1),
            at: Instant::now(),
        }
    }

    /// Add what accrued since the last refill; the bytes available now.
    fn refill(&mut self, now: Instant) -> u64 {
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

    fn take(&mut self, n: u64) {
        let over = n.saturating_sub(self.tokens);
        self.tokens = self.tokens.saturating_sub(n);
        self.debt = self.debt.saturating_add(over);
    }

    /// How long until `need` tokens are available (zero if they are).
    fn time_until(&self, need: u64) -> Duration {
        let missing = need
            .min(self.burst)
            .saturating_sub(self.tokens)
            .saturating_add(self.debt);
        Duration::from_nanos(missing.saturating_mul(1_000_000_000) / self.rate)
    }
}

/// The supervisor thread's body.
pub(crate) fn run(shared: Arc<Shared>) {
    let limits = Limits {
        memory: shared.cfg.memory_limit,
        cpu: shared.cfg.cpu_limit,
    };
    let rec_limits = RecLimits {
        max_event: shared.cfg.max_event,
    };
    let name = shared.cfg.path_shown.clone();
    let mut s = Supervisor {
        shared,
        tracked: Vec::new(),
        next_id: 1,
        spawned: 0,
        name,
        limits,
        rec_limits,
        chunk: Vec::new(),
        sent_ns: None,
    };
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.run()));
    if let Err(p) = ran {
        // A bug here must not leave callers waiting on workers nobody reaps:
        // close the pool, kill and reap every worker (recording each death,
        // which wakes its caller), and let waiters see Closed.
        tracing::error!(
            target: "bridgehost::isolation",
            module = %s.name,
            "supervisor panicked: {}; closing the module's workers",
            crate::error::panic_message(&*p)
        );
        s.shared.pool.lock().closing = true;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.kill_all_and_reap()));
        s.shared.cv.notify_all();
    }
}

/// Keep only printable characters of untrusted text, bounded.
fn sanitize(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_string()
}

impl Supervisor {
    fn run(&mut self) {
        let mut poll = PollSet::default();
        let mut buf = vec![0u8; p::MAX_PACKET];
        let mut stop_deadline: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            let mut at = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
            if self.shared.stop.load(Ordering::SeqCst) {
                let deadline = *stop_deadline.get_or_insert_with(|| {
                    self.begin_shutdown();
                    now + SHUTDOWN_GRACE
                });
                if self.tracked.is_empty() {
                    break;
                }
                if now >= deadline {
                    self.kill_all_and_reap();
                    break;
                }
                at(deadline);
            } else if let Some(t) = self.maybe_spawn(now) {
                at(t);
            }
            for t in &mut self.tracked {
                if let Some(d) = t.stderr_resume {
                    if now >= d {
                        t.stderr_resume = None;
                    } else {
                        at(d);
                    }
                }
                if let Some(d) = t.sock_resume {
                    if now >= d {
                        t.sock_resume = None;
                    } else {
                        at(d);
                    }
                }
                if let Some(d) = t.startup_deadline {
                    if now >= d {
                        t.startup_deadline = None;
                        t.worker
                            .kill(KillReason::StartupTimeout(self.shared.cfg.startup_timeout));
                    } else {
                        at(d);
                    }
                }
                if let Some(d) = t.hangup_deadline {
                    if now >= d {
                        t.hangup_deadline = None;
                        t.worker.report_violation(
                            t.hangup_seen,
                            "the worker closed its control channel".into(),
                        );
                    } else {
                        at(d);
                    }
                }
            }
            let timeout = next
                .map_or(Duration::from_secs(1), |t| t.saturating_duration_since(now))
                .min(Duration::from_secs(1));

            poll.clear();
            let wake = self.shared.wake.raw().map(|fd| poll.add(fd));
            let mut idx = Vec::with_capacity(self.tracked.len());
            for t in &self.tracked {
                let sock = (t.sock_open && t.sock_resume.is_none())
                    .then(|| poll.add(t.worker.sock.as_raw_fd()));
                let err = (t.stderr_open && t.stderr_resume.is_none())
                    .then(|| poll.add(t.worker.stderr.as_raw_fd()));
                let pid = poll.add(t.worker.pidfd_raw());
                idx.push((sock, err, pid));
            }
            if let Err(e) = poll.wait(Some(timeout)) {
                tracing::error!(target: "bridgehost::isolation", "poll failed: {e}");
                crate::sync::sleep(Duration::from_millis(10));
                continue;
            }
            if wake.is_some_and(|w| poll.ready(w).readable) {
                self.shared.wake.drain();
            }
            let mut exited = Vec::new();
            for (i, (sock, err, pid)) in idx.into_iter().enumerate() {
                if let Some(k) = sock {
                    let r = poll.ready(k);
                    if r.readable || r.hangup {
                        self.read_socket(i, &mut buf, true);
                    }
                }
                if let Some(k) = err {
                    let r = poll.ready(k);
                    if r.readable || r.hangup {
                        self.read_stderr(i, false);
                    }
                }
                if poll.ready(pid).readable {
                    exited.push(i);
                }
            }
            for i in exited.into_iter().rev() {
                self.reaped(i, &mut buf);
            }
        }
        tracing::debug!(target: "bridgehost::isolation", module = %self.name, "supervisor stopped");
    }

    /// Start workers until the pool has its members (and, once the module
    /// is known to load, its spares). Returns when to try again if back-off
    /// or the breaker delays a spawn.
    fn maybe_spawn(&mut self, now: Instant) -> Option<Instant> {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.cfg;
        loop {
            let pool = self.shared.pool.lock();
            if pool.closing || pool.startup_error.is_some() {
                return None;
            }
            let target = if pool.hello.is_some() {
                // A stateful module keeps no spare (Pool::spares) and one
                // member: open() refuses it more (no second init meanwhile).
                let members = if pool.stateful() { 1 } else { cfg.workers };
                members + pool.spares(cfg.spares)
            } else {
                cfg.workers.min(1)
            };
            if pool.hello.is_none() && pool.live() > 0 {
                return None;
            }
            if pool.live() >= target {
                return None;
            }
            let at = pool.breaker.respawn_at(now);
            if at > now {
                return Some(at);
            }
            drop(pool);
            if let Err(e) = self.spawn() {
                tracing::error!(target: "bridgehost::isolation", module = %self.name, "cannot start a worker: {e}");
                let mut pool = self.shared.pool.lock();
                if pool.hello.is_none() {
                    pool.startup_error = Some(e);
                    drop(pool);
                    self.shared.cv.notify_all();
                    return None;
                }
                if pool.breaker.record_failure(Instant::now()) {
                    self.breaker_opened(&pool.breaker);
                }
                drop(pool);
                self.shared.cv.notify_all();
                return Some(Instant::now() + Duration::from_millis(5));
            }
        }
    }

    fn breaker_opened(&self, b: &Breaker) {
        let until = b
            .open_until()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        tracing::error!(
            target: "bridgehost::isolation",
            module = %self.name,
            "{} worker failures within {:?}: circuit breaker open, module unavailable for {:?}",
            b.threshold(),
            b.window(),
            until
        );
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let cfg = &self.shared.cfg;
        let span = tracing::info_span!("spawn", module = %self.name);
        let _g = span.enter();
        let io = |what: &str| {
            let what = what.to_string();
            move |e: std::io::Error| Error::Internal(format!("{what}: {e}"))
        };
        let (host_sock, child_sock) = sys::seqpacket_pair().map_err(io("socketpair"))?;
        sys::set_socket_buffers(host_sock.as_fd(), 1 << 20);
        // Before the worker can send anything: every datagram is stamped
        // with when it was sent, so a violation is blamed on the right call.
        sys::enable_timestamps(host_sock.as_fd()).map_err(io("SO_TIMESTAMPNS"))?;
        let (err_r, err_w) = sys::pipe().map_err(io("pipe"))?;
        let ctl_mem =
            SharedMem::create(c"bridgehost-ctl", ctl::SIZE).map_err(io("control block"))?;
        Worker::init_control_block(&ctl_mem);
        let config = if cfg.config.is_empty() {
            None
        } else {
            let m = SharedMem::create(c"bridgehost-config", cfg.config.len())
                .map_err(io("config region"))?;
            m.write_from(0, &cfg.config);
            Some(m)
        };
        let child =
            sys::spawn_worker(&cfg.exe, child_sock.as_fd(), err_w.as_fd()).map_err(|e| {
                if e.kind() == IoKind::PermissionDenied && !has_execute_bit(&cfg.exe) {
                    Error::NotFound(format!(
                        "cannot run the worker executable {}: it has no execute permission \
                         (unzipping a package, e.g. a .nupkg by hand, drops permission bits): \
                         chmod +x it",
                        cfg.exe.display()
                    ))
                } else if e.kind() == IoKind::NotFound || e.kind() == IoKind::PermissionDenied {
                    Error::NotFound(format!(
                        "cannot run the worker executable {}: {e}",
                        cfg.exe.display()
                    ))
                } else {
                    Error::Internal(format!("cannot spawn {}: {e}", cfg.exe.display()))
                }
            })?;
        drop(child_sock);
        drop(err_w);
        let init = Init {
            host_pid: sys::own_pid(),
            sandbox: cfg.sandbox,
            validate_only: cfg.validate_only,
            memory_limit: cfg.memory_limit.unwrap_or(0),
            cpu_limit_secs: cfg.cpu_limit.map_or(0, |d| d.as_secs().max(1)),
            open_files: cfg.open_files,
            max_event: cfg.max_event as u64,
            config_len: cfg.config.len() as u64,
            path: cfg.path.to_string_lossy().into_owned(),
        };
        let mut fds: Vec<_> = ctl_mem.fd().into_iter().collect();
        if let Some(c) = &config {
            fds.extend(c.fd());
        }
        let sent = sys::send_packet(host_sock.as_fd(), &init.encode(), &fds, true);
        let id = self.next_id;
        self.next_id += 1;
        let pid = child.pid;
        let worker = Arc::new(Worker::new(id, child, host_sock, err_r, ctl_mem));
        self.tracked.push(Tracked {
            worker: Arc::clone(&worker),
            reasm: Reassembler::default(),
            sock_open: true,
            stderr_open: true,
            stderr_buf: Vec::new(),
            stderr_tail: VecDeque::new(),
            stderr_window: (Instant::now(), 0, 0),
            stderr_budget: Budget::new(STDERR_BYTES_PER_SEC, STDERR_BURST),
            stderr_resume: None,
            log_window: (Instant::now(), 0, 0),
            sock_budget: Budget::new(CTL_UNITS_PER_SEC, CTL_BURST),
            sock_resume: None,
            last_words: None,
            started: false,
            hello: false,
            startup_deadline: Some(Instant::now() + cfg.startup_timeout),
            hangup_deadline: None,
            hangup_seen: None,
        });
        let mut pool = self.shared.pool.lock();
        let replacement = self.spawned >= cfg.workers + pool.spares(cfg.spares);
        self.spawned += 1;
        pool.add(worker);
        drop(pool);
        if replacement {
            Counters::inc(&self.shared.counters.respawns);
            tracing::info!(target: "bridgehost::isolation", module = %self.name, pid, "respawned worker");
        } else {
            tracing::debug!(target: "bridgehost::isolation", module = %self.name, pid, "started worker");
        }
        if let Err(e) = sent {
            // The worker will die at once (no INIT); the reaper records it.
            tracing::error!(target: "bridgehost::isolation", pid, "cannot send INIT: {e}");
        }
        Ok(())
    }

    /// The datagram being processed (sent at `self.sent_ns`) broke the
    /// protocol: blame the call in flight when it was sent, or no call
    /// ([`Worker::report_violation`]); read nothing more from this worker.
    fn violation(&mut self, i: usize, msg: String) {
        let t = &mut self.tracked[i];
        tracing::debug!(target: "bridgehost::isolation", module = %self.name, pid = t.worker.pid, "worker protocol violation: {msg}");
        t.worker.report_violation(self.sent_ns, msg);
        t.sock_open = false;
    }

    /// Read what the worker sent on its control socket, within its budget
    /// (`budgeted`; otherwise up to `READ_BURST` datagrams: at exit).
    fn read_socket(&mut self, i: usize, buf: &mut [u8], budgeted: bool) {
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
    fn read_datagrams(&mut self, i: usize, buf: &mut [u8], allowed: u64) -> u64 {
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

    fn record(&mut self, i: usize, rec: Record) {
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
                if let Some(hub) = self.shared.hub.upgrade() {
                    for ev in &batch.events {
                        // The worker already accepted it: a refusal here is
                        // a loss the module never hears of.
                        if let Err(Error::Overloaded(_)) =
                            hub.emit(self.shared.cfg.module_id, &ev.topic, &ev.data, c)
                        {
                            Counters::inc(&c.events_dropped);
                        }
                    }
                }
                // Each is now queued in the hub or counted as dropped: a
                // flush may go on to wait for the hub.
                // (A batch holds at most MAX_BATCH events.)
                let n = u32::try_from(batch.events.len()).unwrap_or(u32::MAX);
                self.tracked[i].worker.events_arrived(n);
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

    fn hello(&mut self, i: usize, h: Hello) {
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
    fn read_stderr(&mut self, i: usize, at_exit: bool) {
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
    fn stderr_data(&mut self, i: usize, mut data: &[u8]) {
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
    fn stderr_line(&mut self, i: usize, line: Vec<u8>) -> Vec<u8> {
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

    /// The worker behind `tracked[i]` has exited: drain, reap, classify.
    fn reaped(&mut self, i: usize, buf: &mut [u8]) {
        // Whatever it sent before dying (last words) is still buffered: read
        // a bounded amount regardless of the budget.
        self.read_socket(i, buf, false);
        self.read_stderr(i, true);
        let t = self.tracked.swap_remove(i);
        let w = &t.worker;
        let Some(exit) = w.try_reap(true) else {
            return;
        };
        let kill = w.kill_reason();
        let death = Death {
            exit,
            last_words: t.last_words,
            kill: kill.clone(),
        };
        let now = Instant::now();
        let mut pool = self.shared.pool.lock();
        let role = pool.remove(w);
        let planned = matches!(
            kill,
            Some(KillReason::Closed | KillReason::Shutdown | KillReason::Cancelled)
        ) || (pool.closing && kill.is_none())
            || (exit.kind == ExitKind::Exited(EXIT_RETIRED) && role != Some(Role::Busy) && t.hello);
        let describe = || match (&kill, exit.kind) {
            (Some(k), _) => format!("killed ({k:?})"),
            (None, ExitKind::Signaled(s)) => {
                format!("{} ({})", sys::signal_name(s), sys::signal_description(s))
            }
            (None, ExitKind::Exited(c)) => format!("exited with status {c}"),
            (None, ExitKind::Unknown) => "ended (status unknown)".to_string(),
        };
        if !planned {
            match kill {
                Some(KillReason::Timeout(_)) => {}
                // Blamed on no call: the host replaced a misbehaving idle
                // worker; it did not crash.
                Some(KillReason::IdleViolation(_)) => {
                    Counters::inc(&self.shared.counters.unblamed_violations)
                }
                _ => Counters::inc(&self.shared.counters.crashes),
            }
            // Dated when the host first knew: a kill may be reaped long after
            // later calls succeeded on other workers.
            let tripped = pool.breaker.record_failure(w.killed_at().unwrap_or(now));
            let tail: Vec<String> = t
                .stderr_tail
                .iter()
                .map(|l| sanitize(l, STDERR_LINE_MAX))
                .collect();
            tracing::warn!(
                target: "bridgehost::isolation",
                module = %self.name,
                pid = w.pid,
                busy = role == Some(Role::Busy),
                cpu_ms = exit.cpu.as_millis() as u64,
                max_rss_kib = exit.max_rss_kib,
                "worker {}; stderr tail: {:?}",
                describe(),
                tail
            );
            if tripped {
                self.breaker_opened(&pool.breaker);
            }
            if !t.hello && pool.hello.is_none() && pool.startup_error.is_none() {
                let e = match exit.kind {
                    _ if !t.started => Error::Internal(format!(
                        "the worker executable {} ended before its handshake ({}): is it the bridgehost-worker of this version?",
                        self.shared.cfg.exe.display(),
                        describe()
                    )),
                    ExitKind::Exited(EXIT_INIT_FAILED) => Error::Internal("the worker failed to start".into()),
                    _ => match classify(&death, &self.limits, "<start-up>") {
                        Error::WorkerCrashed { signal, .. } => Error::WorkerCrashed {
                            signal,
                            detail: format!("{} during start-up", sys::signal_name(signal)),
                        },
                        other => other,
                    },
                };
                pool.startup_error = Some(e);
            }
        } else {
            tracing::debug!(target: "bridgehost::isolation", module = %self.name, pid = w.pid, "worker {}", describe());
        }
        pool.rebalance(self.shared.cfg.workers);
        drop(pool);
        w.set_dead(death);
        self.shared.cv.notify_all();
    }

    fn begin_shutdown(&mut self) {
        let pool = self.shared.pool.lock();
        for t in &self.tracked {
            let role = pool
                .slots
                .iter()
                .find(|s| Arc::ptr_eq(&s.worker, &t.worker))
                .map(|s| s.role);
            match role {
                Some(Role::Idle | Role::Spare) if t.hello => t.worker.post_shutdown(),
                Some(Role::Doomed) => {}
                Some(Role::Busy) => t.worker.kill(KillReason::Closed),
                _ => t.worker.kill(KillReason::Shutdown),
            }
        }
    }

    fn kill_all_and_reap(&mut self) {
        for t in &self.tracked {
            t.worker.kill(KillReason::Shutdown);
        }
        let mut buf = vec![0u8; p::MAX_PACKET];
        while !self.tracked.is_empty() {
            let i = self.tracked.len() - 1;
            self.reaped(i, &mut buf);
        }
    }
}

/// True when `path` has an execute bit set (for a precise spawn error).
fn has_execute_bit(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}
