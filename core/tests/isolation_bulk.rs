//! Bulk data through an isolated worker (docs/ISOLATION.md, "Transport"): an output of many
//! MiB is copied out of shared memory while the module still writes it, straight into the
//! caller's buffer. Every output target gets exactly the module's bytes, also when the output
//! region grows after part of the output was already copied out (zlib writes 32 KiB at a
//! time, so its output region grows several times), and the same worker serves the next call.
mod isolation_support;

use bridgehost::output::{CallOutput, OutputSink, Spilled, WriteError};
use bridgehost::{Error, ModuleOptions};
use isolation_support::*;

/// Deterministic, partly compressible bytes (zlib shrinks them, not to nothing).
fn data(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 4096 < 2048 {
                (i % 251) as u8
            } else {
                x as u8
            }
        })
        .collect()
}

/// A custom sink that stores what it is given, in pieces.
struct Collect(Vec<u8>, usize);

impl OutputSink for Collect {
    fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        self.0.extend_from_slice(data);
        self.1 += 1;
        Ok(())
    }
    fn reset(&mut self) {
        self.0.clear();
    }
}

#[test]
fn large_outputs_reach_every_target_intact() {
    let host = host();
    let n = 21 << 20; // not a multiple of the 1 MiB streaming chunk
    let plain = data(n + 12_345);
    let packed = host
        .open("zlib", ModuleOptions::default())
        .unwrap()
        .method("compress")
        .unwrap()
        .call(&plain)
        .unwrap();
    let z = host.open("zlib", ModuleOptions::isolated()).unwrap();
    let s = host.open("std", ModuleOptions::isolated()).unwrap();
    let calls: [(&bridgehost::Method, &[u8]); 2] = [
        (&z.method("decompress").unwrap(), &packed),
        (&s.method("echo").unwrap(), &plain),
    ];
    for (round, (m, input)) in calls.iter().enumerate() {
        for _ in 0..2 {
            // A Vec (reused: it holds the previous output first).
            let mut v = b"stale".to_vec();
            m.call_with(input, &mut v).unwrap();
            assert!(v == plain, "round {round}: Vec output differs");
            // A caller buffer with room, and one byte too small.
            let mut buf = vec![0u8; plain.len() + 7];
            assert_eq!(m.call_to_slice(input, &mut buf).unwrap(), plain.len());
            assert!(
                buf[..plain.len()] == plain[..],
                "round {round}: slice differs"
            );
            let mut small = vec![0u8; plain.len() - 1];
            match m.call_to_slice(input, &mut small) {
                Err(Error::BufferTooSmall { required }) => assert_eq!(required, plain.len()),
                other => panic!("round {round}: too small a buffer gave {other:?}"),
            }
            // A spill, and a custom sink.
            let mut head = vec![0u8; 4096];
            match m.call_spill(input, &mut head).unwrap() {
                Spilled::Spilled(v) => assert!(v == plain, "round {round}: spill differs"),
                other => panic!("round {round}: {other:?}"),
            }
            let mut sink = Collect(Vec::new(), 0);
            let mut out = CallOutput::to_sink(&mut sink, usize::MAX);
            assert_eq!(m.call_into(input, &mut out).unwrap(), plain.len());
            drop(out);
            assert!(sink.0 == plain, "round {round}: sink differs");
        }
    }
    // The same workers served every call: nothing was a protocol violation.
    assert_eq!(z.counters().crashes, 0);
    assert_eq!(s.counters().crashes, 0);
}

#[test]
fn max_output_still_bounds_a_streamed_output() {
    let host = host();
    let s = host
        .open(
            "std",
            ModuleOptions {
                max_output: 5 << 20,
                ..ModuleOptions::isolated()
            },
        )
        .unwrap();
    let echo = s.method("echo").unwrap();
    let big = data((5 << 20) + 1);
    let e = echo.call(&big).unwrap_err();
    assert!(matches!(e, Error::ResourceLimit(_)), "{e:?}");
    let ok = data(5 << 20);
    assert!(echo.call(&ok).unwrap() == ok);
}
