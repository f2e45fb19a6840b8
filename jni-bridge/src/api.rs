//! Every native method of `io.bridgehost.Native` except the two hot calls
//! ([`crate::hot`]): generic entry (`jni::native_method!` → `with_env` →
//! [`ThrowTyped`]), so each is type-checked against its Java descriptor at
//! compile time, runs behind a panic boundary, and throws typed exceptions.
#![forbid(unsafe_code)]

use crate::error::{invalid, BResult, BridgeError, ThrowTyped};
use crate::hot::{self, range, with_output};
use crate::jvm::RawEnv;
use crate::refs::{self, CountedGlobal};
use crate::registry::{
    self, to_java, HOSTS, METHODS, MODULES, SHARED_BUFFERS, SUBSCRIPTIONS, TASKS,
};
use crate::{events, logging, submit};
use bridgehost::isolation::Supervision;
use bridgehost::options::{Numeric, Span};
use bridgehost::{ErrorKind, HostOptions, Isolation, ModuleOptions};
use jni::objects::{JByteArray, JByteBuffer, JClass, JLongArray, JObject, JObjectArray, JString};
use jni::refs::Cast;
use jni::sys::{jboolean, jint, jlong};
use jni::{native_method, Env, NativeMethod};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

jni::bind_java_type! { pub(crate) JNativeFuture => io.bridgehost.NativeFuture }
jni::bind_java_type! { pub(crate) JEventSink => io.bridgehost.EventSink }

/// The table `JNI_OnLoad` registers on `io.bridgehost.Native`.
pub(crate) const NATIVES: &[NativeMethod<'static>] = &[
    native_method! { static fn host_create(module_dirs: java.lang.String[], submit_threads: jint, submit_queue_capacity: jint, event_queue_capacity: jint, thread_name: JString, event_queue_bytes: jlong) -> jlong, error_policy = ThrowTyped },
    native_method! { static fn host_close(host: jlong), error_policy = ThrowTyped },
    native_method! { static fn host_counters(host: jlong) -> jlong[], error_policy = ThrowTyped },
    native_method! { static fn host_add_module_dir(host: jlong, dir: JString), error_policy = ThrowTyped },
    native_method! { static fn module_open(host: jlong, spec: JString, isolation: jint, workers: jint, has_call_timeout: jboolean, call_timeout_seconds: jlong, call_timeout_nano: jint, has_memory_limit: jboolean, memory_limit: jlong, max_input: jlong, max_output: jlong, max_event: jlong, config: jbyte[], worker_path: JString, validate_in_worker: jboolean, supervision: jlong[]) -> jlong, error_policy = ThrowTyped },
    native_method! { static fn host_inspect(host: jlong, spec: JString, has_deadline: jboolean, deadline_seconds: jlong, deadline_nano: jint, in_process: jboolean) -> jbyte[], error_policy = ThrowTyped },
    native_method! { static fn module_close(module: jlong), error_policy = ThrowTyped },
    native_method! { static fn module_info(module: jlong) -> java.lang.String[], error_policy = ThrowTyped },
    native_method! { static fn module_methods(module: jlong) -> java.lang.String[], error_policy = ThrowTyped },
    native_method! { static fn module_interface(module: jlong) -> JString, error_policy = ThrowTyped },
    native_method! { static fn module_counters(module: jlong) -> jlong[], error_policy = ThrowTyped },
    native_method! { static fn method_resolve(module: jlong, name: JString) -> jlong, error_policy = ThrowTyped },
    native_method! { static fn method_flags(method: jlong) -> jint, error_policy = ThrowTyped },
    native_method! { static fn method_close(method: jlong), error_policy = ThrowTyped },
    native_method! { static fn method_scalar_signature(method: jlong) -> JString, error_policy = ThrowTyped },
    native_method! { static fn call_into(method: jlong, input: JObject, input_offset: jint, input_length: jint, output: JObject, output_offset: jint, output_length: jint) -> jint, error_policy = ThrowTyped },
    native_method! { static fn submit(method: jlong, input: jbyte[], offset: jint, length: jint, future: JNativeFuture) -> jlong, error_policy = ThrowTyped, type_map = { JNativeFuture => io.bridgehost.NativeFuture } },
    native_method! { static fn submit_direct(method: jlong, input: java.nio.ByteBuffer, position: jint, length: jint, future: JNativeFuture) -> jlong, error_policy = ThrowTyped, type_map = { JNativeFuture => io.bridgehost.NativeFuture } },
    native_method! { static fn cancel(task: jlong) -> jboolean, error_policy = ThrowTyped },
    native_method! { static fn subscribe(module: jlong, topic: JString, sink: JEventSink, want_topic: jboolean) -> jlong, error_policy = ThrowTyped, type_map = { JEventSink => io.bridgehost.EventSink } },
    native_method! { static fn subscription_close(subscription: jlong), error_policy = ThrowTyped },
    native_method! { static fn subscription_active(subscription: jlong) -> jboolean, error_policy = ThrowTyped },
    native_method! { static fn diagnostics() -> jlong[], error_policy = ThrowTyped },
    native_method! { static fn error_kind_names() -> java.lang.String[], error_policy = ThrowTyped },
    native_method! { static fn counter_names() -> java.lang.String[], error_policy = ThrowTyped },
    native_method! { static fn version() -> JString, error_policy = ThrowTyped },
    native_method! { static fn set_log_level(level: jint), error_policy = ThrowTyped },
    native_method! { static fn module_flush(module: jlong, has_timeout: jboolean, timeout_seconds: jlong, timeout_nano: jint), error_policy = ThrowTyped },
    native_method! { static fn option_defaults() -> jlong[], error_policy = ThrowTyped },
    native_method! { static fn default_thread_name() -> JString, error_policy = ThrowTyped },
    native_method! { static fn module_check_binding(module: jlong, binding: JString), error_policy = ThrowTyped },
];

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn java_string(env: &mut Env<'_>, s: &JString<'_>, what: &str) -> BResult<String> {
    if s.is_null() {
        return Err(invalid(format!("{what} is null")));
    }
    Ok(s.try_to_string(env)?)
}

fn optional_string(env: &mut Env<'_>, s: &JString<'_>) -> BResult<Option<String>> {
    if s.is_null() {
        Ok(None)
    } else {
        Ok(Some(s.try_to_string(env)?))
    }
}

fn string_array<'l>(env: &mut Env<'l>, items: &[String]) -> BResult<JObjectArray<'l, JString<'l>>> {
    let array = JObjectArray::<JString>::new(env, items.len(), JString::null())?;
    for (i, s) in items.iter().enumerate() {
        let js = env.new_string(s)?;
        array.set_element(env, i, &js)?;
        env.delete_local_ref(js);
    }
    Ok(array)
}

fn long_array<'l>(env: &mut Env<'l>, values: &[i64]) -> BResult<JLongArray<'l>> {
    let array = JLongArray::new(env, values.len())?;
    array.set_region(env, 0, values)?;
    Ok(array)
}

fn counters_array<'l>(
    env: &mut Env<'l>,
    c: bridgehost::CounterSnapshot,
) -> BResult<JLongArray<'l>> {
    let values: Vec<i64> = c
        .pairs()
        .iter()
        .map(|(_, v)| i64::try_from(*v).unwrap_or(i64::MAX))
        .collect();
    long_array(env, &values)
}

/// A Java `int`/`long` host option: 0 means the default (HostOptions' documented "unset");
/// any other value is checked by the core's one rule for that option.
/// A host option as Java passed it: `HostOptions` always carries a value (its
/// `defaults()` are the core's), so a 0 is the caller's and is judged by the
/// core's rule like any other value, as in Python and C# (refused).
fn host_option(value: i64, opt: Numeric) -> BResult<usize> {
    Ok(opt.check_usize(i128::from(value))?)
}

// ---------------------------------------------------------------------------
// Host
// ---------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)] // one Java native method, one parameter per option
fn host_create<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module_dirs: JObjectArray<'l, JString<'l>>,
    submit_threads: jint,
    submit_queue_capacity: jint,
    event_queue_capacity: jint,
    thread_name: JString<'l>,
    event_queue_bytes: jlong,
) -> BResult<jlong> {
    let defaults = HostOptions::default();
    let mut dirs = Vec::new();
    if !module_dirs.is_null() {
        let n = module_dirs.len(env)?;
        for i in 0..n {
            let d = module_dirs.get_element(env, i)?;
            dirs.push(PathBuf::from(java_string(env, &d, "module directory")?));
            env.delete_local_ref(d);
        }
    }
    let options = HostOptions {
        module_dirs: dirs,
        submit_threads: host_option(submit_threads.into(), Numeric::SubmitThreads)?,
        submit_queue_capacity: host_option(
            submit_queue_capacity.into(),
            Numeric::SubmitQueueCapacity,
        )?,
        event_queue_capacity: host_option(
            event_queue_capacity.into(),
            Numeric::EventQueueCapacity,
        )?,
        thread_name: optional_string(env, &thread_name)?.unwrap_or(defaults.thread_name),
        event_queue_bytes: host_option(event_queue_bytes, Numeric::EventQueueBytes)?,
    };
    let host = bridgehost::Host::with_options(options)?;
    Ok(to_java(HOSTS.insert(Arc::new(host))))
}

fn host_close<'l>(_env: &mut Env<'l>, _class: JClass<'l>, host: jlong) -> BResult<()> {
    // A re-entrant close is refused before the handle is retired.
    if let Ok(h) = HOSTS.get(registry::from_java(host)) {
        h.try_close()?;
    }
    if let Some(h) = registry::remove(&HOSTS, host) {
        h.close();
    }
    Ok(())
}

fn host_counters<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    host: jlong,
) -> BResult<JLongArray<'l>> {
    let h = registry::host(host)?;
    counters_array(env, h.counters())
}

fn host_add_module_dir<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    host: jlong,
    dir: JString<'l>,
) -> BResult<()> {
    let dir = java_string(env, &dir, "module directory")?;
    registry::host(host)?.add_module_dir(dir)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)] // one Java native method, one parameter per option
fn module_open<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    host: jlong,
    spec: JString<'l>,
    isolation: jint,
    workers: jint,
    has_call_timeout: jboolean,
    call_timeout_seconds: jlong,
    call_timeout_nano: jint,
    has_memory_limit: jboolean,
    memory_limit: jlong,
    max_input: jlong,
    max_output: jlong,
    max_event: jlong,
    config: JByteArray<'l>,
    worker_path: JString<'l>,
    validate_in_worker: jboolean,
    supervision: JLongArray<'l>,
) -> BResult<jlong> {
    let h = registry::host(host)?;
    let spec = java_string(env, &spec, "module name or path")?;
    // Every field is named: a new core option does not go unnoticed here.
    let options = ModuleOptions {
        isolation: match isolation {
            0 => Isolation::InProcess,
            1 => Isolation::Process,
            v => return Err(invalid(format!("unknown isolation mode {v}"))),
        },
        // Every value as the caller set it; the core's one rule per option decides.
        workers: Numeric::Workers.check_usize(workers.into())?,
        call_timeout: if has_call_timeout {
            Some(Span::CallTimeout.from_nanos(duration_nanos(
                call_timeout_seconds,
                call_timeout_nano.into(),
            )?)?)
        } else {
            None
        },
        memory_limit: if has_memory_limit {
            Some(Numeric::MemoryLimit.check(memory_limit.into())?)
        } else {
            None
        },
        max_input: Numeric::MaxInput.check_usize(max_input.into())?,
        max_output: Numeric::MaxOutput.check_usize(max_output.into())?,
        max_event: Numeric::MaxEvent.check_usize(max_event.into())?,
        config: if config.is_null() {
            Vec::new()
        } else {
            env.convert_byte_array(&config)?
        },
        worker_path: optional_string(env, &worker_path)?.map(PathBuf::from),
        validate_in_worker,
        supervision: supervision_settings(env, &supervision)?,
    };
    let module = h.open(&spec, options)?;
    Ok(to_java(MODULES.insert(Arc::new(module))))
}

/// A Java `Duration` as it crosses (`getSeconds()`, `getNano()`), in nanoseconds, exact: any
/// `Duration` fits an `i128` of nanoseconds, so the core's `Span` rule judges (and its message
/// shows) the value the caller set, however large, as for Python's and C's values.
fn duration_nanos(seconds: i64, nano: i64) -> BResult<i128> {
    if !(0..1_000_000_000).contains(&nano) {
        return Err(invalid(format!(
            "a duration's nano-of-second must be in 0..1000000000, got {nano}"
        )));
    }
    Ok(i128::from(seconds) * 1_000_000_000 + i128::from(nano))
}

/// `ModuleOptions.supervision` as Java passes it (`ModuleOptions.supervisionSettings()`): a
/// `long[15]`, a mask of the settings the caller set (bit `i` for entry `i + 1`; bit 9, with no
/// entry of its own: no CPU limit, `ModuleOptions.withoutCpuLimit()`, `cpu_limit: None`), then
/// spare_workers, breaker_failures, breaker_window, breaker_cooldown, startup_timeout,
/// close_grace, cpu_limit, open_files, sandbox (0 or 1); a duration (entries 3 to 7) as its whole
/// seconds there and its nano-of-second at entry `i + 7` (10 to 14). A setting not set keeps
/// `Supervision::default()`'s value; a set one goes through the core's one rule for it
/// (`Numeric`, `Span`), which decides the range and the message.
fn supervision_settings(env: &mut Env<'_>, settings: &JLongArray<'_>) -> BResult<Supervision> {
    const LEN: usize = 15;
    const SETTINGS: usize = 9;
    if settings.is_null() {
        return Err(invalid("supervision settings are null"));
    }
    let n = settings.len(env)?;
    if n != LEN {
        return Err(invalid(format!(
            "supervision settings: expected {LEN} values, got {n}"
        )));
    }
    let mut v = [0i64; LEN];
    settings.get_region(env, 0, &mut v)?;
    let mask = v[0];
    // Bit 9: no CPU limit (entry 7's bit, 6, is then clear).
    const NO_CPU_LIMIT: i64 = 1 << SETTINGS;
    if mask & !(((1 << SETTINGS) - 1) | NO_CPU_LIMIT) != 0 {
        return Err(invalid(format!(
            "supervision settings: unknown mask bits {mask:#x}"
        )));
    }
    if mask & NO_CPU_LIMIT != 0 && mask & (1 << 6) != 0 {
        return Err(invalid(
            "supervision settings: both a CPU limit and no CPU limit",
        ));
    }
    // The value of entry `i` (1-based) when its bit is set.
    let set = |i: usize| (mask & (1 << (i - 1)) != 0).then(|| i128::from(v[i]));
    // The exact nanoseconds of duration entry `i` (3 to 7) when its bit is set.
    let span = |i: usize| -> BResult<Option<i128>> {
        match set(i) {
            Some(_) => Ok(Some(duration_nanos(v[i], v[i + 7])?)),
            None => Ok(None),
        }
    };
    let mut s = Supervision::default();
    if let Some(x) = set(1) {
        s.spare_workers = Numeric::SpareWorkers.check_usize(x)?;
    }
    if let Some(x) = set(2) {
        let n = Numeric::BreakerFailures.check(x)?;
        s.breaker_failures = u32::try_from(n).map_err(|_| Numeric::BreakerFailures.refuse(x))?;
    }
    if let Some(x) = span(3)? {
        s.breaker_window = Span::BreakerWindow.from_nanos(x)?;
    }
    if let Some(x) = span(4)? {
        s.breaker_cooldown = Span::BreakerCooldown.from_nanos(x)?;
    }
    if let Some(x) = span(5)? {
        s.startup_timeout = Span::StartupTimeout.from_nanos(x)?;
    }
    if let Some(x) = span(6)? {
        s.close_grace = Span::CloseGrace.from_nanos(x)?;
    }
    if let Some(x) = span(7)? {
        s.cpu_limit = Some(Span::CpuLimit.from_nanos(x)?);
    }
    if mask & NO_CPU_LIMIT != 0 {
        s.cpu_limit = None;
    }
    if let Some(x) = set(8) {
        s.open_files = Numeric::OpenFiles.check(x)?;
    }
    if let Some(x) = set(9) {
        s.sandbox = match x {
            0 => false,
            1 => true,
            _ => return Err(invalid(format!("sandbox must be 0 or 1, got {x}"))),
        };
    }
    Ok(s)
}

/// `Host.inspect`: the module's description (`bridgehost::encode_info`,
/// decoded by `io.bridgehost.ModuleInfo`), from a worker (no deadline: the
/// default) or, `in_process`, from this process. The deadline crosses exact
/// (a `Duration`'s seconds and nano-of-second) and the core's one rule for
/// it (`Span::InspectDeadline`) judges it.
#[allow(clippy::too_many_arguments)] // one Java native method
fn host_inspect<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    host: jlong,
    spec: JString<'l>,
    has_deadline: jboolean,
    deadline_seconds: jlong,
    deadline_nano: jint,
    in_process: jboolean,
) -> BResult<JByteArray<'l>> {
    let h = registry::host(host)?;
    let spec = java_string(env, &spec, "module name or path")?;
    let info = if in_process {
        if has_deadline {
            return Err(invalid(
                "an in-process inspect cannot be interrupted: it takes no deadline".to_string(),
            ));
        }
        h.inspect_in_process(&spec)?
    } else {
        let deadline = if has_deadline {
            let nanos = duration_nanos(deadline_seconds, deadline_nano.into())?;
            Some(Span::InspectDeadline.from_nanos(nanos)?)
        } else {
            None
        };
        h.inspect(&spec, deadline)?
    };
    Ok(env.byte_array_from_slice(&bridgehost::encode_info(&info))?)
}

fn module_close<'l>(_env: &mut Env<'l>, _class: JClass<'l>, module: jlong) -> BResult<()> {
    // A re-entrant close (from inside one of the module's own calls) is
    // refused before the handle is retired: the module stays usable.
    if let Ok(m) = MODULES.get(registry::from_java(module)) {
        m.try_close()?;
    }
    if let Some(m) = registry::remove(&MODULES, module) {
        m.close();
    }
    Ok(())
}

fn module_info<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
) -> BResult<JObjectArray<'l, JString<'l>>> {
    let m = registry::module(module)?;
    let info = m.info();
    string_array(
        env,
        &[
            info.name.clone(),
            info.version.clone(),
            info.path.clone(),
            info.thread_model.name().to_string(),
            m.options().isolation.name().to_string(),
        ],
    )
}

fn module_methods<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
) -> BResult<JObjectArray<'l, JString<'l>>> {
    let m = registry::module(module)?;
    let names: Vec<String> = m.info().methods.iter().map(|x| x.name.clone()).collect();
    string_array(env, &names)
}

/// The WIT text of the module's typed interface, as embedded; null for a
/// bytes-only module.
fn module_interface<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
) -> BResult<JString<'l>> {
    let m = registry::module(module)?;
    let Some(iface) = m.interface() else {
        return Ok(JString::null());
    };
    Ok(env.new_string(iface.source())?)
}

fn module_counters<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
) -> BResult<JLongArray<'l>> {
    let m = registry::module(module)?;
    counters_array(env, m.counters())
}

// ---------------------------------------------------------------------------
// Method
// ---------------------------------------------------------------------------

fn method_resolve<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
    name: JString<'l>,
) -> BResult<jlong> {
    let m = registry::module(module)?;
    let name = java_string(env, &name, "method name")?;
    let method = m.method(&name)?;
    Ok(to_java(METHODS.insert(Arc::new(method))))
}

fn method_flags<'l>(_env: &mut Env<'l>, _class: JClass<'l>, method: jlong) -> BResult<jint> {
    let m = registry::method(method)?;
    Ok(if m.is_nonblocking() { 1 } else { 0 })
}

/// `Method.scalarSignature()`: `"(u32, u32) -> u32"`, `"(u32)"` without a
/// result, or null when the method has no scalar signature (docs/TYPED.md,
/// "Direct calls").
fn method_scalar_signature<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    method: jlong,
) -> BResult<JString<'l>> {
    let m = registry::method(method)?;
    let Some(sig) = m.scalar_signature() else {
        return Ok(JString::null());
    };
    Ok(env.new_string(sig.to_string())?)
}

fn method_close<'l>(_env: &mut Env<'l>, _class: JClass<'l>, method: jlong) -> BResult<()> {
    registry::remove(&METHODS, method);
    Ok(())
}

/// Either side of `call_into`: a `byte[]` window or a direct-buffer window
/// (a checked cast of the `Object` Java passed).
enum Window<'a, 'l> {
    Array(Cast<'a, 'l, JByteArray<'static>>, jint, usize),
    Direct(Cast<'a, 'l, JByteBuffer<'static>>, usize, usize),
}

fn window<'a, 'o>(
    env: &mut Env<'_>,
    obj: &'a JObject<'o>,
    offset: jint,
    length: jint,
    what: &str,
) -> BResult<Window<'a, 'o>> {
    if obj.is_null() {
        return Err(invalid(format!("{what} is null")));
    }
    let (offset, length) = range(offset, length)?;
    if let Ok(a) = env.as_cast::<JByteArray>(obj) {
        Ok(Window::Array(a, offset, length))
    } else if let Ok(b) = env.as_cast::<JByteBuffer>(obj) {
        Ok(Window::Direct(b, offset as usize, length))
    } else {
        Err(invalid(format!(
            "{what} must be a byte[] or a direct ByteBuffer"
        )))
    }
}

/// `int callInto(long method, Object input, int inOff, int inLen, Object output, int outOff, int outLen)`:
/// input and output are each a `byte[]` or a direct `ByteBuffer`. Returns
/// the output length; `BufferTooSmallException` (with the size required) if
/// the output window is too small — the method has run, its output is lost.
#[allow(clippy::too_many_arguments)] // one Java native method
fn call_into<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    method: jlong,
    input: JObject<'l>,
    input_offset: jint,
    input_length: jint,
    output: JObject<'l>,
    output_offset: jint,
    output_length: jint,
) -> BResult<jint> {
    // The method is borrowed for the call without an `Arc` clone (HandleTable::with).
    let n = registry::with_method(method, |m| {
        let input = window(env, &input, input_offset, input_length, "input")?;
        if let Window::Array(a, offset, len) = &input {
            hot::check_array_input(RawEnv::of(env), m, a, *offset, *len)?; // before the copy
        }
        let output = window(env, &output, output_offset, output_length, "output")?;
        let raw = RawEnv::of(env);
        let n = match (input, output) {
            (Window::Direct(ib, is, il), Window::Direct(ob, os, ol)) => {
                raw.with_direct_in_out((&ib, is, il), (&ob, os, ol), |i, o| {
                    Ok(m.call_to_slice(i, o)?)
                })?
            }
            (Window::Array(ia, is, il), Window::Direct(ob, os, ol)) => {
                raw.with_array_copy(&ia, is, il, |i| {
                    raw.with_direct_mut(&ob, os, ol, |o| Ok(m.call_to_slice(i, o)?))
                })?
            }
            (input, Window::Array(oa, os, ol)) => {
                let call = |i: &[u8]| {
                    with_output(|out| {
                        m.call_with(i, out)?;
                        if out.len() > ol {
                            return Err(BridgeError::from(bridgehost::Error::BufferTooSmall {
                                required: out.len(),
                            }));
                        }
                        raw.set_byte_array_region(&oa, os, out)?;
                        Ok(out.len())
                    })
                };
                match input {
                    Window::Array(ia, is, il) => raw.with_array_copy(&ia, is, il, call)?,
                    Window::Direct(ib, is, il) => raw.with_direct(&ib, is, il, call)?,
                }
            }
        };
        Ok(n)
    })?;
    jint::try_from(n).map_err(|_| invalid("output length exceeds int"))
}

// ---------------------------------------------------------------------------
// submit / cancel
// ---------------------------------------------------------------------------

fn submit<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    method: jlong,
    input: JByteArray<'l>,
    offset: jint,
    length: jint,
    future: JNativeFuture<'l>,
) -> BResult<jlong> {
    let m = registry::method(method)?;
    let (offset, length) = range(offset, length)?;
    hot::check_array_input(RawEnv::of(env), &m, &input, offset, length)?; // before the copy
    let bytes = RawEnv::of(env).array_to_vec(&input, offset, length)?;
    submit::start(env, &m, bytes, &future)
}

fn submit_direct<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    method: jlong,
    input: JByteBuffer<'l>,
    position: jint,
    length: jint,
    future: JNativeFuture<'l>,
) -> BResult<jlong> {
    let m = registry::method(method)?;
    let (position, length) = range(position, length)?;
    hot::check_input_len(&m, length)?; // before the copy
    let bytes =
        RawEnv::of(env).with_direct(&input, position as usize, length, |b| Ok(b.to_vec()))?;
    submit::start(env, &m, bytes, &future)
}

fn cancel<'l>(_env: &mut Env<'l>, _class: JClass<'l>, task: jlong) -> BResult<jboolean> {
    Ok(registry::task(task).is_some_and(|t| t.cancel()))
}

// ---------------------------------------------------------------------------
// subscribe
// ---------------------------------------------------------------------------

fn subscribe<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
    topic: JString<'l>,
    sink: JEventSink<'l>,
    want_topic: jboolean,
) -> BResult<jlong> {
    let m = registry::module(module)?;
    let topic = java_string(env, &topic, "topic")?;
    let sink = CountedGlobal::new(env, &sink)?;
    let counters = Arc::clone(m.counters_ref());
    let subscription = m.subscribe(&topic, events::callback(sink, want_topic, counters))?;
    Ok(to_java(SUBSCRIPTIONS.insert(Arc::new(subscription))))
}

fn subscription_close<'l>(
    _env: &mut Env<'l>,
    _class: JClass<'l>,
    subscription: jlong,
) -> BResult<()> {
    if let Some(s) = registry::remove(&SUBSCRIPTIONS, subscription) {
        // Returns once no delivery runs (unless called from inside one) and
        // the listener's global reference is deleted.
        s.unsubscribe();
    }
    Ok(())
}

fn subscription_active<'l>(
    _env: &mut Env<'l>,
    _class: JClass<'l>,
    subscription: jlong,
) -> BResult<jboolean> {
    Ok(registry::subscription(subscription).is_ok_and(|s| s.is_active()))
}

// ---------------------------------------------------------------------------
// diagnostics and constants
// ---------------------------------------------------------------------------

/// `[live global refs, attached core threads, hosts, modules, methods,
/// subscriptions, tasks, dropped log records, shared buffers]`.
fn diagnostics<'l>(env: &mut Env<'l>, _class: JClass<'l>) -> BResult<JLongArray<'l>> {
    let values = [
        refs::live(),
        crate::jvm::attached_threads(),
        HOSTS.len() as i64,
        MODULES.len() as i64,
        METHODS.len() as i64,
        SUBSCRIPTIONS.len() as i64,
        TASKS.len() as i64,
        i64::try_from(logging::dropped()).unwrap_or(i64::MAX),
        SHARED_BUFFERS.len() as i64,
    ];
    long_array(env, &values)
}

fn error_kind_names<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
) -> BResult<JObjectArray<'l, JString<'l>>> {
    let names: Vec<String> = ErrorKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect();
    string_array(env, &names)
}

fn counter_names<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
) -> BResult<JObjectArray<'l, JString<'l>>> {
    let names: Vec<String> = bridgehost::CounterSnapshot::default()
        .pairs()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    string_array(env, &names)
}

/// The core's default options, in the order `HostOptions.defaults()` /
/// `ModuleOptions.defaults()` read them: submitThreads, submitQueueCapacity,
/// eventQueueCapacity, workers, callTimeout ns (-1: none), memoryLimit (-1:
/// none), maxInput, maxOutput, maxEvent, eventQueueBytes, then the supervision settings in
/// the order of `supervision_settings`: spareWorkers, breakerFailures, breakerWindow ns,
/// breakerCooldown ns, startupTimeout ns, closeGrace ns, cpuLimit ns (-1: unlimited),
/// openFiles, sandbox (0 or 1).
fn option_defaults<'l>(env: &mut Env<'l>, _class: JClass<'l>) -> BResult<JLongArray<'l>> {
    let h = HostOptions::default();
    let m = ModuleOptions::default();
    let s = &m.supervision;
    let long = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    let values = [
        long(h.submit_threads),
        long(h.submit_queue_capacity),
        long(h.event_queue_capacity),
        long(m.workers),
        m.call_timeout.map_or(-1, nanos),
        m.memory_limit
            .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        long(m.max_input),
        long(m.max_output),
        long(m.max_event),
        long(h.event_queue_bytes),
        long(s.spare_workers),
        i64::from(s.breaker_failures),
        nanos(s.breaker_window),
        nanos(s.breaker_cooldown),
        nanos(s.startup_timeout),
        nanos(s.close_grace),
        s.cpu_limit.map_or(-1, nanos),
        i64::try_from(s.open_files).unwrap_or(i64::MAX),
        i64::from(s.sandbox),
    ];
    long_array(env, &values)
}

fn default_thread_name<'l>(env: &mut Env<'l>, _class: JClass<'l>) -> BResult<JString<'l>> {
    Ok(env.new_string(HostOptions::default().thread_name)?)
}

fn version<'l>(env: &mut Env<'l>, _class: JClass<'l>) -> BResult<JString<'l>> {
    Ok(env.new_string(bridgehost::VERSION)?)
}

fn set_log_level<'l>(_env: &mut Env<'l>, _class: JClass<'l>, level: jint) -> BResult<()> {
    logging::set_level(level)
}

/// `Module.flush`: wait until every event emitted so far was delivered.
/// `!has_timeout`: no limit. The timeout crosses exact (a `Duration`'s
/// seconds and nano-of-second) and the core's one rule for it
/// (`Span::FlushTimeout`) judges it.
fn module_flush<'l>(
    _env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
    has_timeout: jboolean,
    timeout_seconds: jlong,
    timeout_nano: jint,
) -> BResult<()> {
    let limit = if has_timeout {
        let nanos = duration_nanos(timeout_seconds, timeout_nano.into())?;
        Span::FlushTimeout.from_nanos(nanos)?
    } else {
        Duration::MAX
    };
    let m = registry::module(module)?;
    Ok(m.flush(limit)?)
}

fn module_check_binding<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    module: jlong,
    binding: JString<'l>,
) -> BResult<()> {
    let binding = java_string(env, &binding, "binding")?;
    let m = registry::module(module)?;
    Ok(m.check_binding(&binding)?)
}
