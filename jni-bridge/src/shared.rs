//! `io.bridgehost.SharedBuffer`: the core's [`SharedBuffer`] (memory an
//! isolated worker reads in place), for Java.
//!
//! Java never sees the memory: it copies bytes in (`put`) and out (`get`)
//! through these natives, so no Java object can point into a mapping that
//! was freed. What the bridge adds to the core's type is what the borrow
//! checker gives Rust callers for free: **nothing changes the bytes under a
//! call**. A call reading the buffer counts itself in [`Shared::calls`] and
//! holds a read guard of [`Shared::bytes`] for its whole length; a `put`
//! checks the count under the same mutex and is refused (Java throws
//! `IllegalStateException`) while it is not 0, and writes under the write
//! guard with that mutex held, so no call starts in the middle of a `put`.
//! `get` (a copy out) and the copy of a `submit` take a read guard only:
//! they run beside calls, and a `put` waits for them (they are copies).
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
use bridgehost::{Error, SharedBuffer};
use jni::objects::{JByteArray, JByteBuffer, JClass};
use jni::sys::{jboolean, jint, jlong};
use jni::{native_method, Env, NativeMethod};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

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
pub(crate) struct Shared {
    /// The bytes: read-guarded by calls and copies out, write-guarded by `put`.
    bytes: RwLock<SharedBuffer>,
    /// Calls reading the bytes now; `put` is refused while it is not 0.
    calls: Mutex<usize>,
}

fn lock(m: &Mutex<usize>) -> MutexGuard<'_, usize> {
    // Nothing panics with the lock held but a bug; the count stays right.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts a call out when it ends (also on a panic).
struct CallGuard<'a>(&'a Mutex<usize>);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        *lock(self.0) -= 1;
    }
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, SharedBuffer> {
        self.bytes.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run a call over the bytes: counted in `calls`, under a read guard.
    fn call<R>(&self, f: impl FnOnce(&SharedBuffer) -> R) -> R {
        let guard = {
            let mut calls = lock(&self.calls);
            // No writer holds or waits for `bytes`: every writer holds `calls`.
            let guard = self.read();
            *calls += 1;
            guard
        };
        let counted = CallGuard(&self.calls);
        let r = f(&guard);
        // The guard goes first: while it is held the count is not 0, so a
        // `put` never waits for a call (it is refused instead).
        drop(guard);
        drop(counted);
        r
    }

    /// Copy bytes out (a read guard; not a call).
    fn copy_out<R>(&self, f: impl FnOnce(&SharedBuffer) -> R) -> R {
        f(&self.read())
    }

    /// Write the bytes; `None` (nothing written) while a call reads them.
    fn write<R>(&self, f: impl FnOnce(&mut SharedBuffer) -> R) -> Option<R> {
        let calls = lock(&self.calls);
        if *calls != 0 {
            return None;
        }
        let mut bytes = self.bytes.write().unwrap_or_else(PoisonError::into_inner);
        let r = f(&mut bytes);
        drop(bytes);
        drop(calls);
        Some(r)
    }
}

/// `offset .. offset + length` of a buffer of `len` bytes. Java checks the
/// range first (`IndexOutOfBoundsException`); this refuses what reaches
/// here anyway.
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
    // A negative length is no size: the core's own message for a length it refuses.
    let len = usize::try_from(length).map_err(|_| {
        invalid(format!(
            "a shared buffer of {length} bytes: give it a length of at least 1"
        ))
    })?;
    let buf = SharedBuffer::new(len)?;
    let shared = Shared {
        bytes: RwLock::new(buf),
        calls: Mutex::new(0),
    };
    Ok(to_java(SHARED_BUFFERS.insert(Arc::new(shared))))
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
    let done = s.write(|b| {
        let w = window(offset, length as i64, b.len())?;
        raw.copy_array_region(&src, src_offset, &mut b[w])
    });
    done.transpose().map(|d| d.is_some())
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
    raw.with_direct(&src, position as usize, length, |bytes| {
        let done = s.write(|b| {
            let w = window(offset, length as i64, b.len())?;
            b[w].copy_from_slice(bytes);
            Ok(())
        });
        done.transpose().map(|d| d.is_some())
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
    s.copy_out(|b| {
        let w = window(offset, length as i64, b.len())?;
        raw.set_byte_array_region(&dst, dst_offset, &b[w])
    })
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
        s.call(|b| {
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
    let bytes = s.copy_out(|b| {
        let w = window(offset, length, b.len())?;
        hot::check_input_len(&m, w.len())?; // before the copy
        let mut v = Vec::new();
        v.try_reserve_exact(w.len()).map_err(|_| {
            BridgeError::Core(Error::ResourceLimit(format!(
                "cannot allocate {} bytes for the input copy",
                w.len()
            )))
        })?;
        v.extend_from_slice(&b[w]);
        Ok::<_, BridgeError>(v)
    })?;
    submit::start(env, &m, bytes, &future)
}
