//! Hosts: create, close, free, counters.

use crate::handles::HOSTS;
use crate::options::{option_rule, zero_field, ExplicitZero, OptionRule};
use crate::ptr::Contract;
use crate::types::{
    bh_counters, bh_host, bh_host_options, bh_status, BH_OPTION_EVENT_QUEUE_BYTES,
    BH_OPTION_EVENT_QUEUE_CAPACITY, BH_OPTION_SUBMIT_QUEUE_CAPACITY, BH_OPTION_SUBMIT_THREADS,
    BH_WAIT_FLUSH_TIMEOUT, BH_WAIT_INSPECT_DEADLINE,
};
use bhcore::options::Span;
use bhcore::{CounterSnapshot, Host, HostOptions, Result};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Translate `bh_host_options` (0 fields: defaults; the core validates ranges).
fn host_options(c: &Contract, o: Option<&bh_host_options>) -> Result<HostOptions> {
    let mut opts = HostOptions::default();
    let Some(o) = o else { return Ok(opts) };
    if o.reserved != 0 {
        return Err(bhcore::Error::InvalidArgument(format!(
            "bh_host_options.reserved must be 0, not {}",
            o.reserved
        )));
    }
    // The field of `o` for bit `1 << $bit`, where it ends in the struct.
    macro_rules! field {
        ($bit:ident, $f:ident) => {
            zero_field!(o, bh_host_options, $bit, $f)
        };
    }
    let set = ExplicitZero::new(
        "bh_host_options",
        o.struct_size as usize,
        o.explicit_zero,
        &[
            field!(BH_OPTION_SUBMIT_THREADS, submit_threads),
            field!(BH_OPTION_SUBMIT_QUEUE_CAPACITY, submit_queue_capacity),
            field!(BH_OPTION_EVENT_QUEUE_CAPACITY, event_queue_capacity),
            field!(BH_OPTION_EVENT_QUEUE_BYTES, event_queue_bytes),
        ],
    )?;
    if set.given(BH_OPTION_SUBMIT_THREADS, o.submit_threads.into()) {
        opts.submit_threads = o.submit_threads as usize;
    }
    if set.given(
        BH_OPTION_SUBMIT_QUEUE_CAPACITY,
        o.submit_queue_capacity.into(),
    ) {
        opts.submit_queue_capacity = o.submit_queue_capacity as usize;
    }
    if set.given(
        BH_OPTION_EVENT_QUEUE_CAPACITY,
        o.event_queue_capacity.into(),
    ) {
        opts.event_queue_capacity = o.event_queue_capacity as usize;
    }
    if set.given(BH_OPTION_EVENT_QUEUE_BYTES, o.event_queue_bytes) {
        opts.event_queue_bytes = usize::try_from(o.event_queue_bytes).unwrap_or(usize::MAX);
    }
    let name = c.bytes(o.thread_name.cast(), o.thread_name_len, "thread_name")?;
    if !name.is_empty() {
        opts.thread_name = std::str::from_utf8(name)
            .map_err(|_| bhcore::Error::InvalidArgument("thread_name is not UTF-8".into()))?
            .to_owned();
    }
    let dir = c.bytes(o.module_dir.cast(), o.module_dir_len, "module_dir")?;
    if !dir.is_empty() {
        opts.module_dirs.push(PathBuf::from(OsStr::from_bytes(dir)));
    }
    let dirs = c.bytes(o.module_dirs.cast(), o.module_dirs_len, "module_dirs")?;
    opts.module_dirs.extend(nul_separated(dirs, "module_dirs")?);
    Ok(opts)
}

/// The paths of a NUL-separated list ("a\0b\0", the last NUL optional); an
/// empty list has none, an empty entry is refused.
fn nul_separated(list: &[u8], what: &str) -> Result<Vec<PathBuf>> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let list = list.strip_suffix(b"\0").unwrap_or(list);
    list.split(|&b| b == 0)
        .enumerate()
        .map(|(i, p)| {
            if p.is_empty() {
                Err(bhcore::Error::InvalidArgument(format!(
                    "{what}: entry {} is empty (entries are separated by one NUL byte)",
                    i + 1
                )))
            } else {
                Ok(PathBuf::from(OsStr::from_bytes(p)))
            }
        })
        .collect()
}

/// The `bh_counters` image of a snapshot.
pub(crate) fn counters_of(s: &CounterSnapshot) -> bh_counters {
    bh_counters {
        struct_size: std::mem::size_of::<bh_counters>() as u32,
        reserved: 0,
        calls: s.calls,
        errors: s.errors,
        crashes: s.crashes,
        respawns: s.respawns,
        timeouts: s.timeouts,
        submits: s.submits,
        cancelled: s.cancelled,
        events_emitted: s.events_emitted,
        events_delivered: s.events_delivered,
        events_dropped: s.events_dropped,
        callback_errors: s.callback_errors,
        latency_samples: s.latency_samples,
        latency_ns_total: s.latency_ns_total,
        latency_ns_max: s.latency_ns_max,
        state_lost: s.state_lost,
        events_refused: s.events_refused,
        events_discarded: s.events_discarded,
        worker_output_dropped: s.worker_output_dropped,
        unblamed_violations: s.unblamed_violations,
    }
}

/// A count in a `uint32_t` field (the defaults all fit).
fn u32_of(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Fill `*out` with the default host options (the values `bh_host_new` uses
/// for fields left 0): `submit_threads`, `submit_queue_capacity`,
/// `event_queue_capacity`, `event_queue_bytes`; `module_dir`, `module_dirs` and `thread_name` NULL
/// (`thread_name` NULL stands for the default "bridgehost"). The caller sets
/// `out->struct_size`; the fields that fit in it are written (a struct from a
/// newer header gets its unknown bytes zeroed, i.e. "default").
///
/// # Safety
/// `out` must be valid for writes of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn bh_host_options_default(out: *mut bh_host_options) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.host_options_out(out)?;
        let d = HostOptions::default();
        out.fill(&bh_host_options {
            struct_size: std::mem::size_of::<bh_host_options>() as u32,
            submit_threads: u32_of(d.submit_threads),
            submit_queue_capacity: u32_of(d.submit_queue_capacity),
            event_queue_capacity: u32_of(d.event_queue_capacity),
            module_dir: std::ptr::null(),
            module_dir_len: 0,
            event_queue_bytes: d.event_queue_bytes as u64,
            thread_name: std::ptr::null(),
            thread_name_len: 0,
            module_dirs: std::ptr::null(),
            module_dirs_len: 0,
            explicit_zero: 0,
            reserved: 0,
        });
        Ok(())
    })
}

/// Check `value` for the option `option` (`BH_OPTION_*`) by the core's one rule
/// for it, the rule `bh_host_new` and `bh_module_open` apply: `BH_OK`, or
/// `BH_E_INVALID_ARGUMENT` with the message every runtime shows
/// ("workers must be in 1..=64, got -1"). A duration (`BH_OPTION_*_NS`) is
/// given in nanoseconds ("close_grace must be at most one year, got -1 ns");
/// `BH_OPTION_SANDBOX`, a flag, accepts 0 and 1. For callers whose own
/// integers are signed or wider than a field (the .NET front end checks each
/// value it sets here before narrowing it into an unsigned field). An unknown
/// `option` is `BH_E_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn bh_option_check(option: u32, value: i64) -> bh_status {
    ffi_boundary!(|_c| {
        let rule = option_rule(option)
            .ok_or_else(|| bhcore::Error::InvalidArgument(format!("unknown option {option}")))?;
        rule.check(value)
    })
}

/// Check the duration `seconds` + `nanoseconds` (0 ..= 999999999; a `struct timespec`'s
/// two fields) for the duration option `option` (a `BH_OPTION_*_NS` id) by the core's one rule
/// for it, exactly as `bh_option_check` does for nanoseconds that fit an `int64_t`: for a
/// duration too large for those (over about 292 years), the message names the value given
/// ("call_timeout must be positive and at most one year, got 31536000000000000000 ns"), as
/// Java's `Duration` and Python's seconds do. `BH_E_INVALID_ARGUMENT` too for an option that
/// is not a duration, an unknown one, or `nanoseconds` out of range.
#[no_mangle]
pub extern "C" fn bh_option_check_duration(
    option: u32,
    seconds: i64,
    nanoseconds: u32,
) -> bh_status {
    ffi_boundary!(|_c| {
        let span = match option_rule(option) {
            Some(OptionRule::Duration(span)) => span,
            Some(_) => {
                return Err(bhcore::Error::InvalidArgument(format!(
                    "option {option} is not a duration"
                )))
            }
            None => {
                return Err(bhcore::Error::InvalidArgument(format!(
                    "unknown option {option}"
                )))
            }
        };
        span.from_nanos(timespec_nanos(seconds, nanoseconds)?)
            .map(drop)
    })
}

/// A `struct timespec`'s two fields in nanoseconds, exact (any pair fits an `i128`).
fn timespec_nanos(seconds: i64, nanoseconds: u32) -> bhcore::Result<i128> {
    if nanoseconds >= 1_000_000_000 {
        return Err(bhcore::Error::InvalidArgument(format!(
            "nanoseconds must be in 0..=999999999, got {nanoseconds}"
        )));
    }
    Ok(i128::from(seconds) * 1_000_000_000 + i128::from(nanoseconds))
}

/// Check the duration `seconds` + `nanoseconds` (0 ..= 999999999; a `struct timespec`'s two
/// fields) for the wait argument `wait` by the core's one rule for it, the rule
/// `bh_module_flush` and `bh_inspect` apply to their milliseconds: `BH_WAIT_FLUSH_TIMEOUT`
/// accepts 0 up to one year ("flush timeout must be at most one year, got -1000000000 ns"),
/// `BH_WAIT_INSPECT_DEADLINE` a positive duration up to one year ("inspect deadline must be
/// positive and at most one year, got 0 ns"). Their "no limit" / "default" spellings
/// (`UINT64_MAX` ms, 0 ms) are the callee's and not judged here. For callers whose durations
/// are finer than milliseconds or signed (the .NET front end checks a `TimeSpan` here before
/// rounding it up to milliseconds). `BH_E_INVALID_ARGUMENT` too for an unknown `wait` or
/// `nanoseconds` out of range.
#[no_mangle]
pub extern "C" fn bh_wait_check(wait: u32, seconds: i64, nanoseconds: u32) -> bh_status {
    ffi_boundary!(|_c| {
        let span = match wait {
            BH_WAIT_FLUSH_TIMEOUT => Span::FlushTimeout,
            BH_WAIT_INSPECT_DEADLINE => Span::InspectDeadline,
            _ => {
                return Err(bhcore::Error::InvalidArgument(format!(
                    "unknown wait {wait}"
                )))
            }
        };
        span.from_nanos(timespec_nanos(seconds, nanoseconds)?)
            .map(drop)
    })
}

/// Create a host (its event dispatcher and submit pool start now).
/// `opts` may be NULL (defaults); `*out` is written on success only.
///
/// # Safety
/// `opts` must be NULL or point to a readable `bh_host_options` whose
/// `module_dir` is NULL or readable for `module_dir_len` bytes (`thread_name` for
/// `thread_name_len` bytes and `module_dirs` for `module_dirs_len` bytes, when
/// `struct_size` covers them); `out` must be
/// valid for a write of `bh_host`.
#[no_mangle]
pub unsafe extern "C" fn bh_host_new(opts: *const bh_host_options, out: *mut bh_host) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let opts = host_options(c, c.host_options(opts)?.as_ref())?;
        let host = Host::with_options(opts)?;
        out.write(HOSTS.insert(Arc::new(host)));
        Ok(())
    })
}

/// Close a host: queued submits complete with `BH_E_CLOSED`, calls in flight
/// finish, every module closes, the dispatcher stops (no callback runs after
/// this returns, unless called from inside one). Idempotent; the handle stays
/// valid (later uses report `BH_E_CLOSED`) until `bh_host_free`.
#[no_mangle]
pub extern "C" fn bh_host_close(h: bh_host) -> bh_status {
    ffi_boundary!({
        HOSTS.get(h)?.try_close()?;
        Ok(())
    })
}

/// Close the host and retire its handle. A second free is `BH_E_CLOSED`.
#[no_mangle]
pub extern "C" fn bh_host_free(h: bh_host) -> bh_status {
    ffi_boundary!({
        // A re-entrant close is refused before the handle is retired.
        HOSTS.get(h)?.try_close()?;
        let host = HOSTS.remove(h)?;
        host.close();
        Ok(())
    })
}

/// Counters summed over every module the host opened (closed ones included).
/// The caller sets `out->struct_size`; whole fields up to it are written.
///
/// # Safety
/// `out` must be valid for writes of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn bh_host_counters(h: bh_host, out: *mut bh_counters) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.counters(out)?;
        let host = HOSTS.get(h)?;
        out.fill(&counters_of(&host.counters()));
        Ok(())
    })
}

/// Add a directory searched for modules by name (`bh_module_open` with a bare
/// name), after the host options' `module_dir` and the directories added
/// before it. `dir` is `dir_len` bytes of path (no NUL needed; not UTF-8
/// checked). `BH_E_NOT_FOUND` if it does not exist, `BH_E_INVALID_ARGUMENT`
/// if it is not a directory, `BH_E_CLOSED` once the host is closed.
///
/// # Safety
/// `dir` must be readable for `dir_len` bytes (NULL only with `dir_len` 0,
/// which is `BH_E_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn bh_host_add_module_dir(
    h: bh_host,
    dir: *const std::ffi::c_char,
    dir_len: usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let dir = c.bytes(dir.cast(), dir_len, "dir")?;
        HOSTS.get(h)?.add_module_dir(OsStr::from_bytes(dir))?;
        Ok(())
    })
}
