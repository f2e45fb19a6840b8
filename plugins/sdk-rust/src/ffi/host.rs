//! Calls through the host's function pointers: `fail` (module errors),
//! `emit`, `log`, and `write` bound to one call context ([`CallSink`]).

use bridgehost_module_abi::{BhCall, FailFn, HostApi, WriteFn};
use std::ffi::c_char;
use std::marker::PhantomData;

/// Report a module error through the host's `fail` and return the code the
/// shim must return (never 0).
///
/// # Safety
/// `fail` must be the host's `fail` function and `call` the live call (or
/// init error) context the host passed to the running entry point.
pub(super) unsafe fn report(fail: FailFn, call: *mut BhCall, code: i32, message: &str) -> i32 {
    let code = if code == 0 {
        crate::UNSPECIFIED_CODE
    } else {
        code
    };
    let message = clip_message(message);
    // SAFETY: per this function's contract `call` is live and `fail` is the
    // host's; the message pointer/length describe a live &str. The host
    // copies the message and never unwinds. Its status is not actionable.
    unsafe { fail(call, code, message.as_ptr().cast::<c_char>(), message.len()) };
    code
}

/// `host.emit` through a [`HostApi`] held by a [`Host`](crate::Host).
pub(crate) fn host_emit(api: &HostApi, topic: &str, data: &[u8]) -> i32 {
    // SAFETY: `api` was copied from the host's API table in `init_shim` (the
    // only place a Host is created); the ABI allows emit from any thread at
    // any time, validates the token (stale → BH_API_STALE) and copies the
    // bytes, which are live borrows for the duration of the call.
    unsafe {
        (api.emit)(
            api.instance_token,
            topic.as_ptr().cast::<c_char>(),
            topic.len(),
            data.as_ptr(),
            data.len(),
        )
    }
}

/// The longest message the reference host accepts from `fail`/`log` (it
/// refuses a longer one whole): longer messages are cut at a character
/// boundary here instead.
const HOST_MAX_MESSAGE: usize = 4096;

fn clip_message(msg: &str) -> &str {
    if msg.len() <= HOST_MAX_MESSAGE {
        return msg;
    }
    let mut end = HOST_MAX_MESSAGE;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    &msg[..end]
}

/// `host.log` through a [`HostApi`] held by a [`Host`](crate::Host).
pub(crate) fn host_log(api: &HostApi, level: i32, msg: &str) -> i32 {
    let msg = clip_message(msg);
    // SAFETY: as in host_emit: a host-provided function pointer callable from
    // any thread, given a live borrow of `msg`.
    unsafe {
        (api.log)(
            api.instance_token,
            level,
            msg.as_ptr().cast::<c_char>(),
            msg.len(),
        )
    }
}

/// The host's `write` bound to one call context, for the lifetime of the
/// call (`'a` is the borrow of the shim's stack frame, so an
/// [`Output`](crate::Output) cannot outlive the call).
pub(crate) struct CallSink<'a> {
    pub(super) call: *mut BhCall,
    pub(super) write: WriteFn,
    pub(super) _call: PhantomData<&'a mut BhCall>,
}

impl CallSink<'_> {
    #[inline]
    pub(crate) fn write(&mut self, data: &[u8]) -> i32 {
        // SAFETY: a CallSink is only created in `call_shim` from the `call`
        // pointer the host passed to the running call and the host's `write`;
        // its lifetime is tied to that call's frame, so the context is live.
        // `data` is a live borrow; the host copies it.
        unsafe { (self.write)(self.call, data.as_ptr(), data.len()) }
    }
}
