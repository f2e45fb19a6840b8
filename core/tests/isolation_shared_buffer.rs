//! `SharedBuffer` (docs/ISOLATION.md, "Zero-copy input"): an isolated call whose input lies in a
//! caller's shared buffer reads it in place. The worker sees exactly the caller's bytes (at any
//! offset, after the caller changed them, alternating between buffers, after the buffer it held
//! was dropped), and can never change them: a module that writes to its input crashes its
//! worker, and the caller's bytes are intact.
mod isolation_support;

use bridgehost::{Error, ModuleOptions, SharedBuffer};
use isolation_support::*;

fn fill(buf: &mut [u8], seed: u32) {
    let mut x = seed | 1;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
}

#[test]
fn isolated_calls_read_shared_buffers_exactly() {
    let host = host();
    let iso = host.open("std", ModuleOptions::isolated()).unwrap();
    let inproc = host.open("std", ModuleOptions::default()).unwrap();
    let echo = iso.method("echo").unwrap();
    let checksum = iso.method("checksum").unwrap();
    let checksum_in = inproc.method("checksum").unwrap();

    let mut a = SharedBuffer::new(3 << 20).unwrap();
    let mut b = SharedBuffer::new((1 << 20) + 4097).unwrap();
    fill(&mut a, 1);
    fill(&mut b, 2);
    for round in 0..3 {
        // Whole buffer, a slice at an odd offset, a slice that ends at its end.
        let n = a.len();
        for input in [
            &a[..],
            &a[4099..n - 7],
            &a[n - (200 << 10)..],
            &b[..],
            &b[1..],
        ] {
            let out = echo.call(input).unwrap();
            assert!(
                out == input,
                "round {round}: echo of {} bytes differs",
                input.len()
            );
            assert_eq!(
                checksum.call(input).unwrap(),
                checksum_in.call(input).unwrap(),
                "round {round}: checksum of {} bytes",
                input.len()
            );
        }
        // The worker keeps its mapping: what the caller writes next is what it reads.
        fill(&mut a, 10 + round);
        a[0] = round as u8;
        assert_eq!(echo.call(&a).unwrap()[..], a[..]);
    }
    // An input of at most 64 KiB goes inline, from a shared buffer too.
    assert_eq!(echo.call(&a[..65536]).unwrap()[..], a[..65536]);

    // The buffer a worker holds is dropped; a plain input and a new buffer work after it.
    drop(a);
    let plain = vec![7u8; 300 << 10];
    assert_eq!(echo.call(&plain).unwrap(), plain);
    let mut c = SharedBuffer::new(2 << 20).unwrap();
    fill(&mut c, 3);
    assert_eq!(echo.call(&c).unwrap()[..], c[..]);
    assert_eq!(echo.call(&b).unwrap()[..], b[..]);
}

#[test]
fn a_worker_cannot_write_the_callers_buffer() {
    let host = host();
    let m = host.open("faulty", ModuleOptions::isolated()).unwrap();
    let scribble = m.method("scribble_input").unwrap();
    let mut buf = SharedBuffer::new(1 << 20).unwrap();
    fill(&mut buf, 5);
    let before = buf.to_vec();
    match scribble.call(&buf) {
        Err(Error::WorkerCrashed { .. }) => {}
        other => panic!("a write to a lent buffer gave {other:?}, not WorkerCrashed"),
    }
    assert!(
        buf[..] == before[..],
        "the worker changed the caller's buffer"
    );
    // A copied input (a Vec) is the worker's own copy: it may scribble on it, the caller's
    // bytes stay.
    let v = before.clone();
    assert_eq!(scribble.call(&v).unwrap(), b"scribbled");
    assert!(v == before);
    // The module's next call over the buffer crashes a fresh worker again, and the one
    // after it, over a Vec, succeeds.
    assert!(matches!(
        scribble.call(&buf),
        Err(Error::WorkerCrashed { .. })
    ));
    assert_eq!(scribble.call(&v).unwrap(), b"scribbled");
    assert!(buf[..] == before[..]);
}

#[test]
fn a_worker_maps_only_the_pages_of_its_input() {
    // A 1 GiB buffer (its pages are allocated as written: this one stays almost empty) and a
    // worker limited to 192 MiB of address space: slices of it anywhere are served, because
    // the worker maps the pages that hold each input, not the buffer.
    let host = host();
    let iso = host
        .open(
            "std",
            ModuleOptions {
                memory_limit: Some(192 << 20),
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let echo = iso.method("echo").unwrap();
    let mut big = SharedBuffer::new(1 << 30).unwrap();
    let n = big.len();
    for (i, at) in [0, 4095, (n / 2) + 13, n - 100_000].into_iter().enumerate() {
        fill(&mut big[at..at + 100_000], i as u32 + 1);
        let slice = &big[at..at + 100_000];
        assert!(
            echo.call(slice).unwrap() == slice,
            "100 KB at {at} of a 1 GiB buffer"
        );
        // Again (the same window), and a part of it (still the same window).
        assert!(echo.call(&big[at + 1..at + 90_000]).unwrap() == big[at + 1..at + 90_000]);
    }
    // An input larger than the worker's limit is refused as a copied one would be: a typed
    // error, and the worker is replaced for the next call.
    match echo.call(&big[..200 << 20]) {
        Err(Error::ResourceLimit(m)) => assert!(m.contains("memory limit"), "{m}"),
        other => panic!("200 MiB into a 192 MiB worker: {other:?}"),
    }
    assert!(echo.call(&big[..100_000]).unwrap() == big[..100_000]);
}

#[test]
fn a_shared_buffer_of_no_bytes_is_refused() {
    match SharedBuffer::new(0) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("0 bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
    for len in [usize::MAX, 1 << 50] {
        match SharedBuffer::new(len) {
            Err(Error::ResourceLimit(m)) => assert!(m.contains("this machine's memory"), "{m}"),
            other => panic!("{len} bytes: {other:?}"),
        }
    }
    let b = SharedBuffer::new(10).unwrap();
    assert_eq!(b.len(), 10);
    assert!(b.iter().all(|&x| x == 0), "a new buffer reads as zeroes");
    assert!(format!("{b:?}").contains("len: 10"));
}
