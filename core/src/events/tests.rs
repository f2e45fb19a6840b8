//! Unit tests of the event hub.

use super::*;
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn record(
    hub: &Arc<EventHub>,
    module: u64,
    topic: &str,
    c: &Arc<Counters>,
) -> (Subscription, Seen) {
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let sub = hub
        .subscribe(
            module,
            topic,
            Box::new(move |e| s.lock().push((e.topic.to_string(), e.data.to_vec()))),
            Arc::clone(c),
            None,
        )
        .unwrap();
    (sub, seen)
}

fn wait_for(what: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !what() {
        assert!(Instant::now() < deadline, "timed out");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Topics shared between consecutive events (and batches), runs of
/// several modules, topic filters and inline/heap payloads: every
/// subscriber sees exactly its events, in emit order.
#[test]
fn interleaved_modules_and_topics_deliver_exactly_in_order() {
    let hub = EventHub::start(1 << 16, "test").unwrap();
    let counters = [Arc::new(Counters::default()), Arc::new(Counters::default())];
    let specs = [
        (1u64, "a"),
        (1, "*"),
        (1, "b"),
        (2, "a"),
        (2, "*"),
        (2, "zzz"),
    ];
    let subs: Vec<_> = specs
        .iter()
        .map(|&(m, t)| record(&hub, m, t, &counters[m as usize - 1]))
        .collect();
    let topics = ["a", "a", "b", "c", "a", "b", "b"];
    let mut sent = Vec::new();
    // Miri: the same interleavings, fewer events (it is ~1000x slower).
    let n: u32 = if cfg!(miri) { 500 } else { 20_000 };
    for i in 0..n {
        let module = if i % 3 == 0 { 2 } else { 1 };
        // A fresh allocation per emit: sharing must go by content.
        let topic = topics[(i as usize / 2) % topics.len()].to_string();
        let data: Vec<u8> = i
            .to_le_bytes()
            .iter()
            .copied()
            .cycle()
            .take(i as usize % 97)
            .collect();
        hub.emit(module, &topic, &data, &counters[module as usize - 1])
            .unwrap();
        sent.push((module, topic, data));
        if i % 1000 == 0 {
            // Let the dispatcher take a batch now and then.
            thread::sleep(Duration::from_millis(1));
        }
    }
    for ((module, want), (_, seen)) in specs.iter().zip(&subs) {
        let expected: Vec<(String, Vec<u8>)> = sent
            .iter()
            .filter(|(m, t, _)| m == module && (*want == "*" || t == want))
            .map(|(_, t, d)| (t.clone(), d.clone()))
            .collect();
        wait_for(|| seen.lock().len() >= expected.len());
        thread::sleep(Duration::from_millis(20));
        assert!(*seen.lock() == expected, "subscriber {module}/{want}");
    }
    let from_2 = u64::from(n.div_ceil(3)); // i % 3 == 0
    assert_eq!(
        counters[0].events_emitted.load(Ordering::Relaxed),
        u64::from(n) - from_2
    );
    assert_eq!(counters[1].events_emitted.load(Ordering::Relaxed), from_2);
    drop(subs);
    hub.stop();
}

/// `stop` counts the events still queued for each subscriber (and the
/// dispatcher those of the batch it was delivering) as discarded.
/// Checked by removing `count_discarded_queue`: 0 discarded.
#[test]
fn stop_counts_queued_events_as_discarded_per_subscriber() {
    let hub = EventHub::start(1024, "test").unwrap();
    let c = Arc::new(Counters::default());
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let g = Arc::clone(&gate);
    let entered = Arc::new(AtomicBool::new(false));
    let e = Arc::clone(&entered);
    let _stuck = hub
        .subscribe(
            3,
            "a",
            Box::new(move |_| {
                e.store(true, Ordering::SeqCst);
                let mut open = g.0.lock();
                while !*open {
                    g.1.wait(&mut open);
                }
            }),
            Arc::clone(&c),
            None,
        )
        .unwrap();
    let (all, _) = record(&hub, 3, "*", &c);
    hub.emit(3, "a", &[0], &c).unwrap();
    wait_for(|| entered.load(Ordering::SeqCst));
    for _ in 0..5 {
        hub.emit(3, "a", &[1], &c).unwrap();
        hub.emit(3, "b", &[2], &c).unwrap();
    }
    let h = Arc::clone(&hub);
    let stopper = thread::spawn(move || h.stop());
    // Both marked inactive before the stuck callback returns: `stop` marks
    // them one after the other, and "*" still active when the dispatcher
    // reaches it would rightly get event 0 (a Miri run saw 2 delivered).
    wait_for(|| !_stuck.is_active() && !all.is_active());
    *gate.0.lock() = true;
    gate.1.notify_all();
    stopper.join().unwrap();
    // "a" got event 0; "*" got nothing. Queued: 5 on "a" (both want
    // them), 5 on "b" (only "*" wants them).
    assert_eq!(c.events_delivered.load(Ordering::Relaxed), 1);
    assert_eq!(c.events_discarded.load(Ordering::Relaxed), 1 + 5 + 5 + 5);
    assert!(hub.subs.lock().is_empty());
}

/// A full queue drops the new event and counts it exactly; the queued
/// ones are still delivered, in order.
#[test]
fn full_queue_drops_newest_and_counts_exactly() {
    const CAP: usize = 64;
    let hub = EventHub::start(CAP, "test").unwrap();
    let c = Arc::new(Counters::default());
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let g = Arc::clone(&gate);
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let s = Arc::clone(&seen);
    let _sub = hub
        .subscribe(
            7,
            "t",
            Box::new(move |e| {
                let mut open = g.0.lock();
                while !*open {
                    g.1.wait(&mut open);
                }
                s.lock().push(e.data[0]);
            }),
            Arc::clone(&c),
            None,
        )
        .unwrap();
    hub.emit(7, "t", &[0], &c).unwrap();
    // The dispatcher has taken event 0 and blocks in the callback.
    wait_for(|| hub.queue.lock().items.is_empty());
    for i in 1..=CAP {
        hub.emit(7, "t", &[i as u8], &c).unwrap();
    }
    for i in 0..5u8 {
        assert!(matches!(
            hub.emit(7, "t", &[200 + i], &c),
            Err(Error::Overloaded(_))
        ));
    }
    // The hub only refuses; its caller counts (refusal or loss).
    assert_eq!(c.events_dropped.load(Ordering::Relaxed), 0);
    assert_eq!(c.events_emitted.load(Ordering::Relaxed), CAP as u64 + 1);
    *gate.0.lock() = true;
    gate.1.notify_all();
    wait_for(|| seen.lock().len() == CAP + 1);
    let expected: Vec<u8> = (0..=CAP as u8).collect();
    assert_eq!(*seen.lock(), expected);
    hub.stop();
}

/// The queue is bounded in bytes as well as events, counting the batch
/// being delivered; an event larger than the bound is taken only alone;
/// the bytes are released once delivered (before `flush` returns).
#[test]
fn byte_bound_counts_the_batch_in_delivery() {
    let cost = event_cost(1000);
    let hub = EventHub::start_bounded(1 << 16, 3 * cost, "test").unwrap();
    let c = Arc::new(Counters::default());
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let g = Arc::clone(&gate);
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    let _sub = hub
        .subscribe(
            7,
            "t",
            Box::new(move |_| {
                let mut open = g.0.lock();
                while !*open {
                    g.1.wait(&mut open);
                }
                s.fetch_add(1, Ordering::SeqCst);
            }),
            Arc::clone(&c),
            None,
        )
        .unwrap();
    let big = vec![1u8; 1000];
    hub.emit(7, "t", &big, &c).unwrap();
    // The dispatcher has taken it and blocks in the callback: it still counts.
    wait_for(|| hub.queue.lock().items.is_empty());
    hub.emit(7, "t", &big, &c).unwrap();
    hub.emit(7, "t", &big, &c).unwrap();
    let full = |r: Result<()>| matches!(r, Err(Error::Overloaded(m)) if m.contains("bytes"));
    assert!(full(hub.emit(7, "t", &big, &c)));
    // Inline payloads cost their slot only, but a slot is still a cost.
    assert!(full(hub.emit(7, "t", b"x", &c)));
    let huge = vec![2u8; 10 * cost];
    assert!(full(hub.emit(7, "t", &huge, &c)));
    *gate.0.lock() = true;
    gate.1.notify_all();
    hub.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    // Nothing held: an event larger than the bound is taken, alone.
    hub.emit(7, "t", &huge, &c).unwrap();
    hub.flush(Duration::from_secs(20)).unwrap();
    hub.emit(7, "t", &big, &c).unwrap();
    hub.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 5);
    assert_eq!(c.events_emitted.load(Ordering::Relaxed), 5);
    hub.stop();
}
