//! Value ranges at the boundary: NULL with length 0 and 1, lengths 2^31,
//! 2^32, isize::MAX + 1 and SIZE_MAX. Every case is a clean status; nothing
//! is read or written: the pointers used for huge lengths point into a
//! PROT_NONE reservation, so a single byte touched would crash this test.

mod common;

use bridgehost_c::*;
use common::*;
use std::ffi::c_void;
use std::ptr::{null, null_mut};

const HUGE: [usize; 4] = [1 << 31, 1 << 32, isize::MAX as usize + 1, usize::MAX];

/// An inaccessible reservation: any read or write through it faults.
struct Guard {
    base: *mut c_void,
    len: usize,
}

impl Guard {
    fn new() -> Guard {
        let len = (1usize << 32) + 4096;
        // SAFETY: an anonymous PROT_NONE reservation; no memory is committed.
        let base = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED, "mmap PROT_NONE reservation");
        Guard { base, len }
    }

    fn ptr(&self) -> *mut u8 {
        self.base.cast()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the reservation made in `new`.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// Lengths above isize::MAX are refused as invalid arguments; 2^31 and 2^32
/// (valid slice lengths) exceed the module's max_input (256 MiB): resource limit.
fn expected_for(len: usize) -> bh_status {
    if len > isize::MAX as usize {
        BH_E_INVALID_ARGUMENT
    } else {
        BH_E_RESOURCE_LIMIT
    }
}

unsafe extern "C" fn completion_must_not_run(
    _: *mut c_void,
    _: bh_status,
    _: *const u8,
    _: usize,
    _: *const std::ffi::c_char,
    _: usize,
    _: i64,
) {
    // Reaching here would be a rejected submit whose callback ran anyway.
    std::process::abort();
}

unsafe extern "C" fn event_must_not_run(
    _: *mut c_void,
    _: *const std::ffi::c_char,
    _: usize,
    _: *const u8,
    _: usize,
) {
    std::process::abort();
}

#[test]
fn call_inputs_across_the_value_range() {
    let _g = serial();
    let guard = Guard::new();
    let h = host();
    let m = open(h, "std");
    let echo = method(m, "echo");
    let mut b = Default::default();
    let mut n = 0usize;

    // NULL with length 0 is an empty input; NULL with length 1 is refused.
    assert_eq!(call(echo, &[]).unwrap(), b"");
    // SAFETY: (whole test) pointers are NULL, live locals, or into the
    // PROT_NONE guard with lengths the library must refuse before reading.
    unsafe {
        expect(bh_call(echo, null(), 0, &mut b), BH_OK);
        expect(bh_buffer_free(b), BH_OK);
        expect_err(
            bh_call(echo, null(), 1, &mut b),
            BH_E_INVALID_ARGUMENT,
            "null pointer with length 1",
        );
        expect(bh_call_into(echo, null(), 0, null_mut(), 0, &mut n), BH_OK);
        assert_eq!(n, 0);

        for len in HUGE {
            // NULL with a huge length: invalid argument, whatever the length.
            expect(bh_call(echo, null(), len, &mut b), BH_E_INVALID_ARGUMENT);
            expect(
                bh_call_into(echo, null(), len, null_mut(), 0, &mut n),
                BH_E_INVALID_ARGUMENT,
            );
            expect(
                bh_submit(
                    echo,
                    null(),
                    len,
                    Some(completion_must_not_run),
                    null_mut(),
                    null_mut(),
                ),
                BH_E_INVALID_ARGUMENT,
            );
            // A real (unreadable) pointer with a huge length: refused before any read.
            let want = expected_for(len);
            expect(bh_call(echo, guard.ptr(), len, &mut b), want);
            if want == BH_E_RESOURCE_LIMIT {
                assert!(
                    last_error().contains("exceeds max_input"),
                    "{}",
                    last_error()
                );
            } else {
                assert!(
                    last_error().contains("exceeds the maximum"),
                    "{}",
                    last_error()
                );
            }
            let mut out = [0u8; 8];
            expect(
                bh_call_into(echo, guard.ptr(), len, out.as_mut_ptr(), out.len(), &mut n),
                want,
            );
            // bh_submit copies its input: the copy must not start either.
            expect(
                bh_submit(
                    echo,
                    guard.ptr(),
                    len,
                    Some(completion_must_not_run),
                    null_mut(),
                    null_mut(),
                ),
                want,
            );
            // Output capacity: NULL with a capacity is refused; an unwritable
            // buffer with a huge capacity is fine when nothing is written
            // (empty input), and refused above isize::MAX.
            expect(
                bh_call_into(echo, null(), 0, null_mut(), len, &mut n),
                BH_E_INVALID_ARGUMENT,
            );
            let s = bh_call_into(echo, null(), 0, guard.ptr(), len, &mut n);
            if len > isize::MAX as usize {
                expect(s, BH_E_INVALID_ARGUMENT);
            } else {
                expect(s, BH_OK);
                assert_eq!(n, 0);
            }
        }
        expect(
            bh_call_into(echo, null(), 0, null_mut(), 1, &mut n),
            BH_E_INVALID_ARGUMENT,
        );
    }
    expect(bh_method_free(echo), BH_OK);
    expect(bh_module_free(m), BH_OK);
    expect(bh_host_free(h), BH_OK);
}

#[test]
fn text_and_option_lengths_across_the_value_range() {
    let _g = serial();
    let guard = Guard::new();
    let h = host();
    let m = open(h, "std");
    let mut out_slot = 0u64;
    // One 8-byte slot for every handle type's out-parameter (all are one u64).
    let out: *mut u64 = &mut out_slot;
    let mut n = 0usize;
    // SAFETY: (whole block) pointers are NULL, live locals, or into the
    // PROT_NONE guard with lengths that must be refused before any read.
    unsafe {
        for (p, len) in [(null::<u8>(), 1usize)]
            .into_iter()
            .chain(HUGE.iter().map(|&l| (null::<u8>(), l)))
            .chain(
                HUGE.iter()
                    .filter(|&&l| l > isize::MAX as usize)
                    .map(|&l| (guard.ptr().cast_const(), l)),
            )
        {
            let p = p.cast::<std::ffi::c_char>();
            expect(
                bh_module_open(h, p, len, null(), out.cast()),
                BH_E_INVALID_ARGUMENT,
            );
            expect(
                bh_method_resolve(m, p, len, out.cast()),
                BH_E_INVALID_ARGUMENT,
            );
            expect(
                bh_subscribe(m, p, len, Some(event_must_not_run), null_mut(), out.cast()),
                BH_E_INVALID_ARGUMENT,
            );
            let dir = bh_host_options {
                struct_size: std::mem::size_of::<bh_host_options>() as u32,
                submit_threads: 0,
                submit_queue_capacity: 0,
                event_queue_capacity: 0,
                module_dir: p,
                module_dir_len: len,
                event_queue_bytes: 0,
                thread_name: std::ptr::null(),
                thread_name_len: 0,
                module_dirs: std::ptr::null(),
                module_dirs_len: 0,
                explicit_zero: 0,
                reserved: 0,
            };
            expect(bh_host_new(&dir, out.cast()), BH_E_INVALID_ARGUMENT);
            let name = bh_host_options {
                module_dir: std::ptr::null(),
                module_dir_len: 0,
                thread_name: p,
                thread_name_len: len,
                module_dirs: std::ptr::null(),
                module_dirs_len: 0,
                ..dir
            };
            expect(bh_host_new(&name, out.cast()), BH_E_INVALID_ARGUMENT);
            let mut mo = module_options();
            mo.config = p.cast();
            mo.config_len = len;
            expect(
                bh_module_open(h, "std".as_ptr().cast(), 3, &mo, out.cast()),
                BH_E_INVALID_ARGUMENT,
            );
            let mut mo = module_options();
            mo.worker_path = p;
            mo.worker_path_len = len;
            expect(
                bh_module_open(h, "std".as_ptr().cast(), 3, &mo, out.cast()),
                BH_E_INVALID_ARGUMENT,
            );
        }
        // NULL with length 0 is an empty text: a clean "not a name" error, not a crash.
        expect(
            bh_module_open(h, null(), 0, null(), out.cast()),
            BH_E_INVALID_ARGUMENT,
        );
        expect_err(
            bh_method_resolve(m, null(), 0, out.cast()),
            BH_E_NOT_FOUND,
            "method \"\"",
        );
        expect(
            bh_subscribe(
                m,
                null(),
                0,
                Some(event_must_not_run),
                null_mut(),
                out.cast(),
            ),
            BH_E_INVALID_ARGUMENT,
        );

        // Two-call buffers: a capacity above isize::MAX is refused before any
        // write; NULL with a capacity is refused; (NULL, 0) sizes.
        for cap in HUGE.iter().copied().filter(|&c| c > isize::MAX as usize) {
            expect(
                bh_module_name(m, guard.ptr().cast(), cap, &mut n),
                BH_E_INVALID_ARGUMENT,
            );
        }
        expect(
            bh_module_name(m, null_mut(), 1, &mut n),
            BH_E_INVALID_ARGUMENT,
        );
        expect(
            bh_module_name(m, null_mut(), 0, &mut n),
            BH_E_BUFFER_TOO_SMALL,
        );
        assert_eq!(n, 3);
        assert_eq!(bh_last_error_detail(), 3);

        // Module option values at the edges of their types.
        for (field, set) in [
            (
                "max_input",
                (|o: &mut bh_module_options| o.max_input = u64::MAX) as fn(&mut bh_module_options),
            ),
            ("max_output", |o| o.max_output = 1 << 63),
            ("workers", |o| o.workers = u32::MAX),
            ("isolation", |o| o.isolation = 2),
            ("reserved", |o| o.reserved = 1),
            ("validate_in_worker", |o| o.validate_in_worker = 2),
            ("explicit_zero", |o| o.explicit_zero = 1), // bit 0: a host option
            ("explicit_zero", |o| o.explicit_zero = 1 << 31),
            ("explicit_zero", |o| {
                o.max_input = 5;
                o.explicit_zero = 1 << BH_OPTION_MAX_INPUT
            }),
            // A 0 the core refuses, as Java, Python and C# refuse it.
            ("workers", |o| o.explicit_zero = 1 << BH_OPTION_WORKERS),
            ("memory_limit", |o| {
                o.explicit_zero = 1 << BH_OPTION_MEMORY_LIMIT
            }),
            ("call_timeout", |o| o.call_timeout_ms = u64::MAX), // in-process: refused
            ("struct_size", |o| o.struct_size = 0),
            ("struct_size", |o| o.struct_size = u32::MAX),
        ] {
            let mut mo = module_options();
            set(&mut mo);
            let s = bh_module_open(h, "std".as_ptr().cast(), 3, &mo, out.cast());
            assert_eq!(s, BH_E_INVALID_ARGUMENT, "{field}: {}", last_error());
        }
        let mut ho = bh_host_options {
            struct_size: 1,
            submit_threads: 0,
            submit_queue_capacity: 0,
            event_queue_capacity: 0,
            module_dir: null(),
            module_dir_len: 0,
            event_queue_bytes: 0,
            thread_name: std::ptr::null(),
            thread_name_len: 0,
            module_dirs: std::ptr::null(),
            module_dirs_len: 0,
            explicit_zero: 0,
            reserved: 0,
        };
        expect_err(
            bh_host_new(&ho, out.cast()),
            BH_E_INVALID_ARGUMENT,
            "struct_size",
        );
        ho.struct_size = std::mem::size_of::<bh_host_options>() as u32;
        for (mask, reserved, what) in [
            (
                1 << BH_OPTION_SUBMIT_THREADS,
                0,
                "submit_threads must be in 1..=256, got 0",
            ),
            (
                1 << BH_OPTION_SUBMIT_QUEUE_CAPACITY,
                0,
                "submit_queue_capacity",
            ),
            (
                1 << BH_OPTION_EVENT_QUEUE_CAPACITY,
                0,
                "event_queue_capacity",
            ),
            (1 << BH_OPTION_EVENT_QUEUE_BYTES, 0, "event_queue_bytes"),
            (
                1 << BH_OPTION_MAX_INPUT,
                0,
                "bits that name none of its fields",
            ),
            (0, 7, "reserved must be 0"),
        ] {
            ho.explicit_zero = mask;
            ho.reserved = reserved;
            expect_err(bh_host_new(&ho, out.cast()), BH_E_INVALID_ARGUMENT, what);
        }
        ho.explicit_zero = 0;
        ho.reserved = 0;
        ho.submit_threads = 3;
        ho.explicit_zero = 1 << BH_OPTION_SUBMIT_THREADS;
        expect_err(
            bh_host_new(&ho, out.cast()),
            BH_E_INVALID_ARGUMENT,
            "names submit_threads, whose value is 3, not 0",
        );
        ho.submit_threads = 0;
        ho.explicit_zero = 0;
        ho.struct_size = 1;
        ho.struct_size = std::mem::size_of::<bh_host_options>() as u32;
        ho.submit_threads = u32::MAX;
        expect_err(
            bh_host_new(&ho, out.cast()),
            BH_E_INVALID_ARGUMENT,
            "submit_threads",
        );
        ho.submit_threads = 0;
        for bytes in [1, 65535] {
            ho.event_queue_bytes = bytes;
            expect_err(
                bh_host_new(&ho, out.cast()),
                BH_E_INVALID_ARGUMENT,
                "event_queue_bytes",
            );
        }
        for bytes in [65536, u64::from(u32::MAX) + 1, u64::MAX] {
            ho.event_queue_bytes = bytes;
            expect(bh_host_new(&ho, out.cast()), BH_OK);
            expect(bh_host_free(bh_host { id: *out }), BH_OK);
        }

        // The last-error copy never writes past what it reports, and (NULL, 0) sizes.
        let full = bh_last_error_message(null_mut(), 0);
        assert!(full > 0);
        assert_eq!(bh_last_error_message(guard.ptr().cast(), 0), full);
        assert_eq!(bh_last_error_message(null_mut(), usize::MAX), full);
        let mut small = [0x7fu8; 6];
        assert_eq!(bh_last_error_message(small.as_mut_ptr().cast(), 5), full);
        assert_eq!(small[4], 0, "cap - 1 bytes and a NUL");
        assert_eq!(small[5], 0x7f, "nothing past cap");
    }
    expect(bh_module_free(m), BH_OK);
    expect(bh_host_free(h), BH_OK);
}

fn module_options() -> bh_module_options {
    bh_module_options {
        struct_size: std::mem::size_of::<bh_module_options>() as u32,
        isolation: BH_ISOLATION_IN_PROCESS,
        workers: 0,
        reserved: 0,
        call_timeout_ms: 0,
        memory_limit: 0,
        max_input: 0,
        max_output: 0,
        config: null(),
        config_len: 0,
        worker_path: null(),
        worker_path_len: 0,
        max_event: 0,
        validate_in_worker: 0,
        explicit_zero: 0,
        spare_workers: 0,
        breaker_failures: 0,
        breaker_window_ms: 0,
        breaker_cooldown_ms: 0,
        startup_timeout_ms: 0,
        close_grace_ms: 0,
        cpu_limit_ms: 0,
        open_files: 0,
        sandbox: 0,
    }
}

/// `explicit_zero` makes a 0 field the value 0: a 0-byte `max_input`/`max_output` is a limit
/// that lets only empty input/output through (as `max_input=0` in Java and Python); without the
/// bit the same 0 is the default (256 MiB).
#[test]
fn explicit_zero_limits_are_zero_byte_limits() {
    let _g = serial();
    let h = host();
    for (bit, input, want) in [
        (BH_OPTION_MAX_INPUT, &b"x"[..], BH_E_RESOURCE_LIMIT),
        (BH_OPTION_MAX_OUTPUT, &b"x"[..], BH_E_RESOURCE_LIMIT),
        (BH_OPTION_MAX_INPUT, &b""[..], BH_OK),
        (BH_OPTION_MAX_OUTPUT, &b""[..], BH_OK),
    ] {
        for explicit in [true, false] {
            let mut mo = module_options();
            mo.explicit_zero = if explicit { 1 << bit } else { 0 };
            let mut m = bh_module::default();
            // SAFETY: the spec and options are live locals; m is writable.
            expect(
                unsafe { bh_module_open(h, "std".as_ptr().cast(), 3, &mo, &mut m) },
                BH_OK,
            );
            let echo = method(m, "echo");
            let got = call(echo, input);
            if explicit {
                match got {
                    Ok(out) => assert_eq!((want, out.as_slice()), (BH_OK, input), "bit {bit}"),
                    Err(s) => assert_eq!(s, want, "bit {bit}: {}", last_error()),
                }
            } else {
                assert_eq!(got.unwrap(), input, "bit {bit} unset: 0 is the default");
            }
            expect(bh_module_free(m), BH_OK);
        }
    }
    expect(bh_host_free(h), BH_OK);
}

#[test]
fn counters_struct_sizes_across_the_range() {
    let _g = serial();
    let h = host();
    // SAFETY: the counters are live locals at least struct_size bytes long
    // (or the call must refuse before writing).
    unsafe {
        for size in [0u32, 1, 7] {
            let mut c = bh_counters {
                struct_size: size,
                ..bh_counters::default()
            };
            expect(bh_host_counters(h, &mut c), BH_E_INVALID_ARGUMENT);
        }
        expect(bh_host_counters(h, null_mut()), BH_E_INVALID_ARGUMENT);
        // A larger (newer) struct: our fields are written, then zeros up to its struct_size
        // (the prefix rule of every struct the library fills), nothing past it.
        #[repr(C)]
        struct Bigger {
            c: bh_counters,
            tail: u64,
            guard: u64,
        }
        let mut big = Bigger {
            c: bh_counters {
                struct_size: (std::mem::size_of::<bh_counters>() + 8) as u32,
                calls: 123,
                ..bh_counters::default()
            },
            tail: 0xfeed,
            guard: 0xfeed,
        };
        expect(bh_host_counters(h, &mut big.c), BH_OK);
        assert_eq!(big.c.calls, 0, "a fresh host has made no calls");
        assert_eq!(big.tail, 0, "a field this library does not know reads 0");
        assert_eq!(big.guard, 0xfeed, "nothing past struct_size is written");
    }
    expect(bh_host_free(h), BH_OK);
}

#[test]
fn option_check_is_the_cores_rule_for_every_option() {
    use bhcore::options::{Numeric, Span};
    let _g = serial();
    // Every id spelled out with the rule it must apply: the ids are fixed, the core's lists
    // (Numeric::ALL, Span::ALL) may grow or reorder.
    let counts = [
        (BH_OPTION_SUBMIT_THREADS, Numeric::SubmitThreads),
        (
            BH_OPTION_SUBMIT_QUEUE_CAPACITY,
            Numeric::SubmitQueueCapacity,
        ),
        (BH_OPTION_EVENT_QUEUE_CAPACITY, Numeric::EventQueueCapacity),
        (BH_OPTION_EVENT_QUEUE_BYTES, Numeric::EventQueueBytes),
        (BH_OPTION_WORKERS, Numeric::Workers),
        (BH_OPTION_MEMORY_LIMIT, Numeric::MemoryLimit),
        (BH_OPTION_MAX_INPUT, Numeric::MaxInput),
        (BH_OPTION_MAX_OUTPUT, Numeric::MaxOutput),
        (BH_OPTION_MAX_EVENT, Numeric::MaxEvent),
        (BH_OPTION_SPARE_WORKERS, Numeric::SpareWorkers),
        (BH_OPTION_BREAKER_FAILURES, Numeric::BreakerFailures),
        (BH_OPTION_OPEN_FILES, Numeric::OpenFiles),
    ];
    let spans = [
        (BH_OPTION_CALL_TIMEOUT_NS, Span::CallTimeout),
        (BH_OPTION_BREAKER_WINDOW_NS, Span::BreakerWindow),
        (BH_OPTION_BREAKER_COOLDOWN_NS, Span::BreakerCooldown),
        (BH_OPTION_STARTUP_TIMEOUT_NS, Span::StartupTimeout),
        (BH_OPTION_CLOSE_GRACE_NS, Span::CloseGrace),
        (BH_OPTION_CPU_LIMIT_NS, Span::CpuLimit),
    ];
    for n in Numeric::ALL {
        assert_eq!(
            counts.iter().filter(|(_, c)| *c == n).count(),
            1,
            "core option {n:?} has exactly one BH_OPTION_ id"
        );
    }
    for sp in Span::ALL {
        assert_eq!(
            spans.iter().filter(|(_, c)| *c == sp).count(),
            1,
            "core duration {sp:?} has exactly one BH_OPTION_ id"
        );
    }
    let mut ids: Vec<u32> = counts.iter().map(|c| c.0).collect();
    ids.extend(spans.iter().map(|s| s.0));
    ids.push(BH_OPTION_SANDBOX);
    ids.sort_unstable();
    assert_eq!(
        ids,
        (0..=18).collect::<Vec<u32>>(),
        "ids are 0..=18, none twice"
    );
    // Each id names its field's bit in explicit_zero, a u32.
    assert!(ids.iter().all(|&i| i < 32));

    for (id, opt) in counts {
        let (lo, hi) = opt.range();
        for ok in [lo, hi.min(i64::MAX as u64)] {
            expect(bh_option_check(id, ok as i64), BH_OK);
        }
        let mut bad = vec![i64::MIN, -1];
        if lo > 0 {
            bad.push(lo as i64 - 1);
        }
        if hi < i64::MAX as u64 {
            bad.push(hi as i64 + 1);
        }
        for v in bad {
            let want = format!("{} must be in {lo}..={hi}, got {v}", opt.name());
            expect_err(bh_option_check(id, v), BH_E_INVALID_ARGUMENT, &want);
        }
    }
    const YEAR_NS: i64 = 365 * 86_400 * 1_000_000_000;
    for (id, span) in spans {
        let lo = span.range().0.as_nanos() as i64;
        for ok in [lo, YEAR_NS] {
            expect(bh_option_check(id, ok), BH_OK);
        }
        for v in [i64::MIN, -1, lo - 1, YEAR_NS + 1, i64::MAX] {
            // The core's own message for this value, whatever its wording.
            let want = span.from_nanos(v.into()).unwrap_err().to_string();
            assert!(want.contains(span.name()) && want.ends_with(&format!("got {v} ns")));
            expect_err(bh_option_check(id, v), BH_E_INVALID_ARGUMENT, &want);
        }
    }
    expect_err(
        bh_option_check(BH_OPTION_CALL_TIMEOUT_NS, 0),
        BH_E_INVALID_ARGUMENT,
        "call_timeout must be positive and at most one year, got 0 ns",
    );
    expect(bh_option_check(BH_OPTION_CLOSE_GRACE_NS, 0), BH_OK);
    expect_err(
        bh_option_check(BH_OPTION_CLOSE_GRACE_NS, -1),
        BH_E_INVALID_ARGUMENT,
        "close_grace must be at most one year, got -1 ns",
    );
    expect_err(
        bh_option_check(BH_OPTION_CPU_LIMIT_NS, 999_999_999),
        BH_E_INVALID_ARGUMENT,
        "cpu_limit must be at least 1 s and at most one year, got 999999999 ns",
    );
    // The sandbox flag: 0 or 1, as bh_module_open reads the field.
    for v in [0, 1] {
        expect(bh_option_check(BH_OPTION_SANDBOX, v), BH_OK);
    }
    for v in [2, -1, i64::MAX] {
        expect_err(
            bh_option_check(BH_OPTION_SANDBOX, v),
            BH_E_INVALID_ARGUMENT,
            &format!("sandbox must be 0 or 1, not {v}"),
        );
    }
    expect_err(
        bh_option_check(19, 1),
        BH_E_INVALID_ARGUMENT,
        "unknown option 19",
    );
    expect_err(
        bh_option_check(u32::MAX, 1),
        BH_E_INVALID_ARGUMENT,
        "unknown option",
    );
}

/// The bundled worker beside the staged modules, or `None` (the isolated cases are then skipped,
/// as the other suites skip them when isolation is not built).
fn staged_worker() -> Option<String> {
    let w = dist().join("bridgehost-worker");
    if w.is_file() {
        Some(w.to_str().unwrap().to_owned())
    } else {
        eprintln!("skipped: {} is not staged", w.display());
        None
    }
}

/// Open std with `mo` and free it: the status.
fn open_std(h: bh_host, mo: &bh_module_options) -> bh_status {
    let mut m = bh_module::default();
    // SAFETY: the spec and options are live locals; m is writable.
    let s = unsafe { bh_module_open(h, "std".as_ptr().cast(), 3, mo, &mut m) };
    if s == BH_OK {
        expect(bh_module_free(m), BH_OK);
    }
    s
}

type Set = fn(&mut bh_module_options);

/// Each supervision field as C sets it: out of range, the core's message naming it (the
/// module is isolated, so the range is what is judged); changed from its default in-process,
/// refused by the core as a setting the module's process would ignore, except `startup_timeout`
/// and `sandbox`, which `validate_in_worker` uses.
#[test]
fn supervision_fields_are_judged_by_the_core() {
    let _g = serial();
    let h = host();
    let out_of_range: [(Set, &str); 13] = [
        (
            |o| o.spare_workers = 9,
            "spare_workers must be in 0..=8, got 9",
        ),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_BREAKER_FAILURES,
            "breaker_failures must be in 1..=4294967295, got 0",
        ),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_BREAKER_WINDOW_NS,
            "breaker_window must be positive and at most one year, got 0 ns",
        ),
        (
            |o| o.breaker_window_ms = 366 * 86_400_000,
            "breaker_window must be positive and at most one year, got 31622400000000000 ns",
        ),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_BREAKER_COOLDOWN_NS,
            "breaker_cooldown must be positive and at most one year, got 0 ns",
        ),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_STARTUP_TIMEOUT_NS,
            "startup_timeout must be positive and at most one year, got 0 ns",
        ),
        (
            |o| o.close_grace_ms = u64::MAX,
            "close_grace must be at most one year, got 18446744073709551615000000 ns",
        ),
        (
            |o| o.cpu_limit_ms = 999,
            "cpu_limit must be at least 1 s and at most one year, got 999000000 ns",
        ),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_CPU_LIMIT_NS,
            "cpu_limit must be at least 1 s and at most one year, got 0 ns",
        ),
        (
            |o| o.open_files = 15,
            "open_files must be in 16..=65536, got 15",
        ),
        (
            |o| o.open_files = 65537,
            "open_files must be in 16..=65536, got 65537",
        ),
        (
            |o| o.sandbox = 2,
            "bh_module_options.sandbox must be 0 or 1, not 2",
        ),
        (
            |o| {
                o.sandbox = 1;
                o.explicit_zero = 1 << BH_OPTION_SANDBOX
            },
            "explicit_zero names sandbox, whose value is 1, not 0",
        ),
    ];
    for (set, want) in out_of_range {
        let mut mo = module_options();
        mo.isolation = BH_ISOLATION_PROCESS;
        set(&mut mo);
        expect_err(open_std(h, &mo), BH_E_INVALID_ARGUMENT, want);
    }

    // In-process: a worker's setting changed from its default is refused, named.
    let worker_only: [(Set, &str); 8] = [
        (|o| o.spare_workers = 2, "spare_workers"),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_SPARE_WORKERS,
            "spare_workers",
        ),
        (|o| o.breaker_failures = 1, "breaker_failures"),
        (|o| o.breaker_window_ms = 1000, "breaker_window"),
        (|o| o.breaker_cooldown_ms = 60_000, "breaker_cooldown"),
        (
            |o| o.explicit_zero = 1 << BH_OPTION_CLOSE_GRACE_NS,
            "close_grace",
        ),
        (|o| o.cpu_limit_ms = 10_000, "cpu_limit"),
        (|o| o.open_files = 128, "open_files"),
    ];
    for (set, name) in worker_only {
        let mut mo = module_options();
        set(&mut mo);
        expect_err(
            open_std(h, &mo),
            BH_E_INVALID_ARGUMENT,
            &format!("{name} requires process isolation"),
        );
        mo.validate_in_worker = 1; // does not help: the validating worker ignores it
        expect_err(
            open_std(h, &mo),
            BH_E_INVALID_ARGUMENT,
            &format!("{name} requires process isolation"),
        );
    }
    let validation: [(Set, &str); 2] = [
        (|o| o.startup_timeout_ms = 5000, "startup_timeout"),
        (|o| o.explicit_zero = 1 << BH_OPTION_SANDBOX, "sandbox"),
    ];
    for (set, name) in validation {
        let mut mo = module_options();
        set(&mut mo);
        expect_err(
            open_std(h, &mo),
            BH_E_INVALID_ARGUMENT,
            &format!("{name} requires process isolation or validate_in_worker"),
        );
    }
    // A field set to its default value is no change: accepted in-process.
    let mut mo = module_options();
    mo.sandbox = 1;
    mo.spare_workers = 1;
    mo.breaker_failures = 5;
    mo.close_grace_ms = 5000;
    mo.cpu_limit_ms = 3_600_000;
    expect(open_std(h, &mo), BH_OK);

    if let Some(worker) = staged_worker() {
        // startup_timeout and sandbox are accepted in-process with validate_in_worker.
        for (set, _) in validation {
            let mut mo = module_options();
            set(&mut mo);
            mo.validate_in_worker = 1;
            mo.worker_path = worker.as_ptr().cast();
            mo.worker_path_len = worker.len();
            expect(open_std(h, &mo), BH_OK);
        }
        // Every field at a valid, non-default value (explicit 0s included), isolated.
        let mut mo = module_options();
        mo.isolation = BH_ISOLATION_PROCESS;
        mo.worker_path = worker.as_ptr().cast();
        mo.worker_path_len = worker.len();
        mo.breaker_failures = 1;
        mo.breaker_window_ms = 1000;
        mo.breaker_cooldown_ms = 60_000;
        mo.startup_timeout_ms = 20_000;
        mo.cpu_limit_ms = 5000;
        mo.open_files = 32;
        mo.explicit_zero =
            1 << BH_OPTION_SPARE_WORKERS | 1 << BH_OPTION_CLOSE_GRACE_NS | 1 << BH_OPTION_SANDBOX;
        let mut m = bh_module::default();
        // SAFETY: the spec, options and worker path are live locals; m is writable.
        expect(
            unsafe { bh_module_open(h, "std".as_ptr().cast(), 3, &mo, &mut m) },
            BH_OK,
        );
        let echo = method(m, "echo");
        assert_eq!(call(echo, b"x").unwrap(), b"x");
        expect(bh_method_free(echo), BH_OK);
        expect(bh_module_free(m), BH_OK);
    }
    expect(bh_host_free(h), BH_OK);
}

/// `cpu_limit_ms` `UINT64_MAX` is no CPU limit (Rust's `cpu_limit: None`), the spelling of "no
/// limit" of `bh_module_flush`'s `timeout_ms`: an isolated module opens with it and its calls
/// run; in-process it is a change from the default, refused as every worker-only setting is; and
/// the defaults read it back as `UINT64_MAX` only when there is no limit (they have one hour).
#[test]
fn cpu_limit_uint64_max_is_no_limit() {
    let _g = serial();
    let h = host();
    let mut mo = module_options();
    mo.cpu_limit_ms = u64::MAX;
    expect_err(
        open_std(h, &mo),
        BH_E_INVALID_ARGUMENT,
        "cpu_limit requires process isolation",
    );
    // Not a value over one year: no range message, isolated either.
    if let Some(worker) = staged_worker() {
        mo.isolation = BH_ISOLATION_PROCESS;
        mo.worker_path = worker.as_ptr().cast();
        mo.worker_path_len = worker.len();
        let mut m = bh_module::default();
        // SAFETY: the spec, options and worker path are live locals; m is writable.
        expect(
            unsafe { bh_module_open(h, "std".as_ptr().cast(), 3, &mo, &mut m) },
            BH_OK,
        );
        let echo = method(m, "echo");
        assert_eq!(call(echo, b"x").unwrap(), b"x");
        expect(bh_method_free(echo), BH_OK);
        expect(bh_module_free(m), BH_OK);
    }
    // One less is a number of milliseconds, judged by the range.
    let mut mo = module_options();
    mo.isolation = BH_ISOLATION_PROCESS;
    mo.cpu_limit_ms = u64::MAX - 1;
    expect_err(
        open_std(h, &mo),
        BH_E_INVALID_ARGUMENT,
        "cpu_limit must be at least 1 s and at most one year, got 18446744073709551614000000 ns",
    );
    let mut d = module_options();
    // SAFETY: `d` is a live local with its struct_size set.
    expect(unsafe { bh_module_options_default(&mut d) }, BH_OK);
    assert_eq!(d.cpu_limit_ms, 3_600_000);
    expect(bh_host_free(h), BH_OK);
}

/// The prefix rule for the supervision fields: a caller built before them (96 bytes, or 0.1's
/// 80) is accepted, and the bytes after its struct are not read as supervision settings (if
/// they were, this in-process open would be refused: "cpu_limit requires process isolation").
#[test]
fn an_older_module_options_struct_gets_the_supervision_defaults() {
    let _g = serial();
    let h = host();
    for size in [80u32, 88, 96] {
        let mut mo = module_options();
        mo.struct_size = size;
        mo.spare_workers = 7;
        mo.breaker_failures = 1;
        mo.breaker_window_ms = 1;
        mo.breaker_cooldown_ms = 1;
        mo.startup_timeout_ms = 1;
        mo.close_grace_ms = 1;
        mo.cpu_limit_ms = 1;
        mo.open_files = 1;
        mo.sandbox = 7;
        expect(open_std(h, &mo), BH_OK);
        // The same bytes inside a current caller's struct are read (and judged).
        mo.struct_size = std::mem::size_of::<bh_module_options>() as u32;
        expect_err(
            open_std(h, &mo),
            BH_E_INVALID_ARGUMENT,
            "bh_module_options.sandbox must be 0 or 1, not 7",
        );
    }
    expect(bh_host_free(h), BH_OK);
}

/// Where a `bh_module_options` field for an `explicit_zero` bit ends, and the name the core
/// gives its option.
fn module_zero_fields() -> [(u32, usize, &'static str); 15] {
    use std::mem::{offset_of, size_of};
    macro_rules! end {
        ($f:ident, $t:ty) => {
            offset_of!(bh_module_options, $f) + size_of::<$t>()
        };
    }
    [
        (BH_OPTION_WORKERS, end!(workers, u32), "workers"),
        (
            BH_OPTION_MEMORY_LIMIT,
            end!(memory_limit, u64),
            "memory_limit",
        ),
        (BH_OPTION_MAX_INPUT, end!(max_input, u64), "max_input"),
        (BH_OPTION_MAX_OUTPUT, end!(max_output, u64), "max_output"),
        (BH_OPTION_MAX_EVENT, end!(max_event, u64), "max_event"),
        (
            BH_OPTION_CALL_TIMEOUT_NS,
            end!(call_timeout_ms, u64),
            "call_timeout",
        ),
        (
            BH_OPTION_SPARE_WORKERS,
            end!(spare_workers, u32),
            "spare_workers",
        ),
        (
            BH_OPTION_BREAKER_FAILURES,
            end!(breaker_failures, u32),
            "breaker_failures",
        ),
        (
            BH_OPTION_BREAKER_WINDOW_NS,
            end!(breaker_window_ms, u64),
            "breaker_window",
        ),
        (
            BH_OPTION_BREAKER_COOLDOWN_NS,
            end!(breaker_cooldown_ms, u64),
            "breaker_cooldown",
        ),
        (
            BH_OPTION_STARTUP_TIMEOUT_NS,
            end!(startup_timeout_ms, u64),
            "startup_timeout",
        ),
        (
            BH_OPTION_CLOSE_GRACE_NS,
            end!(close_grace_ms, u64),
            "close_grace",
        ),
        (BH_OPTION_CPU_LIMIT_NS, end!(cpu_limit_ms, u64), "cpu_limit"),
        (BH_OPTION_OPEN_FILES, end!(open_files, u32), "open_files"),
        (BH_OPTION_SANDBOX, end!(sandbox, u32), "sandbox"),
    ]
}

/// The sizes an older `bh_module_options` may have that include `explicit_zero` (it ends at
/// 96): where each later field ends, below the current 152.
const MODULE_SIZES_WITH_EXPLICIT_ZERO: [u32; 9] = [96, 100, 104, 112, 120, 128, 136, 144, 148];

/// An `explicit_zero` bit for a field beyond the caller's `struct_size` is refused, naming the
/// bit and the size: a 96-byte caller (before the supervision fields) cannot switch the sandbox
/// off, drop the close grace or the spare worker. The caller of the report did exactly that and
/// got `BH_OK`. Every bit at every older size that has `explicit_zero`: refused if the field is
/// beyond it, else applied (in-process, every supervision 0 is then refused by the core, naming
/// the option: proof the bit was read; its exact wording, range or "requires process isolation",
/// is the core's). Sizes before `explicit_zero` (80, 88, 92) never read the mask.
#[test]
fn an_explicit_zero_bit_beyond_struct_size_is_refused() {
    let _g = serial();
    let h = host();
    let fields = module_zero_fields();
    for size in MODULE_SIZES_WITH_EXPLICIT_ZERO {
        for &(bit, end, name) in &fields {
            let mut mo = module_options();
            mo.struct_size = size;
            mo.explicit_zero = 1 << bit;
            if end > size as usize {
                // Isolated, as in the report: refused before any worker starts.
                mo.isolation = BH_ISOLATION_PROCESS;
                expect_err(
                    open_std(h, &mo),
                    BH_E_INVALID_ARGUMENT,
                    &format!("explicit_zero bit {bit} (1 << BH_OPTION_"),
                );
                let m = last_error();
                assert!(
                    m.contains(&format!("which is beyond struct_size {size} "))
                        && m.contains(&format!("the field ends at byte {end}")),
                    "{m}"
                );
            } else if bit >= BH_OPTION_SPARE_WORKERS {
                expect(open_std(h, &mo), BH_E_INVALID_ARGUMENT);
                let m = last_error();
                assert!(
                    m.contains(name) && !m.contains("beyond struct_size"),
                    "size {size}, bit {bit}: {m}"
                );
            }
        }
    }
    // The report's three cases, by name.
    for (bit, name) in [
        (BH_OPTION_SANDBOX, "sandbox"),
        (BH_OPTION_CLOSE_GRACE_NS, "close_grace_ms"),
        (BH_OPTION_SPARE_WORKERS, "spare_workers"),
    ] {
        let mut mo = module_options();
        mo.struct_size = 96;
        mo.isolation = BH_ISOLATION_PROCESS;
        mo.explicit_zero = 1 << bit;
        expect_err(
            open_std(h, &mo),
            BH_E_INVALID_ARGUMENT,
            &format!("names {name}, which is beyond struct_size 96"),
        );
    }
    // The older fields' bits keep working at 96 (a 0-byte max_input is a limit).
    let mut mo = module_options();
    mo.struct_size = 96;
    mo.explicit_zero = 1 << BH_OPTION_MAX_INPUT;
    let mut m = bh_module::default();
    // SAFETY: the spec and options are live locals; m is writable.
    expect(
        unsafe { bh_module_open(h, "std".as_ptr().cast(), 3, &mo, &mut m) },
        BH_OK,
    );
    let echo = method(m, "echo");
    assert_eq!(call(echo, b"x"), Err(BH_E_RESOURCE_LIMIT));
    expect(bh_method_free(echo), BH_OK);
    expect(bh_module_free(m), BH_OK);
    // Before explicit_zero (80, 88, 92 bytes) the mask is not read: set in the bytes after
    // the caller's struct, it changes nothing.
    for size in [80u32, 88, 92] {
        let mut mo = module_options();
        mo.struct_size = size;
        mo.explicit_zero = 1 << BH_OPTION_SANDBOX | 1 << BH_OPTION_MAX_INPUT | 1 << 31;
        expect(open_std(h, &mo), BH_OK);
    }
    expect(bh_host_free(h), BH_OK);

    // bh_host_options: explicit_zero (72..76) comes after every field it can name (they end by
    // byte 40), so a struct that has the mask has the fields: each bit is applied (the core
    // refuses each of these 0s) at 76 and 80; before 76 the mask is not read.
    use std::mem::{offset_of, size_of};
    assert!(offset_of!(bh_host_options, event_queue_bytes) + size_of::<u64>() <= 76);
    for size in [76u32, 80] {
        for (bit, name) in [
            (BH_OPTION_SUBMIT_THREADS, "submit_threads"),
            (BH_OPTION_SUBMIT_QUEUE_CAPACITY, "submit_queue_capacity"),
            (BH_OPTION_EVENT_QUEUE_CAPACITY, "event_queue_capacity"),
            (BH_OPTION_EVENT_QUEUE_BYTES, "event_queue_bytes"),
        ] {
            let mut ho = host_options();
            ho.struct_size = size;
            ho.explicit_zero = 1 << bit;
            let mut out = bh_host::default();
            // SAFETY: the options are a live local; out is writable.
            expect_err(
                unsafe { bh_host_new(&ho, &mut out) },
                BH_E_INVALID_ARGUMENT,
                &format!("{name} must be"),
            );
        }
    }
    for size in [32u32, 40, 56, 72] {
        let mut ho = host_options();
        ho.struct_size = size;
        ho.explicit_zero = 1 << BH_OPTION_SUBMIT_THREADS | 1 << 31;
        ho.reserved = 7; // not read either
        let mut out = bh_host::default();
        // SAFETY: the options are a live local; out is writable.
        expect(unsafe { bh_host_new(&ho, &mut out) }, BH_OK);
        expect(bh_host_free(out), BH_OK);
    }
}

fn host_options() -> bh_host_options {
    bh_host_options {
        struct_size: std::mem::size_of::<bh_host_options>() as u32,
        submit_threads: 0,
        submit_queue_capacity: 0,
        event_queue_capacity: 0,
        module_dir: null(),
        module_dir_len: 0,
        event_queue_bytes: 0,
        thread_name: null(),
        thread_name_len: 0,
        module_dirs: null(),
        module_dirs_len: 0,
        explicit_zero: 0,
        reserved: 0,
    }
}

/// A `struct_size` that ends inside a field (98 cuts `breaker_failures` in half) is
/// `BH_E_INVALID_ARGUMENT` for every struct a caller passes or fills, before anything is read
/// or written; a size where a field ends is accepted and reads whole fields only.
#[test]
fn a_struct_size_inside_a_field_is_refused() {
    let _g = serial();
    let h = host();
    // bh_module_options: in 0.1's max_event, validate_in_worker, explicit_zero, each
    // supervision field, and just short of the current size.
    for size in [
        81u32, 84, 90, 94, 95, 98, 102, 108, 116, 124, 132, 140, 146, 150, 151,
    ] {
        let mut mo = module_options();
        mo.struct_size = size;
        expect_err(
            open_std(h, &mo),
            BH_E_INVALID_ARGUMENT,
            &format!("bh_module_options.struct_size is {size}, which ends inside a field"),
        );
        assert!(last_error().contains("80, 88, 92, 96, 100, 104, 112, 120, 128, 136, 144, 148)"));
        // The struct to fill: struct_size (low half of the first word, little-endian), then
        // 0xa5 bytes that must stay as they are.
        let mut fill = [0xa5a5_a5a5_a5a5_a5a5u64; 20];
        fill[0] = u64::from(size) | 0xa5a5_a5a5 << 32;
        // SAFETY: `fill` is 160 bytes, aligned to 8: more than any size tried.
        expect_err(
            unsafe { bh_module_options_default(fill.as_mut_ptr().cast()) },
            BH_E_INVALID_ARGUMENT,
            "ends inside a field",
        );
        assert_eq!(fill[0] >> 32, 0xa5a5_a5a5, "{size}: nothing written");
        assert!(
            fill[1..].iter().all(|&w| w == 0xa5a5_a5a5_a5a5_a5a5),
            "{size}"
        );
    }
    // Sizes on a boundary: 100 has spare_workers, read whole (9 is out of range)...
    let mut mo = module_options();
    mo.struct_size = 100;
    mo.isolation = BH_ISOLATION_PROCESS;
    mo.spare_workers = 9;
    expect_err(
        open_std(h, &mo),
        BH_E_INVALID_ARGUMENT,
        "spare_workers must be in 0..=8, got 9",
    );
    // ... and not breaker_failures (in-process, 7 would be refused as a worker setting).
    let mut mo = module_options();
    mo.struct_size = 100;
    mo.breaker_failures = 7;
    expect(open_std(h, &mo), BH_OK);
    mo.struct_size = 104;
    expect_err(open_std(h, &mo), BH_E_INVALID_ARGUMENT, "breaker_failures");

    // bh_host_options: in event_queue_bytes, thread_name's pointer without its length (48),
    // module_dirs' likewise (64), explicit_zero, reserved.
    for size in [33u32, 36, 44, 48, 52, 60, 64, 68, 74, 78, 79] {
        let mut ho = host_options();
        ho.struct_size = size;
        let mut out = bh_host::default();
        // SAFETY: the options are a live local; out is writable.
        expect_err(
            unsafe { bh_host_new(&ho, &mut out) },
            BH_E_INVALID_ARGUMENT,
            &format!("bh_host_options.struct_size is {size}, which ends inside a field"),
        );
        assert!(last_error().contains("(32, 40, 56, 72, 76)"));
        ho.submit_threads = 0xa5a5;
        // SAFETY: ho is a live bh_host_options, larger than any size tried.
        expect(
            unsafe { bh_host_options_default(&mut ho) },
            BH_E_INVALID_ARGUMENT,
        );
        assert_eq!(ho.submit_threads, 0xa5a5, "{size}: nothing written");
    }

    // bh_counters: the header, then whole u64 counters.
    let m = open(h, "std");
    for size in [9u32, 12, 15, 20, 23, 100, 124, 156, 159] {
        let mut c = bh_counters {
            struct_size: size,
            calls: 77,
            unblamed_violations: 77,
            ..bh_counters::default()
        };
        // SAFETY: c is a live bh_counters, larger than any size tried.
        unsafe {
            expect_err(
                bh_host_counters(h, &mut c),
                BH_E_INVALID_ARGUMENT,
                &format!("bh_counters.struct_size is {size}, which ends inside a field"),
            );
            expect(bh_module_counters(m, &mut c), BH_E_INVALID_ARGUMENT);
        }
        assert_eq!(
            (c.calls, c.unblamed_violations),
            (77, 77),
            "nothing written"
        );
    }
    for size in [8u32, 16, 120, 152, 160] {
        let mut c = bh_counters {
            struct_size: size,
            calls: 77,
            ..bh_counters::default()
        };
        // SAFETY: c is a live bh_counters of at least the declared size.
        expect(unsafe { bh_module_counters(m, &mut c) }, BH_OK);
        assert_eq!(c.calls, if size >= 16 { 0 } else { 77 }, "{size}");
    }
    expect(bh_module_free(m), BH_OK);
    expect(bh_host_free(h), BH_OK);
}
