//! Unsubscribe and close count what they discard (issue 12, item 4): an
//! event accepted for a subscription that goes away before the event reaches
//! it is counted in `events_discarded`, once per subscriber, never silently
//! lost. Checked by removing the counting (the tombstones and the queue
//! count at stop): every test here read 0 discarded.
mod common;

use bridgehost::{Host, Module, ModuleOptions, Subscription};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const QUEUED: u64 = 10;

struct Setup {
    host: Host,
    m: Module,
    /// Blocks in its first delivery until `release` is sent.
    gated: Arc<Subscription>,
    /// Stays subscribed: gets every event.
    other: Subscription,
    other_seen: Arc<AtomicU64>,
    release: mpsc::Sender<()>,
}

/// One event being delivered (stuck in the gated callback), `QUEUED` more queued behind it.
fn setup() -> Setup {
    let host = common::host();
    let m = host.open("std", ModuleOptions::default()).unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let gated = m
        .subscribe(
            "t",
            Box::new(move |_| {
                let _ = entered_tx.send(());
                let _ = release_rx.lock().unwrap().recv();
            }),
        )
        .unwrap();
    let other_seen = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&other_seen);
    let other = m
        .subscribe(
            "t",
            Box::new(move |_| {
                s.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    let emit = m.method("emit").unwrap();
    emit.call(b"t\0first").unwrap();
    entered_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    for _ in 0..QUEUED {
        emit.call(b"t\0queued").unwrap();
    }
    // An event nobody subscribed to is not a discard.
    emit.call(b"nobody\0x").unwrap();
    Setup {
        host,
        m,
        gated: Arc::new(gated),
        other,
        other_seen,
        release: release_tx,
    }
}

/// Run `f` on a thread (it waits for the stuck delivery), wait until the
/// gated subscription is inactive, release the delivery, join.
fn while_stuck(s: &Setup, f: impl FnOnce() + Send + 'static) {
    let t = thread::spawn(f);
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.gated.is_active() {
        assert!(Instant::now() < deadline, "never deactivated");
        thread::sleep(Duration::from_millis(1));
    }
    s.release.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn unsubscribe_counts_the_queued_events_it_discards() {
    let s = setup();
    let g = Arc::clone(&s.gated);
    while_stuck(&s, move || g.unsubscribe());
    s.m.flush(Duration::from_secs(30)).unwrap();
    let c = s.m.counters();
    assert_eq!(s.other_seen.load(Ordering::SeqCst), 1 + QUEUED);
    // The gated one got the first event; the queued ones are discarded for
    // it, and only for it.
    assert_eq!(c.events_delivered, 1 + (1 + QUEUED));
    assert_eq!(c.events_discarded, QUEUED);
    assert_eq!(c.events_dropped, 0);
    // Events after the unsubscribe are not its discards.
    s.m.method("emit").unwrap().call(b"t\0later").unwrap();
    s.m.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(s.m.counters().events_discarded, QUEUED);
    drop(s.other);
    s.host.close();
}

#[test]
fn module_close_counts_the_queued_events_it_discards() {
    let s = setup();
    let m = s.m.clone();
    while_stuck(&s, move || m.close());
    // The module is closed: flush the host's queue through another module.
    let probe = s.host.open("std", ModuleOptions::default()).unwrap();
    probe.flush(Duration::from_secs(30)).unwrap();
    let c = s.m.counters();
    // Both subscriptions were closed with the module: the gated one had
    // the first event, the other none.
    assert_eq!(c.events_delivered, 1);
    assert_eq!(c.events_discarded, QUEUED + (1 + QUEUED));
    assert_eq!(s.host.counters().events_discarded, c.events_discarded);
    drop(s.other);
    s.host.close();
}

#[test]
fn host_close_counts_the_queued_events_it_discards() {
    let s = setup();
    let host = s.host.clone();
    while_stuck(&s, move || host.close());
    let c = s.host.counters();
    assert_eq!(c.events_delivered, 1);
    assert_eq!(c.events_discarded, QUEUED + (1 + QUEUED));
    drop(s.other);
}

/// Isolated, an event is accepted when its worker queued it (`emit`
/// returned) and reaches the host later: the events still on their way when
/// a subscription ends are discards too, counted as they arrive (exact once
/// `flush` returned). A slow subscriber, 2,000 returned `emit` calls,
/// unsubscribe, flush: every event was delivered to it or counted. Checked
/// by removing the count of events in transit: 1,730–1,960 of 2,000.
#[test]
fn isolated_unsubscribe_counts_the_events_still_on_their_way() {
    const N: u64 = 2000;
    let host = common::host();
    let m = host.open("std", ModuleOptions::isolated()).unwrap();
    let emit = m.method("emit").unwrap();
    for round in 0..3 {
        let seen = Arc::new(AtomicU64::new(0));
        let s = Arc::clone(&seen);
        let sub = m
            .subscribe(
                "t",
                Box::new(move |_| {
                    s.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_micros(100));
                }),
            )
            .unwrap();
        let before = m.counters();
        for _ in 0..N {
            emit.call(b"t\0payload").unwrap();
            // Another topic: not this subscription's discards.
            emit.call(b"u\0payload").unwrap();
        }
        sub.unsubscribe();
        let got = seen.load(Ordering::SeqCst);
        m.flush(Duration::from_secs(60)).unwrap();
        let c = m.counters();
        assert_eq!(c.events_dropped, 0);
        // Nothing after the unsubscribe returned.
        assert_eq!(seen.load(Ordering::SeqCst), got, "round {round}");
        let delivered = c.events_delivered - before.events_delivered;
        let discarded = c.events_discarded - before.events_discarded;
        assert_eq!(delivered, got, "round {round}");
        assert_eq!(
            delivered + discarded,
            N,
            "round {round}: {delivered} delivered"
        );
    }
    host.close();
}

/// Closing an isolated module counts the events on their way too: the
/// close returns once its workers' events have arrived (or died with them).
/// Checked by removing the count of events in transit: 2,643–3,999 of 4,000.
#[test]
fn isolated_module_close_counts_the_events_still_on_their_way() {
    const N: u64 = 2000;
    let host = common::host();
    let m = host.open("std", ModuleOptions::isolated()).unwrap();
    let emit = m.method("emit").unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&seen);
    let _sub = m
        .subscribe(
            "*",
            Box::new(move |_| {
                s.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_micros(100));
            }),
        )
        .unwrap();
    for _ in 0..N {
        emit.call(b"t\0payload").unwrap();
        emit.call(b"u\0payload").unwrap();
    }
    m.close();
    // Flush the host's queue through another module.
    let probe = host.open("std", ModuleOptions::default()).unwrap();
    probe.flush(Duration::from_secs(60)).unwrap();
    let c = m.counters();
    assert_eq!(c.events_dropped, 0);
    assert_eq!(c.events_delivered, seen.load(Ordering::SeqCst));
    assert_eq!(c.events_delivered + c.events_discarded, 2 * N);
    host.close();
}
