//! WIT resources through the host (docs/TYPED.md, "Resources (handles)"), driven with the
//! dynamic typed values against the hand-written test module `counter` (plugins/c/counter.c),
//! in both isolation modes: handles per instance and generation-checked, a drop is final, an
//! object borrowed by a running call outlives its drop until the call returns, closing the
//! module destroys what is live, and after an isolated worker restart the state loss is
//! reported (StateLost) and the old handles are stale, never confused with new objects.
//!
//! Prerequisites: `scripts/build.sh` (target/dist/libbridgehost_mod_counter.so, the worker).
mod isolation_support;

use bridgehost::interface::typed::{wire, Value};
use bridgehost::{Error, Isolation, Module};
use isolation_support::*;
use std::time::{Duration, Instant};

fn counter_path() -> String {
    dist()
        .join("libbridgehost_mod_counter.so")
        .to_string_lossy()
        .into_owned()
}

/// Call interface function `f` with typed arguments; its typed result.
fn call(m: &Module, f: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    let iface = m.interface().expect("counter is typed");
    let func = iface
        .function(f)
        .unwrap_or_else(|| panic!("no function {f}"));
    let input = wire::encode_params(iface, func, args).expect("encodes");
    let out = m.method(f)?.call(&input)?;
    Ok(wire::decode_result(iface, func, &out).expect("the module's output matches"))
}

fn handle(v: Option<Value>) -> u64 {
    match v {
        Some(Value::Handle(h)) => h,
        other => panic!("expected a handle, got {other:?}"),
    }
}

fn u64_of(v: Option<Value>) -> u64 {
    match v {
        Some(Value::U64(n)) => n,
        other => panic!("expected a u64, got {other:?}"),
    }
}

fn new(m: &Module, start: u64) -> u64 {
    handle(call(m, "[constructor]counter", &[Value::U64(start)]).unwrap())
}

/// `[static]counter.named`: the new counter's handle.
fn named(m: &Module, name: &str, start: u64) -> u64 {
    match call(
        m,
        "[static]counter.named",
        &[Value::String(name.into()), Value::U64(start)],
    )
    .unwrap()
    {
        Some(Value::Result(Ok(Some(h)))) => handle(Some(*h)),
        other => panic!("named({name:?}): {other:?}"),
    }
}

fn get(m: &Module, h: u64) -> Result<u64, Error> {
    call(m, "[method]counter.get", &[Value::Handle(h)]).map(u64_of)
}

fn drop_handle(m: &Module, h: u64) -> Result<(), Error> {
    m.method("[resource-drop]counter")?
        .call(&h.to_le_bytes())
        .map(|out| assert!(out.is_empty()))
}

fn live(m: &Module) -> u32 {
    match call(m, "live", &[]).unwrap() {
        Some(Value::U32(n)) => n,
        other => panic!("{other:?}"),
    }
}

fn destroyed_total(m: &Module) -> u64 {
    u64_of(call(m, "destroyed-total", &[]).unwrap())
}

/// The counter module's "started" signal: `slow-get` emits event `slow-get-started` with its
/// counter's handle once it has pinned the counter (isolated: from inside the worker). Keep the
/// subscription while waiting.
fn slow_get_started(m: &Module) -> (bridgehost::Subscription, std::sync::mpsc::Receiver<u64>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let sub = m
        .subscribe(
            "slow-get-started",
            Box::new(move |e| {
                let h = u64::from_le_bytes(e.data[..].try_into().expect("a u64 handle"));
                let _ = tx.lock().unwrap().send(h);
            }),
        )
        .expect("subscribe to slow-get-started");
    (sub, rx)
}

fn expect_stale(r: Result<impl std::fmt::Debug, Error>, h: u64) {
    match r {
        Err(Error::Module { code, message, .. }) => {
            assert_eq!(code, 22, "{message}");
            assert_eq!(
                message,
                format!("stale handle: no live counter has handle 0x{h:016x}")
            );
        }
        other => panic!("expected a stale-handle module error, got {other:?}"),
    }
}

fn modes() -> [Isolation; 2] {
    [Isolation::InProcess, Isolation::Process]
}

#[test]
fn constructors_methods_statics_and_owned_results() {
    let host = host();
    for mode in modes() {
        let m = host.open(&counter_path(), opts(mode)).unwrap();
        let a = new(&m, 40);
        assert_ne!(a, 0, "{mode:?}: 0 is never a live handle");
        let add = |h: u64, n: u64| {
            call(
                &m,
                "[method]counter.add",
                &[Value::Handle(h), Value::U64(n)],
            )
        };
        assert_eq!(
            add(a, 2).unwrap(),
            Some(Value::Result(Ok(Some(Box::new(Value::U64(42))))))
        );
        // A `result` error is a value, and the counter is unchanged.
        match add(a, u64::MAX).unwrap() {
            Some(Value::Result(Err(Some(e)))) => {
                assert!(
                    matches!(*e, Value::String(ref s) if s.contains("overflow")),
                    "{e:?}"
                )
            }
            other => panic!("{mode:?}: {other:?}"),
        }
        assert_eq!(get(&m, a).unwrap(), 42);
        // own<counter> returned by a method, a static in a result, a static in a list.
        let b = handle(
            call(
                &m,
                "[method]counter.fork",
                &[Value::Handle(a), Value::U64(8)],
            )
            .unwrap(),
        );
        assert_eq!(get(&m, b).unwrap(), 50);
        let n = named(&m, "n", 7);
        assert_eq!(
            call(&m, "[method]counter.name", &[Value::Handle(n)]).unwrap(),
            Some(Value::Option(Some(Box::new(Value::String("n".into())))))
        );
        assert_eq!(
            call(&m, "[method]counter.name", &[Value::Handle(a)]).unwrap(),
            Some(Value::Option(None))
        );
        assert!(matches!(
            call(
                &m,
                "[static]counter.named",
                &[Value::String(String::new()), Value::U64(7)]
            )
            .unwrap(),
            Some(Value::Result(Err(Some(_))))
        ));
        let many = match call(
            &m,
            "[static]counter.many",
            &[Value::List(vec![
                Value::U64(1),
                Value::U64(2),
                Value::U64(3),
            ])],
        )
        .unwrap()
        {
            Some(Value::List(hs)) => hs
                .into_iter()
                .map(|v| match v {
                    Value::Handle(h) => h,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(many.len(), 3);
        assert_eq!(get(&m, many[2]).unwrap(), 3);
        // Two borrows in one call.
        assert_eq!(
            u64_of(call(&m, "sum", &[Value::Handle(a), Value::Handle(b)]).unwrap()),
            92
        );
        assert_eq!(live(&m), 6, "{mode:?}");
        for h in [a, b, n].into_iter().chain(many) {
            drop_handle(&m, h).unwrap();
        }
        assert_eq!(live(&m), 0, "{mode:?}");
        m.close();
    }
}

#[test]
fn a_dropped_handle_is_stale_everywhere_and_never_names_a_new_counter() {
    let host = host();
    for mode in modes() {
        let m = host.open(&counter_path(), opts(mode)).unwrap();
        let a = new(&m, 1);
        drop_handle(&m, a).unwrap();
        expect_stale(get(&m, a), a);
        expect_stale(drop_handle(&m, a), a); // a double drop
        let b = new(&m, 2);
        expect_stale(call(&m, "sum", &[Value::Handle(b), Value::Handle(a)]), a);
        // The slot is reused with a new generation: the old handle stays stale.
        assert_eq!(b & 0xffff_ffff, a & 0xffff_ffff, "{mode:?}: slot reused");
        assert_ne!(b, a);
        expect_stale(get(&m, a), a);
        // Made-up handles: 0, a slot never used, the right slot with the wrong generation.
        for h in [0u64, b + 1000, b ^ (1 << 40)] {
            expect_stale(get(&m, h), h);
        }
        assert_eq!(get(&m, b).unwrap(), 2);
        // Handles are per instance: another open of the module does not know b.
        let m2 = host.open(&counter_path(), opts(mode)).unwrap();
        expect_stale(get(&m2, b), b);
        m2.close();
        m.close();
    }
}

#[test]
fn a_counter_dropped_during_a_call_lives_until_the_call_returns() {
    let host = host();
    for mode in modes() {
        let m = host.open(&counter_path(), opts(mode)).unwrap();
        let a = new(&m, 77);
        let (_sub, started) = slow_get_started(&m);
        let before = Instant::now();
        std::thread::scope(|s| {
            let slow = s.spawn(|| {
                call(
                    &m,
                    "[method]counter.slow-get",
                    &[Value::Handle(a), Value::U32(600)],
                )
                .map(u64_of)
            });
            // slow-get's "started" event: it has pinned the counter (no sleep decides that).
            assert_eq!(
                started.recv_timeout(Duration::from_secs(30)),
                Ok(a),
                "{mode:?}: slow-get started on the counter"
            );
            drop_handle(&m, a).unwrap();
            // Dropped: stale for new calls at once, although slow-get still runs on it.
            expect_stale(get(&m, a), a);
            assert_eq!(live(&m), 0, "{mode:?}");
            assert_eq!(slow.join().unwrap().unwrap(), 77, "{mode:?}");
        });
        assert!(before.elapsed() >= Duration::from_millis(600));
        m.close();
    }
}

#[test]
fn closing_the_module_destroys_the_live_counters() {
    // In-process the destroyed counter is process-wide (the module stays loaded): three live
    // counters at close are three more destroyed.
    let host = host();
    let m = host
        .open(&counter_path(), opts(Isolation::InProcess))
        .unwrap();
    let before = destroyed_total(&m);
    for i in 0..3 {
        new(&m, i);
    }
    let dropped = new(&m, 9);
    drop_handle(&m, dropped).unwrap();
    assert_eq!(destroyed_total(&m), before + 1);
    m.close();
    let m = host
        .open(&counter_path(), opts(Isolation::InProcess))
        .unwrap();
    assert_eq!(destroyed_total(&m), before + 4);
    m.close();
}

#[test]
fn after_a_worker_restart_the_loss_is_reported_and_old_handles_are_stale() {
    let host = host();
    let m = host
        .open(&counter_path(), opts(Isolation::Process))
        .unwrap();
    let a = new(&m, 5);
    let lost = m.counters().state_lost;
    assert!(m.method("crash").unwrap().call(b"").is_err());
    // The next call, whatever it is, learns that the state is gone, once.
    match get(&m, a) {
        Err(Error::StateLost(_)) => {}
        other => panic!("expected StateLost, got {other:?}"),
    }
    assert_eq!(m.counters().state_lost, lost + 1);
    // The fresh instance's first generation is random: the old handle names nothing there,
    // even once a counter occupies the same slot.
    let b = new(&m, 6);
    assert_eq!(b & 0xffff_ffff, a & 0xffff_ffff, "the same slot");
    expect_stale(get(&m, a), a);
    assert_eq!(get(&m, b).unwrap(), 6);
    m.close();
}

/// A drop of an object of the lost instance (a `close`, or what a Cleaner or finalizer submits
/// once the object is garbage) has nothing to drop: it succeeds without running, and the loss is
/// still reported to the next call that would have run against it, not taken by the drop.
#[test]
fn after_a_worker_restart_drops_do_not_take_the_loss_report() {
    let host = host();
    let m = host
        .open(&counter_path(), opts(Isolation::Process))
        .unwrap();
    let (a, b) = (new(&m, 5), new(&m, 6));
    let lost = m.counters().state_lost;
    assert!(m.method("crash").unwrap().call(b"").is_err());
    drop_handle(&m, a).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    m.method("[resource-drop]counter")
        .unwrap()
        .submit(b.to_le_bytes().to_vec(), move |r| tx.send(r).unwrap())
        .unwrap();
    let submitted = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(submitted.unwrap(), Vec::<u8>::new(), "a submitted drop");
    assert_eq!(m.counters().state_lost, lost, "no drop took the report");
    match call(&m, "live", &[]) {
        Err(Error::StateLost(_)) => {}
        other => panic!("expected StateLost, got {other:?}"),
    }
    assert_eq!(m.counters().state_lost, lost + 1);
    // From here the new instance runs every call, drops included: an old handle is stale there.
    assert_eq!(live(&m), 0);
    expect_stale(drop_handle(&m, a), a);
    m.close();
}

#[test]
fn the_interface_is_the_file_and_the_module_is_stateful() {
    let info = bridgehost::inspect(&counter_path(), &[]).unwrap();
    assert!(info.stateful);
    let wit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/c/counter.wit"),
    )
    .unwrap();
    assert_eq!(info.interface.as_ref().unwrap().source(), wit);
}

/// A drop submitted while the host's submit queue is full is queued anyway, in both modes: the
/// runtimes submit drops when their garbage collector releases objects, nobody retries a refused
/// one, and it would leave the object in the module until the module closes. Other submits, the
/// same module's included, are still refused as overloaded. Without the exemption the drops were
/// refused (a Java soak lost 4,630 of 10,500 in a burst and `live` stayed there).
#[test]
fn drops_are_queued_even_when_the_submit_queue_is_full() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    for isolation in modes() {
        let host = bridgehost::Host::with_options(bridgehost::HostOptions {
            module_dirs: vec![dist()],
            submit_threads: 1,
            submit_queue_capacity: 2,
            ..Default::default()
        })
        .unwrap();
        let m = host.open(&counter_path(), opts(isolation)).unwrap();
        let std = host
            .open("std", bridgehost::ModuleOptions::default())
            .unwrap();
        let objects: Vec<u64> = (0..20).map(|i| new(&m, i)).collect();
        assert_eq!(live(&m), 20);
        // The pool's only thread waits in std's gate; fill the queue behind it.
        let wait = std.method("gate_wait").unwrap();
        let mut input = 60_000u32.to_le_bytes().to_vec();
        input.extend_from_slice(b"drops");
        let waited = Arc::new(AtomicUsize::new(0));
        let count = std.method("gate_count").unwrap();
        for k in 0..3 {
            let w = Arc::clone(&waited);
            wait.submit(input.clone(), move |r| {
                assert_eq!(r.unwrap(), [1], "released by gate_open");
                w.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap_or_else(|e| panic!("{isolation:?}: the queue refused a filling task: {e}"));
            if k == 0 {
                // The first one inside the gate (off the queue) before the queue is filled.
                assert!(
                    eventually(Duration::from_secs(30), || {
                        u32le(&count.call(b"drops").unwrap()) == 1
                    }),
                    "{isolation:?}: the first task never reached the gate"
                );
            }
        }
        // Full: another call is refused, a drop is not.
        let get = m.method("[method]counter.get").unwrap();
        let e = get
            .submit(objects[0].to_le_bytes().to_vec(), |_| {})
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.kind(), bridgehost::ErrorKind::Overloaded, "{isolation:?}");
        let drop = m.method("[resource-drop]counter").unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        for &h in &objects {
            let d = Arc::clone(&dropped);
            drop.submit(h.to_le_bytes().to_vec(), move |r| {
                assert_eq!(r.unwrap(), b"", "a drop has no output");
                d.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap_or_else(|e| panic!("{isolation:?}: a drop was refused: {e}"));
        }
        // Open the gate until every queued task ran: the drops then reach the module.
        let open = std.method("gate_open").unwrap();
        let t0 = Instant::now();
        while dropped.load(Ordering::SeqCst) < objects.len() || waited.load(Ordering::SeqCst) < 3 {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{isolation:?}: tasks never ended"
            );
            open.call(b"drops").unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(live(&m), 0, "{isolation:?}: every object dropped");
        host.close();
    }
}

/// A `[resource-drop]R` has no output: the core refuses one that returns some as `AbiMismatch`
/// ("... output of [resource-drop]counter does not match its interface: 8 bytes, expected
/// none"), in both modes and whichever way the drop is sent (a call, a submit), and counts the
/// error; the module dropped the object all the same. The counter module's drop lies for a
/// counter named "lies-on-drop". Every front end's resource handle gets this refusal from here.
#[test]
fn a_drop_that_returns_output_is_refused() {
    let host = host();
    for mode in modes() {
        let m = host.open(&counter_path(), opts(mode)).unwrap();
        let expected = format!(
            "ABI mismatch in {}: output of [resource-drop]counter does not match its interface: \
             8 bytes, expected none",
            m.info().path
        );
        let h = named(&m, "lies-on-drop", 1);
        let before = live(&m);
        let errors = m.counters().errors;
        let e = drop_handle(&m, h).expect_err("a drop with output");
        assert!(matches!(e, Error::AbiMismatch { .. }), "{mode:?}: {e:?}");
        assert_eq!(e.to_string(), expected, "{mode:?}");
        assert_eq!(live(&m), before - 1, "{mode:?}: the module dropped it");
        assert_eq!(m.counters().errors, errors + 1, "{mode:?}: counted");
        expect_stale(get(&m, h), h);
        // Submitted, as a garbage collector's release is.
        let h = named(&m, "lies-on-drop", 2);
        let (tx, rx) = std::sync::mpsc::channel();
        m.method("[resource-drop]counter")
            .unwrap()
            .submit(h.to_le_bytes().to_vec(), move |r| tx.send(r).unwrap())
            .unwrap();
        let r = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        match r {
            Err(e @ Error::AbiMismatch { .. }) => assert_eq!(e.to_string(), expected),
            other => panic!("{mode:?}: {other:?}"),
        }
        assert_eq!(live(&m), before - 1, "{mode:?}");
        // An honest drop has no output and is no error.
        let ok = new(&m, 3);
        drop_handle(&m, ok).unwrap();
        assert_eq!(live(&m), before - 1, "{mode:?}");
        m.close();
    }
}
