//! The bridge's unsafe JNI boundary: everything that touches the raw JNI
//! function table, raw memory, or a cached method id. One file per concern:
//!
//! 1. this file: `JNI_OnLoad`, which caches the VM, classes and method ids and
//!    registers every native method ([`register`]);
//! 2. [`raw`]: [`RawEnv`], the raw function table for the hot path (array
//!    regions, new array, direct buffer address), with an `ExceptionCheck`
//!    after every call that can throw, and [`fast`], the hot entry (panic
//!    boundary + typed exceptions);
//! 3. [`attach`]: attachment of core threads (daemon attach once, detach at
//!    thread exit; [`with_attached_env`], [`deliver_on_daemon`]);
//! 4. [`upcalls`]: calls into Java through cached method ids;
//! 5. `bare` (only with the `bench` feature): the benchmark floors of
//!    `BareEcho` (plain jni-sys native methods).
//!
//! Invariant kept by every function here: no JNI function other than
//! `ExceptionCheck`/`ExceptionOccurred`/`ExceptionClear`, `DeleteGlobalRef`
//! and `DetachCurrentThread` is called while a Java exception is pending.
//! [`RawEnv`] methods return [`BridgeError::Pending`](crate::error::BridgeError::Pending)
//! as soon as a call left an exception pending, and callers propagate it with
//! `?` straight back to the JVM.
#![allow(unsafe_code)]

use crate::cache;
use jni::objects::{JByteArray, JByteBuffer, JClass, JLongArray};
use jni::sys::{self, jint, jlong};
use jni::vm::JavaVM;
use jni::{jni_sig_jstr, jni_str, Env, EnvUnowned, NativeMethod};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

mod attach;
#[cfg(feature = "bench")]
mod bare;
mod raw;
mod upcalls;

pub(crate) use attach::{attached_threads, deliver_on_daemon, with_attached_env};
pub(crate) use raw::{fast, RawEnv};
pub(crate) use upcalls::{
    call_future_fail, call_future_succeed, call_log, call_sink_deliver, throw_typed,
};

/// The JNI version the bridge requires (Java 8+; we run on 17+).
pub(super) const JNI_VERSION: jint = sys::JNI_VERSION_1_8;

// ---------------------------------------------------------------------------
// 1. Loading
// ---------------------------------------------------------------------------

/// Called by the JVM when `System.load`/`System.loadLibrary` loads us.
///
/// Resolves the cache and registers every native method. On failure an
/// `UnsatisfiedLinkError` saying why is left pending and `JNI_ERR` is
/// returned: the JDK then rethrows that error from `System.load` and unloads
/// the library.
#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(vm: *mut sys::JavaVM, _reserved: *mut c_void) -> jint {
    let outcome = catch_unwind(|| -> Result<(), String> {
        if vm.is_null() {
            return Err("JNI_OnLoad called with a null JavaVM".into());
        }
        // SAFETY: the JVM passes its own, valid JavaVM pointer to JNI_OnLoad,
        // and there is one VM per process (what JavaVM::from_raw assumes).
        let vm = unsafe { JavaVM::from_raw(vm) };
        let result = vm.attach_current_thread(|env| -> jni::errors::Result<()> {
            cache::init(env)?;
            register(env)
        });
        result.map_err(|e| e.to_string())
    });
    let message = match outcome {
        Ok(Ok(())) => return JNI_VERSION,
        Ok(Err(m)) => m,
        Err(p) => bridgehost::internal::panic_message(&*p),
    };
    // Best effort: leave an UnsatisfiedLinkError with the reason pending.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if vm.is_null() {
            return;
        }
        // SAFETY: as above.
        let vm = unsafe { JavaVM::from_raw(vm) };
        let _ = vm.attach_current_thread_with_config(
            || {
                jni::vm::AttachConfig::new()
                    .exceptions_policy(jni::vm::AttachmentExceptionPolicy::Ignore)
            },
            None,
            |env| -> jni::errors::Result<()> {
                if !env.exception_check() {
                    let _ = env.throw_new(
                        jni_str!("java/lang/UnsatisfiedLinkError"),
                        jni::strings::JNIString::from(format!(
                            "bridgehost: JNI_OnLoad failed: {message}"
                        )),
                    );
                }
                Ok(())
            },
        );
    }));
    sys::JNI_ERR
}

/// A raw native method: its Java name and descriptor, checked at compile time
/// by `jni_sig_jstr!`, and a function pointer cast through the exact Rust
/// signature it must have (reviewers compare the two on one line).
macro_rules! raw_native {
    ($name:literal, $sig:literal, $f:path as fn($($arg:ty),*) -> $ret:ty) => {
        // SAFETY: `$f` is a static native method implementation whose Rust
        // signature, spelled out in the cast, is `(EnvUnowned, JClass, <the
        // descriptor's parameters in order>) -> <the descriptor's return>`
        // with each Java type mapped to its JNI type (long → jlong, int →
        // jint, byte[] → JByteArray/jbyteArray, long[] → JLongArray,
        // ByteBuffer → JByteBuffer);
        // every one of those types is a `#[repr(transparent)]` wrapper of, or
        // an alias for, the JNI C type. The class it is registered on
        // declares the method `static`.
        unsafe {
            NativeMethod::from_raw_parts(
                jni_str!($name),
                jni_sig_jstr!($sig),
                $f as for<'f> extern "system" fn(EnvUnowned<'f>, JClass<'f> $(, $arg)*) -> $ret
                    as *mut c_void,
            )
        }
    };
}

/// The hot-path natives of `io.bridgehost.Native`.
const HOT_NATIVES: [NativeMethod<'static>; 9] = [
    raw_native!(
        "call",
        "(J[BII)[B",
        crate::hot::call_array as fn(jlong, JByteArray<'f>, jint, jint) -> sys::jbyteArray
    ),
    raw_native!(
        "callDirect",
        "(JLjava/nio/ByteBuffer;II)[B",
        crate::hot::call_direct as fn(jlong, JByteBuffer<'f>, jint, jint) -> sys::jbyteArray
    ),
    raw_native!(
        "callTyped",
        "(J[BI)[B",
        crate::hot::call_typed as fn(jlong, JByteArray<'f>, jint) -> sys::jbyteArray
    ),
    raw_native!(
        "callScalar0",
        "(J)J",
        crate::hot::call_scalar0 as fn(jlong) -> jlong
    ),
    raw_native!(
        "callScalar1",
        "(JJ)J",
        crate::hot::call_scalar1 as fn(jlong, jlong) -> jlong
    ),
    raw_native!(
        "callScalar2",
        "(JJJ)J",
        crate::hot::call_scalar2 as fn(jlong, jlong, jlong) -> jlong
    ),
    raw_native!(
        "callScalar3",
        "(JJJJ)J",
        crate::hot::call_scalar3 as fn(jlong, jlong, jlong, jlong) -> jlong
    ),
    raw_native!(
        "callScalar4",
        "(JJJJJ)J",
        crate::hot::call_scalar4 as fn(jlong, jlong, jlong, jlong, jlong) -> jlong
    ),
    raw_native!(
        "callScalarN",
        "(J[J)J",
        crate::hot::call_scalar_n as fn(jlong, JLongArray<'f>) -> jlong
    ),
];

fn register(env: &mut Env<'_>) -> jni::errors::Result<()> {
    let native = env.find_class(jni_str!("io/bridgehost/Native"))?;
    // SAFETY: `api::NATIVES` is built by `jni::native_method!`, which
    // type-checks each wrapper against its descriptor and checks at first
    // call that the method is static, as they all are in `Native`.
    unsafe { env.register_native_methods(&native, crate::api::NATIVES)? };
    // SAFETY: as for `api::NATIVES` (built by `jni::native_method!`, all static in `Native`).
    unsafe { env.register_native_methods(&native, crate::shared::NATIVES)? };
    // SAFETY: see `raw_native!`; every one of them is static in `Native`.
    unsafe { env.register_native_methods(&native, &HOT_NATIVES)? };
    #[cfg(feature = "bench")]
    bare::register(env)?;
    Ok(())
}
