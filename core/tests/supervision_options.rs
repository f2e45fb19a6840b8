//! The supervision settings as every front end sets them: one rule per
//! setting in the core (`Numeric`, `Span`), and a worker's setting refused
//! in-process instead of ignored (docs/SYMMETRY.md, docs/ISOLATION.md).
mod common;

use bridgehost::isolation::Supervision;
use bridgehost::options::{Numeric, Span, MAX_SPAN};
use bridgehost::{Error, ModuleOptions};
use std::time::Duration;

fn message(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn each_duration_setting_has_one_range_and_names_itself() {
    let year = MAX_SPAN.as_nanos() as i128;
    for span in Span::ALL {
        let (lo, hi) = span.range();
        assert_eq!(hi, MAX_SPAN, "{span:?}");
        let lo = lo.as_nanos() as i128;
        assert_eq!(
            span.from_nanos(lo).unwrap(),
            Duration::from_nanos(lo as u64)
        );
        assert_eq!(span.from_nanos(year).unwrap(), MAX_SPAN);
        for bad in [lo - 1, year + 1, -1, i128::MIN] {
            let m = message(span.from_nanos(bad));
            assert!(
                m.starts_with(&format!("{} must be ", span.name()))
                    && m.ends_with(&format!("got {bad} ns")),
                "{span:?} {bad}: {m}"
            );
        }
    }
    assert_eq!(
        message(Span::CloseGrace.from_nanos(-1)),
        "close_grace must be at most one year, got -1 ns"
    );
    assert_eq!(
        message(Span::CpuLimit.from_nanos(999_999_999)),
        "cpu_limit must be at least 1 s and at most one year, got 999999999 ns"
    );
    assert_eq!(
        message(Span::BreakerWindow.from_nanos(0)),
        "breaker_window must be positive and at most one year, got 0 ns"
    );
    // call_timeout is one of them, with the message it always had.
    assert_eq!(
        message(Span::CallTimeout.from_nanos(0)),
        "call_timeout must be positive and at most one year, got 0 ns"
    );
}

#[test]
fn each_count_setting_has_one_range_and_names_itself() {
    for (n, lo, hi) in [
        (Numeric::SpareWorkers, 0u64, 8u64),
        (Numeric::BreakerFailures, 1, u32::MAX as u64),
        (Numeric::OpenFiles, 16, 65536),
    ] {
        assert!(Numeric::ALL.contains(&n));
        assert_eq!(n.range(), (lo, hi));
        assert_eq!(n.check(lo.into()).unwrap(), lo);
        assert_eq!(n.check(hi.into()).unwrap(), hi);
        assert_eq!(
            message(n.check(i128::from(hi) + 1)),
            format!(
                "{} must be in {lo}..={hi}, got {}",
                n.name(),
                u128::from(hi) + 1
            )
        );
    }
}

/// Each setting changed from its default, with its name.
fn changed() -> Vec<(&'static str, Supervision)> {
    let d = Supervision::default;
    vec![
        (
            "spare_workers",
            Supervision {
                spare_workers: 0,
                ..d()
            },
        ),
        (
            "breaker_failures",
            Supervision {
                breaker_failures: 1,
                ..d()
            },
        ),
        (
            "breaker_window",
            Supervision {
                breaker_window: Duration::from_secs(1),
                ..d()
            },
        ),
        (
            "breaker_cooldown",
            Supervision {
                breaker_cooldown: Duration::from_secs(9),
                ..d()
            },
        ),
        (
            "close_grace",
            Supervision {
                close_grace: Duration::ZERO,
                ..d()
            },
        ),
        (
            "cpu_limit",
            Supervision {
                cpu_limit: Some(Duration::from_secs(5)),
                ..d()
            },
        ),
        (
            "cpu_limit",
            Supervision {
                cpu_limit: None,
                ..d()
            },
        ),
        (
            "open_files",
            Supervision {
                open_files: 128,
                ..d()
            },
        ),
        (
            "startup_timeout",
            Supervision {
                startup_timeout: Duration::from_secs(2),
                ..d()
            },
        ),
        (
            "sandbox",
            Supervision {
                sandbox: false,
                ..d()
            },
        ),
    ]
}

#[test]
fn a_workers_setting_is_refused_in_process_not_ignored() {
    let host = common::host();
    for (name, supervision) in changed() {
        let opts = ModuleOptions {
            supervision: supervision.clone(),
            ..ModuleOptions::in_process()
        };
        let m = message(host.open("std", opts));
        if name == "startup_timeout" || name == "sandbox" {
            // They also rule the worker that validates a module before an
            // in-process load.
            assert_eq!(
                m,
                format!("{name} requires process isolation or validate_in_worker")
            );
            let m = host
                .open(
                    "std",
                    ModuleOptions {
                        supervision,
                        validate_in_worker: true,
                        ..ModuleOptions::in_process()
                    },
                )
                .unwrap();
            assert_eq!(m.method("echo").unwrap().call(b"x").unwrap(), b"x");
        } else {
            assert_eq!(m, format!("{name} requires process isolation"));
        }
    }
    // The defaults, spelled out, are not a change.
    host.open(
        "std",
        ModuleOptions {
            supervision: Supervision::default(),
            ..ModuleOptions::in_process()
        },
    )
    .unwrap();
}

#[test]
fn every_changed_setting_opens_an_isolated_module() {
    let host = common::host();
    for (name, supervision) in changed() {
        let m = host
            .open(
                "std",
                ModuleOptions {
                    supervision,
                    ..ModuleOptions::isolated()
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            m.method("echo").unwrap().call(b"x").unwrap(),
            b"x",
            "{name}"
        );
        m.close();
    }
}

#[test]
fn an_isolated_open_refuses_a_setting_out_of_range_with_the_cores_message() {
    let host = common::host();
    let d = Supervision::default;
    for (supervision, expect) in [
        (
            Supervision {
                spare_workers: 9,
                ..d()
            },
            "spare_workers must be in 0..=8, got 9",
        ),
        (
            Supervision {
                breaker_failures: 0,
                ..d()
            },
            "breaker_failures must be in 1..=4294967295, got 0",
        ),
        (
            Supervision {
                open_files: 15,
                ..d()
            },
            "open_files must be in 16..=65536, got 15",
        ),
        (
            Supervision {
                breaker_window: Duration::ZERO,
                ..d()
            },
            "breaker_window must be positive and at most one year, got 0 ns",
        ),
        (
            Supervision {
                close_grace: MAX_SPAN + Duration::from_nanos(1),
                ..d()
            },
            "close_grace must be at most one year, got 31536000000000001 ns",
        ),
        (
            Supervision {
                cpu_limit: Some(Duration::from_millis(10)),
                ..d()
            },
            "cpu_limit must be at least 1 s and at most one year, got 10000000 ns",
        ),
    ] {
        let opts = ModuleOptions {
            supervision,
            ..ModuleOptions::isolated()
        };
        assert_eq!(message(host.open("std", opts)), expect);
    }
}

#[test]
fn a_setting_out_of_range_reads_the_same_in_process() {
    // The range is judged before the mode: the message does not depend on
    // whether the front end checked it first (a docs-only C client saw
    // "spare_workers requires process isolation" where Python, Java and C#
    // said the range).
    let host = common::host();
    let opts = ModuleOptions {
        supervision: Supervision {
            spare_workers: 9,
            ..Supervision::default()
        },
        ..ModuleOptions::in_process()
    };
    assert_eq!(
        message(host.open("std", opts)),
        "spare_workers must be in 0..=8, got 9"
    );
}
