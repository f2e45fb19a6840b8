//! The host API handed to modules (`bh_host_api`): write, fail, emit, log.
//!
//! Each function is `extern "C"`, callable from any thread, validates every
//! argument as hostile, never unwinds (a panic inside is caught and reported
//! as `BH_API_INVALID`), and reads at most a bounded number of bytes from any
//! pointer (a claimed length is checked against the limit *before* the
//! memory is touched).
//!
//! `emit`/`log` address the instance by token, not pointer: after the
//! instance is destroyed its token is removed from [`INSTANCES`], so a late
//! emit from a stray module thread is `BH_API_STALE`, never a use-after-free.

use crate::handles::HandleTable;
use crate::output::{CallOutput, WriteError};
use crate::sync::Mutex;
use bridgehost_module_abi as abi;
use std::cell::UnsafeCell;
use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// Longest module error message kept (bytes); longer messages are truncated.
pub const MAX_MESSAGE_LEN: usize = 4096;

const CTX_MAGIC: u64 = 0x4248_4341_4c4c_4354; // "BHCALLCT"

/// The current thread's identity, unique among live threads: its
/// `pthread_t` (two instructions in glibc and musl, where a thread-local in
/// this dlopen'ed library would cost a `__tls_get_addr` call per use: it is
/// read twice per call).
#[inline]
fn thread_mark() -> usize {
    // SAFETY: pthread_self has no preconditions and touches no memory of
    // ours; it cannot fail.
    let t = unsafe { libc::pthread_self() };
    t as usize
}

/// What threads other than the calling one wrote, and the recorded failure.
#[derive(Default)]
struct Shared {
    side: Vec<u8>,
    failure: Option<(i32, String)>,
    exceeded: bool,
}

/// The host side of a `bh_call*`: lives on the caller's stack for one call.
///
/// Writes from the calling thread (the common case) go straight into the
/// output with no lock: `out` is touched only by that thread. Writes from any
/// other thread go, under `shared`'s mutex, to a side buffer that is appended
/// after the call; once a side write happened (`side_used`), the calling
/// thread appends to the side buffer too, so output written in sequence by
/// handing off between threads keeps its order.
pub(crate) struct CallCtx<'a, 'b> {
    magic: u64,
    owner: usize,
    out: UnsafeCell<&'a mut CallOutput<'b>>,
    owner_len: AtomicUsize,
    max: usize,
    side_used: AtomicBool,
    /// Boxed on first use: most calls never write from another thread or
    /// report a failure, and then the context is a few words to set up.
    shared: Mutex<Option<Box<Shared>>>,
}

impl<'a, 'b> CallCtx<'a, 'b> {
    #[inline]
    pub(crate) fn new(out: &'a mut CallOutput<'b>) -> Self {
        let (len, max) = (out.len(), out.max());
        CallCtx {
            magic: CTX_MAGIC,
            owner: thread_mark(),
            out: UnsafeCell::new(out),
            owner_len: AtomicUsize::new(len),
            max,
            side_used: AtomicBool::new(false),
            shared: Mutex::new(None),
        }
    }

    /// The pointer handed to the module. Valid while `self` is alive.
    pub(crate) fn as_ptr(&self) -> *mut abi::BhCall {
        (self as *const Self).cast_mut().cast()
    }

    /// End of the call (the module returned; by the ABI nothing uses the
    /// context any more): append side writes, return the failure if any.
    ///
    /// Inlined: out of line, moving the context into this function made the
    /// CPU reload ~100 bytes the module's callbacks had just written through
    /// narrower stores (a store-forwarding stall, ~20 % of a 16-byte echo in
    /// the `perf annotate` of `Instance::call`).
    #[inline(always)]
    pub(crate) fn finish(self) -> Option<(i32, String)> {
        // No side state: no side writes, no failure reported.
        let shared = self.shared.into_inner()?;
        let out = self.out.into_inner();
        // A refused side write, or side output that does not fit: the call
        // exceeded its limit.
        if shared.exceeded || (!shared.side.is_empty() && out.write(&shared.side).is_err()) {
            out.mark_exceeded();
        }
        shared.failure
    }

    fn write(&self, data: *const u8, len: usize) -> i32 {
        if thread_mark() == self.owner && !self.side_used.load(Ordering::Acquire) {
            // SAFETY: only the calling thread (identified by its thread-local
            // address, unique among live threads; it is blocked in this call
            // so it is alive) ever touches `out` during the call, and a host
            // callback never re-enters itself, so this is the only live
            // reference to it.
            let out = unsafe { &mut **self.out.get() };
            let fits = out.len().checked_add(len).is_some_and(|n| n <= out.max());
            if !fits {
                out.mark_exceeded();
                return abi::API_TOO_LARGE;
            }
            // SAFETY: the module promises `len` readable bytes at `data` for
            // the duration of this write; null-with-length is refused.
            let Some(bytes) = (unsafe { borrow_bytes(data, len) }) else {
                return abi::API_INVALID;
            };
            return match out.write(bytes) {
                Ok(()) => {
                    self.owner_len.store(out.len(), Ordering::Relaxed);
                    abi::API_OK
                }
                Err(WriteError::TooLarge) => abi::API_TOO_LARGE,
            };
        }
        let mut guard = self.shared.lock();
        let sh = guard.get_or_insert_with(Box::default);
        self.side_used.store(true, Ordering::Release);
        // Check the size against the limit before touching the memory, so a
        // bogus length is refused without reading it.
        let total = self
            .owner_len
            .load(Ordering::Relaxed)
            .saturating_add(sh.side.len());
        if total.checked_add(len).is_none_or(|n| n > self.max) {
            sh.exceeded = true;
            return abi::API_TOO_LARGE;
        }
        // SAFETY: as above.
        let Some(bytes) = (unsafe { borrow_bytes(data, len) }) else {
            return abi::API_INVALID;
        };
        sh.side.extend_from_slice(bytes);
        abi::API_OK
    }
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

/// Borrow `len` bytes at `data`, refusing null-with-length.
///
/// # Safety
/// If `data` is non-null it must point to `len` readable bytes that stay
/// valid and unmodified for `'x`.
unsafe fn borrow_bytes<'x>(data: *const u8, len: usize) -> Option<&'x [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if data.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-null, len bounded by isize::MAX, readability is the
    // caller's contract.
    Some(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Resolve a `bh_call*` to its context.
///
/// # Safety
/// `call` must be null or a pointer the host passed to the module for a call
/// that has not returned yet.
unsafe fn ctx_ref<'x>(call: *mut abi::BhCall) -> Option<&'x CallCtx<'x, 'x>> {
    if call.is_null() {
        return None;
    }
    // SAFETY: per the contract the pointer is a live CallCtx on the caller's
    // stack; the magic check catches the most common misuse (a pointer that
    // is not a bh_call at all) without claiming to catch every one.
    let ctx = unsafe { &*call.cast::<CallCtx<'x, 'x>>() };
    (ctx.magic == CTX_MAGIC).then_some(ctx)
}

fn truncate_utf8(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_MESSAGE_LEN)];
    String::from_utf8_lossy(cut).into_owned()
}

unsafe extern "C" fn host_write(call: *mut abi::BhCall, data: *const u8, len: usize) -> i32 {
    std::panic::catch_unwind(|| {
        // SAFETY: the ABI requires `call` to be the live context of the
        // current call.
        match unsafe { ctx_ref(call) } {
            Some(ctx) => ctx.write(data, len),
            None => abi::API_INVALID,
        }
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn host_fail(
    call: *mut abi::BhCall,
    code: i32,
    msg: *const c_char,
    msg_len: usize,
) -> i32 {
    std::panic::catch_unwind(|| {
        // SAFETY: the ABI requires `call` to be the live context of the
        // current call (or init).
        let Some(ctx) = (unsafe { ctx_ref(call) }) else {
            return abi::API_INVALID;
        };
        if code == 0 {
            return abi::API_INVALID;
        }
        // Read at most MAX_MESSAGE_LEN bytes whatever length is claimed.
        let take = msg_len.min(MAX_MESSAGE_LEN);
        // SAFETY: the module promises msg_len readable bytes; we read fewer
        // or equal. Null-with-length is refused.
        let (message, status) = match unsafe { borrow_bytes(msg.cast(), take) } {
            Some(b) => (truncate_utf8(b), abi::API_OK),
            None => (
                "(module passed an invalid message pointer)".to_string(),
                abi::API_INVALID,
            ),
        };
        ctx.shared.lock().get_or_insert_with(Box::default).failure = Some((code, message));
        status
    })
    .unwrap_or(abi::API_INVALID)
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
                if topic_len == 0 || topic_len > crate::events::MAX_TOPIC_LEN {
                    return abi::API_INVALID;
                }
                if len > target.max_event_size() {
                    return abi::API_TOO_LARGE;
                }
                // SAFETY: the module promises topic_len readable bytes (bounded above).
                let Some(topic) = (unsafe { borrow_bytes(topic.cast(), topic_len) }) else {
                    return abi::API_INVALID;
                };
                let Ok(topic) = std::str::from_utf8(topic) else {
                    return abi::API_INVALID;
                };
                // SAFETY: the module promises len readable bytes (bounded above).
                let Some(data) = (unsafe { borrow_bytes(data, len) }) else {
                    return abi::API_INVALID;
                };
                target.emit(topic, data)
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
                let take = msg_len.min(MAX_MESSAGE_LEN);
                // SAFETY: the module promises msg_len readable bytes; we read at most that.
                let Some(b) = (unsafe { borrow_bytes(msg.cast(), take) }) else {
                    return abi::API_INVALID;
                };
                target.log(level, &truncate_utf8(b));
                abi::API_OK
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
