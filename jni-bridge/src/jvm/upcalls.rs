//! Calls into Java through the cached classes and method ids.

use crate::cache::{self, JavaCache};
use jni::objects::{JByteArray, JObject, JString};
use jni::signature::{JavaType, Primitive};
use jni::sys::jvalue;
use jni::{jni_str, Env};
fn cached() -> jni::errors::Result<&'static JavaCache> {
    cache::get().ok_or(jni::errors::Error::UninitializedJavaVM)
}

/// Throw `BridgeHostException.fromNative(kind, message, detail)`. If that
/// fails and nothing is pending, throw a `RuntimeException` instead, so a
/// failing native method always returns with an exception.
pub(crate) fn throw_typed(env: &mut Env<'_>, kind: i32, message: &str, detail: i64) {
    let attempt = (|| -> jni::errors::Result<()> {
        let c = cached()?;
        let msg = env.new_string(message)?;
        let args = [
            jvalue { i: kind },
            jvalue { l: msg.as_raw() },
            jvalue { j: detail },
        ];
        // SAFETY: `exception_from_native` was resolved on `exception_class`
        // with descriptor (ILjava/lang/String;J)Ljava/lang/RuntimeException;
        // and `args` are (int, String, long) in that order.
        let ex = unsafe {
            env.call_static_method_unchecked(
                &c.exception_class,
                c.exception_from_native,
                JavaType::Object,
                &args,
            )
        }?
        .l()?;
        let ex = env.cast_local::<jni::objects::JThrowable>(ex)?;
        env.throw(ex)
    })();
    if attempt.is_err() && !env.exception_check() {
        let _ = env.throw_new(
            jni_str!("java/lang/RuntimeException"),
            jni::strings::JNIString::from(format!("bridgehost: {message}")),
        );
    }
}

/// `sink.deliver(topic, data)`: false when the listener threw (Java caught,
/// logged and reported it).
pub(crate) fn call_sink_deliver(
    env: &mut Env<'_>,
    sink: &JObject<'_>,
    topic: &JObject<'_>,
    data: &JByteArray<'_>,
) -> jni::errors::Result<bool> {
    let c = cached()?;
    let args = [jvalue { l: topic.as_raw() }, jvalue { l: data.as_raw() }];
    // SAFETY: `sink_deliver` was resolved on io.bridgehost.EventSink with
    // descriptor (Ljava/lang/String;[B)Z; `sink` is an EventSink (the only
    // type `Native.subscribe` accepts); `topic` is a String or null and
    // `data` a byte[].
    unsafe {
        env.call_method_unchecked(
            sink,
            c.sink_deliver,
            JavaType::Primitive(Primitive::Boolean),
            &args,
        )
    }?
    .z()
}

/// `future.succeed(output)`.
pub(crate) fn call_future_succeed(
    env: &mut Env<'_>,
    future: &JObject<'_>,
    output: &JByteArray<'_>,
) -> jni::errors::Result<()> {
    let c = cached()?;
    let args = [jvalue { l: output.as_raw() }];
    // SAFETY: `future_succeed` was resolved on io.bridgehost.NativeFuture
    // with descriptor ([B)V; `future` is a NativeFuture (the only type
    // `Native.submit` accepts); `output` is a byte[].
    unsafe {
        env.call_method_unchecked(
            future,
            c.future_succeed,
            JavaType::Primitive(Primitive::Void),
            &args,
        )
    }?;
    Ok(())
}

/// `future.fail(kind, message, detail)`.
pub(crate) fn call_future_fail(
    env: &mut Env<'_>,
    future: &JObject<'_>,
    kind: i32,
    message: &JString<'_>,
    detail: i64,
) -> jni::errors::Result<()> {
    let c = cached()?;
    let args = [
        jvalue { i: kind },
        jvalue {
            l: message.as_raw(),
        },
        jvalue { j: detail },
    ];
    // SAFETY: `future_fail` was resolved on io.bridgehost.NativeFuture with
    // descriptor (ILjava/lang/String;J)V; `future` is a NativeFuture; args
    // are (int, String, long).
    unsafe {
        env.call_method_unchecked(
            future,
            c.future_fail,
            JavaType::Primitive(Primitive::Void),
            &args,
        )
    }?;
    Ok(())
}

/// `Log.fromNative(level, target, message)`.
pub(crate) fn call_log(
    env: &mut Env<'_>,
    level: i32,
    target: &JString<'_>,
    message: &JString<'_>,
) -> jni::errors::Result<()> {
    let c = cached()?;
    let args = [
        jvalue { i: level },
        jvalue { l: target.as_raw() },
        jvalue {
            l: message.as_raw(),
        },
    ];
    // SAFETY: `log_from_native` was resolved on `log_class` with descriptor
    // (ILjava/lang/String;Ljava/lang/String;)V; args are (int, String, String).
    unsafe {
        env.call_static_method_unchecked(
            &c.log_class,
            c.log_from_native,
            JavaType::Primitive(Primitive::Void),
            &args,
        )
    }?;
    Ok(())
}
