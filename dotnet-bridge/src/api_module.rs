//! Modules and methods: open, close, free, describe, resolve.

use crate::api_host::counters_of;
use crate::handles::{BUFFERS, HOSTS, METHODS, MODULES};
use crate::options::{flag, zero_field, ExplicitZero};
use crate::ptr::Contract;
use crate::types::{
    bh_buffer, bh_counters, bh_host, bh_method, bh_module, bh_module_options, bh_status,
    BH_INSPECT_IN_PROCESS, BH_ISOLATION_IN_PROCESS, BH_ISOLATION_PROCESS,
    BH_OPTION_BREAKER_COOLDOWN_NS, BH_OPTION_BREAKER_FAILURES, BH_OPTION_BREAKER_WINDOW_NS,
    BH_OPTION_CALL_TIMEOUT_NS, BH_OPTION_CLOSE_GRACE_NS, BH_OPTION_CPU_LIMIT_NS,
    BH_OPTION_MAX_EVENT, BH_OPTION_MAX_INPUT, BH_OPTION_MAX_OUTPUT, BH_OPTION_MEMORY_LIMIT,
    BH_OPTION_OPEN_FILES, BH_OPTION_SANDBOX, BH_OPTION_SPARE_WORKERS, BH_OPTION_STARTUP_TIMEOUT_NS,
    BH_OPTION_WORKERS,
};
use bhcore::{Error, Isolation, ModuleOptions, Result};
use bridgehost_module_abi as abi;
use std::ffi::{c_char, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

fn size(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| invalid(format!("{what} {v} does not fit in size_t")))
}

/// Translate `bh_module_options` (0 fields: defaults; the core validates
/// ranges and combinations).
fn module_options(c: &Contract, o: Option<&bh_module_options>) -> Result<ModuleOptions> {
    let mut opts = ModuleOptions::default();
    let Some(o) = o else { return Ok(opts) };
    if o.reserved != 0 {
        return Err(invalid(format!(
            "bh_module_options.reserved must be 0, not {}",
            o.reserved
        )));
    }
    opts.isolation = match o.isolation {
        BH_ISOLATION_IN_PROCESS => Isolation::InProcess,
        BH_ISOLATION_PROCESS => Isolation::Process,
        other => {
            return Err(invalid(format!(
                "bh_module_options.isolation {other} is neither BH_ISOLATION_IN_PROCESS (0) nor BH_ISOLATION_PROCESS (1)"
            )))
        }
    };
    // The field of `o` for bit `1 << $bit`, where it ends in the struct.
    macro_rules! field {
        ($bit:ident, $f:ident) => {
            zero_field!(o, bh_module_options, $bit, $f)
        };
    }
    let set = ExplicitZero::new(
        "bh_module_options",
        o.struct_size as usize,
        o.explicit_zero,
        &[
            field!(BH_OPTION_WORKERS, workers),
            field!(BH_OPTION_MEMORY_LIMIT, memory_limit),
            field!(BH_OPTION_MAX_INPUT, max_input),
            field!(BH_OPTION_MAX_OUTPUT, max_output),
            field!(BH_OPTION_MAX_EVENT, max_event),
            field!(BH_OPTION_CALL_TIMEOUT_NS, call_timeout_ms),
            field!(BH_OPTION_SPARE_WORKERS, spare_workers),
            field!(BH_OPTION_BREAKER_FAILURES, breaker_failures),
            field!(BH_OPTION_BREAKER_WINDOW_NS, breaker_window_ms),
            field!(BH_OPTION_BREAKER_COOLDOWN_NS, breaker_cooldown_ms),
            field!(BH_OPTION_STARTUP_TIMEOUT_NS, startup_timeout_ms),
            field!(BH_OPTION_CLOSE_GRACE_NS, close_grace_ms),
            field!(BH_OPTION_CPU_LIMIT_NS, cpu_limit_ms),
            field!(BH_OPTION_OPEN_FILES, open_files),
            field!(BH_OPTION_SANDBOX, sandbox),
        ],
    )?;
    if set.given(BH_OPTION_WORKERS, o.workers.into()) {
        opts.workers = o.workers as usize;
    }
    if set.given(BH_OPTION_CALL_TIMEOUT_NS, o.call_timeout_ms) {
        opts.call_timeout = Some(Duration::from_millis(o.call_timeout_ms));
    }
    if set.given(BH_OPTION_MEMORY_LIMIT, o.memory_limit) {
        opts.memory_limit = Some(o.memory_limit);
    }
    if set.given(BH_OPTION_MAX_INPUT, o.max_input) {
        opts.max_input = size(o.max_input, "max_input")?;
    }
    if set.given(BH_OPTION_MAX_OUTPUT, o.max_output) {
        opts.max_output = size(o.max_output, "max_output")?;
    }
    if set.given(BH_OPTION_MAX_EVENT, o.max_event) {
        opts.max_event = size(o.max_event, "max_event")?;
    }
    opts.config = c.bytes(o.config, o.config_len, "config")?.to_vec();
    let worker = c.bytes(o.worker_path.cast(), o.worker_path_len, "worker_path")?;
    if !worker.is_empty() {
        opts.worker_path = Some(PathBuf::from(OsStr::from_bytes(worker)));
    }
    opts.validate_in_worker = flag(
        "bh_module_options",
        "validate_in_worker",
        o.validate_in_worker.into(),
    )?;
    // Supervision: each field given replaces the core's default; the core judges every value
    // (range, and whether it means anything in-process) when the module opens.
    let sup = &mut opts.supervision;
    if set.given(BH_OPTION_SPARE_WORKERS, o.spare_workers.into()) {
        sup.spare_workers = o.spare_workers as usize;
    }
    if set.given(BH_OPTION_BREAKER_FAILURES, o.breaker_failures.into()) {
        sup.breaker_failures = o.breaker_failures;
    }
    if set.given(BH_OPTION_BREAKER_WINDOW_NS, o.breaker_window_ms) {
        sup.breaker_window = Duration::from_millis(o.breaker_window_ms);
    }
    if set.given(BH_OPTION_BREAKER_COOLDOWN_NS, o.breaker_cooldown_ms) {
        sup.breaker_cooldown = Duration::from_millis(o.breaker_cooldown_ms);
    }
    if set.given(BH_OPTION_STARTUP_TIMEOUT_NS, o.startup_timeout_ms) {
        sup.startup_timeout = Duration::from_millis(o.startup_timeout_ms);
    }
    if set.given(BH_OPTION_CLOSE_GRACE_NS, o.close_grace_ms) {
        sup.close_grace = Duration::from_millis(o.close_grace_ms);
    }
    if set.given(BH_OPTION_CPU_LIMIT_NS, o.cpu_limit_ms) {
        // `UINT64_MAX`: no CPU limit (Rust's `cpu_limit: None`), as `bh_module_flush`'s
        // `timeout_ms` spells "no limit"; the core refuses it in-process like any other change.
        sup.cpu_limit = (o.cpu_limit_ms != u64::MAX).then(|| Duration::from_millis(o.cpu_limit_ms));
    }
    if set.given(BH_OPTION_OPEN_FILES, o.open_files.into()) {
        sup.open_files = o.open_files.into();
    }
    if set.given(BH_OPTION_SANDBOX, o.sandbox.into()) {
        sup.sandbox = flag("bh_module_options", "sandbox", o.sandbox.into())?;
    }
    Ok(opts)
}

/// `cpu_limit` as `bh_module_options.cpu_limit_ms` spells it: whole milliseconds, and no limit
/// (`None`) `UINT64_MAX`, as `bh_module_open` reads it (0 would be "the default").
fn cpu_limit_ms(limit: Option<Duration>) -> u64 {
    limit.map_or(u64::MAX, |t| {
        u64::try_from(t.as_millis()).unwrap_or(u64::MAX - 1)
    })
}

/// Fill `*out` with the default module options (the values `bh_module_open`
/// uses for fields left 0): in-process, `workers` 1, no `call_timeout_ms`
/// and no `memory_limit` (0), `max_input`/`max_output` 256 MiB, `max_event`
/// 1 MiB, no config, no worker path; supervision: `spare_workers` 1,
/// `breaker_failures` 5, `breaker_window_ms` 30000, `breaker_cooldown_ms`
/// 1000, `startup_timeout_ms` 10000, `close_grace_ms` 5000, `cpu_limit_ms`
/// 3600000 (no limit would read `UINT64_MAX`), `open_files` 64, `sandbox` 1.
/// The caller sets `out->struct_size`;
/// the fields that fit in it are written (see `bh_host_options_default`).
///
/// # Safety
/// `out` must be valid for writes of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn bh_module_options_default(out: *mut bh_module_options) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.module_options_out(out)?;
        let d = ModuleOptions::default();
        let sup = &d.supervision;
        let ms =
            |t: Option<Duration>| t.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let count = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        out.fill(&bh_module_options {
            struct_size: std::mem::size_of::<bh_module_options>() as u32,
            isolation: match d.isolation {
                Isolation::InProcess => BH_ISOLATION_IN_PROCESS,
                Isolation::Process => BH_ISOLATION_PROCESS,
            },
            workers: u32::try_from(d.workers).unwrap_or(u32::MAX),
            reserved: 0,
            call_timeout_ms: ms(d.call_timeout),
            memory_limit: d.memory_limit.unwrap_or(0),
            max_input: d.max_input as u64,
            max_output: d.max_output as u64,
            config: std::ptr::null(),
            config_len: 0,
            worker_path: std::ptr::null(),
            worker_path_len: 0,
            max_event: d.max_event as u64,
            validate_in_worker: u32::from(d.validate_in_worker),
            explicit_zero: 0,
            spare_workers: count(sup.spare_workers as u64),
            breaker_failures: sup.breaker_failures,
            breaker_window_ms: ms(Some(sup.breaker_window)),
            breaker_cooldown_ms: ms(Some(sup.breaker_cooldown)),
            startup_timeout_ms: ms(Some(sup.startup_timeout)),
            close_grace_ms: ms(Some(sup.close_grace)),
            cpu_limit_ms: cpu_limit_ms(sup.cpu_limit),
            open_files: count(sup.open_files),
            sandbox: u32::from(sup.sandbox),
        });
        Ok(())
    })
}

/// Open a module by path (contains `/` or ends in `.so`) or bundled name
/// (`"std"`, `"zlib"`, ...). `spec` is UTF-8, not NUL-terminated. `opts` may
/// be NULL (in-process defaults). A file that is not a valid module is
/// `BH_E_ABI_MISMATCH` naming the file and the reason.
///
/// # Safety
/// `spec` must be readable for `spec_len` bytes; `opts` NULL or a
/// `bh_module_options` readable for its `struct_size` bytes, whose `config`/`worker_path` are readable for their
/// lengths; `out` valid for a write of `bh_module`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_open(
    h: bh_host,
    spec: *const c_char,
    spec_len: usize,
    opts: *const bh_module_options,
    out: *mut bh_module,
) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let spec = c.utf8(spec, spec_len, "spec")?;
        let opts = module_options(c, c.module_options(opts)?.as_ref())?;
        let host = HOSTS.get(h)?;
        let module = host.open(spec, opts)?;
        out.write(MODULES.insert(Arc::new(module)));
        Ok(())
    })
}

/// Inspect a module without opening it: by default in a worker process (the
/// validate step: the module's constructors and entry function run there,
/// `init` never runs), with `deadline_ms` for the worker to load it and
/// answer (0: the default, 10 s). A constructor that exits (status 0 too) is
/// `BH_E_WORKER_EXITED`, one that crashes `BH_E_WORKER_CRASHED`, silence past
/// the deadline `BH_E_TIMEOUT`, a lying descriptor `BH_E_ABI_MISMATCH`; only
/// a validated descriptor is `BH_OK`. A `deadline_ms` other than 0 is judged
/// by the core's one rule for the inspect deadline (see `bh_wait_check`):
/// beyond one year (`UINT64_MAX` too) it is `BH_E_INVALID_ARGUMENT` ("inspect
/// deadline must be positive and at most one year, got 31622400000000000
/// ns"). `flags` `BH_INSPECT_IN_PROCESS` loads
/// the file into this process instead (no instance; its constructors run
/// here; `deadline_ms` must then be 0). `spec` is found as `bh_module_open`
/// finds it (the host's module directories too). On success `*out` is a
/// buffer (`bh_buffer_data`, `bh_buffer_free`) holding the description:
/// little-endian `u32` abi_version, thread_model (`BH_THREAD_*`), flags
/// (`BH_INFO_STATEFUL`, `BH_INFO_TYPED`), method_count; then the strings
/// name, version, path (each a `u32` byte length and UTF-8 bytes); then per
/// method a `u32` `BH_METHOD_*` flags and its name as a string.
///
/// # Safety
/// `spec` must be readable for `spec_len` bytes; `out` valid for a write of
/// `bh_buffer`.
#[no_mangle]
pub unsafe extern "C" fn bh_inspect(
    h: bh_host,
    spec: *const c_char,
    spec_len: usize,
    deadline_ms: u64,
    flags: u32,
    out: *mut bh_buffer,
) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let spec = c.utf8(spec, spec_len, "spec")?;
        if flags & !BH_INSPECT_IN_PROCESS != 0 {
            return Err(invalid(format!(
                "bh_inspect: unknown flags {flags:#x} (only BH_INSPECT_IN_PROCESS)"
            )));
        }
        let host = HOSTS.get(h)?;
        let info = if flags & BH_INSPECT_IN_PROCESS != 0 {
            if deadline_ms != 0 {
                return Err(invalid(
                    "bh_inspect: a deadline needs a worker (BH_INSPECT_IN_PROCESS cannot be interrupted)".into(),
                ));
            }
            host.inspect_in_process(spec)?
        } else {
            // Translated only: the core judges the value (0 is C's "default").
            let deadline = (deadline_ms != 0).then(|| Duration::from_millis(deadline_ms));
            host.inspect(spec, deadline)?
        };
        out.write(BUFFERS.insert(Arc::new(bhcore::encode_info(&info))));
        Ok(())
    })
}

/// Close a module: unsubscribe its subscribers (waiting out deliveries in
/// progress), wait for calls in flight, destroy the instance. Idempotent; the
/// handle stays valid (later calls report `BH_E_CLOSED`) until `bh_module_free`.
#[no_mangle]
pub extern "C" fn bh_module_close(m: bh_module) -> bh_status {
    ffi_boundary!({
        MODULES.get(m)?.try_close()?;
        Ok(())
    })
}

/// Close the module and retire its handle. Method handles resolved from it
/// stay valid (their calls report `BH_E_CLOSED`) until freed.
#[no_mangle]
pub extern "C" fn bh_module_free(m: bh_module) -> bh_status {
    ffi_boundary!({
        // A re-entrant close is refused before the handle is retired.
        MODULES.get(m)?.try_close()?;
        MODULES.remove(m)?.close();
        Ok(())
    })
}

/// The module's counters (see `bh_host_counters`).
///
/// # Safety
/// `out` must be valid for writes of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn bh_module_counters(m: bh_module, out: *mut bh_counters) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.counters(out)?;
        out.fill(&counters_of(&MODULES.get(m)?.counters()));
        Ok(())
    })
}

/// Two-call copy of `text` (not NUL-terminated): `*len` = its length; copied
/// when `cap >= *len`, else `BH_E_BUFFER_TOO_SMALL` (buf untouched, `*len` and
/// the last error detail tell the size required).
fn two_call(c: &Contract, text: &str, buf: *mut c_char, cap: usize, len: *mut usize) -> Result<()> {
    let len = c.out(len, "len")?;
    let buf = c.out_buf(buf.cast(), cap, "buf")?;
    let n = text.len();
    if n > buf.cap() {
        len.write(n);
        return Err(Error::BufferTooSmall { required: n });
    }
    buf.fill(text.as_bytes())?;
    len.write(n);
    Ok(())
}

/// The module's name (UTF-8, not NUL-terminated; two-call pattern: `*len` is
/// the length; copied when `cap >= *len`, else `BH_E_BUFFER_TOO_SMALL`).
///
/// # Safety
/// `buf` must be NULL (with `cap` 0) or writable for `cap` bytes; `len` valid
/// for a write of `size_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_name(
    m: bh_module,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let module = MODULES.get(m)?;
        two_call(c, &module.info().name, buf, cap, len)
    })
}

/// The module's version string (two-call pattern, as `bh_module_name`).
///
/// # Safety
/// As `bh_module_name`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_version(
    m: bh_module,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let module = MODULES.get(m)?;
        two_call(c, &module.info().version, buf, cap, len)
    })
}

/// The absolute path of the file the module was loaded from (UTF-8, not
/// NUL-terminated; two-call pattern, as `bh_module_name`). It keeps answering
/// after `bh_module_close`, as the other descriptive queries do.
///
/// # Safety
/// As `bh_module_name`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_path(
    m: bh_module,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let module = MODULES.get(m)?;
        two_call(c, &module.info().path, buf, cap, len)
    })
}

/// Check that bindings generated from the WIT text `wit` (UTF-8, not
/// NUL-terminated; `bridgehost bindgen`, docs/TYPED.md) work against this
/// module: the core's one compatibility rule, which generated bindings call
/// when they open. `wit` that does not parse is `BH_E_INVALID_ARGUMENT`; a
/// module without a typed interface, or with an incompatible one, is
/// `BH_E_ABI_MISMATCH` naming the first difference; a retired handle is
/// `BH_E_CLOSED`. The message is in the last error.
///
/// # Safety
/// `wit` must be readable for `wit_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn bh_module_check_binding(
    m: bh_module,
    wit: *const c_char,
    wit_len: usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let wit = c.utf8(wit, wit_len, "wit")?;
        MODULES.get(m)?.check_binding(wit)
    })
}

/// The WIT text of the module's typed interface, as embedded (two-call
/// pattern, as `bh_module_name`); a bytes-only module has none:
/// `BH_E_NOT_FOUND`.
///
/// # Safety
/// As `bh_module_name`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_interface(
    m: bh_module,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let module = MODULES.get(m)?;
        let iface = module.interface().ok_or_else(|| {
            Error::NotFound(format!(
                "module {:?} has no typed interface (a bytes-only module)",
                module.info().name
            ))
        })?;
        two_call(c, iface.source(), buf, cap, len)
    })
}

/// The module's declared thread model (`BH_THREAD_SAFE`, `BH_THREAD_SERIALIZED`,
/// `BH_THREAD_SINGLE`).
///
/// # Safety
/// `out` must be valid for a write of `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_thread_model(m: bh_module, out: *mut u32) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        out.write(MODULES.get(m)?.info().thread_model.to_abi());
        Ok(())
    })
}

/// Number of methods (1..=1024).
///
/// # Safety
/// `out` must be valid for a write of `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_method_count(m: bh_module, out: *mut u32) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let n = MODULES.get(m)?.info().methods.len();
        out.write(u32::try_from(n).map_err(|_| Error::Internal(format!("{n} methods")))?);
        Ok(())
    })
}

/// Name (two-call pattern) and declared `BH_METHOD_*` flags of method `index`
/// (0-based). An index out of range is `BH_E_INVALID_ARGUMENT`. `*flags` is
/// written on success only.
///
/// # Safety
/// As `bh_module_name`; `flags` valid for a write of `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_module_method_name(
    m: bh_module,
    index: u32,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    flags: *mut u32,
) -> bh_status {
    ffi_boundary!(|c| {
        let flags = c.out(flags, "flags")?;
        let module = MODULES.get(m)?;
        let methods = &module.info().methods;
        let method = methods.get(index as usize).ok_or_else(|| {
            invalid(format!(
                "method index {index} out of range: module {:?} has {} methods",
                module.info().name,
                methods.len()
            ))
        })?;
        two_call(c, &method.name, buf, cap, len)?;
        flags.write(method.flags);
        Ok(())
    })
}

/// Resolve a method by name (UTF-8, not NUL-terminated), once: calls through
/// the returned handle pay no string lookup. Unknown name: `BH_E_NOT_FOUND`.
///
/// # Safety
/// `name` must be readable for `name_len` bytes; `out` valid for a write of
/// `bh_method`.
#[no_mangle]
pub unsafe extern "C" fn bh_method_resolve(
    m: bh_module,
    name: *const c_char,
    name_len: usize,
    out: *mut bh_method,
) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let name = c.utf8(name, name_len, "name")?;
        let method = MODULES.get(m)?.method(name)?;
        out.write(METHODS.insert(Arc::new(method)));
        Ok(())
    })
}

/// Retire a method handle.
#[no_mangle]
pub extern "C" fn bh_method_free(f: bh_method) -> bh_status {
    ffi_boundary!({
        METHODS.remove(f)?;
        Ok(())
    })
}

/// The method's scalar signature (docs/TYPED.md, "Direct calls"), e.g.
/// `(u32, u32) -> u32` or `(u32)` without a result: the methods
/// `bh_call_scalar` takes. Empty (`*len` 0) when the method has none.
/// Two-call pattern, as `bh_module_name`.
///
/// # Safety
/// As `bh_module_name`.
#[no_mangle]
pub unsafe extern "C" fn bh_method_scalar_signature(
    f: bh_method,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let method = METHODS.get(f)?;
        let text = method
            .scalar_signature()
            .map(ToString::to_string)
            .unwrap_or_default();
        two_call(c, &text, buf, cap, len)
    })
}

/// Effective flags of a method: `BH_METHOD_NONBLOCKING` only when the module
/// declared it and runs in-process (an isolated call always blocks on IPC).
///
/// # Safety
/// `out` must be valid for a write of `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_method_flags(f: bh_method, out: *mut u32) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let method = METHODS.get(f)?;
        let flags = if method.is_nonblocking() {
            method.info().flags
        } else {
            method.info().flags & !abi::METHOD_NONBLOCKING
        };
        out.write(flags);
        Ok(())
    })
}

/// Wait until every event emitted so far has been delivered: when this
/// returns `BH_OK`, every callback it was for has returned. `timeout_ms`:
/// the longest wait, 0 (what was delivered already, without waiting) up to
/// one year, or `UINT64_MAX` for no limit; any other value is
/// `BH_E_INVALID_ARGUMENT` by the core's one rule for the flush timeout (see
/// `bh_wait_check`: "flush timeout must be at most one year, got
/// 31536000001000000 ns"). `BH_E_TIMEOUT` when it
/// passes first, `BH_E_CLOSED` when the module or host closed (undelivered
/// events were discarded), `BH_E_INVALID_ARGUMENT` from inside an event
/// callback (it would wait for itself).
#[no_mangle]
pub extern "C" fn bh_module_flush(m: bh_module, timeout_ms: u64) -> bh_status {
    ffi_boundary!({
        let module = MODULES.get(m)?;
        // Translated only: the core judges the value (Duration::MAX is its "no limit").
        let limit = if timeout_ms == u64::MAX {
            Duration::MAX
        } else {
            Duration::from_millis(timeout_ms)
        };
        module.flush(limit)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::cpu_limit_ms;
    use std::time::Duration;

    #[test]
    fn no_cpu_limit_reads_back_as_uint64_max() {
        assert_eq!(cpu_limit_ms(None), u64::MAX);
        assert_eq!(cpu_limit_ms(Some(Duration::from_secs(3600))), 3_600_000);
        assert_eq!(cpu_limit_ms(Some(Duration::MAX)), u64::MAX - 1);
    }
}
