//! Floods cost the worker, not the host (issue 13, item 5).
//!
//! * A module thread that writes stderr in a tight loop while its worker is idle: the host reads
//!   a worker's stderr within a byte budget (about 1 MiB/s, `supervisor/intake.rs`), so the pipe fills
//!   and the flooding thread waits on its own `write`. Measured: the host's own CPU time
//!   (`/proc/self/stat`, children excluded) stays a small fraction of the wall time, and what the
//!   host read but did not log is counted (`worker_output_dropped`). Checked by removing the
//!   budget (reading whatever is there, as before): the host then spent about as much CPU as the
//!   flood lasted (issue 13 measured 5 s of host CPU for a 5 s flood).
//! * A module thread that sends LOG records on its control socket in a tight loop while idle:
//!   the host reads a worker's control socket within a budget of datagrams and bytes per second,
//!   so the socket fills and the flooding thread waits on its own `send`; log records beyond
//!   1000/s are dropped and counted (`worker_output_dropped`).
//! * Large events with a blocked subscriber: the host's event queue is bounded in bytes
//!   (`HostOptions::event_queue_bytes`, `events.rs`) as well as in events, in-process and
//!   isolated; what does not fit is refused (`events_refused`, the module is told) or dropped
//!   (`events_dropped`, an isolated worker's event the host could not take), counted exactly.
//!   Checked by removing the byte bound: host RSS then grew by every event emitted (300 MiB here;
//!   issue 13 measured 1.5 GB isolated and 3 GB in-process).
//!
//! The tests in this file measure the whole process (CPU time, RSS), so they run one at a time.
mod isolation_support;

use bridgehost::{Host, HostOptions, Isolation};
use isolation_support::*;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One test at a time (they measure the process).
static SERIAL: Mutex<()> = Mutex::new(());

/// The host's CPU time over a flood stays under 15 % of its wall time (judged where
/// [`cpu_bounds_judged`]: not under ASan; the budget, counted in datagrams, bytes and events, is
/// judged everywhere).
fn assert_cpu_share(cpu: Duration, wall: Duration, what: &str) {
    if !cpu_bounds_judged(what, cpu) {
        return;
    }
    assert!(
        cpu.as_secs_f64() < 0.15 * wall.as_secs_f64(),
        "the host spent {cpu:?} of CPU over {wall:?} on {what}"
    );
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn host_with(event_queue_bytes: usize) -> Host {
    require_worker();
    Host::with_options(HostOptions {
        module_dirs: vec![dist()],
        event_queue_bytes,
        ..HostOptions::default()
    })
    .expect("host")
}

/// Resident set size of this process, bytes.
/// End the hostile module's floods (`flood_end`: returns once every flood
/// thread exited) and check one was running.
fn end_flood(m: &bridgehost::Module) {
    let out = m.method("flood_end").unwrap().call(b"").unwrap();
    let running = u32::from_le_bytes(out[..4].try_into().unwrap());
    assert!(running >= 1, "no flood was running when the test ended it");
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

#[test]
fn a_worker_flooding_stderr_while_idle_costs_the_host_little() {
    let _g = serial();
    let host = host_with(HostOptions::default().event_queue_bytes);
    let m = host
        .open(
            hostile_module().to_str().unwrap(),
            isolated(Some(Duration::from_secs(10))),
        )
        .unwrap();
    // Longer than the test needs, ended by `flood_end`: the measuring
    // window below lies inside the flood however late it starts.
    let flood_ms: u32 = 60_000;
    assert_eq!(
        m.method("stderr_flood")
            .unwrap()
            .call(&flood_ms.to_le_bytes())
            .unwrap(),
        b"ok"
    );
    // Let the burst allowance go, then measure the steady state.
    std::thread::sleep(Duration::from_millis(1500));
    let dropped0 = m.counters().worker_output_dropped;
    let (cpu0, t0) = (process_cpu_time(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (cpu, wall) = (process_cpu_time() - cpu0, t0.elapsed());
    let dropped = m.counters().worker_output_dropped - dropped0;
    eprintln!(
        "host CPU {cpu:?} over {wall:?} of stderr flood; {dropped} bytes read and not logged"
    );
    // Without the budget the host's CPU time was about the wall time (it read every byte).
    assert_cpu_share(cpu, wall, "a worker's stderr flood");
    // The host read (and dropped) at most its budget: about 1 MiB per second per worker.
    assert!(dropped > 0, "the flood's dropped output is not counted");
    let budget = (wall.as_secs_f64() + 0.5) * f64::from(1u32 << 20);
    assert!(
        (dropped as f64) < budget,
        "the host read {dropped} bytes of stderr in {wall:?} (budget ~1 MiB/s)"
    );
    // The worker is blocked on its own write, not broken: calls still work
    // during the flood (10 s, far below the flood's 60).
    let t = Instant::now();
    assert_eq!(m.method("ok").unwrap().call(b"still").unwrap(), b"still");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    end_flood(&m);
    assert!(host.counters().worker_output_dropped >= dropped);
}

/// A module thread sends well-formed LOG records straight on the control socket, as fast as the
/// socket takes them, while its worker is idle. The host reads a worker's control socket within
/// a budget (`CTL_UNITS_PER_SEC` in `supervisor/mod.rs`: about 5000 small datagrams a second), so the
/// socket fills and the flooding thread waits on its own `send`; log records beyond 1000 a second
/// are dropped and their bytes counted in `worker_output_dropped`. Checked by removing the budget
/// (reading the socket whenever it is readable, as before): the host's CPU time then was about
/// the flood's wall time.
#[test]
fn a_worker_flooding_its_control_socket_while_idle_costs_the_host_little() {
    let _g = serial();
    let host = host_with(HostOptions::default().event_queue_bytes);
    let m = host
        .open(
            hostile_module().to_str().unwrap(),
            isolated(Some(Duration::from_secs(10))),
        )
        .unwrap();
    // Longer than the test needs, ended by `flood_end`: the measuring
    // window below lies inside the flood however late it starts.
    let flood_ms: u32 = 60_000;
    assert_eq!(
        m.method("log_flood")
            .unwrap()
            .call(&flood_ms.to_le_bytes())
            .unwrap(),
        b"ok"
    );
    // Let the burst allowance go, then measure the steady state.
    std::thread::sleep(Duration::from_millis(1000));
    let dropped0 = m.counters().worker_output_dropped;
    let (cpu0, t0) = (process_cpu_time(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (cpu, wall) = (process_cpu_time() - cpu0, t0.elapsed());
    let dropped = m.counters().worker_output_dropped - dropped0;
    eprintln!("host CPU {cpu:?} over {wall:?} of LOG records; {dropped} bytes of them not logged");
    assert_cpu_share(cpu, wall, "a worker's control-socket flood");
    // Records beyond 1000/s were dropped and counted ("flood": 5 bytes each); the host read
    // at most its budget (5000 records/s, + the burst of 1000).
    assert!(dropped > 0, "the dropped log records are not counted");
    let most = 5.0 * (5000.0 * (wall.as_secs_f64() + 0.5) + 1000.0);
    assert!(
        (dropped as f64) <= most,
        "{dropped} bytes of log records dropped in {wall:?}: more than the budget lets in"
    );
    // The worker is blocked on its own send, not broken: calls still work
    // during the flood (10 s, far below the flood's 60).
    let t = Instant::now();
    assert_eq!(m.method("ok").unwrap().call(b"still").unwrap(), b"still");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    end_flood(&m);
    let c = m.counters();
    assert_eq!((c.crashes, c.unblamed_violations), (0, 0), "{c:?}");
}

/// A module thread emits small events in a tight loop while its worker is idle, and a subscriber
/// takes them. The worker batches them into few datagrams, so the control-socket budget charges
/// each event too (`CTL_EVENTS_PER_UNIT` in `supervisor/mod.rs`): the host decodes and delivers at
/// most about 80,000 events a second per worker; beyond that the socket fills, the worker's
/// sender waits, its queue fills and the module's emits are refused (counted in
/// `events_refused`: the module is told). Checked by charging per datagram and bytes only: the
/// host's CPU time then was most of the flood's wall time.
#[test]
fn a_worker_flooding_events_while_idle_costs_the_host_a_bounded_share() {
    let _g = serial();
    let host = host_with(HostOptions::default().event_queue_bytes);
    let m = host
        .open(
            hostile_module().to_str().unwrap(),
            isolated(Some(Duration::from_secs(10))),
        )
        .unwrap();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let s2 = Arc::clone(&seen);
    let _sub = m
        .subscribe(
            "idle",
            Box::new(move |_| {
                s2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }),
        )
        .unwrap();
    // Longer than the test needs, ended by `flood_end`: the measuring
    // window below lies inside the flood however late it starts.
    let flood_ms: u32 = 60_000;
    assert_eq!(
        m.method("event_flood_idle")
            .unwrap()
            .call(&flood_ms.to_le_bytes())
            .unwrap(),
        b"ok"
    );
    std::thread::sleep(Duration::from_millis(1000));
    let (n0, cpu0, t0) = (
        seen.load(std::sync::atomic::Ordering::Relaxed),
        process_cpu_time(),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let (cpu, wall) = (process_cpu_time() - cpu0, t0.elapsed());
    let delivered = seen.load(std::sync::atomic::Ordering::Relaxed) - n0;
    eprintln!(
        "host CPU {cpu:?} over {wall:?} of an event flood; {delivered} events delivered; {:?}",
        m.counters()
    );
    assert_cpu_share(cpu, wall, "a worker's event flood");
    assert!(delivered > 0, "no event arrived");
    // Events are not lost silently: what the worker accepted is delivered (or counted dropped),
    // what it refused the module was told about.
    assert!(m.counters().events_refused > 0, "{:?}", m.counters());
    end_flood(&m); // the flood is over
    m.flush(Duration::from_secs(30)).unwrap();
    let c = m.counters();
    assert_eq!(
        c.events_delivered,
        seen.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert_eq!(c.events_emitted, c.events_delivered, "{c:?}");
    assert_eq!(c.events_dropped, 0, "{c:?}");
    assert_eq!((c.crashes, c.unblamed_violations), (0, 0), "{c:?}");
}

/// A subscriber that blocks until `open` is called.
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn new() -> Gate {
        Gate(Arc::new((Mutex::new(false), Condvar::new())))
    }
    fn waiter(&self) -> impl Fn() + Send + Sync + 'static {
        let g = Arc::clone(&self.0);
        move || {
            let mut open = g.0.lock().unwrap();
            while !*open {
                open = g.1.wait(open).unwrap();
            }
        }
    }
    fn open(&self) {
        *self.0 .0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.0 .1.notify_all();
    }
}

impl Drop for Gate {
    /// A failing test must not leave the subscriber blocked (unsubscribe would wait for it).
    fn drop(&mut self) {
        self.open();
    }
}

const CAP: usize = 32 << 20;
const EVENTS: u32 = 300;
const SIZE: u32 = 1 << 20;

/// RSS growth allowed over the byte bound (allocator slack, reassembly and socket buffers,
/// a worker's batch in flight). Without the bound the growth was the whole 300 MiB.
const SLACK: u64 = 96 << 20;

fn big_events(mode: Isolation) {
    let _g = serial();
    let host = host_with(CAP);
    let m = host
        .open(hostile_module().to_str().unwrap(), opts(mode))
        .unwrap();
    let gate = Gate::new();
    let wait = gate.waiter();
    let delivered = Arc::new(Mutex::new(0u64));
    let d = Arc::clone(&delivered);
    let _sub = m
        .subscribe(
            "big",
            Box::new(move |e| {
                assert_eq!(e.data.len(), SIZE as usize);
                wait();
                *d.lock().unwrap() += 1;
            }),
        )
        .unwrap();
    // Dropped before the subscription (declared after it), opening the gate.
    let gate = gate;
    let before = rss();
    let mut input = EVENTS.to_le_bytes().to_vec();
    input.extend_from_slice(&SIZE.to_le_bytes());
    // Isolated, the worker's own queue (16 MiB) refuses a burst: the module retries, so every
    // event reaches the host, which must drop what exceeds its bound. In-process a retry would
    // wait for the blocked subscriber.
    let retries: u32 = if mode == Isolation::Process { 5000 } else { 0 };
    input.extend_from_slice(&retries.to_le_bytes());
    let out = m.method("big_events").unwrap().call(&input).unwrap();
    let (accepted, refused) = (u32le(&out), u32le(&out[4..]));
    assert_eq!(accepted + refused, EVENTS);
    // Isolated: the worker accepted `accepted` events; each one reaches the host's queue or is
    // dropped there, counted. Wait until every one is accounted for.
    let settled = eventually(Duration::from_secs(30), || {
        let c = m.counters();
        c.events_emitted + c.events_dropped == u64::from(accepted)
    });
    let c = m.counters();
    assert!(
        settled,
        "{mode:?}: accepted {accepted}, refused {refused}; {c:?}"
    );
    let grown = rss().saturating_sub(before);
    eprintln!(
        "{mode:?}: {EVENTS} x {SIZE} B events, queue bound {CAP} B: accepted {accepted}, \
         refused {refused}, emitted {}, dropped {}; RSS grew {} MiB",
        c.events_emitted,
        c.events_dropped,
        grown >> 20
    );
    // Under AddressSanitizer freed events sit in its quarantine (256 MiB), so RSS cannot judge
    // the bound there (the asan suite sets this, as for the soaks); the counts below still do.
    if std::env::var_os("BRIDGEHOST_SOAK_NO_RSS").is_none() {
        assert!(
            grown < CAP as u64 + SLACK,
            "{mode:?}: RSS grew {} MiB with a {} MiB event queue bound",
            grown >> 20,
            CAP >> 20
        );
    }
    // The bound held: far fewer than all the events are queued at once.
    assert!(
        c.events_emitted <= (CAP / SIZE as usize) as u64 + 1,
        "{mode:?}: {} events queued within a {CAP} B bound",
        c.events_emitted
    );
    // Refusals are counted per refused emit (a retried one may be refused several times).
    if retries == 0 {
        assert_eq!(c.events_refused, u64::from(refused));
    } else {
        assert!(c.events_refused >= u64::from(refused));
    }
    assert!(refused > 0 || c.events_dropped > 0);
    // Every event taken is delivered once the subscriber unblocks; none is counted twice.
    gate.open();
    m.flush(Duration::from_secs(30)).unwrap();
    let c = m.counters();
    assert_eq!(*delivered.lock().unwrap(), c.events_emitted);
    assert_eq!(c.events_delivered, c.events_emitted);
    assert_eq!(
        c.events_emitted + c.events_dropped + u64::from(refused),
        u64::from(EVENTS),
        "{c:?}"
    );
}

#[test]
fn large_events_are_bounded_in_bytes_in_process() {
    big_events(Isolation::InProcess);
}

#[test]
fn large_events_are_bounded_in_bytes_isolated() {
    big_events(Isolation::Process);
}

#[test]
fn event_queue_bytes_is_validated() {
    let r = Host::with_options(HostOptions {
        event_queue_bytes: 1000,
        ..HostOptions::default()
    });
    assert!(matches!(r, Err(bridgehost::Error::InvalidArgument(_))));
    assert_eq!(HostOptions::default().event_queue_bytes, 64 << 20);
}
