//! The core semantics, run in both modes: every test below is a function of the isolation
//! mode, and `both_modes!` generates `in_process::<name>` and `isolated::<name>` from it. The
//! observable behaviour of a module must not change with isolation (DESIGN.md §5).
//!
//! Prerequisites: `scripts/build.sh` (modules in target/dist, `bridgehost-worker` in
//! target/debug).
mod common;
mod isolation_support;

use bridgehost::{Error, ErrorKind, Host, HostOptions, Isolation, ModuleOptions};
use isolation_support::{dist, host, opts, require_worker, u32le};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            $( #[test] fn $name() { super::$name(bridgehost::Isolation::InProcess) } )*
        }
        mod isolated {
            $( #[test] fn $name() { super::$name(bridgehost::Isolation::Process) } )*
        }
    };
}

both_modes!(
    echo_round_trips_every_size,
    checksum_is_crc32c,
    module_error_keeps_code_and_message,
    panic_becomes_a_module_error,
    max_output_is_enforced_while_writing,
    caller_buffer_too_small_reports_the_size,
    max_input_is_enforced,
    unknown_method_is_not_found,
    config_reaches_init,
    events_arrive_in_order_per_topic,
    events_from_the_calling_thread,
    no_delivery_after_unsubscribe_returns,
    submit_completes_and_cancel_stops_queued_work,
    close_waits_for_calls_in_flight,
    use_after_close_is_a_clean_error,
    serialized_module_never_overlaps,
    single_thread_module_stays_on_its_thread,
    concurrent_calls_get_their_own_bytes,
    counters_count_calls_and_errors,
    info_is_the_same_in_both_modes,
);

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn echo_round_trips_every_size(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let echo = m.method("echo").unwrap();
    // Around the inline limit (64 KiB) and well past it (shared regions, growth).
    for (i, n) in [
        0usize,
        1,
        16,
        4096,
        65_535,
        65_536,
        65_537,
        1 << 20,
        (5 << 20) + 3,
        300,
    ]
    .into_iter()
    .enumerate()
    {
        let input = pattern(n, i as u32 + 1);
        let out = echo.call(&input).unwrap();
        assert_eq!(out.len(), n);
        assert!(out == input, "echo of {n} bytes returned different bytes");
    }
    // A reused output buffer.
    let mut buf = Vec::new();
    for n in [10usize, 200_000, 3] {
        let input = pattern(n, 99);
        echo.call_with(&input, &mut buf).unwrap();
        assert!(buf == input);
    }
}

fn checksum_is_crc32c(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let checksum = m.method("checksum").unwrap();
    assert_eq!(
        checksum.call(b"123456789").unwrap(),
        [0xe3, 0x06, 0x92, 0x83]
    );
    let big = pattern(3 << 20, 7);
    assert_eq!(checksum.call(&big).unwrap(), crc32c(&big).to_be_bytes());
}

fn module_error_keeps_code_and_message(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let e = m.method("fail").unwrap().call(b"boom \xff").unwrap_err();
    assert_eq!(
        e,
        Error::Module {
            code: 42,
            message: "boom \u{fffd}".into()
        }
    );
    // The module is fine afterwards.
    assert_eq!(m.method("echo").unwrap().call(b"x").unwrap(), b"x");
}

fn panic_becomes_a_module_error(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    match m.method("panic").unwrap().call(b"oops").unwrap_err() {
        Error::Module { code, message } => {
            assert_eq!(code, 101);
            assert!(message.contains("oops"), "{message}");
        }
        e => panic!("expected a module error, got {e:?}"),
    }
    assert_eq!(m.method("echo").unwrap().call(b"y").unwrap(), b"y");
}

fn max_output_is_enforced_while_writing(mode: Isolation) {
    let host = host();
    for max in [1000usize, 100_000] {
        let m = host
            .open(
                "std",
                ModuleOptions {
                    max_output: max,
                    ..opts(mode)
                },
            )
            .unwrap();
        let echo = m.method("echo").unwrap();
        assert_eq!(echo.call(&vec![1u8; max]).unwrap().len(), max);
        let e = echo.call(&vec![1u8; max + 1]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceLimit, "{e}");
        assert!(e.to_string().contains("max_output"), "{e}");
        // faulty's oversized_output writes until refused, then fails; the limit wins.
        let f = host
            .open(
                "faulty",
                ModuleOptions {
                    max_output: max,
                    ..opts(mode)
                },
            )
            .unwrap();
        let e = f.method("oversized_output").unwrap().call(b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceLimit, "{e}");
        assert_eq!(echo.call(b"ok").unwrap(), b"ok");
    }
}

fn caller_buffer_too_small_reports_the_size(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let echo = m.method("echo").unwrap();
    for n in [10usize, 70_000] {
        let input = pattern(n, 3);
        let mut small = vec![0u8; n - 1];
        assert_eq!(
            echo.call_to_slice(&input, &mut small).unwrap_err(),
            Error::BufferTooSmall { required: n }
        );
        let mut exact = vec![0u8; n];
        assert_eq!(echo.call_to_slice(&input, &mut exact).unwrap(), n);
        assert!(exact == input);
    }
}

fn max_input_is_enforced(mode: Isolation) {
    let host = host();
    let m = host
        .open(
            "std",
            ModuleOptions {
                max_input: 10,
                ..opts(mode)
            },
        )
        .unwrap();
    let echo = m.method("echo").unwrap();
    assert_eq!(echo.call(&[0u8; 10]).unwrap().len(), 10);
    assert_eq!(
        echo.call(&[0u8; 11]).unwrap_err().kind(),
        ErrorKind::ResourceLimit
    );
}

fn unknown_method_is_not_found(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    assert_eq!(m.method("nope").unwrap_err().kind(), ErrorKind::NotFound);
}

fn config_reaches_init(mode: Isolation) {
    let host = host();
    for config in [b"key=value".to_vec(), Vec::new(), pattern(200_000, 5)] {
        let m = host
            .open(
                "std",
                ModuleOptions {
                    config: config.clone(),
                    ..opts(mode)
                },
            )
            .unwrap();
        assert!(m.method("config").unwrap().call(b"").unwrap() == config);
    }
}

fn events_arrive_in_order_per_topic(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let (tx, rx) = mpsc::channel::<u64>();
    let tx = Mutex::new(tx);
    let _tick = m
        .subscribe(
            "tick",
            Box::new(move |e| {
                assert_eq!(&*e.topic, "tick");
                let seq = u64::from_le_bytes(e.data[..8].try_into().unwrap());
                tx.lock().unwrap().send(seq).unwrap();
            }),
        )
        .unwrap();
    let all = Arc::new(AtomicUsize::new(0));
    let a2 = Arc::clone(&all);
    let _star = m
        .subscribe(
            "*",
            Box::new(move |_| {
                a2.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let other = Arc::new(AtomicUsize::new(0));
    let o2 = Arc::clone(&other);
    let _other = m
        .subscribe(
            "tock",
            Box::new(move |_| {
                o2.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let n = 2000u64;
    m.method("ticker")
        .unwrap()
        .call(&(n as u32).to_le_bytes())
        .unwrap();
    for want in 0..n {
        let got = rx.recv_timeout(Duration::from_secs(10)).expect("event");
        assert_eq!(got, want, "events out of order");
    }
    assert!(isolation_support::eventually(
        Duration::from_secs(5),
        || all.load(Ordering::SeqCst) == n as usize
    ));
    assert_eq!(other.load(Ordering::SeqCst), 0);
    let c = m.counters();
    assert_eq!(c.events_emitted, n);
    assert!(c.events_delivered >= 2 * n, "{c:?}");
    assert_eq!(c.events_dropped, 0);
}

fn events_from_the_calling_thread(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let _s = m
        .subscribe(
            "news",
            Box::new(move |e| {
                tx.lock().unwrap().send(e.data.to_vec()).unwrap();
            }),
        )
        .unwrap();
    let big = pattern(300_000, 11); // larger than one datagram in isolation
    let mut input = b"news\0".to_vec();
    input.extend_from_slice(&big);
    m.method("emit").unwrap().call(&input).unwrap();
    m.method("emit").unwrap().call(b"news\0small").unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(5)).unwrap() == big);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), b"small");
    // A topic that is too long is refused by the host API in both modes.
    let long = format!("{}\0x", "t".repeat(200));
    assert_eq!(
        m.method("emit")
            .unwrap()
            .call(long.as_bytes())
            .unwrap_err()
            .kind(),
        ErrorKind::Module
    );
}

fn no_delivery_after_unsubscribe_returns(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let ticker = m.method("ticker").unwrap();
    for round in 0..20u64 {
        let alive = Arc::new(AtomicBool::new(true));
        let late = Arc::new(AtomicUsize::new(0));
        let (a, l) = (Arc::clone(&alive), Arc::clone(&late));
        let sub = m
            .subscribe(
                "tick",
                Box::new(move |_| {
                    if !a.load(Ordering::SeqCst) {
                        l.fetch_add(1, Ordering::SeqCst);
                    }
                }),
            )
            .unwrap();
        ticker.call(&5000u32.to_le_bytes()).unwrap();
        thread::sleep(Duration::from_micros(100 * (round % 5)));
        sub.unsubscribe();
        alive.store(false, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(5));
        assert_eq!(
            late.load(Ordering::SeqCst),
            0,
            "delivery after unsubscribe returned"
        );
        assert!(!sub.is_active());
    }
}

fn submit_completes_and_cancel_stops_queued_work(mode: Isolation) {
    require_worker();
    let host = Host::with_options(HostOptions {
        module_dirs: vec![dist()],
        submit_threads: 1,
        ..HostOptions::default()
    })
    .unwrap();
    let m = host.open("std", opts(mode)).unwrap();
    let sleep = m.method("sleep_ms").unwrap();
    let echo = m.method("echo").unwrap();
    let (tx, rx) = mpsc::channel();
    let t1 = tx.clone();
    sleep
        .submit(b"200".to_vec(), move |r| t1.send(("sleep", r)).unwrap())
        .unwrap();
    let t2 = tx.clone();
    let queued = echo
        .submit(b"late".to_vec(), move |r| t2.send(("queued", r)).unwrap())
        .unwrap();
    let t3 = tx.clone();
    echo.submit(b"runs".to_vec(), move |r| t3.send(("runs", r)).unwrap())
        .unwrap();
    assert!(
        queued.cancel(),
        "the second submit is still queued behind the sleep"
    );
    let mut got = std::collections::HashMap::new();
    for _ in 0..3 {
        let (k, r) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        got.insert(k, r);
    }
    assert_eq!(got["sleep"].as_deref().unwrap(), b"");
    assert_eq!(got["queued"].as_ref().unwrap_err(), &Error::Cancelled);
    assert_eq!(got["runs"].as_deref().unwrap(), b"runs");
    assert_eq!(m.counters().cancelled, 1);
}

fn close_waits_for_calls_in_flight(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    // The call in flight waits 300 ms in std's gate (its timeout); the gate's "started"
    // event says it is inside the module (its worker, isolated) before the close: no sleep
    // decides the order. It cannot end before 300 ms after its thread started, so neither
    // can a close that waits for it.
    let wait = m.method("gate_wait").unwrap();
    let (_sub, entered) = common::gate_entries(&m);
    let t0 = Instant::now();
    let h = thread::spawn(move || {
        let t0 = Instant::now();
        (
            wait.call(&common::gate_wait_input(300, b"close")),
            t0.elapsed(),
        )
    });
    assert_eq!(
        entered.recv_timeout(Duration::from_secs(30)).as_deref(),
        Ok(&b"close"[..]),
        "the call is inside the module"
    );
    m.close();
    let closed_after = t0.elapsed();
    let (r, took) = h.join().unwrap();
    assert_eq!(
        r.unwrap(),
        [0],
        "a call in flight finishes (its gate timed out)"
    );
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(
        closed_after >= Duration::from_millis(300),
        "close returned before the call finished: {closed_after:?}"
    );
    m.close(); // idempotent
    assert!(m.is_closed());
}

fn use_after_close_is_a_clean_error(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let echo = m.method("echo").unwrap();
    m.close();
    assert_eq!(echo.call(b"x").unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(m.method("echo").unwrap_err().kind(), ErrorKind::Closed);
    let m2 = host.open("std", opts(mode)).unwrap();
    let echo2 = m2.method("echo").unwrap();
    host.close();
    assert_eq!(echo2.call(b"x").unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(
        host.open("std", opts(mode)).unwrap_err().kind(),
        ErrorKind::Closed
    );
}

fn serialized_module_never_overlaps(mode: Isolation) {
    let host = host();
    let m = host.open("serial", opts(mode)).unwrap();
    let probe = m.method("probe").unwrap();
    let start = Arc::new(Barrier::new(8));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let (probe, start) = (probe.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for _ in 0..50 {
                    probe.call(b"").expect("probe");
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(u32le(&m.method("overlaps").unwrap().call(b"").unwrap()), 0);
}

fn single_thread_module_stays_on_its_thread(mode: Isolation) {
    let host = host();
    let m = host.open("single", opts(mode)).unwrap();
    let init_tid = u32le(&m.method("init_tid").unwrap().call(b"").unwrap());
    let tid = m.method("tid").unwrap();
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let tid = tid.clone();
            thread::spawn(move || {
                (0..25)
                    .map(|_| u32le(&tid.call(b"").unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in hs {
        for t in h.join().unwrap() {
            assert_eq!(t, init_tid);
        }
    }
}

fn concurrent_calls_get_their_own_bytes(mode: Isolation) {
    let host = host();
    let m = host
        .open(
            "std",
            ModuleOptions {
                workers: 3,
                ..opts(mode)
            },
        )
        .unwrap();
    let echo = m.method("echo").unwrap();
    let hs: Vec<_> = (0..4u32)
        .map(|t| {
            let echo = echo.clone();
            thread::spawn(move || {
                for i in 0..200u32 {
                    let n = [16usize, 1000, 70_000][(i % 3) as usize];
                    let input = pattern(n, t * 1000 + i + 1);
                    assert!(echo.call(&input).unwrap() == input, "thread {t} call {i}");
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn counters_count_calls_and_errors(mode: Isolation) {
    let host = host();
    let m = host.open("std", opts(mode)).unwrap();
    let echo = m.method("echo").unwrap();
    let fail = m.method("fail").unwrap();
    for _ in 0..10 {
        echo.call(b"a").unwrap();
    }
    for _ in 0..3 {
        fail.call(b"").unwrap_err();
    }
    let c = m.counters();
    assert_eq!(
        (c.calls, c.errors, c.crashes, c.timeouts),
        (13, 3, 0, 0),
        "{c:?}"
    );
}

fn info_is_the_same_in_both_modes(mode: Isolation) {
    let host = host();
    let reference = host.open("std", opts(Isolation::InProcess)).unwrap();
    let m = host.open("std", opts(mode)).unwrap();
    assert_eq!(m.info(), reference.info());
    assert_eq!(m.info().methods.len(), reference.info().methods.len());
}
