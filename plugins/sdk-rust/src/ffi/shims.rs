//! The `extern "C"` shims `export_module!` installs in the descriptor:
//! `init`, `call` and `destroy`, each running the module's code under
//! `catch_unwind`.

use super::borrow_bytes;
use super::host::{report, CallSink};
use crate::__private::Methods;
use crate::{Host, LogLevel, Module, Output, HOST_CONTRACT_CODE, PANIC_CODE};
use bridgehost_module_abi::{self as abi, BhCall, HostApi};
use std::ffi::c_void;
use std::marker::PhantomData;

/// The value behind an instance pointer.
struct Instance<M> {
    host: Host,
    module: M,
}

/// A caught panic, through the host's log: its message at error level, its location at debug.
fn log_panic(host: &Host, caught: &crate::panic::Caught) {
    host.log(LogLevel::Error, &caught.message);
    if let Some(at) = &caught.location {
        host.log(LogLevel::Debug, &format!("{} (at {at})", caught.message));
    }
}

/// `init` shim installed by `export_module!`.
///
/// # Safety
/// Called by the host per the ABI: `api` points to a `bh_host_api` valid
/// until `destroy` returns, `config` to `config_len` readable bytes (or is
/// null with length 0), `instance_out` is writable, `err` is the live init
/// error context.
pub unsafe extern "C" fn init_shim<M: Methods>(
    api: *const HostApi,
    config: *const u8,
    config_len: usize,
    instance_out: *mut *mut c_void,
    err: *mut BhCall,
) -> i32 {
    if api.is_null() {
        return HOST_CONTRACT_CODE;
    }
    // Read only the two header fields before trusting the table's size.
    // SAFETY: `api` is non-null and, per the ABI, points to a bh_host_api,
    // which starts with these two u32 fields.
    let (size, version) = unsafe {
        (
            std::ptr::addr_of!((*api).struct_size).read(),
            std::ptr::addr_of!((*api).abi_version).read(),
        )
    };
    if (size as usize) < std::mem::size_of::<HostApi>() || version != abi::ABI_VERSION {
        // The table is too small to contain `fail`: nothing to report through.
        return HOST_CONTRACT_CODE;
    }
    // SAFETY: the host declared a table at least as large as ours and of our
    // version, so every field is present and initialised.
    let api = unsafe { *api };
    if instance_out.is_null() {
        // SAFETY: `err` is the init context the host passed; `api.fail` is the host's.
        return unsafe { report(api.fail, err, HOST_CONTRACT_CODE, "instance_out is null") };
    }
    // SAFETY: the host promises config_len readable bytes at config for the
    // duration of init; the borrow does not escape this call (M::init gets a
    // shorter borrow and must copy what it keeps, as its signature forces).
    let Some(config) = (unsafe { borrow_bytes(config, config_len) }) else {
        // SAFETY: as above.
        return unsafe {
            report(
                api.fail,
                err,
                HOST_CONTRACT_CODE,
                "config is null with a non-zero length",
            )
        };
    };
    let host = Host { api };
    let result = crate::panic::catch("panic", || M::init(host.clone(), config));
    match result {
        Ok(Ok(module)) => {
            let boxed = Box::new(Instance { host, module });
            // SAFETY: instance_out is non-null (checked) and writable per the ABI.
            unsafe { instance_out.write(Box::into_raw(boxed).cast::<c_void>()) };
            0
        }
        // SAFETY: `err` is the live init context and `api.fail` the host's.
        Ok(Err(e)) => unsafe { report(api.fail, err, e.code, &e.message) },
        Err(caught) => {
            // The message goes to the caller (the error) and to the runtime's logging (the
            // host's log), never raw to stderr (crate::panic keeps the default hook quiet).
            log_panic(&host, &caught);
            // SAFETY: as above.
            unsafe { report(api.fail, err, PANIC_CODE, &caught.message) }
        }
    }
}

/// `call` shim installed by `export_module!`.
///
/// # Safety
/// Called by the host per the ABI: `instance` was produced by
/// `init_shim::<M>` and not yet destroyed; `input` points to `input_len`
/// readable bytes (or is null with length 0); `call` is the live context of
/// this call.
pub unsafe extern "C" fn call_shim<M: Methods>(
    instance: *mut c_void,
    method_index: u32,
    input: *const u8,
    input_len: usize,
    call: *mut BhCall,
) -> i32 {
    if instance.is_null() {
        return HOST_CONTRACT_CODE;
    }
    // SAFETY: a non-null instance pointer is a live Box<Instance<M>> leaked by
    // init_shim::<M> (the descriptor pairs the shims of one M); destroy has
    // not run (ABI). Shared access only: M is Sync, and the host serialises
    // calls for modules that declare so.
    let inst = unsafe { &*instance.cast::<Instance<M>>() };
    let api = &inst.host.api;
    // SAFETY: the host promises input_len readable bytes for the call.
    let Some(input) = (unsafe { borrow_bytes(input, input_len) }) else {
        // SAFETY: `call` is the live context and `api.fail` the host's.
        return unsafe {
            report(
                api.fail,
                call,
                HOST_CONTRACT_CODE,
                "input is null with a non-zero length",
            )
        };
    };
    let Some(&method) = M::TABLE.get(method_index as usize) else {
        let msg = format!("no method with index {method_index}");
        // SAFETY: as above.
        return unsafe { report(api.fail, call, HOST_CONTRACT_CODE, &msg) };
    };
    let mut out = Output {
        sink: CallSink {
            call,
            write: api.write,
            _call: PhantomData,
        },
        written: 0,
    };
    let result = crate::panic::catch("panic", || method(&inst.module, input, &mut out));
    match result {
        Ok(Ok(())) => 0,
        // SAFETY: `call` is the live context and `api.fail` the host's.
        Ok(Err(e)) => unsafe { report(api.fail, call, e.code, &e.message) },
        Err(caught) => {
            log_panic(&inst.host, &caught);
            let msg = caught.message;
            // SAFETY: as above.
            unsafe { report(api.fail, call, PANIC_CODE, &msg) }
        }
    }
}

/// The body of a direct entry's `extern "C"` shim (`export_module!` makes
/// one per method given a direct entry, calling this with it): the slots as
/// `&[u64; N]`, the module's function under `catch_unwind`, and an `Err` or a
/// panic reported through the host's `fail` on `call` exactly as
/// [`call_shim`] does. Returns 0 with `*result` written, or the error's code.
/// `_module` names the descriptor's module type, so that `f` must be an
/// entry of that type.
///
/// # Safety
/// Called by the host per the ABI (`bh_direct_fn`): `instance` was produced
/// by `init_shim::<M>` and not yet destroyed; `args` points to `N` readable
/// slots (it may be anything when `N` is 0); `result` to one writable slot;
/// `call` is the live context of this call.
#[inline]
pub unsafe fn direct_shim<M: Methods, const N: usize>(
    _module: PhantomData<M>,
    instance: *mut c_void,
    args: *const u64,
    result: *mut u64,
    call: *mut BhCall,
    f: crate::direct::DirectFn<M, N>,
) -> i32 {
    if instance.is_null() {
        return HOST_CONTRACT_CODE;
    }
    // SAFETY: as in call_shim: a live Box<Instance<M>> leaked by
    // init_shim::<M>, shared access only.
    let inst = unsafe { &*instance.cast::<Instance<M>>() };
    let api = &inst.host.api;
    if result.is_null() || (N > 0 && args.is_null()) {
        // SAFETY: `call` is the live context and `api.fail` the host's.
        return unsafe {
            report(
                api.fail,
                call,
                HOST_CONTRACT_CODE,
                "direct call: args or result is null",
            )
        };
    }
    let none = [0u64; N];
    let args: &[u64; N] = if N == 0 {
        &none
    } else {
        // SAFETY: non-null (checked); the host passes one u64 slot per
        // parameter, N of them, aligned and readable for the call.
        unsafe { &*args.cast::<[u64; N]>() }
    };
    let mut slot = 0u64;
    match crate::panic::catch("panic", || f(&inst.module, args, &mut slot)) {
        Ok(Ok(())) => {
            // SAFETY: non-null (checked) and writable per the ABI.
            unsafe { result.write(slot) };
            0
        }
        // SAFETY: `call` is the live context and `api.fail` the host's.
        Ok(Err(e)) => unsafe { report(api.fail, call, e.code, &e.message) },
        Err(caught) => {
            log_panic(&inst.host, &caught);
            let msg = caught.message;
            // SAFETY: as above.
            unsafe { report(api.fail, call, PANIC_CODE, &msg) }
        }
    }
}

/// `destroy` shim installed by `export_module!`: drops the module value
/// (its `Drop` joins the instance's threads). A panic in `Drop` is caught
/// and logged at error level.
///
/// # Safety
/// Called by the host exactly once per instance, after every call on it has
/// returned, with a pointer produced by `init_shim::<M>` (or null).
pub unsafe extern "C" fn destroy_shim<M: Module>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: the pointer is a Box<Instance<M>> leaked by init_shim::<M>; the
    // host destroys it once, with no call in flight, so we own it again.
    let boxed = unsafe { Box::from_raw(instance.cast::<Instance<M>>()) };
    let host = boxed.host.clone();
    if let Err(caught) = crate::panic::catch("panic in destroy", move || drop(boxed)) {
        // `emit`/`log` stay valid until destroy returns.
        log_panic(&host, &caught);
    }
}
