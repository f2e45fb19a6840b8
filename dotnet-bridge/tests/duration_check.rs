//! `bh_option_check_duration`: a duration as a timespec's two fields, judged by the core's
//! one rule for the option with the value as given, however large (the .NET front end checks
//! every `TimeSpan` option here; it used to saturate one over 2^63 - 1 ns, so its message
//! named 9223372036854775807 ns where Java and Python named the value set).

mod common;

use bridgehost_c::*;
use common::*;

/// The core's message for `nanos` of `option` (`bh_option_check`'s wording, exact value).
fn refusal(name: &str, rule: &str, nanos: i128) -> String {
    format!("invalid argument: {name} must be {rule}, got {nanos} ns")
}

#[test]
fn durations_beyond_64_bits_of_nanoseconds_are_refused_as_given() {
    let _g = serial();
    const POSITIVE: &str = "positive and at most one year";
    let cases: [(u32, &str, &str); 6] = [
        (BH_OPTION_CALL_TIMEOUT_NS, "call_timeout", POSITIVE),
        (BH_OPTION_BREAKER_WINDOW_NS, "breaker_window", POSITIVE),
        (BH_OPTION_BREAKER_COOLDOWN_NS, "breaker_cooldown", POSITIVE),
        (BH_OPTION_STARTUP_TIMEOUT_NS, "startup_timeout", POSITIVE),
        (BH_OPTION_CLOSE_GRACE_NS, "close_grace", "at most one year"),
        (
            BH_OPTION_CPU_LIMIT_NS,
            "cpu_limit",
            "at least 1 s and at most one year",
        ),
    ];
    for (id, name, rule) in cases {
        // 1000 years (over 2^63 - 1 ns), the largest and smallest TimeSpan, the extremes.
        for (s, n) in [
            (31_536_000_000i64, 0u32),
            (922_337_203_685, 477_580_700),
            (-922_337_203_686, 522_419_200),
            (i64::MAX, 999_999_999),
            (i64::MIN, 0),
        ] {
            let nanos = i128::from(s) * 1_000_000_000 + i128::from(n);
            let status = bh_option_check_duration(id, s, n);
            assert_eq!(status, BH_E_INVALID_ARGUMENT, "{name} {s} s {n} ns");
            assert_eq!(last_error(), refusal(name, rule, nanos));
        }
        // In range: what bh_option_check accepts, split into seconds and nanoseconds.
        expect(bh_option_check_duration(id, 2, 500_000_000), BH_OK);
        expect(bh_option_check_duration(id, 365 * 86_400, 0), BH_OK);
        assert_eq!(
            bh_option_check_duration(id, 365 * 86_400, 1),
            BH_E_INVALID_ARGUMENT
        );
        // Where both can say it, the two checks say the same.
        for ns in [
            -1i64,
            0,
            999_999_999,
            365 * 86_400 * 1_000_000_000 + 1,
            i64::MAX,
        ] {
            let a = bh_option_check(id, ns);
            let want = (a == BH_OK).then(String::new).unwrap_or_else(last_error);
            let (s, n) = (
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000) as u32,
            );
            assert_eq!(bh_option_check_duration(id, s, n), a, "{name} {ns} ns");
            if a != BH_OK {
                assert_eq!(last_error(), want);
            }
        }
    }
    expect_err(
        bh_option_check_duration(BH_OPTION_CALL_TIMEOUT_NS, 1, 1_000_000_000),
        BH_E_INVALID_ARGUMENT,
        "nanoseconds must be in 0..=999999999, got 1000000000",
    );
    expect_err(
        bh_option_check_duration(BH_OPTION_WORKERS, 1, 0),
        BH_E_INVALID_ARGUMENT,
        "option 4 is not a duration",
    );
    expect_err(
        bh_option_check_duration(99, 1, 0),
        BH_E_INVALID_ARGUMENT,
        "unknown option 99",
    );
}

/// `bh_inspect` of the bundled `std` with `deadline_ms`, its status (the buffer freed).
fn inspect_std(h: bh_host, deadline_ms: u64) -> bh_status {
    let spec = "std";
    let mut out = Default::default();
    // SAFETY: spec is live for the call; out is writable.
    let st = unsafe {
        bh_inspect(
            h,
            spec.as_ptr().cast(),
            spec.len(),
            deadline_ms,
            0,
            &mut out,
        )
    };
    if st == BH_OK {
        expect(bh_buffer_free(out), BH_OK);
    }
    st
}

/// The wait arguments (docs/SYMMETRY.md's `wait` rows): `bh_module_flush`'s `timeout_ms` and
/// `bh_inspect`'s `deadline_ms` are judged by the core's one rule for each, as `bh_wait_check`
/// judges a timespec (what the .NET front end checks its `TimeSpan` with): beyond one year they
/// are refused naming the value (they were accepted: over a year was as good as no limit), the
/// no-limit (`UINT64_MAX`) and default (0) spellings stay.
#[test]
fn wait_arguments_are_judged_by_the_cores_rule() {
    let _g = serial();
    const YEAR_MS: u64 = 365 * 86_400 * 1000;
    let h = host();
    let m = open(h, "std");
    expect(bh_module_flush(m, 0), BH_OK);
    expect(bh_module_flush(m, YEAR_MS), BH_OK);
    expect(bh_module_flush(m, u64::MAX), BH_OK);
    expect_err(
        bh_module_flush(m, YEAR_MS + 1),
        BH_E_INVALID_ARGUMENT,
        "flush timeout must be at most one year, got 31536000001000000 ns",
    );
    assert_eq!(
        last_error(),
        "invalid argument: flush timeout must be at most one year, got 31536000001000000 ns"
    );
    expect_err(
        bh_module_flush(m, u64::MAX - 1),
        BH_E_INVALID_ARGUMENT,
        "got 18446744073709551614000000 ns",
    );
    expect(inspect_std(h, 0), BH_OK);
    expect(inspect_std(h, YEAR_MS), BH_OK);
    for (ms, ns) in [
        (YEAR_MS + 1, "31536000001000000"),
        (u64::MAX, "18446744073709551615000000"),
    ] {
        expect(inspect_std(h, ms), BH_E_INVALID_ARGUMENT);
        assert_eq!(
            last_error(),
            format!("invalid argument: inspect deadline must be positive and at most one year, got {ns} ns")
        );
    }

    // bh_wait_check: the same rules on a timespec, exact however large.
    expect(bh_wait_check(BH_WAIT_FLUSH_TIMEOUT, 0, 0), BH_OK);
    expect(bh_wait_check(BH_WAIT_FLUSH_TIMEOUT, 365 * 86_400, 0), BH_OK);
    expect(bh_wait_check(BH_WAIT_INSPECT_DEADLINE, 0, 1), BH_OK);
    for (wait, rule, s, n, ns) in [
        (
            BH_WAIT_FLUSH_TIMEOUT,
            "flush timeout must be at most one year",
            -1i64,
            999_999_999u32,
            "-1",
        ),
        (
            BH_WAIT_FLUSH_TIMEOUT,
            "flush timeout must be at most one year",
            365 * 86_400,
            1,
            "31536000000000001",
        ),
        (
            BH_WAIT_FLUSH_TIMEOUT,
            "flush timeout must be at most one year",
            i64::MAX,
            999_999_999,
            "9223372036854775807999999999",
        ),
        (
            BH_WAIT_INSPECT_DEADLINE,
            "inspect deadline must be positive and at most one year",
            0,
            0,
            "0",
        ),
        (
            BH_WAIT_INSPECT_DEADLINE,
            "inspect deadline must be positive and at most one year",
            i64::MIN,
            0,
            "-9223372036854775808000000000",
        ),
    ] {
        expect(bh_wait_check(wait, s, n), BH_E_INVALID_ARGUMENT);
        assert_eq!(
            last_error(),
            format!("invalid argument: {rule}, got {ns} ns")
        );
    }
    expect_err(
        bh_wait_check(BH_WAIT_FLUSH_TIMEOUT, 1, 1_000_000_000),
        BH_E_INVALID_ARGUMENT,
        "nanoseconds must be in 0..=999999999, got 1000000000",
    );
    expect_err(
        bh_wait_check(7, 1, 0),
        BH_E_INVALID_ARGUMENT,
        "unknown wait 7",
    );
    expect(bh_module_free(m), BH_OK);
    expect(bh_host_free(h), BH_OK);
}

/// `bh_shared_buffer_check_length`: a signed length (a .NET `int`) judged by the rule
/// `bh_shared_buffer_new` applies, named as given (the .NET front end spelled the core's
/// message itself for a negative one).
#[test]
fn a_signed_shared_buffer_length_is_judged_by_the_cores_rule() {
    let _g = serial();
    for len in [-1i64, i64::MIN, 0] {
        assert_eq!(bh_shared_buffer_check_length(len), BH_E_INVALID_ARGUMENT);
        assert_eq!(
            last_error(),
            format!(
                "invalid argument: a shared buffer of {len} bytes: give it a length of at least 1"
            )
        );
    }
    assert_eq!(bh_shared_buffer_check_length(i64::MAX), BH_E_RESOURCE_LIMIT);
    assert!(
        last_error().starts_with(&format!(
            "resource limit: a shared buffer of {} bytes is more than",
            i64::MAX
        )),
        "{}",
        last_error()
    );
    assert_eq!(bh_shared_buffer_check_length(4096), BH_OK);
}
