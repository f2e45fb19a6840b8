//! Defaults sized for real work (issue 12, item 8).
mod common;

use bridgehost::options::{
    DEFAULT_EVENT_QUEUE_CAPACITY, DEFAULT_MAX_EVENT, DEFAULT_MAX_PAYLOAD,
    DEFAULT_SUBMIT_QUEUE_CAPACITY, DEFAULT_SUBMIT_THREADS,
};
use bridgehost::{HostOptions, ModuleOptions};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// 1,000 submitted 20 ms sleeps with the default options. With the old
/// default pool (the core count clamped to 2..=16: 2 threads on the 2-core
/// CI machines) this took 10 s and failed; the pool now grows to 64 threads
/// on demand (about 0.35 s).
#[test]
fn a_thousand_submitted_blocking_calls_finish_quickly_with_default_options() {
    let host = common::host();
    assert_eq!(
        host.options().submit_threads,
        HostOptions::default().submit_threads
    );
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let sleep = m.method("sleep_ms").unwrap();
    let (tx, rx) = mpsc::channel();
    let t0 = Instant::now();
    for _ in 0..1000 {
        let tx = tx.clone();
        sleep
            .submit(b"20".to_vec(), move |r| {
                let _ = tx.send(r.is_ok());
            })
            .unwrap();
    }
    drop(tx);
    let ok = rx.iter().filter(|ok| *ok).count();
    let took = t0.elapsed();
    assert_eq!(ok, 1000);
    assert!(took < Duration::from_secs(5), "1,000 x 20 ms took {took:?}");
    eprintln!("1,000 submitted 20 ms sleeps: {took:?}");
}

/// The documented defaults are what `Default` gives (the bridges read them from here).
#[test]
fn defaults_are_the_documented_constants() {
    let h = HostOptions::default();
    assert_eq!(h.submit_threads, DEFAULT_SUBMIT_THREADS);
    assert_eq!(DEFAULT_SUBMIT_THREADS, 64);
    assert_eq!(h.submit_queue_capacity, DEFAULT_SUBMIT_QUEUE_CAPACITY);
    assert_eq!(h.event_queue_capacity, DEFAULT_EVENT_QUEUE_CAPACITY);
    let m = ModuleOptions::default();
    assert_eq!(m.max_input, DEFAULT_MAX_PAYLOAD);
    assert_eq!(m.max_output, DEFAULT_MAX_PAYLOAD);
    assert_eq!(m.max_event, DEFAULT_MAX_EVENT);
    assert_eq!(m.workers, 1);
    assert_eq!(m.call_timeout, None);
    assert_eq!(m.memory_limit, None);
}
