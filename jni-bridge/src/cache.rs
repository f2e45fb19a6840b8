//! Classes and method ids resolved once, in `JNI_OnLoad`.
//!
//! `JNI_OnLoad` runs on the thread that called `System.load`, whose class
//! loader is the one that loaded `io.bridgehost.*`. A thread the core
//! created and attached later has only the system class loader as context
//! and could not `FindClass` our classes (catalog Q15/Q29), so everything a
//! callback needs is resolved here and kept as global references (which also
//! keep the classes, and therefore the method ids, from being unloaded).
#![forbid(unsafe_code)]

use jni::objects::{JClass, JMethodID, JStaticMethodID};
use jni::refs::Global;
use jni::vm::JavaVM;
use jni::{jni_sig, jni_str, Env};
use std::sync::OnceLock;

/// Everything resolved at load time.
#[derive(Debug)]
pub(crate) struct JavaCache {
    /// The VM (cached once; `JavaVM` is valid on any thread).
    pub(crate) vm: JavaVM,
    /// `io.bridgehost.BridgeHostException`.
    pub(crate) exception_class: Global<JClass<'static>>,
    /// `static RuntimeException fromNative(int kind, String message, long detail)`: a
    /// `BridgeHostException` subclass, or an `InvalidArgumentException` (an
    /// `IllegalArgumentException`).
    pub(crate) exception_from_native: JStaticMethodID,
    /// `io.bridgehost.EventSink` (kept alive for its method id).
    pub(crate) _sink_class: Global<JClass<'static>>,
    /// `boolean EventSink.deliver(String topic, byte[] data)`: false when the listener threw.
    pub(crate) sink_deliver: JMethodID,
    /// `io.bridgehost.NativeFuture` (kept alive for its method ids).
    pub(crate) _future_class: Global<JClass<'static>>,
    /// `void NativeFuture.succeed(byte[] output)`.
    pub(crate) future_succeed: JMethodID,
    /// `void NativeFuture.fail(int kind, String message, long detail)`.
    pub(crate) future_fail: JMethodID,
    /// `io.bridgehost.Log`.
    pub(crate) log_class: Global<JClass<'static>>,
    /// `static void Log.fromNative(int level, String target, String message)`.
    pub(crate) log_from_native: JStaticMethodID,
}

static CACHE: OnceLock<JavaCache> = OnceLock::new();

/// The cache; `None` only if `JNI_OnLoad` has not completed (no native
/// method can run before it: they are registered by it).
pub(crate) fn get() -> Option<&'static JavaCache> {
    CACHE.get()
}

/// Resolve everything; called once from `JNI_OnLoad`.
pub(crate) fn init(env: &mut Env<'_>) -> jni::errors::Result<&'static JavaCache> {
    if let Some(c) = CACHE.get() {
        return Ok(c);
    }
    let vm = env.get_java_vm()?;

    let exception = env.find_class(jni_str!("io/bridgehost/BridgeHostException"))?;
    let exception_from_native = env.get_static_method_id(
        &exception,
        jni_str!("fromNative"),
        jni_sig!("(ILjava/lang/String;J)Ljava/lang/RuntimeException;"),
    )?;
    let sink = env.find_class(jni_str!("io/bridgehost/EventSink"))?;
    let sink_deliver = env.get_method_id(
        &sink,
        jni_str!("deliver"),
        jni_sig!("(Ljava/lang/String;[B)Z"),
    )?;
    let future = env.find_class(jni_str!("io/bridgehost/NativeFuture"))?;
    let future_succeed = env.get_method_id(&future, jni_str!("succeed"), jni_sig!("([B)V"))?;
    let future_fail = env.get_method_id(
        &future,
        jni_str!("fail"),
        jni_sig!("(ILjava/lang/String;J)V"),
    )?;
    let log = env.find_class(jni_str!("io/bridgehost/Log"))?;
    let log_from_native = env.get_static_method_id(
        &log,
        jni_str!("fromNative"),
        jni_sig!("(ILjava/lang/String;Ljava/lang/String;)V"),
    )?;

    let cache = JavaCache {
        vm,
        exception_class: env.new_global_ref(&exception)?,
        exception_from_native,
        _sink_class: env.new_global_ref(&sink)?,
        sink_deliver,
        _future_class: env.new_global_ref(&future)?,
        future_succeed,
        future_fail,
        log_class: env.new_global_ref(&log)?,
        log_from_native,
    };
    // A concurrent init cannot happen (JNI_OnLoad runs once per library
    // load); if it did, the first value wins and this one is dropped.
    Ok(CACHE.get_or_init(|| cache))
}
