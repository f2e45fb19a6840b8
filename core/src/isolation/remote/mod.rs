//! One worker process seen from the host, and the call path through its
//! shared control block.
//!
//! A call: the host writes the input (inline, or into an input region it
//! created and announced with `MAP`), writes the request header, bumps
//! `TO_WORKER` and wakes the worker if it sleeps. It then spins briefly and
//! sleeps on `HOST_PARKED` until `TO_HOST` moves by exactly one, the deadline
//! passes, or the supervisor reports the worker dead. The response header is
//! copied out of shared memory once and validated against what the host
//! expects ([`decode_response`]); the output is copied into the caller's
//! sink with bounds the host computed itself. While it waits, the caller
//! copies out the output the worker announced final (`OUT_READY`, whole
//! MiB of the output region, validated first: [`Worker::stream_ready`]),
//! so the module's write and the copy-out overlap. Any violation kills the
//! worker and fails the call with [`Error::Protocol`].
//!
//! **Blame.** A violation belongs to the call in flight when the worker
//! committed it, or to no call, never to a later one. The caller checks the
//! shared block before handing a call over (a response counter moved while
//! idle: the worker is replaced and the call goes to another); the
//! supervisor, which reads the control socket, learns when each datagram was
//! sent (kernel timestamps) and compares it with when the call in flight was
//! posted ([`Worker::report_violation`]).
#![forbid(unsafe_code)]

use super::protocol::{
    self as p, ctl, decode_response, Expect, MapMsg, OutputAt, RegionKind, Request, Response,
};
use super::shared_buffer::{self, Inner};
use super::sys::{self, ExitInfo, ExitKind, SharedMem};
use crate::error::Error;
use crate::output::CallOutput;
use crate::sync::Mutex;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How long a caller spins for a response before sleeping.
pub(crate) const HOST_SPIN: Duration = Duration::from_micros(30);
/// Busy-wait iterations before spinning turns into yielding the CPU (the
/// peer may be waiting for this very CPU).
pub(crate) const SPIN_TIGHT: u32 = 16;
/// Longest single sleep of a waiting caller (it re-checks state after each).
const PARK_SLICE: Duration = Duration::from_millis(250);
/// Regions larger than this are released after the call that needed them.
pub(crate) const RETAIN_REGION: usize = 64 << 20;
/// Smallest region created (regions are reused across calls).
const MIN_REGION: usize = 1 << 20;
/// Output is copied out of shared memory in chunks of this size (a chunk
/// stays in cache between the two copies).
const COPY_CHUNK: usize = 256 << 10;
/// Inputs at least this large are copied into shared memory by two threads.
const PARALLEL_COPY_MIN: usize = 8 << 20;

mod blame;
mod copy;
mod death;
mod regions;

use copy::copy_in;
pub(crate) use death::{classify, Death, KillReason, Limits};
use regions::HostRegion;

struct Region {
    gen: u32,
    mem: SharedMem,
}

struct CallState {
    seq: u32,
    /// Our TO_WORKER counter (the host's copy is authoritative).
    to_worker: u32,
    /// Last valid TO_HOST value.
    to_host: u32,
    next_gen: u32,
    input: Option<Region>,
    output: Option<Region>,
    /// The window of a caller's `SharedBuffer` this worker has mapped.
    caller: Option<CallerWindow>,
}

/// Bytes `start..start + len` of a caller's buffer, mapped in the worker as
/// generation `gen`.
struct CallerWindow {
    buf: Weak<Inner>,
    gen: u32,
    start: usize,
    len: usize,
}

/// The parameters of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallCx<'a> {
    pub(crate) max_output: usize,
    pub(crate) max_input: usize,
    /// `call_timeout`, reported in `Timeout`.
    pub(crate) timeout: Option<Duration>,
    /// When the call times out: `call_timeout` after the call was made,
    /// not after it got this worker (the wait for a worker is deducted).
    pub(crate) deadline: Option<Instant>,
    pub(crate) method: &'a str,
    pub(crate) limits: Limits,
}

/// Why a call did not return a result.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The worker died before it started this call: the call may be sent
    /// to another worker.
    NotStarted,
    /// The call failed. `worker_ok`: the worker is alive and usable (a module
    /// error); otherwise it is dead or being killed.
    Failed { error: Error, worker_ok: bool },
}

/// A worker process (host side).
pub(crate) struct Worker {
    pub(crate) id: u64,
    pub(crate) pid: i32,
    /// The host process that spawned it (a forked copy of the host must
    /// never signal or reap its parent's workers).
    owner: i32,
    pidfd: OwnedFd,
    pub(crate) sock: OwnedFd,
    pub(crate) stderr: OwnedFd,
    ctl: SharedMem,
    dead: AtomicBool,
    reaped: AtomicBool,
    death: Mutex<Option<Death>>,
    /// The first kill's reason, and when it was asked for: the failure's
    /// date for the circuit breaker, which may reap the worker much later.
    kill_reason: Mutex<Option<(KillReason, Instant)>>,
    /// The circuit breaker was told of this worker's failure: by the caller
    /// that killed it (a timeout, a protocol violation: at once, before a
    /// later call could succeed on another worker) or by the supervisor when
    /// it reaped it. Exactly one of them counts it.
    failure_counted: AtomicBool,
    call: Mutex<CallState>,
    /// The worker's accepted-event count in its last response (wrapping):
    /// every event a returned call emitted is among these.
    events_promised: AtomicU32,
    /// Events received from the worker and handed to the event hub
    /// (delivered or counted as dropped), by the supervisor (wrapping).
    events_received: AtomicU32,
    blame: Mutex<Blame>,
}

/// What the supervisor needs to blame a violation on the right call.
#[derive(Debug, Default)]
struct Blame {
    /// When the call in flight was posted (`CLOCK_REALTIME`, ns since the
    /// epoch, the clock of socket timestamps); `None` while idle.
    call_posted: Option<u64>,
    /// A violation the worker committed before the call in flight was
    /// posted: that call is innocent and runs on; the worker is replaced
    /// when it ends (the violation is blamed on no call).
    after_call: Option<String>,
}

/// `CLOCK_REALTIME` now, ns since the epoch (the clock the kernel stamps
/// datagrams with).
pub(crate) fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("pid", &self.pid)
            .field("dead", &self.dead.load(Ordering::Relaxed))
            .finish()
    }
}

impl Worker {
    pub(crate) fn new(
        id: u64,
        child: sys::Child,
        sock: OwnedFd,
        stderr: OwnedFd,
        ctl: SharedMem,
    ) -> Worker {
        Worker {
            id,
            owner: sys::own_pid(),
            pid: child.pid,
            pidfd: child.pidfd,
            sock,
            stderr,
            ctl,
            dead: AtomicBool::new(false),
            reaped: AtomicBool::new(false),
            death: Mutex::new(None),
            kill_reason: Mutex::new(None),
            failure_counted: AtomicBool::new(false),
            events_promised: AtomicU32::new(0),
            events_received: AtomicU32::new(0),
            call: Mutex::new(CallState {
                seq: 0,
                to_worker: 0,
                to_host: 0,
                next_gen: 0,
                input: None,
                output: None,
                caller: None,
            }),
            blame: Mutex::new(Blame::default()),
        }
    }

    pub(crate) fn pidfd_raw(&self) -> std::os::fd::RawFd {
        self.pidfd.as_raw_fd()
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Kill the process (SIGKILL through its pidfd); the first reason sticks.
    pub(crate) fn kill(&self, reason: KillReason) {
        if sys::own_pid() != self.owner {
            return;
        }
        {
            let mut k = self.kill_reason.lock();
            if k.is_none() {
                *k = Some((reason, Instant::now()));
            }
        }
        sys::pidfd_kill(self.pidfd.as_fd(), sys::SIGKILL);
    }

    pub(crate) fn kill_reason(&self) -> Option<KillReason> {
        self.kill_reason.lock().as_ref().map(|(r, _)| r.clone())
    }

    /// When the host first asked for this worker to be killed.
    pub(crate) fn killed_at(&self) -> Option<Instant> {
        self.kill_reason.lock().as_ref().map(|&(_, t)| t)
    }

    /// When the host killed this worker for a failure of its own (a
    /// timeout, a protocol violation, a start-up that took too long; not a
    /// close, a shutdown or a cancel), the first time this is asked: the
    /// caller that killed it tells the breaker at once. `None` once asked, or
    /// for any other worker.
    pub(crate) fn take_kill_failure(&self) -> Option<Instant> {
        let at = match self.kill_reason.lock().as_ref() {
            Some((KillReason::Closed | KillReason::Shutdown | KillReason::Cancelled, _)) | None => {
                return None
            }
            Some(&(_, at)) => at,
        };
        (!self.failure_counted.swap(true, Ordering::SeqCst)).then_some(at)
    }

    /// True the first time it is asked, unless [`Worker::take_kill_failure`]
    /// was: whether the supervisor still has to tell the breaker of this
    /// worker's failure when it reaps it.
    pub(crate) fn take_failure(&self) -> bool {
        !self.failure_counted.swap(true, Ordering::SeqCst)
    }

    /// Whether the worker is between calls by its own account: it answered
    /// the last call the host handed it (the response header names that
    /// call's sequence number), or never started it (`ACCEPTED` does not
    /// name it). A worker that exits `EXIT_RETIRED` between calls retired as
    /// planned (its CPU limit), not in the middle of a call, even if the
    /// host's books still show it busy (its caller has not read the answer
    /// yet, or has already handed it the next call). Read from shared memory
    /// the worker writes: it can only make its own exit count as planned, as
    /// exiting while idle already does.
    pub(crate) fn between_calls(&self) -> bool {
        let mut req = [0u8; p::REQ_LEN];
        self.ctl.read_into(ctl::OFF_REQ, &mut req);
        let mut hdr = [0u8; p::RESP_LEN];
        self.ctl.read_into(ctl::OFF_RESP, &mut hdr);
        let accepted = self
            .ctl
            .atomic_u32(ctl::OFF_ACCEPTED)
            .load(Ordering::SeqCst);
        match p::request_seq(&req) {
            Some(seq) => p::response_answers(&req, &hdr) || seq != accepted,
            None => false,
        }
    }

    /// False when the worker must not serve another call (it was killed, or
    /// is to be replaced).
    pub(crate) fn reusable(&self) -> bool {
        !self.is_dead() && self.kill_reason.lock().is_none()
    }

    /// Reap the process if it has exited (supervisor only).
    pub(crate) fn try_reap(&self, block: bool) -> Option<ExitInfo> {
        if self.reaped.load(Ordering::SeqCst) {
            return None;
        }
        match sys::reap(self.pid, block) {
            Ok(Some(info)) => {
                self.reaped.store(true, Ordering::SeqCst);
                Some(info)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(target: "bridgehost::isolation", pid = self.pid, "wait4 failed: {e}");
                self.reaped.store(true, Ordering::SeqCst);
                Some(ExitInfo {
                    kind: ExitKind::Unknown,
                    cpu: Duration::ZERO,
                })
            }
        }
    }

    /// Record the death and wake a caller waiting on this worker.
    pub(crate) fn set_dead(&self, death: Death) {
        *self.death.lock() = Some(death);
        self.dead.store(true, Ordering::SeqCst);
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        parked.store(0, Ordering::SeqCst);
        sys::futex_wake(parked, i32::MAX);
    }

    pub(crate) fn death(&self) -> Option<Death> {
        self.death.lock().clone()
    }

    /// Write the control block's magic (before the worker starts).
    pub(crate) fn init_control_block(ctl: &SharedMem) {
        ctl.write_from(ctl::OFF_MAGIC, &ctl::MAGIC.to_le_bytes());
    }

    fn post(&self, st: &mut CallState, req: &Request) {
        self.ctl.write_from(ctl::OFF_REQ, &req.encode());
        st.to_worker = st.to_worker.wrapping_add(1);
        self.ctl
            .atomic_u32(ctl::OFF_TO_WORKER)
            .store(st.to_worker, Ordering::SeqCst);
        let parked = self.ctl.atomic_u32(ctl::OFF_WORKER_PARKED);
        if parked.swap(0, Ordering::SeqCst) != 0 {
            sys::futex_wake(parked, 1);
        }
    }

    /// Ask an idle worker to destroy its instance and exit.
    pub(crate) fn post_shutdown(&self) {
        let mut st = self.call.lock();
        st.seq = st.seq.wrapping_add(1);
        let req = Request {
            op: p::OP_SHUTDOWN,
            seq: st.seq,
            ..Default::default()
        };
        self.post(&mut st, &req);
    }

    /// Wait until TO_HOST moves by one. Errors: dead, timeout, violation.
    /// `progress` runs while waiting (it copies out announced output); an
    /// `Err` from it is a violation.
    fn wait_response(
        &self,
        st: &mut CallState,
        seq: u32,
        deadline: Option<Instant>,
        progress: &mut dyn FnMut(&CallState) -> Result<(), String>,
    ) -> Result<(), Waited> {
        let word = self.ctl.atomic_u32(ctl::OFF_TO_HOST);
        let seen = st.to_host;
        let expected = seen.wrapping_add(1);
        let check = |v: u32| -> Option<Result<(), Waited>> {
            if v == expected {
                Some(Ok(()))
            } else if v == seen {
                None
            } else if self.is_dead() {
                Some(Err(Waited::Dead))
            } else {
                Some(Err(Waited::Violation(format!(
                    "response counter jumped from {seen} to {v}"
                ))))
            }
        };
        let start = Instant::now();
        let mut i = 0u32;
        let outcome = loop {
            if let Some(r) = check(word.load(Ordering::Acquire)) {
                break r;
            }
            if self.is_dead() {
                break Err(Waited::Dead);
            }
            if let Err(m) = progress(st) {
                break Err(Waited::Violation(m));
            }
            i = i.wrapping_add(1);
            if i < SPIN_TIGHT {
                std::hint::spin_loop();
                continue;
            }
            if start.elapsed() >= HOST_SPIN {
                break self.park(word, &check, seq, deadline, &mut || progress(st));
            }
            // If the worker shares this CPU, let it run.
            std::thread::yield_now();
        };
        if outcome.is_ok() {
            st.to_host = expected;
        }
        outcome
    }

    fn park(
        &self,
        word: &std::sync::atomic::AtomicU32,
        check: &dyn Fn(u32) -> Option<Result<(), Waited>>,
        seq: u32,
        deadline: Option<Instant>,
        progress: &mut dyn FnMut() -> Result<(), String>,
    ) -> Result<(), Waited> {
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        loop {
            parked.store(1, Ordering::SeqCst);
            if let Some(r) = check(word.load(Ordering::SeqCst)) {
                parked.store(0, Ordering::Relaxed);
                return r;
            }
            // After announcing the sleep: output announced from now on
            // clears PARKED, so the sleep below returns at once.
            if let Err(m) = progress() {
                parked.store(0, Ordering::Relaxed);
                return Err(Waited::Violation(m));
            }
            if self.is_dead() {
                parked.store(0, Ordering::Relaxed);
                return Err(Waited::Dead);
            }
            // Before each sleep (the first one after HOST_SPIN of spinning,
            // then every slice): the answer is late.
            self.kill_if_stopped_before(seq);
            let now = Instant::now();
            let slice = match deadline {
                Some(d) if now >= d => {
                    parked.store(0, Ordering::Relaxed);
                    return Err(Waited::Timeout);
                }
                Some(d) => (d - now).min(PARK_SLICE),
                None => PARK_SLICE,
            };
            if crate::executor::poll_installed() {
                // A cancellable call: ask its poll between short waits (and
                // after a signal interrupted one); a cancel kills this
                // worker, which the next round sees.
                sys::futex_wait(parked, 1, Some(slice.min(crate::executor::POLL_EVERY)));
                crate::executor::poll_cancel();
            } else {
                sys::futex_wait(parked, 1, Some(slice));
            }
        }
    }

    /// A worker that stopped itself (`SIGSTOP`, ...) before it began call
    /// `seq` will never begin it: kill it as an idle violation (blamed on no
    /// call); once the supervisor has reaped it, the wait ends `Dead` and
    /// [`Worker::dead_error`] sends the call, which the worker never began,
    /// to another worker. The stop is read first: once the process is
    /// stopped, `ACCEPTED` no longer moves (and if something continued it
    /// and it began the call after all, `dead_error` reads that after its
    /// death and fails the call instead). A worker stopped in the middle of
    /// a call is left to the call's timeout.
    ///
    /// Asked only when the answer is late (see `park`), never on the call
    /// path: the `waitid` this costs, made before every call, measured
    /// +1.2 µs on a 16-byte isolated echo (3.3 against 2.1 µs, a C loop of
    /// `bh_call_spill`).
    fn kill_if_stopped_before(&self, seq: u32) {
        if !sys::pidfd_is_stopped(self.pidfd.as_fd()) {
            return;
        }
        let accepted = self
            .ctl
            .atomic_u32(ctl::OFF_ACCEPTED)
            .load(Ordering::SeqCst);
        if accepted == seq {
            return;
        }
        self.kill(KillReason::IdleViolation(
            "the worker stopped itself (SIGSTOP) while idle".into(),
        ));
    }

    /// Count `n` events received from this worker (the supervisor, after
    /// handing them to the event hub).
    pub(crate) fn events_arrived(&self, n: u32) {
        self.events_received.fetch_add(n, Ordering::SeqCst);
    }

    /// `(promised, received)`: the worker's accepted-event count in its last
    /// response, and the events received from it (both wrapping).
    pub(crate) fn event_counts(&self) -> (u32, u32) {
        (
            self.events_promised.load(Ordering::SeqCst),
            self.events_received.load(Ordering::SeqCst),
        )
    }

    /// Whether every event the worker reported in its last response has
    /// arrived (or the worker is dead: what it did not send is lost with it).
    pub(crate) fn events_settled(&self) -> bool {
        let promised = self.events_promised.load(Ordering::SeqCst);
        let received = self.events_received.load(Ordering::SeqCst);
        // Wrapping counts: `received` is at or past `promised` when their
        // difference, read as signed, is not negative.
        (received.wrapping_sub(promised) as i32) >= 0 || self.is_dead()
    }

    /// Run one call. The caller has this worker checked out exclusively.
    pub(crate) fn call(
        &self,
        index: u32,
        input: &[u8],
        out: &mut CallOutput<'_>,
        cx: &CallCx<'_>,
    ) -> Result<(), CallError> {
        let mut st = self.call.lock();
        if self.is_dead() {
            return Err(CallError::NotStarted);
        }
        // A worker that stopped itself while idle is found once its answer
        // is late, not here: see `kill_if_stopped_before`.
        if !self.begin_call(&st) {
            return Err(CallError::NotStarted);
        }
        let r = self.call_in_flight(&mut st, index, input, out, cx);
        self.end_call();
        r
    }

    fn call_in_flight(
        &self,
        st: &mut CallState,
        index: u32,
        input: &[u8],
        out: &mut CallOutput<'_>,
        cx: &CallCx<'_>,
    ) -> Result<(), CallError> {
        st.seq = st.seq.wrapping_add(1);
        let seq = st.seq;
        // A buffer the worker holds that its caller dropped is released now.
        if st
            .caller
            .as_ref()
            .is_some_and(|w| !shared_buffer::alive(&w.buf))
        {
            st.caller = None;
        }
        let lent = if input.len() > ctl::INLINE_CAP {
            shared_buffer::lent(input)
        } else {
            None
        };
        let mut input_off = 0u64;
        let input_loc = if input.len() <= ctl::INLINE_CAP {
            self.ctl.write_from(ctl::OFF_REQ_DATA, input);
            p::LOC_INLINE
        } else if let Some(lent) = lent {
            // The caller's own buffer, read in place: nothing is copied.
            input_off = self.ensure_caller(st, &lent, input.len(), cx)? as u64;
            p::LOC_CALLER
        } else {
            self.ensure_region(st, HostRegion::Input, input.len(), cx.max_input, cx)?;
            let r = st.input.as_ref().expect("ensured above");
            if !copy_in(&r.mem, input) {
                return Err(CallError::Failed {
                    error: Error::Internal("input region smaller than ensured".into()),
                    worker_ok: true,
                });
            }
            p::LOC_REGION
        };
        let gen_of = |r: &Option<Region>| r.as_ref().map_or(0, |r| r.gen);
        let cap_of = |r: &Option<Region>| r.as_ref().map_or(0, |r| r.mem.len());
        let req = Request {
            op: p::OP_CALL,
            seq,
            method: index,
            input_loc,
            input_len: input.len() as u64,
            in_gen: gen_of(&st.input),
            out_gen: gen_of(&st.output),
            out_cap: cap_of(&st.output) as u64,
            max_output: cx.max_output as u64,
            caller_gen: st.caller.as_ref().map_or(0, |w| w.gen),
            input_off,
        };
        // Output the worker announces final (OUT_READY) is copied out while
        // the module writes the rest; `streamed` bytes of it are in `out`.
        self.ctl
            .atomic_u32(ctl::OFF_OUT_READY)
            .store(0, Ordering::Relaxed); // published by post's SeqCst store
        let mut streamed = 0usize;
        self.post(st, &req);
        let deadline = cx.deadline;
        let result = loop {
            let waited = self.wait_response(st, seq, deadline, &mut |st: &CallState| {
                self.stream_ready(st, cx.max_output, out, &mut streamed)
            });
            match waited {
                Ok(()) => {}
                Err(Waited::Dead) => return Err(self.dead_error(seq, cx)),
                Err(Waited::Timeout) => {
                    let t = cx.timeout.unwrap_or_default();
                    self.kill(KillReason::Timeout(t));
                    return Err(CallError::Failed {
                        error: Error::Timeout(t),
                        worker_ok: false,
                    });
                }
                Err(Waited::Violation(m)) => return Err(self.violation(m)),
            }
            let mut hdr = [0u8; p::RESP_LEN];
            self.ctl.read_into(ctl::OFF_RESP, &mut hdr);
            let expect = Expect {
                seq,
                out_gen: gen_of(&st.output),
                out_cap: cap_of(&st.output) as u64,
                max_output: cx.max_output as u64,
            };
            let decoded = decode_response(&hdr, &expect);
            if decoded.is_ok() {
                self.events_promised
                    .store(p::response_events(&hdr), Ordering::SeqCst);
            }
            match decoded {
                Err(e) => return Err(self.violation(e.0)),
                Ok(Response::Grow { need }) => {
                    // What the old region announced is copied before it goes.
                    if let Err(m) = self.stream_ready(st, cx.max_output, out, &mut streamed) {
                        return Err(self.violation(m));
                    }
                    let need = need as usize; // <= max_output <= isize::MAX (validated)
                    let granted =
                        self.ensure_region(st, HostRegion::Output, need, cx.max_output, cx);
                    let op = match granted {
                        Ok(()) => p::OP_GROW_OK,
                        Err(CallError::Failed {
                            worker_ok: true, ..
                        }) => p::OP_GROW_DENIED,
                        Err(e) => return Err(e),
                    };
                    let reply = Request {
                        op,
                        seq,
                        out_gen: gen_of(&st.output),
                        out_cap: cap_of(&st.output) as u64,
                        max_output: cx.max_output as u64,
                        ..Default::default()
                    };
                    self.post(st, &reply);
                }
                Ok(Response::Ok(at)) => {
                    // Everything announced before the result counts: the wait
                    // can end on the result without having seen the last
                    // OUT_READY, and an unseen announcement must not let an
                    // inline or shorter result through.
                    if let Err(m) = self.stream_ready(st, cx.max_output, out, &mut streamed) {
                        return Err(self.violation(m));
                    }
                    let total = match at {
                        OutputAt::Inline(n) | OutputAt::Region(n) => n,
                    };
                    let inline = matches!(at, OutputAt::Inline(_));
                    if total < streamed || (inline && streamed > 0) {
                        return Err(self.violation(format!(
                            "the worker reported {total} bytes of output after announcing {streamed}"
                        )));
                    }
                    break self.copy_output(st, at, streamed, out);
                }
                Ok(Response::Failed {
                    status,
                    code,
                    msg_len,
                }) => {
                    let mut m = vec![0u8; msg_len];
                    self.ctl.read_into(ctl::OFF_RESP_DATA, &mut m);
                    let message = String::from_utf8_lossy(&m).into_owned();
                    let error = match status {
                        p::ST_MODULE_ERROR => Error::Module { code, message },
                        p::ST_TOO_LARGE => {
                            out.mark_exceeded();
                            out.finish().err().unwrap_or(Error::ResourceLimit(message))
                        }
                        p::ST_BAD_METHOD => Error::NotFound(message),
                        p::ST_RESOURCE => {
                            // The worker retires after reporting this.
                            let error = Error::ResourceLimit(message);
                            return Err(CallError::Failed {
                                error,
                                worker_ok: false,
                            });
                        }
                        _ => Error::Internal(format!("worker: {message}")),
                    };
                    break Err(error);
                }
            }
        };
        // Large regions are not kept between calls.
        for slot in [&mut st.input, &mut st.output] {
            if slot.as_ref().is_some_and(|r| r.mem.len() > RETAIN_REGION) {
                if let Some(r) = slot.take() {
                    r.mem.release_pages();
                }
            }
        }
        result.map_err(|error| CallError::Failed {
            error,
            worker_ok: true,
        })
    }
}

enum Waited {
    Dead,
    Timeout,
    Violation(String),
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The supervisor reaps every worker it started; this only runs if it
        // could not (e.g. it panicked). An unreaped child keeps its pid, so
        // waiting for it here cannot reap a stranger.
        if !self.reaped.load(Ordering::SeqCst) && sys::own_pid() == self.owner {
            sys::pidfd_kill(self.pidfd.as_fd(), sys::SIGKILL);
            let _ = sys::reap(self.pid, true);
        }
    }
}
