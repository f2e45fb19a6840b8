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

use super::protocol::{self as p, ctl, Init, RawResponse, RegionKind, Request};
use super::sys::{self, SharedMem};
use crate::error::Error;
use crate::ffi::callbacks::{self, InstanceEvents};
use crate::ffi::loader::{Instance, ModuleLibrary};
use crate::output::CallOutput;
use crate::sync::Mutex;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

mod channel;
mod output;

use channel::{Chan, Conn, Outbox, Wait, WorkerEvents};
use output::{Regions, ShmSink};
static HOST_PID: AtomicU32 = AtomicU32::new(0);

fn check_parent() {
    if sys::parent_pid() as u32 != HOST_PID.load(Ordering::Relaxed) {
        std::process::exit(EXIT_PARENT_GONE);
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
    let conn = Arc::new(Conn::new(sock));

    let fail = |e: Error| -> i32 {
        send_init_error(&conn, &e);
        EXIT_INIT_FAILED
    };
    if conn.send_record(p::REC_STARTED, &[]).is_err() {
        return EXIT_CHANNEL;
    }

    // Map shared memory and read the config before the address-space limit
    // (the config may be large; it is copied once and the mapping dropped).
    let ctl_mem = match SharedMem::from_fd(ctl_fd, ctl::SIZE, 0, true) {
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
            let m = match SharedMem::from_fd(fd, n, 0, true) {
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
        // The sandbox set the parent-death signal again after its credential changes: a
        // host that died before that would never send it.
        check_parent();
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
    let chan = Chan::new(ctl_mem, None);
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
    // Never above the hard limits inherited from the host, which only a
    // privileged process could raise: the host refuses a setting the caller
    // chose above them when the module opens (`check_inherited_limits`), so
    // only a default is lowered here.
    let cap = |which, v: u64| sys::hard_limit(which).map_or(v, |h| v.min(h));
    let nofile = cap(Rlimit::OpenFiles, init.open_files);
    sys::set_rlimit(Rlimit::OpenFiles, nofile, nofile)?;
    if init.memory_limit > 0 {
        let m = cap(Rlimit::AddressSpace, init.memory_limit);
        sys::set_rlimit(Rlimit::AddressSpace, m, m)?;
    }
    if init.cpu_limit_secs > 0 {
        let hard = cap(
            Rlimit::Cpu,
            init.cpu_limit_secs
                .saturating_add(super::CPU_LIMIT_GRACE_SECS),
        );
        sys::set_rlimit(Rlimit::Cpu, init.cpu_limit_secs.min(hard), hard)?;
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
    let chan = Chan::new(ctl_mem, Some(events));
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
            .and_then(|()| r.sync(sock, RegionKind::Caller, req.caller_gen))
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
            p::LOC_REGION => {
                call_with_region_input(regions, RegionKind::Input, req, input_len, run)
            }
            p::LOC_CALLER => {
                call_with_region_input(regions, RegionKind::Caller, req, input_len, run)
            }
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

/// Run the call over its input in the input region, or (`Caller`) in the
/// caller's buffer the host lent, at `input_off`.
fn call_with_region_input<F>(
    regions: &Mutex<Regions>,
    kind: RegionKind,
    req: &Request,
    input_len: usize,
    run: F,
) -> Option<Result<(), Error>>
where
    F: FnOnce(&[u8]) -> Result<(), Error>,
{
    let (gen, off) = match kind {
        RegionKind::Caller => (req.caller_gen, usize::try_from(req.input_off).ok()?),
        _ => (req.in_gen, 0),
    };
    // Take the input mapping out of the shared state for the duration of
    // the call, so the module reads it without `regions` being locked (the
    // output sink locks it when it needs a larger output region).
    let input = regions.lock().take(kind);
    let r = match &input {
        Some((g, m)) if *g == gen && gen != 0 => m.with_slice(off, input_len, run),
        _ => None,
    };
    *regions.lock().slot(kind) = input;
    r
}
