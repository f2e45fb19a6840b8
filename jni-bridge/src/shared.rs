//! `io.bridgehost.SharedBuffer`: the core's [`SharedBuffer`] (memory an
//! isolated worker reads in place), for Java.
//!
//! Java never sees the memory: it copies bytes in (`put`) and out (`get`)
//! through these natives, so no Java object can point into a mapping that
//! was freed. The rule Java adds to Rust's borrow checker — **nothing
//! changes the bytes under a call** — is the core's
//! [`GuardedSharedBuffer`]: a call runs inside its `lend` (counted for its
//! whole length), a `put` is its `write_with` (refused with
//! `Error::Unavailable` while a call is counted, which this bridge reports
//! as `false`, and Java throws `IllegalStateException`), and `get` and the
//! copy of a `submit` are its `read` (beside calls). The bridge only
//! translates ids, Java arrays and `ByteBuffer`s, and errors.
//!
//! Close removes the id from [`SHARED_BUFFERS`]; a call that looked the
//! buffer up holds its `Arc`, so the memory is freed when that call returns,
//! never under it.
#![forbid(unsafe_code)]

use crate::api::JNativeFuture;
use crate::error::{invalid, BResult, BridgeError, ThrowTyped};
use crate::hot::{self, with_output};
use crate::jvm::RawEnv;
use crate::registry::{self, to_java, SHARED_BUFFERS};
use crate::submit;
use bridgehost::{Error, GuardedSharedBuffer, RequestedLen, SharedBuffer};
use jni::objects::{JByteArray, JByteBuffer, JClass};
use jni::sys::{jboolean, jint, jlong};
use jni::{native_method, Env, NativeMethod};
use std::ops::Range;
use std::sync::Arc;

/// The shared-buffer natives `JNI_OnLoad` registers on `io.bridgehost.Native`.
pub(crate) const NATIVES: &[NativeMethod<'static>] = &[
    native_method! { static fn shared_buffer_new(length: jlong) -> jlong, error_policy = ThrowTyped },
    native_method! { static fn shared_buffer_free(buffer: jlong), error_policy = ThrowTyped },
    native_method! { static fn shared_buffer_put(buffer: jlong, offset: jlong, src: jbyte[], src_offset: jint, length: jint) -> jboolean, error_policy = ThrowTyped },
    native_method! { static fn shared_buffer_put_direct(buffer: jlong, offset: jlong, src: java.nio.ByteBuffer, position: jint, length: jint) -> jboolean, error_policy = ThrowTyped },
    native_method! { static fn shared_buffer_get(buffer: jlong, offset: jlong, dst: jbyte[], dst_offset: jint, length: jint), error_policy = ThrowTyped },
    native_method! { static fn call_shared(method: jlong, buffer: jlong, offset: jlong, length: jlong) -> jbyte[], error_policy = ThrowTyped },
    native_method! { static fn submit_shared(method: jlong, buffer: jlong, offset: jlong, length: jlong, future: JNativeFuture) -> jlong, error_policy = ThrowTyped, type_map = { JNativeFuture => io.bridgehost.NativeFuture } },
];

/// A buffer Java holds by id.
pub(crate) type Shared = GuardedSharedBuffer;

/// A write's outcome for Java: true if written, false (nothing written)
/// while a call reads the buffer (the core's only `Unavailable` of a write).
fn written(r: bridgehost::Result<()>) -> BResult<jboolean> {
    match r {
        Ok(()) => Ok(true),
        Err(Error::Unavailable(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// `offset .. offset + length` of a buffer of `len` bytes, from Java's
/// signed `long`s. Java checks the range first (`IndexOutOfBoundsException`);
/// this refuses what reaches here anyway (and the core checks the ranges it
/// writes and copies out again).
fn window(offset: jlong, length: i64, len: usize) -> BResult<Range<usize>> {
    let start = usize::try_from(offset).ok();
    let count = usize::try_from(length).ok();
    match (start, count) {
        (Some(s), Some(n)) if s.checked_add(n).is_some_and(|end| end <= len) => Ok(s..s + n),
        _ => Err(invalid(format!(
            "offset {offset} and length {length} are not a range of a shared buffer of {len} bytes"
        ))),
    }
}

fn shared_buffer_new<'l>(_env: &mut Env<'l>, _class: JClass<'l>, length: jlong) -> BResult<jlong> {
    // The core's rule judges the length as Java gave it (a negative one too).
    let requested = match usize::try_from(length) {
        Ok(n) => RequestedLen::Size(n),
        Err(_) => RequestedLen::Negative(&length),
    };
    let buf = SharedBuffer::new(SharedBuffer::check_len(requested)?)?;
    Ok(to_java(
        SHARED_BUFFERS.insert(Arc::new(GuardedSharedBuffer::new(buf))),
    ))
}

fn shared_buffer_free<'l>(_env: &mut Env<'l>, _class: JClass<'l>, buffer: jlong) -> BResult<()> {
    // A call reading it holds its own `Arc`: the memory goes when that call returns.
    registry::remove(&SHARED_BUFFERS, buffer);
    Ok(())
}

/// `put(offset, src[srcOffset .. srcOffset + length])`; false (nothing
/// written) while a call reads the buffer.
fn shared_buffer_put<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    buffer: jlong,
    offset: jlong,
    src: JByteArray<'l>,
    src_offset: jint,
    length: jint,
) -> BResult<jboolean> {
    let s = registry::shared_buffer(buffer)?;
    let (src_offset, length) = hot::range(src_offset, length)?;
    let raw = RawEnv::of(env);
    let w = window(offset, length as i64, s.len())?;
    let mut copied = Ok(());
    let done = written(s.write_with(w.start, w.len(), |dst| {
        copied = raw.copy_array_region(&src, src_offset, dst);
    }))?;
    copied.map(|()| done)
}

/// `put(offset, src)` from a direct buffer's `position .. position + length`.
fn shared_buffer_put_direct<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    buffer: jlong,
    offset: jlong,
    src: JByteBuffer<'l>,
    position: jint,
    length: jint,
) -> BResult<jboolean> {
    let s = registry::shared_buffer(buffer)?;
    let (position, length) = hot::range(position, length)?;
    let raw = RawEnv::of(env);
    let w = window(offset, length as i64, s.len())?;
    raw.with_direct(&src, position as usize, length, |bytes| {
        written(s.write_at(w.start, bytes))
    })
}

/// `get(offset, dst[dstOffset .. dstOffset + length])`.
fn shared_buffer_get<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    buffer: jlong,
    offset: jlong,
    dst: JByteArray<'l>,
    dst_offset: jint,
    length: jint,
) -> BResult<()> {
    let s = registry::shared_buffer(buffer)?;
    let (dst_offset, length) = hot::range(dst_offset, length)?;
    let raw = RawEnv::of(env);
    let w = window(offset, length as i64, s.len())?;
    s.read(|b| raw.set_byte_array_region(&dst, dst_offset, &b[w]))
}

/// `Method.call(SharedBuffer[, offset, length])`: the module reads the range
/// in place (an isolated worker maps it; nothing is copied in); the output is
/// a new `byte[]`.
fn call_shared<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    method: jlong,
    buffer: jlong,
    offset: jlong,
    length: jlong,
) -> BResult<JByteArray<'l>> {
    let s = registry::shared_buffer(buffer)?;
    registry::with_method(method, |m| {
        s.lend(|b| {
            let w = window(offset, length, b.len())?;
            with_output(|out| {
                m.call_with(&b[w], out)?;
                Ok(env.byte_array_from_slice(out)?)
            })
        })
    })
}

/// `Method.submit(SharedBuffer[, offset, length])`: the range is copied
/// (the call outlives this native method), as for every submit.
fn submit_shared<'l>(
    env: &mut Env<'l>,
    _class: JClass<'l>,
    method: jlong,
    buffer: jlong,
    offset: jlong,
    length: jlong,
    future: JNativeFuture<'l>,
) -> BResult<jlong> {
    let s = registry::shared_buffer(buffer)?;
    let m = registry::method(method)?;
    let bytes = s.read(|b| {
        let w = window(offset, length, b.len())?;
        hot::check_input_len(&m, w.len())?; // before the copy
        let mut v = Vec::new();
        v.try_reserve_exact(w.len()).map_err(|_| {
            BridgeError::from(Error::ResourceLimit(format!(
                "cannot allocate {} bytes for the input copy",
                w.len()
            )))
        })?;
        v.extend_from_slice(&b[w]);
        Ok::<_, BridgeError>(v)
    })?;
    submit::start(env, &m, bytes, &future)
}
