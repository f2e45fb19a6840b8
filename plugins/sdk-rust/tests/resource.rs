//! The SDK's handle table (`bridgehost_module_sdk::resource`) on its own: the handle layout
//! (`generation << 32 | (slot + 1)`), a random first generation per table, stale and unknown
//! handles refused with EINVAL and the contract's message, slot reuse with a new generation,
//! objects kept alive by a running call's borrow, batches that roll back, and concurrent use.
//! The generated-code side is `interface/tests/bindgen_rust.rs`.

use bridgehost_module_sdk::resource::{Table, INVALID_HANDLE};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// An object that counts its drops.
#[derive(Debug)]
struct Obj {
    value: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn obj(value: u64, drops: &Arc<AtomicUsize>) -> Obj {
    Obj {
        value,
        drops: Arc::clone(drops),
    }
}

fn assert_stale<T: std::fmt::Debug>(r: Result<T, bridgehost_module_sdk::ModuleError>, h: u64) {
    let e = r.expect_err("a stale handle");
    assert_eq!(e.code, INVALID_HANDLE);
    assert_eq!(e.code, 22);
    assert_eq!(
        e.message,
        format!("stale handle: no live counter has handle {h:#018x}")
    );
}

#[test]
fn handles_are_generation_and_slot_and_zero_is_never_live() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = Table::new("counter");
    assert_eq!(t.resource(), "counter");
    let a = t.insert(obj(1, &drops)).unwrap();
    let b = t.insert(obj(2, &drops)).unwrap();
    assert_eq!(a & 0xffff_ffff, 1, "slot 0");
    assert_eq!(b & 0xffff_ffff, 2, "slot 1");
    assert_eq!(
        a >> 32,
        b >> 32,
        "new slots start at the table's first generation"
    );
    assert_eq!(t.get(a).unwrap().value, 1);
    assert_eq!(t.get(b).unwrap().value, 2);
    assert_eq!(t.len(), 2);
    for h in [0, a >> 32 << 32, a ^ (1 << 32), a | 0xffff, u64::MAX] {
        assert_stale(t.get(h), h);
        assert_stale(t.remove(h), h);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    // Remove: destroyed at once, the handle stale for get and a second remove.
    t.remove(a).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_stale(t.get(a), a);
    assert_stale(t.remove(a), a);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(t.len(), 1);
    // The slot comes back with the next generation.
    let c = t.insert(obj(3, &drops)).unwrap();
    assert_eq!(c & 0xffff_ffff, 1);
    assert_eq!(c >> 32, ((a >> 32) + 1) & 0xffff_ffff);
    assert_stale(t.get(a), a);
    assert_eq!(t.get(c).unwrap().value, 3);
    // Dropping the table destroys every live object.
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn the_first_generation_is_random_per_table() {
    let gens: Vec<u64> = (0..64)
        .map(|_| Table::<u8>::new("counter").insert(0).unwrap() >> 32)
        .collect();
    let mut distinct = gens.clone();
    distinct.sort();
    distinct.dedup();
    // 64 draws of 32 bits: a collision has probability < 1e-6.
    assert_eq!(distinct.len(), gens.len(), "{gens:x?}");
}

#[test]
fn a_borrowed_object_outlives_its_removal_until_the_borrow_ends() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = Table::new("counter");
    let h = t.insert(obj(7, &drops)).unwrap();
    let lent = t.get(h).unwrap();
    t.remove(h).unwrap();
    assert_stale(t.get(h), h);
    assert_eq!(t.len(), 0);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "still lent to a call");
    assert_eq!(lent.value, 7);
    drop(lent);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_batch_not_committed_removes_what_it_inserted() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = Table::new("counter");
    let keep = t.insert(obj(0, &drops)).unwrap();
    let mut b = t.batch();
    let hs: Vec<u64> = (1..=3).map(|v| b.insert(obj(v, &drops)).unwrap()).collect();
    assert_eq!(t.len(), 4);
    drop(b);
    assert_eq!(t.len(), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    for h in hs {
        assert_stale(t.get(h), h);
    }
    let mut b = t.batch();
    let h = b.insert(obj(9, &drops)).unwrap();
    b.commit();
    assert_eq!(t.get(h).unwrap().value, 9);
    assert_eq!(t.get(keep).unwrap().value, 0);
    assert_eq!(t.len(), 2);
}

#[test]
fn concurrent_inserts_gets_and_removes_agree() {
    let drops = Arc::new(AtomicUsize::new(0));
    let t = Table::new("counter");
    std::thread::scope(|s| {
        for k in 0..8u64 {
            let (t, drops) = (&t, &drops);
            s.spawn(move || {
                for i in 0..2000u64 {
                    let v = k * 1_000_000 + i;
                    let h = t.insert(obj(v, drops)).unwrap();
                    assert_eq!(t.get(h).unwrap().value, v);
                    t.remove(h).unwrap();
                    assert!(t.get(h).is_err());
                }
            });
        }
    });
    assert_eq!(t.len(), 0);
    assert_eq!(drops.load(Ordering::SeqCst), 16_000);
}
