//! Benchmark floors (`io.bridgehost.bench.BareEcho`).
//!
//! Written against the raw JNI function table (jni-sys types, no jni-crate
//! entry, no panic boundary: nothing in them can panic), with only what any
//! correct JNI method needs: a null check, and never a JNI call after one that
//! threw (an `ExceptionCheck`, or the null return that reports the throw,
//! after each call that can throw in that place). They touch no handle, no
//! core object and no state of the bridge.
//!
//! Compiled only with the `bench` feature (bench/, scripts/java.sh): the
//! shipped library carries no bench code and needs no bench class.

use super::*;
use jni::sys::jvalue;
use std::mem::MaybeUninit;

/// A bare jni-sys native method: name and descriptor checked at compile time
/// by `jni_sig_jstr!`, the function pointer cast through the exact raw
/// signature it must have (reviewers compare the two on one line).
macro_rules! bare_native {
    ($name:literal, $sig:literal, $f:path as fn($($arg:ty),*) -> $ret:ty) => {
        // SAFETY: `$f` is a static native method implementation whose
        // signature, spelled out in the cast, is `(*mut JNIEnv, jclass, <the
        // descriptor's parameters in order>) -> <the descriptor's return>`
        // in jni-sys C types (byte[] → jbyteArray, Consumer → jobject,
        // int → jint, long → jlong). The class it is registered on declares
        // the method `static`.
        unsafe {
            NativeMethod::from_raw_parts(
                jni_str!($name),
                jni_sig_jstr!($sig),
                $f as extern "system" fn(*mut sys::JNIEnv, sys::jclass $(, $arg)*) -> $ret
                    as *mut c_void,
            )
        }
    };
}

/// The raw baselines of `io.bridgehost.bench.BareEcho` (section 6).
const BARE_RAW_NATIVES: [NativeMethod<'static>; 5] = [
    bare_native!(
        "rawEcho",
        "([B)[B",
        bare_raw_echo as fn(sys::jbyteArray) -> sys::jbyteArray
    ),
    bare_native!("rawAdd", "(JJ)J", bare_raw_add as fn(jlong, jlong) -> jlong),
    bare_native!(
        "rawEchoString",
        "(Ljava/lang/String;)Ljava/lang/String;",
        bare_raw_echo_string as fn(sys::jstring) -> sys::jstring
    ),
    bare_native!(
        "attachPerEvent",
        "(Ljava/util/function/Consumer;I)J",
        bare_attach_per_event as fn(sys::jobject, jint) -> jlong
    ),
    bare_native!(
        "attachedOnce",
        "(Ljava/util/function/Consumer;I)J",
        bare_attached_once as fn(sys::jobject, jint) -> jlong
    ),
];

/// Register the baselines on `io.bridgehost.bench.BareEcho` (the class must
/// be loadable: the bench feature is for builds that ship it, never the
/// production jar).
pub(super) fn register(env: &mut Env<'_>) -> jni::errors::Result<()> {
    let bare = env.find_class(jni_str!("io/bridgehost/bench/BareEcho"))?;
    // SAFETY: as for `api::NATIVES`; `crateEcho` is static in `BareEcho`.
    unsafe { env.register_native_methods(&bare, crate::bench::NATIVES)? };
    // SAFETY: see `bare_native!`; `rawEcho`, `rawAdd`, `rawEchoString`, `attachPerEvent` and
    // `attachedOnce` are static in `BareEcho`.
    unsafe { env.register_native_methods(&bare, &BARE_RAW_NATIVES)? };
    Ok(())
}

/// Inputs up to this size are echoed through a stack buffer (as the hot path).
const BARE_STACK: usize = 512;

/// Throw `class` with `message` (a bootstrap class; best effort).
///
/// # Safety
/// `env` must be the current thread's valid `JNIEnv`, with no exception pending.
unsafe fn bare_throw(env: *mut sys::JNIEnv, class: &std::ffi::CStr, message: &std::ffi::CStr) {
    // SAFETY: per the contract, `env` is valid and nothing is pending; a
    // failing FindClass leaves its own error pending, and ThrowNew is only
    // called with a class it returned.
    unsafe {
        let t = &**env;
        let cls = (t.v1_1.FindClass)(env, class.as_ptr());
        if !cls.is_null() {
            (t.v1_1.ThrowNew)(env, cls, message.as_ptr());
            (t.v1_1.DeleteLocalRef)(env, cls);
        }
    }
}

/// `static native byte[] BareEcho.rawEcho(byte[] input)`: the floor of a
/// JNI binding — copy the input in (`GetByteArrayRegion`, to the stack for
/// small inputs), return a new array holding it (`NewByteArray` +
/// `SetByteArrayRegion`).
pub(crate) extern "system" fn bare_raw_echo(
    env: *mut sys::JNIEnv,
    _class: sys::jclass,
    input: sys::jbyteArray,
) -> sys::jbyteArray {
    // SAFETY: the JVM calls this registered static native method with the
    // current thread's valid JNIEnv and no exception pending; `input` is a
    // local reference to a byte[] or null (checked). Both regions are 0..len
    // of arrays of length `len` (>= 0), so neither region call can throw;
    // NewByteArray reports its only failure (a pending OutOfMemoryError) by
    // returning null, and we return at once then: no JNI call is made with an
    // exception pending. Our buffer holds `len` bytes.
    unsafe {
        let t = &**env;
        if input.is_null() {
            bare_throw(env, c"java/lang/NullPointerException", c"input");
            return std::ptr::null_mut();
        }
        let len = (t.v1_1.GetArrayLength)(env, input);
        let n = len as usize;
        let mut stack = [MaybeUninit::<u8>::uninit(); BARE_STACK];
        let mut heap: Vec<u8> = Vec::new();
        let buf: *mut sys::jbyte = if n <= BARE_STACK {
            stack.as_mut_ptr().cast()
        } else {
            if heap.try_reserve_exact(n).is_err() {
                bare_throw(env, c"java/lang/OutOfMemoryError", c"input copy");
                return std::ptr::null_mut();
            }
            heap.as_mut_ptr().cast()
        };
        // In bounds by construction (0..len of the array itself): no throw.
        (t.v1_1.GetByteArrayRegion)(env, input, 0, len, buf);
        // Null exactly when it throws (OutOfMemoryError): return with it pending.
        let out = (t.v1_1.NewByteArray)(env, len);
        if out.is_null() {
            return std::ptr::null_mut();
        }
        // 0..len of a new array of length len: cannot throw.
        (t.v1_1.SetByteArrayRegion)(env, out, 0, len, buf.cast_const());
        out
    }
}

/// `static native long BareEcho.rawAdd(long a, long b)`: the floor of a typed
/// `add: func(a: u32, b: u32) -> u32` binding — both arguments range-checked
/// as u32 (`IllegalArgumentException` otherwise), the sum modulo 2^32.
pub(crate) extern "system" fn bare_raw_add(
    env: *mut sys::JNIEnv,
    _class: sys::jclass,
    a: jlong,
    b: jlong,
) -> jlong {
    match (u32::try_from(a), u32::try_from(b)) {
        (Ok(a), Ok(b)) => jlong::from(a.wrapping_add(b)),
        _ => {
            // SAFETY: the JVM calls this registered static native method with
            // the current thread's valid JNIEnv and no exception pending.
            unsafe {
                bare_throw(
                    env,
                    c"java/lang/IllegalArgumentException",
                    c"out of range for u32",
                )
            };
            0
        }
    }
}

/// `static native String BareEcho.rawEchoString(String s)`: the floor of a
/// typed `echo-string: func(s: string) -> string` binding — copy the UTF-16
/// contents out (`GetStringRegion`, to the stack for short strings), return a
/// new string holding them (`NewString`).
pub(crate) extern "system" fn bare_raw_echo_string(
    env: *mut sys::JNIEnv,
    _class: sys::jclass,
    s: sys::jstring,
) -> sys::jstring {
    // SAFETY: the JVM calls this registered static native method with the
    // current thread's valid JNIEnv and no exception pending; `s` is a local
    // reference to a String or null (checked). The region is 0..len of the
    // string itself, so GetStringRegion cannot throw; NewString reports its
    // only failure (a pending OutOfMemoryError) by returning null, which is
    // returned with it pending. Our buffer holds `len` UTF-16 units.
    unsafe {
        let t = &**env;
        if s.is_null() {
            bare_throw(env, c"java/lang/NullPointerException", c"s");
            return std::ptr::null_mut();
        }
        let len = (t.v1_1.GetStringLength)(env, s);
        let n = len as usize;
        let mut stack = [MaybeUninit::<u16>::uninit(); BARE_STACK];
        let mut heap: Vec<u16> = Vec::new();
        let buf: *mut sys::jchar = if n <= BARE_STACK {
            stack.as_mut_ptr().cast()
        } else {
            if heap.try_reserve_exact(n).is_err() {
                bare_throw(env, c"java/lang/OutOfMemoryError", c"string copy");
                return std::ptr::null_mut();
            }
            heap.as_mut_ptr()
        };
        (t.v1_2.GetStringRegion)(env, s, 0, len, buf);
        (t.v1_1.NewString)(env, buf.cast_const(), len)
    }
}

/// The JNI pointers the baseline event thread uses (valid on any thread: the
/// VM for the process's life, the global reference and the method id until
/// the caller deletes the reference after joining the thread).
struct AttachJob {
    vm: *mut sys::JavaVM,
    listener: sys::jobject,
    accept: sys::jmethodID,
    count: i32,
    /// Attach and detach around every event (else once around all of them).
    per_event: bool,
}

// SAFETY: a JavaVM pointer, a global reference and a method id are valid on
// every thread (JNI spec); nothing else is shared.
unsafe impl Send for AttachJob {}

/// Attach the current (native, unattached) thread; its JNIEnv, or null.
fn bare_attach(vm: *mut sys::JavaVM) -> *mut sys::JNIEnv {
    let mut env: *mut c_void = std::ptr::null_mut();
    let mut args = sys::JavaVMAttachArgs {
        version: JNI_VERSION,
        name: c"bh-bench-attach".as_ptr().cast_mut(),
        group: std::ptr::null_mut(),
    };
    // SAFETY: `vm` is the process's JavaVM; the calling thread is a native
    // thread that is not attached (see `baseline_event_thread`); `args`
    // outlives the call.
    let rc = unsafe {
        ((**vm).v1_1.AttachCurrentThread)(
            vm,
            &mut env,
            (&mut args as *mut sys::JavaVMAttachArgs).cast::<c_void>(),
        )
    };
    if rc == sys::JNI_OK {
        env.cast()
    } else {
        std::ptr::null_mut()
    }
}

/// The baseline event loop, on a new native thread: per event, build the
/// 8-byte payload (`seq`, little-endian), call `listener.accept(payload)`,
/// delete the payload's local reference; attached once for the whole loop,
/// or attached and detached around every event (`per_event`). Returns the
/// events delivered without an exception.
fn baseline_event_thread(job: AttachJob) -> i64 {
    let mut delivered = 0i64;
    let mut env: *mut sys::JNIEnv = std::ptr::null_mut();
    for seq in 0..job.count {
        if env.is_null() {
            env = bare_attach(job.vm);
            if env.is_null() {
                break;
            }
        }
        let payload = u64::from(seq as u32).to_le_bytes();
        // SAFETY: `env` is this thread's JNIEnv (attached above), nothing
        // pending: NewByteArray reports its only failure by returning null
        // (then the exception is cleared); SetByteArrayRegion writes 0..8 of
        // an array of length 8 and cannot throw; CallVoidMethodA is followed
        // by ExceptionCheck and a pending exception is cleared before the
        // next call. The listener is a live global reference to a Consumer
        // and `accept` its (Ljava/lang/Object;)V id. The payload's local
        // reference is deleted before the next event (and before detaching,
        // which happens with no Java frame on this thread's stack).
        unsafe {
            let t = &**env;
            let array = (t.v1_1.NewByteArray)(env, 8);
            if array.is_null() {
                (t.v1_1.ExceptionClear)(env);
            } else {
                (t.v1_1.SetByteArrayRegion)(env, array, 0, 8, payload.as_ptr().cast());
                let arg = [jvalue { l: array }];
                (t.v1_1.CallVoidMethodA)(env, job.listener, job.accept, arg.as_ptr());
                if (t.v1_2.ExceptionCheck)(env) == sys::JNI_TRUE {
                    (t.v1_1.ExceptionClear)(env);
                } else {
                    delivered += 1;
                }
                (t.v1_1.DeleteLocalRef)(env, array);
            }
            if job.per_event {
                ((**job.vm).v1_1.DetachCurrentThread)(job.vm);
                env = std::ptr::null_mut();
            }
        }
    }
    if !env.is_null() {
        // SAFETY: attached by this thread above, no Java frame on its stack,
        // no local reference left, nothing pending.
        unsafe { ((**job.vm).v1_1.DetachCurrentThread)(job.vm) };
    }
    delivered
}

/// `static native long BareEcho.attachPerEvent(Consumer<byte[]> listener, int count)`:
/// the event-delivery baseline of the issue. A new native thread delivers
/// `count` events to `listener`, attaching and detaching around each one;
/// the caller waits for it. Returns the events delivered without an exception.
pub(crate) extern "system" fn bare_attach_per_event(
    env: *mut sys::JNIEnv,
    class: sys::jclass,
    listener: sys::jobject,
    count: jint,
) -> jlong {
    // SAFETY: forwarded unchanged from the JVM's call of this native method.
    unsafe { bare_events(env, class, listener, count, true) }
}

/// `static native long BareEcho.attachedOnce(Consumer<byte[]> listener, int count)`:
/// the JNI floor of event delivery — the same loop on a thread attached once.
pub(crate) extern "system" fn bare_attached_once(
    env: *mut sys::JNIEnv,
    class: sys::jclass,
    listener: sys::jobject,
    count: jint,
) -> jlong {
    // SAFETY: forwarded unchanged from the JVM's call of this native method.
    unsafe { bare_events(env, class, listener, count, false) }
}

/// Run [`baseline_event_thread`] on a new thread and wait for it.
///
/// # Safety
/// `env` must be the current thread's valid JNIEnv with no exception
/// pending, and `listener` a local reference (or null) of the native method
/// running on this thread.
unsafe fn bare_events(
    env: *mut sys::JNIEnv,
    _class: sys::jclass,
    listener: sys::jobject,
    count: jint,
    per_event: bool,
) -> jlong {
    // SAFETY: per the contract, `env` is valid with nothing pending; each
    // throwing call is followed by a check (status, null return) and an
    // immediate return. The global reference outlives the thread (it is
    // deleted only after `join`). Spawning and joining cannot unwind
    // (`Builder::spawn` returns an error; a panic on the thread, which has
    // no panicking code, would come back from `join` as an error).
    unsafe {
        let t = &**env;
        if listener.is_null() || count < 0 {
            bare_throw(
                env,
                c"java/lang/IllegalArgumentException",
                c"listener must not be null and count not negative",
            );
            return -1;
        }
        let mut vm: *mut sys::JavaVM = std::ptr::null_mut();
        if (t.v1_1.GetJavaVM)(env, &mut vm) != sys::JNI_OK {
            bare_throw(env, c"java/lang/IllegalStateException", c"GetJavaVM failed");
            return -1;
        }
        let cls = (t.v1_1.FindClass)(env, c"java/util/function/Consumer".as_ptr());
        if cls.is_null() {
            return -1;
        }
        let accept = (t.v1_1.GetMethodID)(
            env,
            cls,
            c"accept".as_ptr(),
            c"(Ljava/lang/Object;)V".as_ptr(),
        );
        if accept.is_null() {
            return -1; // NoSuchMethodError pending; `cls` dies with the frame
        }
        (t.v1_1.DeleteLocalRef)(env, cls);
        let global = (t.v1_1.NewGlobalRef)(env, listener);
        if global.is_null() {
            bare_throw(env, c"java/lang/OutOfMemoryError", c"NewGlobalRef");
            return -1;
        }
        let job = AttachJob {
            vm,
            listener: global,
            accept,
            count,
            per_event,
        };
        let delivered = std::thread::Builder::new()
            .name("bh-bench-attach".into())
            .spawn(move || baseline_event_thread(job))
            .map(|h| h.join().unwrap_or(-1));
        (t.v1_1.DeleteGlobalRef)(env, global);
        match delivered {
            Ok(n) => n,
            Err(_) => {
                bare_throw(
                    env,
                    c"java/lang/IllegalStateException",
                    c"cannot start a thread",
                );
                -1
            }
        }
    }
}
