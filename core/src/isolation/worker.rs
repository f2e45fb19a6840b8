//! The worker process (`bridgehost-worker`): loads one module with the core
//! loader (the same validation as in-process), creates one instance, and
//! serves calls from the shared control block until told to shut down.
//!
//! Start-up order matters: receive `INIT`, check the parent, install the
//! crash reporter, set rlimits, map shared memory, install the seccomp
//! filters, and only then load the module — its constructors and `init`
//! already run sandboxed.
//!
//! The worker trusts the host (its parent) but checks what it receives
//! anyway and exits with a distinct status on anything unexpected.
#![forbid(unsafe_code)]

use super::protocol::{self as p, ctl, Init, MapMsg, RawResponse, RegionKind, Request};
use super::sys::{self, SharedMem};
use crate::error::Error;
use crate::ffi::callbacks::{self, InstanceEvents};
use crate::ffi::loader::{Instance, ModuleLibrary};
use crate::output::{CallOutput, OutputSink, WriteError};
use crate::sync::Mutex;
use bridgehost_module_abi as abi;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Exit status: shut down on request.
pub(crate) const EXIT_OK: i32 = 0;
/// Exit status: not started by a bridgehost host.
pub(crate) const EXIT_USAGE: i32 = 64;
/// Exit status: loading or initialising the module failed (reported first).
pub(crate) const EXIT_INIT_FAILED: i32 = 70;
/// Exit status: the soft CPU limit was reached; retiring between calls.
pub(crate) const EXIT_RETIRED: i32 = 75;
/// Exit status: the host broke the protocol or the channel failed.
pub(crate) const EXIT_CHANNEL: i32 = 76;
/// Exit status: the host process is gone.
pub(crate) const EXIT_PARENT_GONE: i32 = 77;

/// How long the worker spins for the next request before sleeping.
const IDLE_SPIN: Duration = Duration::from_micros(50);
/// How often a sleeping worker wakes to check its parent and CPU limit.
const PARK_SLICE: Duration = Duration::from_secs(1);

/// The control socket, shared by the main thread and the sender thread.
struct Conn {
    sock: OwnedFd,
    send: Mutex<()>,
}

impl Conn {
    fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Send a whole record, blocking for buffer space. A record is never
    /// left half-sent: if the channel fails mid-record the worker exits.
    fn send_record(&self, kind: u8, payload: &[u8]) -> Result<(), ()> {
        let _g = self.send.lock();
        for (i, packet) in p::fragment(kind, payload).iter().enumerate() {
            if sys::send_packet(self.fd(), packet, &[], false).is_err() {
                if i == 0 {
                    return Err(());
                }
                std::process::exit(EXIT_CHANNEL);
            }
        }
        Ok(())
    }
}

/// Most events (and bytes) queued in the worker before `emit` refuses with
/// `BH_API_OVERLOADED` (the same drop-newest policy as the host's queue).
const QUEUE_EVENTS: usize = 65_536;
const QUEUE_BYTES: usize = 16 << 20;

enum Item {
    Event(String, Vec<u8>),
    Log(i32, String),
}

#[derive(Default)]
struct QueueState {
    items: std::collections::VecDeque<Item>,
    bytes: usize,
    dropped: u32,
    closed: bool,
}

/// Events and logs of the instance, queued by any module thread and sent to
/// the host by one sender thread in batches (order preserved).
#[derive(Default)]
struct Outbox {
    state: Mutex<QueueState>,
    ready: crate::sync::Condvar,
    /// Events accepted so far (wrapping): every response carries it, so that
    /// the host knows which events a returned call emitted and `flush` can
    /// wait for them to arrive.
    accepted_events: AtomicU32,
}

impl Outbox {
    fn push(&self, item: Item, size: usize) -> i32 {
        let mut q = self.state.lock();
        if q.closed {
            return abi::API_STALE;
        }
        if q.items.len() >= QUEUE_EVENTS || q.bytes.saturating_add(size) > QUEUE_BYTES {
            if matches!(item, Item::Event(..)) {
                q.dropped = q.dropped.saturating_add(1);
                drop(q);
                self.ready.notify_one();
            }
            return abi::API_OVERLOADED;
        }
        let was_empty = q.items.is_empty();
        if matches!(item, Item::Event(..)) {
            // Under the queue lock: a count never runs ahead of the queue.
            self.accepted_events.fetch_add(1, Ordering::SeqCst);
        }
        q.items.push_back(item);
        q.bytes += size;
        drop(q);
        if was_empty {
            self.ready.notify_one();
        }
        abi::API_OK
    }

    /// Refuse new items; the sender drains what is queued and stops.
    fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_all();
    }

    /// The sender thread's loop.
    fn run(&self, conn: &Conn) {
        loop {
            let (dropped, batch) = {
                let mut q = self.state.lock();
                while q.items.is_empty() && q.dropped == 0 && !q.closed {
                    self.ready.wait(&mut q);
                }
                if q.items.is_empty() && q.dropped == 0 {
                    return; // closed and drained
                }
                let mut batch = Vec::new();
                let mut size = 0;
                while let Some(front) = q.items.front() {
                    let n = match front {
                        Item::Event(t, d) => p::event_size(t, d),
                        Item::Log(..) if batch.is_empty() => 0,
                        Item::Log(..) => break,
                    };
                    if !batch.is_empty()
                        && (size + n > p::BATCH_BYTES || batch.len() >= p::MAX_BATCH)
                    {
                        break;
                    }
                    let item = q.items.pop_front().expect("front exists");
                    q.bytes -= match &item {
                        Item::Event(t, d) => t.len() + d.len(),
                        Item::Log(_, m) => m.len(),
                    };
                    size += n;
                    let is_log = matches!(item, Item::Log(..));
                    batch.push(item);
                    if is_log {
                        break;
                    }
                }
                (std::mem::take(&mut q.dropped), batch)
            };
            let sent = match batch.first() {
                Some(Item::Log(level, msg)) => {
                    conn.send_record(p::REC_LOG, &p::encode_log(*level, msg))
                }
                _ => {
                    let events = batch.iter().filter_map(|i| match i {
                        Item::Event(t, d) => Some((t.as_str(), d.as_slice())),
                        Item::Log(..) => None,
                    });
                    let events: Vec<(&str, &[u8])> = events.collect();
                    conn.send_record(
                        p::REC_EVENTS,
                        &p::encode_events(dropped, events.into_iter()),
                    )
                }
            };
            if sent.is_err() {
                // The host is gone (or the channel broke): nothing to send to.
                std::process::exit(EXIT_CHANNEL);
            }
        }
    }
}

/// Events and logs of the module instance go to the host through the outbox.
struct WorkerEvents {
    outbox: Arc<Outbox>,
    max_event: usize,
}

impl InstanceEvents for WorkerEvents {
    fn emit(&self, topic: &str, data: &[u8]) -> i32 {
        self.outbox.push(
            Item::Event(topic.to_string(), data.to_vec()),
            topic.len() + data.len(),
        )
    }

    fn max_event_size(&self) -> usize {
        self.max_event
    }

    fn log(&self, level: i32, msg: &str) {
        let _ = self
            .outbox
            .push(Item::Log(level, msg.to_string()), msg.len());
    }
}

/// The control block seen from the worker.
struct Chan<'a> {
    ctl: &'a SharedMem,
    /// The outbox's accepted-event count, reported in every response (none
    /// while validating).
    events: Option<&'a AtomicU32>,
    /// Last value of TO_WORKER consumed.
    seen: AtomicU32,
    /// Our TO_HOST counter.
    posted: AtomicU32,
}

enum Wait {
    Message,
    Idle,
}

impl Chan<'_> {
    fn post(&self, resp: &RawResponse) {
        let resp = RawResponse {
            events: self.events.map_or(0, |e| e.load(Ordering::SeqCst)),
            ..*resp
        };
        self.ctl.write_from(ctl::OFF_RESP, &resp.encode());
        let v = self.posted.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        self.ctl
            .atomic_u32(ctl::OFF_TO_HOST)
            .store(v, Ordering::SeqCst);
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        if parked.swap(0, Ordering::SeqCst) != 0 {
            sys::futex_wake(parked, i32::MAX);
        }
    }

    /// Announce that the first `chunks * STREAM_CHUNK` bytes of the output
    /// region are final (the host copies them out while the module writes
    /// on), waking the host if it sleeps.
    fn publish_ready(&self, chunks: u32) {
        self.ctl
            .atomic_u32(ctl::OFF_OUT_READY)
            .store(chunks, Ordering::Release);
        let parked = self.ctl.atomic_u32(ctl::OFF_HOST_PARKED);
        if parked.swap(0, Ordering::SeqCst) != 0 {
            sys::futex_wake(parked, i32::MAX);
        }
    }

    /// Wait for the host's next message: spin for `spin`, then sleep in
    /// slices of [`PARK_SLICE`]. `Idle` after a slice with no message.
    fn wait(&self, spin: Duration) -> Wait {
        let word = self.ctl.atomic_u32(ctl::OFF_TO_WORKER);
        let seen = self.seen.load(Ordering::Relaxed);
        let take = |v: u32| {
            self.seen.store(v, Ordering::Relaxed);
            Wait::Message
        };
        let start = Instant::now();
        let mut i = 0u32;
        loop {
            let v = word.load(Ordering::Acquire);
            if v != seen {
                return take(v);
            }
            i = i.wrapping_add(1);
            if i < super::remote::SPIN_TIGHT {
                std::hint::spin_loop();
                continue;
            }
            if start.elapsed() >= spin {
                break;
            }
            // If the host shares this CPU, let it run.
            std::thread::yield_now();
        }
        // Park: announce it, re-check, then sleep on the PARKED word; the
        // host clears it (swap to 0) before waking us, so a wake-up between
        // the re-check and the sleep is never lost.
        let parked = self.ctl.atomic_u32(ctl::OFF_WORKER_PARKED);
        parked.store(1, Ordering::SeqCst);
        let v = word.load(Ordering::SeqCst);
        if v != seen {
            parked.store(0, Ordering::Relaxed);
            return take(v);
        }
        sys::futex_wait(parked, 1, Some(PARK_SLICE));
        parked.store(0, Ordering::Relaxed);
        let v = word.load(Ordering::Acquire);
        if v != seen {
            return take(v);
        }
        Wait::Idle
    }

    /// Wait for a message, however long (the host's death kills us).
    fn wait_message(&self, spin: Duration) {
        while let Wait::Idle = self.wait(spin) {
            check_parent();
        }
    }

    fn request(&self) -> Request {
        let mut b = [0u8; p::REQ_LEN];
        self.ctl.read_into(ctl::OFF_REQ, &mut b);
        match Request::decode(&b) {
            Ok(r) => r,
            Err(_) => std::process::exit(EXIT_CHANNEL),
        }
    }
}

static HOST_PID: AtomicU32 = AtomicU32::new(0);

fn check_parent() {
    if sys::parent_pid() as u32 != HOST_PID.load(Ordering::Relaxed) {
        std::process::exit(EXIT_PARENT_GONE);
    }
}

/// Receive a `MAP` message (blocking) and map its region. `Err`: the
/// region does not fit this worker's address space (ENOMEM: the memory
/// limit); anything else wrong with the message ends the worker.
fn recv_map(sock: BorrowedFd<'_>) -> Result<(MapMsg, SharedMem), String> {
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
    match SharedMem::from_fd(fd, size) {
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
struct Regions {
    input: Option<(u32, SharedMem)>,
    output: Option<(u32, SharedMem)>,
}

impl Regions {
    fn gen(slot: &Option<(u32, SharedMem)>) -> u32 {
        slot.as_ref().map_or(0, |(g, _)| *g)
    }

    /// Make the mapping of `kind` match generation `want` (0: none), reading
    /// `MAP` messages the host sent ahead of the request. `Err`: a region did
    /// not fit the address space (see [`recv_map`]).
    fn sync(&mut self, sock: BorrowedFd<'_>, kind: RegionKind, want: u32) -> Result<(), String> {
        let slot = match kind {
            RegionKind::Input => &mut self.input,
            RegionKind::Output => &mut self.output,
        };
        if want == 0 {
            *slot = None;
            return Ok(());
        }
        let mut guard = 0;
        while Self::gen(match kind {
            RegionKind::Input => &self.input,
            RegionKind::Output => &self.output,
        }) != want
        {
            let (msg, mem) = recv_map(sock)?;
            match msg.kind {
                RegionKind::Input => self.input = Some((msg.gen, mem)),
                RegionKind::Output => self.output = Some((msg.gen, mem)),
            }
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
struct ShmSink<'a> {
    chan: &'a Chan<'a>,
    sock: BorrowedFd<'a>,
    regions: &'a Mutex<Regions>,
    seq: u32,
    len: usize,
    in_region: bool,
    /// Chunks of the output region announced final (`OUT_READY`).
    published: u32,
    failure: Option<String>,
}

impl ShmSink<'_> {
    /// Ask the host for an output region of at least `need` bytes and move
    /// what was written so far into it.
    fn grow(&mut self, need: usize) -> Result<(), String> {
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
    fn region_cap(&self) -> usize {
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

fn send_init_error(conn: &Conn, e: &Error) {
    let _ = conn.send_record(p::REC_INIT_ERROR, &p::encode_init_error(e));
}

/// Entry point of the `bridgehost-worker` executable. Returns the exit
/// status.
#[doc(hidden)]
pub fn worker_main() -> i32 {
    let sock = match sys::take_control_socket() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "bridgehost-worker: {e}.\nThis program is started by the bridgehost library for isolated modules; it is not meant to be run by hand."
            );
            return EXIT_USAGE;
        }
    };
    sys::close_fds_above(sys::WORKER_CONTROL_FD);
    let _ = sys::set_parent_death_signal();

    let mut buf = vec![0u8; p::MAX_PACKET];
    let pkt = match sys::recv_packet(sock.as_fd(), &mut buf, true, false) {
        Ok(Some(p)) => p,
        _ => return EXIT_CHANNEL,
    };
    let init = match Init::decode(&buf[..pkt.len]) {
        Ok(i) => i,
        Err(_) => return EXIT_CHANNEL,
    };
    HOST_PID.store(init.host_pid as u32, Ordering::Relaxed);
    check_parent();
    let mut fds = pkt.fds.into_iter();
    let Some(ctl_fd) = fds.next() else {
        return EXIT_CHANNEL;
    };
    let config_fd = fds.next();
    drop(fds);

    let _ = sys::install_signal_handlers(sys::WORKER_CONTROL_FD);
    let conn = Arc::new(Conn {
        sock,
        send: Mutex::new(()),
    });

    let fail = |e: Error| -> i32 {
        send_init_error(&conn, &e);
        EXIT_INIT_FAILED
    };
    if conn.send_record(p::REC_STARTED, &[]).is_err() {
        return EXIT_CHANNEL;
    }

    // Map shared memory and read the config before the address-space limit
    // (the config may be large; it is copied once and the mapping dropped).
    let ctl_mem = match SharedMem::from_fd(ctl_fd, ctl::SIZE) {
        Ok(m) => m,
        Err(e) => {
            return fail(Error::Internal(format!(
                "cannot map the control block: {e}"
            )))
        }
    };
    let config = match (init.config_len, config_fd) {
        (0, _) => Vec::new(),
        (n, Some(fd)) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let m = match SharedMem::from_fd(fd, n) {
                Ok(m) => m,
                Err(e) => return fail(Error::Internal(format!("cannot map the config: {e}"))),
            };
            let mut v = vec![0u8; n];
            m.read_into(0, &mut v);
            v
        }
        (_, None) => return EXIT_CHANNEL,
    };

    if let Err(e) = apply_limits(&init) {
        return fail(Error::Internal(format!("cannot set resource limits: {e}")));
    }
    let mut sandbox_warnings = Vec::new();
    if init.sandbox {
        match super::sandbox::apply(sys::own_pid(), Path::new(&init.path)) {
            Ok(w) => sandbox_warnings = w,
            Err(e) => return fail(Error::Internal(format!("cannot install the sandbox: {e}"))),
        }
    }

    let lib = match ModuleLibrary::load(Path::new(&init.path)) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    if init.validate_only {
        return validate_only(&conn, &ctl_mem, &lib);
    }
    let outbox = Arc::new(Outbox::default());
    let sender = {
        let (outbox, conn) = (Arc::clone(&outbox), Arc::clone(&conn));
        match std::thread::Builder::new()
            .name("bh-worker-send".into())
            .spawn(move || outbox.run(&conn))
        {
            Ok(h) => h,
            Err(e) => {
                return fail(Error::Internal(format!(
                    "cannot start the sender thread: {e}"
                )))
            }
        }
    };
    let events = Arc::new(WorkerEvents {
        outbox: Arc::clone(&outbox),
        max_event: usize::try_from(init.max_event).unwrap_or(usize::MAX),
    });
    for warning in &sandbox_warnings {
        events.log(1, warning);
    }
    let token = callbacks::register(events);
    let instance = match lib.instantiate(token, &config) {
        Ok(i) => i,
        Err(e) => {
            callbacks::unregister(token);
            outbox.close();
            let _ = sender.join();
            return fail(e);
        }
    };
    drop(config);
    let info = lib.info();
    let hello = hello_of(info);
    if conn.send_record(p::REC_HELLO, &hello.encode()).is_err() {
        return EXIT_CHANNEL;
    }

    let status = serve(
        &ctl_mem,
        conn.fd(),
        &instance,
        init.memory_limit,
        &outbox.accepted_events,
    );
    drop(instance); // destroy(): joins the module's threads
    callbacks::unregister(token);
    // Everything the instance emitted up to the end of destroy() is sent.
    outbox.close();
    let _ = sender.join();
    status
}

/// The HELLO record that describes the loaded module (a serving and a validating worker alike).
fn hello_of(info: &crate::ffi::loader::ModuleInfo) -> p::Hello {
    p::Hello {
        name: info.name.clone(),
        version: info.version.clone(),
        abi_version: info.abi_version,
        thread_model: info.thread_model,
        stateful: info.stateful,
        methods: info.methods.clone(),
        interface: info
            .interface
            .as_ref()
            .map(|i| (i.source().to_string(), i.hash())),
    }
}

/// The "validate" request: the module loaded and its descriptor passed
/// validation; report it (HELLO) without creating an instance, then wait
/// for SHUTDOWN.
fn validate_only(conn: &Conn, ctl_mem: &SharedMem, lib: &ModuleLibrary) -> i32 {
    let info = lib.info();
    let hello = hello_of(info);
    if conn.send_record(p::REC_HELLO, &hello.encode()).is_err() {
        return EXIT_CHANNEL;
    }
    let chan = Chan {
        ctl: ctl_mem,
        events: None,
        seen: AtomicU32::new(0),
        posted: AtomicU32::new(0),
    };
    loop {
        match chan.wait(IDLE_SPIN) {
            Wait::Message => {
                return match chan.request().op {
                    p::OP_SHUTDOWN => EXIT_OK,
                    // No call is ever posted to a validating worker.
                    _ => EXIT_CHANNEL,
                };
            }
            Wait::Idle => check_parent(),
        }
    }
}

fn apply_limits(init: &Init) -> std::io::Result<()> {
    use sys::Rlimit;
    sys::set_rlimit(Rlimit::Core, 0, 0)?;
    sys::set_rlimit(Rlimit::FileSize, 0, 0)?;
    let hard = sys::open_files_hard_limit();
    let nofile = init.open_files.min(hard);
    sys::set_rlimit(Rlimit::OpenFiles, nofile, nofile)?;
    if init.memory_limit > 0 {
        sys::set_rlimit(Rlimit::AddressSpace, init.memory_limit, init.memory_limit)?;
    }
    if init.cpu_limit_secs > 0 {
        let soft = init.cpu_limit_secs;
        sys::set_rlimit(
            Rlimit::Cpu,
            soft,
            soft.saturating_add(super::CPU_LIMIT_GRACE_SECS),
        )?;
    }
    Ok(())
}

/// Serve requests until `SHUTDOWN` (or retirement). Returns the exit status.
fn serve(
    ctl_mem: &SharedMem,
    sock: BorrowedFd<'_>,
    instance: &Instance,
    memory_limit: u64,
    events: &AtomicU32,
) -> i32 {
    // Both counters start at zero in a fresh control block. They must not be
    // read from it here: the host may already have posted the first call
    // (it may, as soon as it has our HELLO).
    let chan = Chan {
        ctl: ctl_mem,
        events: Some(events),
        seen: AtomicU32::new(0),
        posted: AtomicU32::new(0),
    };
    let regions = Mutex::new(Regions::default());
    loop {
        loop {
            match chan.wait(IDLE_SPIN) {
                Wait::Message => break,
                Wait::Idle => {
                    check_parent();
                    if sys::cpu_limit_reached() {
                        return EXIT_RETIRED;
                    }
                }
            }
        }
        let req = chan.request();
        match req.op {
            p::OP_SHUTDOWN => return EXIT_OK,
            p::OP_CALL => {}
            _ => return EXIT_CHANNEL,
        }
        ctl_mem
            .atomic_u32(ctl::OFF_ACCEPTED)
            .store(req.seq, Ordering::SeqCst);
        let resp = run_call(&chan, sock, &regions, instance, &req, memory_limit);
        let retire = resp.status == p::ST_RESOURCE;
        chan.post(&resp);
        if retire || sys::cpu_limit_reached() {
            return EXIT_RETIRED;
        }
    }
}

/// True when this worker's address space came within reach of its limit
/// (the module's allocations started failing because of it).
fn memory_limit_reached(limit: u64) -> bool {
    limit > 0
        && sys::vm_peak_bytes()
            .is_some_and(|peak| peak.saturating_add((limit / 16).max(8 << 20)) >= limit)
}

fn run_call(
    chan: &Chan<'_>,
    sock: BorrowedFd<'_>,
    regions: &Mutex<Regions>,
    instance: &Instance,
    req: &Request,
    memory_limit: u64,
) -> RawResponse {
    let mapped = {
        let mut r = regions.lock();
        r.sync(sock, RegionKind::Input, req.in_gen)
            .and_then(|()| r.sync(sock, RegionKind::Output, req.out_gen))
    };
    if let Err(message) = mapped {
        // ST_RESOURCE: the worker retires after this response.
        let resp = RawResponse {
            op: p::OP_RESULT,
            seq: req.seq,
            status: p::ST_RESOURCE,
            ..Default::default()
        };
        return with_message(chan, resp, &message);
    }
    let max_output = usize::try_from(req.max_output).unwrap_or(usize::MAX);
    let input_len = usize::try_from(req.input_len).unwrap_or(usize::MAX);
    let mut sink = ShmSink {
        chan,
        sock,
        regions,
        seq: req.seq,
        len: 0,
        in_region: false,
        published: 0,
        failure: None,
    };
    let result = {
        let mut out = CallOutput::to_sink(&mut sink, max_output);
        let run = |input: &[u8]| instance.call(req.method, input, &mut out);
        match req.input_loc {
            p::LOC_INLINE if input_len <= ctl::INLINE_CAP => {
                chan.ctl.with_slice(ctl::OFF_REQ_DATA, input_len, run)
            }
            p::LOC_REGION => call_with_region_input(regions, req, input_len, run),
            _ => None,
        }
    };
    let Some(result) = result else {
        return RawResponse {
            op: p::OP_RESULT,
            seq: req.seq,
            status: p::ST_INTERNAL,
            ..Default::default()
        };
    };
    let mut resp = RawResponse {
        op: p::OP_RESULT,
        seq: req.seq,
        ..Default::default()
    };
    let message = match result {
        Ok(()) => {
            resp.status = p::ST_OK;
            resp.output_len = sink.len as u64;
            if sink.in_region {
                resp.output_loc = p::LOC_REGION;
                resp.out_gen = Regions::gen(&regions.lock().output);
            }
            return resp;
        }
        // A module that reports an error after its allocations hit the
        // address-space limit ran out of memory: say so, and retire (the
        // instance may be left without memory for anything else).
        Err(Error::Module { code, message }) if memory_limit_reached(memory_limit) => {
            resp.status = p::ST_RESOURCE;
            format!("memory limit of {memory_limit} bytes reached (module error {code}: {message})")
        }
        Err(Error::Module { code, message }) => {
            resp.status = p::ST_MODULE_ERROR;
            resp.code = code;
            message
        }
        Err(Error::ResourceLimit(m)) => match sink.failure.take() {
            Some(f) => {
                resp.status = p::ST_RESOURCE;
                f
            }
            None => {
                resp.status = p::ST_TOO_LARGE;
                m
            }
        },
        Err(Error::NotFound(m)) => {
            resp.status = p::ST_BAD_METHOD;
            m
        }
        Err(e) => {
            resp.status = p::ST_INTERNAL;
            e.to_string()
        }
    };
    with_message(chan, resp, &message)
}

/// `resp` with `message` (truncated to the protocol's limit) in the response
/// area.
fn with_message(chan: &Chan<'_>, mut resp: RawResponse, message: &str) -> RawResponse {
    let mut end = message.len().min(p::MAX_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    chan.ctl
        .write_from(ctl::OFF_RESP_DATA, &message.as_bytes()[..end]);
    resp.msg_len = end as u32;
    resp
}

fn call_with_region_input<F>(
    regions: &Mutex<Regions>,
    req: &Request,
    input_len: usize,
    run: F,
) -> Option<Result<(), Error>>
where
    F: FnOnce(&[u8]) -> Result<(), Error>,
{
    // Take the input mapping out of the shared state for the duration of
    // the call, so the module reads it without `regions` being locked (the
    // output sink locks it when it needs a larger output region).
    let input = regions.lock().input.take();
    let r = match &input {
        Some((g, m)) if *g == req.in_gen => m.with_slice(0, input_len, run),
        _ => None,
    };
    regions.lock().input = input;
    r
}
