//! Core threads calling into Java: daemon attachment (once per thread,
//! detached at thread exit) and event delivery on those threads.

use super::JNI_VERSION;
use crate::cache;
use jni::objects::JObject;
use jni::sys::{self, jint, jvalue};
use jni::vm::JavaVM;
use jni::Env;
use std::cell::RefCell;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicI64, Ordering};
/// Threads this bridge attached (as daemons) and that have not detached yet.
static ATTACHED: AtomicI64 = AtomicI64::new(0);

/// Detaches the thread when it exits (thread-local destructor).
struct DaemonAttachment {
    vm: *mut sys::JavaVM,
    /// The thread's JNIEnv, fixed for as long as the attachment lasts.
    env: *mut sys::JNIEnv,
}

impl Drop for DaemonAttachment {
    fn drop(&mut self) {
        // SAFETY: this thread attached itself with AttachCurrentThreadAsDaemon
        // (see `ensure_attached`) and is exiting: no native frame of ours is
        // active on it, no jni-crate guard is alive, and no local reference
        // survives. `vm` is the process's JavaVM, valid for its lifetime.
        unsafe { ((**self.vm).v1_1.DetachCurrentThread)(self.vm) };
        ATTACHED.fetch_sub(1, Ordering::Relaxed);
    }
}

thread_local! {
    static ATTACHMENT: RefCell<Option<DaemonAttachment>> = const { RefCell::new(None) };
}

/// Attach this thread as a daemon unless it is attached already (a JVM
/// thread, or one we attached before). The attachment lasts until the thread
/// exits, so a thread attaches once however many deliveries it makes.
fn ensure_attached(vm: &JavaVM) -> jni::errors::Result<()> {
    let raw = vm.get_raw();
    let mut env: *mut c_void = std::ptr::null_mut();
    // SAFETY: `raw` is the process's JavaVM; GetEnv only writes `env`.
    let rc = unsafe { ((**raw).v1_2.GetEnv)(raw, &mut env, JNI_VERSION) };
    if rc == sys::JNI_OK {
        return Ok(());
    }
    if rc != sys::JNI_EDETACHED {
        return Err(jni::errors::Error::JniCall(jni::errors::JniError::Unknown));
    }
    let name = std::thread::current()
        .name()
        .and_then(|n| CString::new(n).ok())
        .unwrap_or_else(|| c"bridgehost".to_owned());
    let mut args = sys::JavaVMAttachArgs {
        version: JNI_VERSION,
        name: name.as_ptr().cast_mut(),
        group: std::ptr::null_mut(),
    };
    // SAFETY: `raw` is the process's JavaVM; the thread is not attached
    // (GetEnv said so); `args` and `name` outlive the call.
    let rc = unsafe {
        ((**raw).v1_4.AttachCurrentThreadAsDaemon)(
            raw,
            &mut env,
            (&mut args as *mut sys::JavaVMAttachArgs).cast::<c_void>(),
        )
    };
    if rc != sys::JNI_OK {
        return Err(jni::errors::Error::JniCall(jni::errors::JniError::Unknown));
    }
    ATTACHED.fetch_add(1, Ordering::Relaxed);
    let env = env.cast::<sys::JNIEnv>();
    ATTACHMENT.with(|a| *a.borrow_mut() = Some(DaemonAttachment { vm: raw, env }));
    Ok(())
}

/// This thread's JNIEnv if the bridge attached it as a daemon (attaching it
/// first if it is not attached at all). `None` on a thread the JVM or someone
/// else attached (a Java thread, say), or if attaching failed.
///
/// On such a daemon thread no Java frame of ours is below us and nothing is
/// ever left pending between two uses: every user of the thread's env
/// ([`with_attached_env`] through the jni crate, [`deliver_on_daemon`])
/// clears any exception before it returns.
fn daemon_env() -> Option<*mut sys::JNIEnv> {
    let ours = || {
        ATTACHMENT
            .try_with(|a| a.try_borrow().ok().and_then(|d| d.as_ref().map(|d| d.env)))
            .ok()
            .flatten()
    };
    if let Some(env) = ours() {
        return Some(env);
    }
    ensure_attached(&cache::get()?.vm).ok()?;
    ours()
}

/// Local references one raw delivery creates: the payload, the topic.
const DELIVERY_FRAME: jint = 4;

/// Topics are at most 128 bytes, so at most 128 UTF-16 units.
const TOPIC_UNITS: usize = 128;

/// Deliver one event, `sink.deliver(topic, data)`, on a daemon thread the
/// bridge attached, through the raw function table: a local frame, the
/// payload array, the topic string (only when `topic` is given), the call,
/// one `ExceptionCheck`, the frame popped. Returns `None` when this thread is
/// not such a thread (the caller then uses [`with_attached_env`]); otherwise
/// what `deliver` returned (false: the listener threw, Java caught and logged
/// it), or why a JNI call failed (any exception it raised is cleared: nothing
/// is left pending).
pub(crate) fn deliver_on_daemon(
    sink: &JObject<'_>,
    topic: Option<&str>,
    data: &[u8],
) -> Option<Result<bool, &'static str>> {
    let env = daemon_env()?;
    let c = cache::get()?;
    let Ok(len) = jint::try_from(data.len()) else {
        return Some(Err("event payload does not fit in a Java array"));
    };
    let mut units = [0u16; TOPIC_UNITS];
    let heap_units: Vec<u16>;
    let topic_units: Option<&[u16]> = match topic {
        None => None,
        Some(t) if t.len() <= TOPIC_UNITS => {
            // UTF-16 never has more units than UTF-8 has bytes.
            let mut n = 0;
            for (slot, u) in units.iter_mut().zip(t.encode_utf16()) {
                *slot = u;
                n += 1;
            }
            Some(&units[..n])
        }
        Some(t) => {
            heap_units = t.encode_utf16().collect();
            Some(&heap_units)
        }
    };
    let deliver = c.sink_deliver.into_raw();
    // SAFETY: `env` is this daemon thread's JNIEnv (see `daemon_env`), with
    // no exception pending on entry. Every call that can throw is checked
    // before the next JNI call: PushLocalFrame by its status, NewByteArray
    // and NewString by their null return (null exactly when they threw),
    // CallBooleanMethodA by ExceptionCheck; SetByteArrayRegion writes 0..len
    // of a new array of length `len` and cannot throw. On any failure the
    // exception is cleared before PopLocalFrame (which is allowed anyway).
    // `sink` is a live global reference to an io.bridgehost.EventSink and
    // `deliver` its cached (Ljava/lang/String;[B)Z id (the class is kept
    // alive by the cache); the arguments are a String (or null) and a byte[].
    // All local references die with the frame.
    let outcome = unsafe {
        let t = &**env;
        if (t.v1_2.PushLocalFrame)(env, DELIVERY_FRAME) != sys::JNI_OK {
            (t.v1_1.ExceptionClear)(env);
            return Some(Err("PushLocalFrame failed"));
        }
        let r = (|| {
            let array = (t.v1_1.NewByteArray)(env, len);
            if array.is_null() {
                return Err("NewByteArray failed");
            }
            if len > 0 {
                (t.v1_1.SetByteArrayRegion)(env, array, 0, len, data.as_ptr().cast());
            }
            let topic_ref = match topic_units {
                None => std::ptr::null_mut(),
                Some(u) => {
                    let n = jint::try_from(u.len()).map_err(|_| "topic too long")?;
                    let s = (t.v1_1.NewString)(env, u.as_ptr(), n);
                    if s.is_null() {
                        return Err("NewString failed");
                    }
                    s
                }
            };
            let args = [jvalue { l: topic_ref }, jvalue { l: array }];
            let ok = (t.v1_1.CallBooleanMethodA)(env, sink.as_raw(), deliver, args.as_ptr());
            if (t.v1_2.ExceptionCheck)(env) == sys::JNI_TRUE {
                return Err("EventSink.deliver threw");
            }
            Ok(ok == sys::JNI_TRUE)
        })();
        if r.is_err() {
            (t.v1_1.ExceptionClear)(env);
        }
        (t.v1_2.PopLocalFrame)(env, std::ptr::null_mut());
        r
    };
    Some(outcome)
}

/// Number of core threads currently attached by the bridge (diagnostics).
pub(crate) fn attached_threads() -> i64 {
    ATTACHED.load(Ordering::Relaxed)
}

/// Run `f` with an [`Env`] on the current (core) thread: attach once as a
/// daemon, then run `f` inside a new local frame of `capacity` references.
/// A Java exception left by `f` is caught and cleared and comes back as
/// `Err(CaughtJavaException)`; an exception pending before (possible only on
/// a JVM thread running a host close) is stashed and rethrown afterwards.
pub(crate) fn with_attached_env<R>(
    capacity: usize,
    f: impl FnOnce(&mut Env<'_>) -> jni::errors::Result<R>,
) -> jni::errors::Result<R> {
    let cache = cache::get().ok_or(jni::errors::Error::UninitializedJavaVM)?;
    ensure_attached(&cache.vm)?;
    cache
        .vm
        .attach_current_thread_with_config(jni::vm::AttachConfig::new, Some(capacity), f)
}
