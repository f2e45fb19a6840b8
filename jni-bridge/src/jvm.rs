//! The bridge's one unsafe boundary: everything that touches the raw JNI
//! function table, raw memory, or a cached method id.
//!
//! Contents, in order:
//! 1. `JNI_OnLoad`: caches the VM, classes and method ids; registers every
//!    native method ([`register`]).
//! 2. [`RawEnv`]: the raw function table for the hot path (array regions,
//!    new array, direct buffer address), with an `ExceptionCheck` after
//!    every call that can throw.
//! 3. [`fast`]: the hot entry (panic boundary + typed exceptions).
//! 4. Thread attachment of core threads ([`with_attached_env`]).
//! 5. Calls through cached method ids.
//! 6. The benchmark floors of `BareEcho` (plain jni-sys native methods;
//!    only with the `bench` feature).
//!
//! Invariant kept by every function here: no JNI function other than
//! `ExceptionCheck`/`ExceptionOccurred`/`ExceptionClear`, `DeleteGlobalRef`
//! and `DetachCurrentThread` is called while a Java exception is pending.
//! [`RawEnv`] methods return [`BridgeError::Pending`] as soon as a call left
//! an exception pending, and callers propagate it with `?` straight back to
//! the JVM.
#![allow(unsafe_code)]

use crate::cache::{self, JavaCache};
use crate::error::{invalid, BResult, BridgeError, ThrowTyped};
use jni::objects::{JByteArray, JByteBuffer, JClass, JObject, JString};
use jni::signature::{JavaType, Primitive};
use jni::sys::{self, jint, jlong, jvalue};
use jni::vm::JavaVM;
use jni::{jni_sig_jstr, jni_str, Env, EnvUnowned, NativeMethod};
use std::cell::RefCell;
use std::ffi::{c_void, CString};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, Ordering};

/// The JNI version the bridge requires (Java 8+; we run on 17+).
const JNI_VERSION: jint = sys::JNI_VERSION_1_8;

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
        Err(p) => bridgehost::error::panic_message(&*p),
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
        // jint, byte[] → JByteArray/jbyteArray, ByteBuffer → JByteBuffer);
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
const HOT_NATIVES: [NativeMethod<'static>; 2] = [
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
];

fn register(env: &mut Env<'_>) -> jni::errors::Result<()> {
    let native = env.find_class(jni_str!("io/bridgehost/Native"))?;
    // SAFETY: `api::NATIVES` is built by `jni::native_method!`, which
    // type-checks each wrapper against its descriptor and checks at first
    // call that the method is static, as they all are in `Native`.
    unsafe { env.register_native_methods(&native, crate::api::NATIVES)? };
    // SAFETY: see `raw_native!`; both are static in `Native`.
    unsafe { env.register_native_methods(&native, &HOT_NATIVES)? };
    #[cfg(feature = "bench")]
    bare::register(env)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. The raw function table (hot path)
// ---------------------------------------------------------------------------

/// Inputs up to this size are copied to the stack, larger ones to the heap.
const STACK_COPY: usize = 512;

/// The current thread's `JNIEnv`, for the duration of one native frame `'f`.
/// `Copy`, `!Send`, `!Sync`: it never leaves the native method's thread.
#[derive(Clone, Copy)]
pub(crate) struct RawEnv<'f> {
    env: *mut sys::JNIEnv,
    _frame: PhantomData<&'f ()>,
}

impl<'f> RawEnv<'f> {
    /// The env the JVM passed to the running native method.
    ///
    /// # Safety
    /// `env` must be the `EnvUnowned` the JVM passed to the native method
    /// running on this thread, and the returned value must not be used after
    /// that native method returns (the `'f` lifetime of `EnvUnowned` ties it
    /// to the caller's frame).
    unsafe fn from_unowned(env: &EnvUnowned<'f>) -> Self {
        RawEnv {
            env: env.as_raw(),
            _frame: PhantomData,
        }
    }

    /// The env behind a jni-crate [`Env`] (valid for as long as the borrow).
    pub(crate) fn of(env: &'f Env<'_>) -> Self {
        RawEnv {
            env: env.get_raw(),
            _frame: PhantomData,
        }
    }

    fn table(&self) -> &sys::JNINativeInterface_ {
        // SAFETY: a JNIEnv is a pointer to the VM's function table pointer,
        // both valid for the life of the thread's attachment, which outlives
        // 'f (see `from_unowned` / `of`).
        unsafe { &**self.env }
    }

    /// `ExceptionCheck` (allowed with an exception pending).
    pub(crate) fn exception_pending(&self) -> bool {
        // SAFETY: valid env (see `table`); ExceptionCheck takes only the env
        // and may be called with an exception pending.
        unsafe { (self.table().v1_2.ExceptionCheck)(self.env) == sys::JNI_TRUE }
    }

    fn check(&self) -> BResult<()> {
        if self.exception_pending() {
            Err(BridgeError::Pending)
        } else {
            Ok(())
        }
    }

    /// `GetArrayLength` of a non-null `byte[]`.
    pub(crate) fn array_len(&self, array: &JByteArray<'_>) -> BResult<jint> {
        if array.is_null() {
            return Err(invalid("input array is null"));
        }
        // SAFETY: valid env (see `table`); no exception is pending (callers
        // reach here only after successful checks); `array` is a non-null
        // live reference to a byte[] handed to us by the JVM. GetArrayLength
        // cannot throw.
        let len = unsafe { (self.table().v1_1.GetArrayLength)(self.env, array.as_raw()) };
        Ok(len)
    }

    /// Copy `array[start .. start + dst.len()]` into `dst`. The JVM checks the
    /// bounds (an `ArrayIndexOutOfBoundsException` is left pending → `Pending`).
    fn byte_array_region(
        &self,
        array: &JByteArray<'_>,
        start: jint,
        dst: &mut [MaybeUninit<u8>],
    ) -> BResult<()> {
        if array.is_null() {
            return Err(invalid("input array is null"));
        }
        let len = jint::try_from(dst.len()).map_err(|_| invalid("length exceeds int"))?;
        // SAFETY: no exception is pending (callers reach here only after
        // successful checks); `array` is a live local/global reference to a
        // byte[] (a JByteArray handed to us by the JVM); `dst` is writable
        // for `len` bytes; the JVM writes at most `len` bytes and checks
        // `start`/`len` against the array's length.
        unsafe {
            (self.table().v1_1.GetByteArrayRegion)(
                self.env,
                array.as_raw(),
                start,
                len,
                dst.as_mut_ptr().cast::<sys::jbyte>(),
            )
        };
        self.check()
    }

    /// Run `f` on a native copy of `array[start .. start + len]`: on the
    /// stack up to [`STACK_COPY`] bytes, else in a heap buffer. This is the
    /// only way `byte[]` input reaches a module: copied, never pinned.
    pub(crate) fn with_array_copy<R>(
        &self,
        array: &JByteArray<'_>,
        start: jint,
        len: usize,
        f: impl FnOnce(&[u8]) -> BResult<R>,
    ) -> BResult<R> {
        if len <= STACK_COPY {
            let mut buf = [MaybeUninit::<u8>::uninit(); STACK_COPY];
            let dst = &mut buf[..len];
            self.byte_array_region(array, start, dst)?;
            // SAFETY: GetByteArrayRegion returned without an exception, so
            // it wrote all `len` bytes of `dst`.
            let bytes = unsafe { std::slice::from_raw_parts(dst.as_ptr().cast::<u8>(), len) };
            f(bytes)
        } else {
            let v = self.array_to_vec(array, start, len)?;
            f(&v)
        }
    }

    /// A new `Vec` holding `array[start .. start + len]` (one copy, no zeroing).
    pub(crate) fn array_to_vec(
        &self,
        array: &JByteArray<'_>,
        start: jint,
        len: usize,
    ) -> BResult<Vec<u8>> {
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(len).map_err(|_| {
            BridgeError::Core(bridgehost::Error::ResourceLimit(format!(
                "cannot allocate {len} bytes for the input copy"
            )))
        })?;
        self.byte_array_region(array, start, &mut v.spare_capacity_mut()[..len])?;
        // SAFETY: capacity >= len (reserved above) and GetByteArrayRegion
        // returned without an exception, so bytes 0..len are initialized.
        unsafe { v.set_len(len) };
        Ok(v)
    }

    /// A new `byte[]` holding `src` (`NewByteArray` + `SetByteArrayRegion`).
    pub(crate) fn new_byte_array(&self, src: &[u8]) -> BResult<sys::jbyteArray> {
        let len = jint::try_from(src.len()).map_err(|_| {
            BridgeError::Core(bridgehost::Error::ResourceLimit(format!(
                "output of {} bytes does not fit in a Java array",
                src.len()
            )))
        })?;
        // SAFETY: no exception pending; len >= 0.
        let array = unsafe { (self.table().v1_1.NewByteArray)(self.env, len) };
        if array.is_null() {
            // NewByteArray returns null exactly when it throws (OutOfMemoryError).
            self.check()?;
            return Err(BridgeError::Jni("NewByteArray returned null".into()));
        }
        if len > 0 {
            // SAFETY: no exception pending (NewByteArray succeeded); `array`
            // is the new local ref to a byte[] of exactly `len` elements, so
            // the region 0..len is in bounds and SetByteArrayRegion cannot
            // throw (its only exception is ArrayIndexOutOfBounds): no
            // ExceptionCheck is needed after it. `src` is readable for `len`.
            unsafe {
                (self.table().v1_1.SetByteArrayRegion)(
                    self.env,
                    array,
                    0,
                    len,
                    src.as_ptr().cast::<sys::jbyte>(),
                )
            };
        }
        Ok(array)
    }

    /// Address and capacity of a direct buffer, `None` if it is not direct.
    fn direct(&self, buf: &JByteBuffer<'_>) -> BResult<Option<(*mut u8, usize)>> {
        if buf.is_null() {
            return Err(invalid("buffer is null"));
        }
        // SAFETY: no exception pending; `buf` is a live reference to a
        // java.nio.ByteBuffer. Neither function throws: they return
        // NULL / -1 for a buffer that is not direct.
        let (addr, cap) = unsafe {
            let t = self.table();
            (
                (t.v1_4.GetDirectBufferAddress)(self.env, buf.as_raw()),
                (t.v1_4.GetDirectBufferCapacity)(self.env, buf.as_raw()),
            )
        };
        if addr.is_null() || cap < 0 {
            return Ok(None);
        }
        let cap = usize::try_from(cap).map_err(|_| invalid("bad direct buffer capacity"))?;
        Ok(Some((addr.cast::<u8>(), cap)))
    }

    fn direct_range(&self, buf: &JByteBuffer<'_>, start: usize, len: usize) -> BResult<*mut u8> {
        let Some((addr, cap)) = self.direct(buf)? else {
            return Err(invalid("the ByteBuffer is not direct"));
        };
        match start.checked_add(len) {
            Some(end) if end <= cap => {}
            _ => {
                return Err(invalid(format!(
                    "range {start}+{len} is outside the direct buffer's capacity {cap}"
                )))
            }
        }
        if len == 0 {
            return Ok(std::ptr::NonNull::<u8>::dangling().as_ptr());
        }
        // SAFETY: start + len <= cap, so start is within the allocation.
        Ok(unsafe { addr.add(start) })
    }

    /// Run `f` on `buf[start .. start + len]` in place (zero-copy).
    ///
    /// Contract (documented on `Method.call(ByteBuffer)`): Java code must not
    /// write the buffer while the call runs, as for any native I/O on a
    /// direct buffer. The memory stays allocated: `buf` is a local reference
    /// of the running native method, so the buffer (and the memory its
    /// cleaner would free) is reachable until we return.
    pub(crate) fn with_direct<R>(
        &self,
        buf: &JByteBuffer<'_>,
        start: usize,
        len: usize,
        f: impl FnOnce(&[u8]) -> BResult<R>,
    ) -> BResult<R> {
        let p = self.direct_range(buf, start, len)?;
        // SAFETY: `p` points to `len` bytes inside the buffer's live native
        // memory (checked against its capacity), or is dangling with len 0;
        // the borrow ends before this native method returns.
        let bytes = unsafe { std::slice::from_raw_parts(p.cast_const(), len) };
        f(bytes)
    }

    /// Run `f` on the input (`input`) and a writable output window
    /// (`output`) of two direct buffers, refusing overlapping ranges (they
    /// would alias a `&[u8]` with a `&mut [u8]`).
    pub(crate) fn with_direct_in_out<R>(
        &self,
        input: (&JByteBuffer<'_>, usize, usize),
        output: (&JByteBuffer<'_>, usize, usize),
        f: impl FnOnce(&[u8], &mut [u8]) -> BResult<R>,
    ) -> BResult<R> {
        let (ib, is, il) = input;
        let (ob, os, ol) = output;
        let ip = self.direct_range(ib, is, il)?;
        let op = self.direct_range(ob, os, ol)?;
        let (i0, o0) = (ip as usize, op as usize);
        if il > 0 && ol > 0 && i0 < o0 + ol && o0 < i0 + il {
            return Err(invalid("input and output ranges overlap"));
        }
        // SAFETY: both ranges lie in live direct-buffer memory (see
        // `with_direct`), they do not overlap (checked above), and the
        // borrows end before this native method returns.
        let (i, o) = unsafe {
            (
                std::slice::from_raw_parts(ip.cast_const(), il),
                std::slice::from_raw_parts_mut(op, ol),
            )
        };
        f(i, o)
    }

    /// Run `f` on a writable window of a direct buffer.
    pub(crate) fn with_direct_mut<R>(
        &self,
        buf: &JByteBuffer<'_>,
        start: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> BResult<R>,
    ) -> BResult<R> {
        let p = self.direct_range(buf, start, len)?;
        // SAFETY: as in `with_direct`; the window is borrowed mutably once.
        let bytes = unsafe { std::slice::from_raw_parts_mut(p, len) };
        f(bytes)
    }

    /// `SetByteArrayRegion(array, start, src)`; the JVM checks the bounds.
    pub(crate) fn set_byte_array_region(
        &self,
        array: &JByteArray<'_>,
        start: jint,
        src: &[u8],
    ) -> BResult<()> {
        if array.is_null() {
            return Err(invalid("output array is null"));
        }
        let len = jint::try_from(src.len()).map_err(|_| invalid("length exceeds int"))?;
        // SAFETY: no exception pending; `array` is a live byte[] reference;
        // `src` readable for `len` bytes; bounds are checked by the JVM.
        unsafe {
            (self.table().v1_1.SetByteArrayRegion)(
                self.env,
                array.as_raw(),
                start,
                len,
                src.as_ptr().cast::<sys::jbyte>(),
            )
        };
        self.check()
    }
}

// ---------------------------------------------------------------------------
// 3. The hot entry
// ---------------------------------------------------------------------------

/// Run a hot-path native method body: a panic boundary around `body`, and
/// on an error or a panic the same typed exception as the generic entry
/// (thrown through the jni crate's `Env`, off the hot path). A `Pending`
/// error means the JVM already has the exception to throw: nothing is
/// added. Returns `on_error` (null/0) whenever an exception is pending.
pub(crate) fn fast<'f, R>(
    env: &mut EnvUnowned<'f>,
    on_error: R,
    body: impl FnOnce(RawEnv<'f>) -> BResult<R>,
) -> R {
    // SAFETY: `env` is the EnvUnowned of the native method that called us,
    // on this thread; `raw` is moved into `body` and cannot outlive it.
    let raw = unsafe { RawEnv::from_unowned(env) };
    let err = match catch_unwind(AssertUnwindSafe(|| body(raw))) {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(payload) => BridgeError::from_panic(&*payload),
    };
    if !matches!(err, BridgeError::Pending) {
        env.with_env(|env| -> BResult<()> {
            crate::error::throw(env, err);
            Ok(())
        })
        .resolve::<ThrowTyped>();
    }
    on_error
}

// ---------------------------------------------------------------------------
// 4. Core threads calling into Java
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// 5. Calls through cached method ids
// ---------------------------------------------------------------------------

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
        // with descriptor (ILjava/lang/String;J)Lio/bridgehost/BridgeHostException;
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

// ---------------------------------------------------------------------------
// 6. Benchmark floors (`io.bridgehost.bench.BareEcho`)
// ---------------------------------------------------------------------------
//
// Written against the raw JNI function table (jni-sys types, no jni-crate
// entry, no panic boundary: nothing in them can panic), with only what any
// correct JNI method needs: a null check, and never a JNI call after one that
// threw (an `ExceptionCheck`, or the null return that reports the throw,
// after each call that can throw in that place). They touch no handle, no
// core object and no state of the bridge.
//
// Compiled only with the `bench` feature (bench/, scripts/java.sh): the
// shipped library carries no bench code and needs no bench class.
#[cfg(feature = "bench")]
mod bare {
    use super::*;

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
    const BARE_RAW_NATIVES: [NativeMethod<'static>; 3] = [
        bare_native!(
            "rawEcho",
            "([B)[B",
            bare_raw_echo as fn(sys::jbyteArray) -> sys::jbyteArray
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
        // SAFETY: see `bare_native!`; `rawEcho`, `attachPerEvent` and `attachedOnce` are
        // static in `BareEcho`.
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
}
