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
use super::protocol::{self as p, ctl, Init, LastWords, Limits as RecLimits, Reassembler};
use super::remote::{classify, Death, KillReason, Limits, Worker};
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

mod intake;

use intake::{sanitize, Budget};

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
    /// Asked to shut down (the module is closing): closing its control
    /// channel is what it was asked to do, and the close's own deadline
    /// (`SHUTDOWN_GRACE`) bounds how long it may take to exit.
    shutdown_posted: bool,
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
                    if t.shutdown_posted {
                        // Not a violation: it exits as asked (slowly, on a
                        // loaded machine or with a large address space to
                        // unmap); SHUTDOWN_GRACE ends the wait.
                        t.hangup_deadline = None;
                    } else if now >= d {
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
            shutdown_posted: false,
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

    /// The worker behind `tracked[i]` has exited: drain, reap, classify.
    fn reaped(&mut self, i: usize, buf: &mut [u8]) {
        // Whatever it sent before dying (last words) is still buffered: read
        // a bounded amount regardless of the budget.
        self.read_socket(i, buf, false);
        self.read_stderr(i, true);
        let t = self.tracked.swap_remove(i);
        let w = &t.worker;
        // Everything it sent was read: what it did not send is lost with it.
        self.shared.transit.lock().gone(w.id);
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
            || (exit.kind == ExitKind::Exited(EXIT_RETIRED)
                && t.hello
                // Idle, or busy only in the host's books: it answered its
                // call, or never started the next one (its CPU limit retires
                // it after an answer its caller may not have read yet, or
                // while the next call was being handed over).
                && (role != Some(Role::Busy) || w.between_calls()));
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
            // later calls succeeded on other workers. Not counted twice: the
            // caller that killed it may have told the breaker already.
            let tripped =
                w.take_failure() && pool.breaker.record_failure(w.killed_at().unwrap_or(now));
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
        for t in &mut self.tracked {
            let role = pool
                .slots
                .iter()
                .find(|s| Arc::ptr_eq(&s.worker, &t.worker))
                .map(|s| s.role);
            match role {
                Some(Role::Idle | Role::Spare) if t.hello => {
                    t.worker.post_shutdown();
                    t.shutdown_posted = true;
                }
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
