//! The host API handed to modules (`bh_host_api`): write, fail, emit, log.
//!
//! Each function is `extern "C"`, callable from any thread, validates every
//! argument as hostile, never unwinds (a panic inside is caught and reported
//! as `BH_API_INVALID`), and reads module memory only through
//! [`take_input`]: the one length and UTF-8 policy of every callback. A
//! claimed length above the callback's limit is `BH_API_TOO_LARGE` and
//! nothing is read; a null pointer with a length is `BH_API_INVALID`; text
//! (a `fail`/`log` message, an `emit` topic) that is not UTF-8 is
//! `BH_API_INVALID`. Limits: `write` the call's remaining output,
//! `fail`/`log` [`MAX_MESSAGE_LEN`], an `emit` topic
//! [`MAX_TOPIC_LEN`](crate::events::MAX_TOPIC_LEN) (and not empty), `emit`
//! data the module's `max_event`.
//!
//! `emit`/`log` address the instance by token, not pointer: after the
//! instance is destroyed its token is removed from [`INSTANCES`], so a late
//! emit from a stray module thread is `BH_API_STALE`, never a use-after-free.
//!
//! `write`/`fail` address the call by a token too: the `bh_call_ctx *` a
//! module receives is not an address but `(generation << 24) | record`,
//! naming one [`CallRecord`](records::CallRecord) (records are leaked and never move) and the
//! call that record serves. When the call returns, the record's generation
//! moves on, so any later use of the old pointer, from any thread, finds a
//! generation mismatch and gets `BH_API_STALE`; it never touches the
//! returned call's (stack) state. A thread other than the caller's that
//! uses a live context announces itself in the record's `visitors` and
//! issues the heavy fence; the caller retiring the record issues the light
//! one and waits out announced visitors (the asymmetric Dekker pair of
//! `ffi/hazard.rs`, with the roles swapped: here the retire runs on every
//! call and the foreign-thread write is the rare side).

mod direct;
mod records;

use direct::{direct_fail, is_direct_token};
pub(crate) use direct::{DirectCall, DirectCell};
use records::with_ctx;
pub(crate) use records::CallCtx;
pub(crate) use records::HeldRecords;

use super::hazard;
use crate::handles::HandleTable;
use bridgehost_module_abi as abi;
use std::ffi::c_char;
use std::sync::Arc;

/// Where an instance's events and logs go.
pub(crate) trait InstanceEvents: Send + Sync {
    /// Deliver an event; returns an `abi::API_*` status.
    fn emit(&self, topic: &str, data: &[u8]) -> i32;
    /// Largest payload accepted by `emit`.
    fn max_event_size(&self) -> usize;
    /// Log a module message.
    fn log(&self, level: i32, msg: &str);
}

/// Live instance tokens.
pub(crate) static INSTANCES: HandleTable<dyn InstanceEvents> = HandleTable::new(0x4d);

/// Longest module message (`fail`, `log`) accepted, in bytes: a longer
/// claimed length is refused with `BH_API_TOO_LARGE` and nothing is read.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The current thread's identity, unique among live threads: its
/// `pthread_t` (two instructions in glibc and musl, where a thread-local in
/// this dlopen'ed library would cost a `__tls_get_addr` call per use: it is
/// read twice per call). Owner ids of call records and of a module's serial
/// lock only; the hazard overflow list uses its own id
/// (`ffi::hazard::tls_mark_addr`), and the two are never compared.
#[inline]
pub(crate) fn pthread_id() -> usize {
    // SAFETY: pthread_self has no preconditions and touches no memory of
    // ours; it cannot fail.
    let t = unsafe { libc::pthread_self() };
    t as usize
}

/// Whether a callback argument is text (UTF-8 required) or bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bytes,
}

/// The one length and UTF-8 policy of every host callback: borrow `len`
/// bytes at `ptr` if `len <= limit` (else `BH_API_TOO_LARGE`, nothing
/// read), `ptr` is non-null when `len > 0` (else `BH_API_INVALID`) and, for
/// text, the bytes are UTF-8 (else `BH_API_INVALID`).
///
/// # Safety
/// If `ptr` is non-null and `len <= limit`, it must point to `len` readable
/// bytes that stay valid and unmodified for `'x` (the module's promise for
/// the duration of the callback).
unsafe fn take_input<'x>(
    ptr: *const u8,
    len: usize,
    limit: usize,
    kind: Kind,
) -> Result<&'x [u8], i32> {
    if len > limit {
        return Err(abi::API_TOO_LARGE);
    }
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return Err(abi::API_INVALID);
    }
    // SAFETY: non-null, len bounded by isize::MAX and by the callback's
    // limit; readability is the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    if kind == Kind::Text && std::str::from_utf8(bytes).is_err() {
        return Err(abi::API_INVALID);
    }
    Ok(bytes)
}

/// A message read under [`take_input`]'s policy, or the status it got.
///
/// # Safety
/// As [`take_input`].
unsafe fn take_message(msg: *const c_char, len: usize) -> Result<String, i32> {
    // SAFETY: forwarded contract.
    let b = unsafe { take_input(msg.cast(), len, MAX_MESSAGE_LEN, Kind::Text) }?;
    // Checked UTF-8 above.
    Ok(String::from_utf8_lossy(b).into_owned())
}

/// The API table for an instance whose token is `token`.
pub(crate) fn host_api(token: u64) -> abi::HostApi {
    abi::HostApi {
        struct_size: std::mem::size_of::<abi::HostApi>() as u32,
        abi_version: abi::ABI_VERSION,
        instance_token: token,
        write: host_write,
        fail: host_fail,
        emit: host_emit,
        log: host_log,
    }
}

unsafe extern "C" fn host_write(call: *mut abi::BhCall, data: *const u8, len: usize) -> i32 {
    if is_direct_token(call as usize as u64) {
        // A direct entry has no byte output (and a stale direct token is
        // no context either).
        return abi::API_INVALID;
    }
    std::panic::catch_unwind(|| {
        with_ctx(call, |ctx, on_owner| ctx.write(on_owner, data, len)).unwrap_or_else(|s| s)
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn host_fail(
    call: *mut abi::BhCall,
    code: i32,
    msg: *const c_char,
    msg_len: usize,
) -> i32 {
    let token = call as usize as u64;
    if is_direct_token(token) {
        return std::panic::catch_unwind(|| direct_fail(token, code, msg, msg_len))
            .unwrap_or(abi::API_INVALID);
    }
    std::panic::catch_unwind(|| {
        with_ctx(call, |ctx, _| {
            if code == 0 {
                return abi::API_INVALID;
            }
            // SAFETY: the module promises msg_len readable bytes; the policy
            // reads them only if msg_len is within the limit.
            let (message, status) = match unsafe { take_message(msg, msg_len) } {
                Ok(m) => (m, abi::API_OK),
                // The failure still counts (the call fails with the module's
                // code); the message says why the module's text was refused.
                Err(status) => (refused_message(status, msg_len), status),
            };
            ctx.fail(code, message);
            status
        })
        .unwrap_or_else(|s| s)
    })
    .unwrap_or(abi::API_INVALID)
}

fn refused_message(status: i32, len: usize) -> String {
    match status {
        abi::API_TOO_LARGE => format!(
            "(module message refused: claimed length {len} exceeds {MAX_MESSAGE_LEN} bytes)"
        ),
        _ => "(module message refused: null pointer or not UTF-8)".to_string(),
    }
}

unsafe extern "C" fn host_emit(
    token: u64,
    topic: *const c_char,
    topic_len: usize,
    data: *const u8,
    len: usize,
) -> i32 {
    std::panic::catch_unwind(|| {
        INSTANCES
            .with(token, |target| {
                if topic_len == 0 {
                    return abi::API_INVALID;
                }
                // SAFETY: the module promises topic_len readable bytes; read
                // only within the limit.
                let topic = match unsafe {
                    take_input(
                        topic.cast(),
                        topic_len,
                        crate::events::MAX_TOPIC_LEN,
                        Kind::Text,
                    )
                } {
                    Ok(t) => t,
                    Err(s) => return s,
                };
                // SAFETY: as above, for the payload.
                let data =
                    match unsafe { take_input(data, len, target.max_event_size(), Kind::Bytes) } {
                        Ok(d) => d,
                        Err(s) => return s,
                    };
                match std::str::from_utf8(topic) {
                    Ok(topic) => target.emit(topic, data),
                    Err(_) => abi::API_INVALID,
                }
            })
            .unwrap_or(abi::API_STALE)
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn host_log(token: u64, level: i32, msg: *const c_char, msg_len: usize) -> i32 {
    std::panic::catch_unwind(|| {
        // A borrow, not an `Arc` clone: the table stays usable (and the token
        // removable) while the log line runs through a front end's sink.
        INSTANCES
            .with(token, |target| {
                // SAFETY: the module promises msg_len readable bytes; read
                // only within the limit.
                match unsafe { take_message(msg, msg_len) } {
                    Ok(m) => {
                        target.log(level, &m);
                        abi::API_OK
                    }
                    Err(s) => s,
                }
            })
            .unwrap_or(abi::API_STALE)
    })
    .unwrap_or(abi::API_INVALID)
}

/// Register `events` and return the instance token modules will use.
pub(crate) fn register(events: Arc<dyn InstanceEvents>) -> u64 {
    INSTANCES.insert(events)
}

/// Retire a token (after the instance was destroyed).
pub(crate) fn unregister(token: u64) {
    INSTANCES.remove(token);
}
