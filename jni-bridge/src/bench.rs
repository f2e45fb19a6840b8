//! The two baselines of `io.bridgehost.bench.BareEcho`, compiled into the
//! shipped library on purpose: a baseline is only meaningful if it is loaded
//! the same way, built with the same flags and called through the same JNI
//! registration as the code it is compared with, so it lives in the same
//! library and the same jar. They hold no state, touch no handle and no core
//! object; each is a 16-byte-echo-shaped copy-in/copy-out:
//!
//! * `rawEcho` — the floor: the raw JNI function table (`GetArrayLength`,
//!   `GetByteArrayRegion`, `NewByteArray`, `SetByteArrayRegion`, each checked
//!   with `ExceptionCheck`), the same copy strategy as `Method.call`.
//! * `crateEcho` — the same work through the jni crate's generic entry
//!   (`with_env` + error policy) and its safe array API.
#![forbid(unsafe_code)]

use crate::error::{invalid, BResult, ThrowTyped};
use crate::jvm;
use jni::objects::{JByteArray, JClass};
use jni::sys::jbyteArray;
use jni::{native_method, Env, EnvUnowned, NativeMethod};

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

/// `static native byte[] BareEcho.rawEcho(byte[] input)`.
pub(crate) extern "system" fn raw_echo<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    input: JByteArray<'f>,
) -> jbyteArray {
    jvm::fast(&mut env, std::ptr::null_mut(), |raw| {
        let len = raw.array_length(&input)?;
        let len = usize::try_from(len).map_err(|_| invalid("negative array length"))?;
        raw.with_array_copy(&input, 0, len, |bytes| raw.new_byte_array(bytes))
    })
}
