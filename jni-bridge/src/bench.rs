//! The baselines of `io.bridgehost.bench.BareEcho`, compiled only with the
//! `bench` feature (scripts/build.sh, scripts/java.sh and bench/ turn it on;
//! scripts/package.sh leaves it off, so the shipped library and jar carry no
//! bench code). They live in this library on purpose: a baseline is only meaningful if it is loaded
//! the same way, built with the same flags and called through the same JNI
//! registration as the code it is compared with, so it lives in the same
//! library and the same jar. They hold no state, touch no handle and no core
//! object; each is a 16-byte-echo-shaped copy-in/copy-out:
//!
//! * `rawEcho` — the floor, in [`crate::jvm`] (`bare_raw_echo`, the one
//!   unsafe module): a plain jni-sys native method on the raw function table
//!   (`GetArrayLength`, `GetByteArrayRegion`, `NewByteArray`,
//!   `SetByteArrayRegion`, each checked with `ExceptionCheck`), the same copy
//!   strategy as `Method.call`, and nothing else (no entry wrapper).
//! * `attachPerEvent` — the event-delivery floor, also in [`crate::jvm`]: a
//!   native thread that attaches, calls a Java `Consumer`, detaches, per event.
//! * `crateEcho` — the same work through the jni crate's generic entry
//!   (`with_env` + error policy) and its safe array API.
#![forbid(unsafe_code)]

use crate::error::{BResult, ThrowTyped};
use jni::objects::{JByteArray, JClass};
use jni::{native_method, Env, NativeMethod};

/// The generic-entry baseline, registered on `BareEcho`.
pub(crate) const NATIVES: &[NativeMethod<'static>] = &[
    native_method! { static fn crate_echo(input: jbyte[]) -> jbyte[], error_policy = ThrowTyped },
];

fn crate_echo<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    input: JByteArray<'l>,
) -> BResult<JByteArray<'l>> {
    let bytes = env.convert_byte_array(&input)?;
    Ok(env.byte_array_from_slice(&bytes)?)
}
