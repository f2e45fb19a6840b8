//! The raw JNI function table for the hot path, and the hot entry [`fast`].

use crate::error::{invalid, BResult, BridgeError, ThrowTyped};
use jni::objects::{JByteArray, JByteBuffer, JLongArray};
use jni::sys::{self, jint};
use jni::{Env, EnvUnowned};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
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

    /// Copy `array[start .. start + dst.len()]` into `dst` (initialized
    /// memory, e.g. a shared buffer's bytes); the JVM checks the bounds.
    pub(crate) fn copy_array_region(
        &self,
        array: &JByteArray<'_>,
        start: jint,
        dst: &mut [u8],
    ) -> BResult<()> {
        // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the view is
        // only written by GetByteArrayRegion, which stores initialized bytes
        // (or nothing, on an exception): `dst` stays initialized.
        let dst = unsafe { &mut *(std::ptr::from_mut::<[u8]>(dst) as *mut [MaybeUninit<u8>]) };
        self.byte_array_region(array, start, dst)
    }

    /// Run `f` on a native copy of `array[start .. start + len]`: on the
    /// stack up to [`STACK_COPY`] bytes, else in a heap buffer. This is the
    /// only way `byte[]` input reaches a module: copied, never pinned.
    #[inline]
    pub(crate) fn with_array_copy<R>(
        &self,
        array: &JByteArray<'_>,
        start: jint,
        len: usize,
        f: impl FnOnce(&[u8]) -> BResult<R>,
    ) -> BResult<R> {
        self.with_array_copy_after(&[], array, start, len, f)
    }

    /// [`with_array_copy`](Self::with_array_copy) with `head` (a few bytes,
    /// e.g. a typed run's length) in front of the copy, in the same buffer.
    pub(crate) fn with_array_copy_after<R>(
        &self,
        head: &[u8],
        array: &JByteArray<'_>,
        start: jint,
        len: usize,
        f: impl FnOnce(&[u8]) -> BResult<R>,
    ) -> BResult<R> {
        let total = len
            .checked_add(head.len())
            .ok_or_else(|| invalid("length overflows"))?;
        if total <= STACK_COPY {
            let mut buf = [MaybeUninit::<u8>::uninit(); STACK_COPY];
            for (d, s) in buf.iter_mut().zip(head) {
                d.write(*s);
            }
            self.byte_array_region(array, start, &mut buf[head.len()..total])?;
            // SAFETY: bytes 0..head.len() were written above, and
            // GetByteArrayRegion returned without an exception, so it wrote
            // all `len` bytes after them.
            let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), total) };
            f(bytes)
        } else {
            let v = self.array_to_vec_after(head, array, start, len)?;
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
        self.array_to_vec_after(&[], array, start, len)
    }

    /// [`array_to_vec`](Self::array_to_vec) with `head` in front.
    fn array_to_vec_after(
        &self,
        head: &[u8],
        array: &JByteArray<'_>,
        start: jint,
        len: usize,
    ) -> BResult<Vec<u8>> {
        let total = len
            .checked_add(head.len())
            .ok_or_else(|| invalid("length overflows"))?;
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(total).map_err(|_| {
            BridgeError::from(bridgehost::Error::ResourceLimit(format!(
                "cannot allocate {total} bytes for the input copy"
            )))
        })?;
        v.extend_from_slice(head);
        self.byte_array_region(array, start, &mut v.spare_capacity_mut()[..len])?;
        // SAFETY: capacity >= total (reserved above), bytes 0..head.len()
        // were pushed, and GetByteArrayRegion returned without an exception,
        // so the `len` bytes after them are initialized.
        unsafe { v.set_len(total) };
        Ok(v)
    }

    /// Run `f` on a copy of a whole `long[]` (`GetArrayLength` +
    /// `GetLongArrayRegion`), each element's 64 bits as a `u64`: on the stack
    /// up to `N` elements, else in a heap buffer (the callee refuses a count
    /// it does not take, with its own message). The scalar call of more than
    /// four arguments.
    pub(crate) fn with_long_array<const N: usize, R>(
        &self,
        array: &JLongArray<'_>,
        f: impl FnOnce(&[u64]) -> BResult<R>,
    ) -> BResult<R> {
        if array.is_null() {
            return Err(invalid("argument array is null"));
        }
        // SAFETY: valid env (see `table`); no exception is pending (callers
        // reach here only after successful checks); `array` is a non-null
        // live reference to a long[] handed to us by the JVM. GetArrayLength
        // cannot throw.
        let len = unsafe { (self.table().v1_1.GetArrayLength)(self.env, array.as_raw()) };
        let n = usize::try_from(len).unwrap_or(0);
        let copy = |dst: &mut [u64]| -> BResult<()> {
            if dst.is_empty() {
                return Ok(());
            }
            // SAFETY: no exception pending; `array` is a live long[] of
            // exactly `len` elements and `dst` holds `len` writable u64s
            // (the size and alignment of a jlong; any bits are a valid u64),
            // so the region 0..len is in bounds and GetLongArrayRegion
            // cannot throw; checked all the same.
            unsafe {
                (self.table().v1_1.GetLongArrayRegion)(
                    self.env,
                    array.as_raw(),
                    0,
                    len,
                    dst.as_mut_ptr().cast::<sys::jlong>(),
                )
            };
            self.check()
        };
        if n <= N {
            let mut buf = [0u64; N];
            copy(&mut buf[..n])?;
            f(&buf[..n])
        } else {
            let mut v: Vec<u64> = Vec::new();
            v.try_reserve_exact(n).map_err(|_| {
                BridgeError::from(bridgehost::Error::ResourceLimit(format!(
                    "cannot allocate {n} arguments"
                )))
            })?;
            v.resize(n, 0);
            copy(&mut v)?;
            f(&v)
        }
    }

    /// A new `byte[]` holding `src` (`NewByteArray` + `SetByteArrayRegion`).
    pub(crate) fn new_byte_array(&self, src: &[u8]) -> BResult<sys::jbyteArray> {
        let len = jint::try_from(src.len()).map_err(|_| {
            BridgeError::from(bridgehost::Error::ResourceLimit(format!(
                "output of {} bytes does not fit in a Java array",
                src.len()
            )))
        })?;
        // SAFETY: no exception pending; len >= 0.
        let array = unsafe { (self.table().v1_1.NewByteArray)(self.env, len) };
        if array.is_null() {
            // NewByteArray returns null exactly when it throws (OutOfMemoryError).
            self.check()?;
            return Err(crate::error::jni_failure(
                "NewByteArray returned null".into(),
            ));
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

/// Run a hot-path native method body: a panic boundary around `body`, and
/// on an error or a panic the same typed exception as the generic entry
/// (thrown through the jni crate's `Env`, off the hot path: [`fail`]). A
/// `Pending` error means the JVM already has the exception to throw: nothing
/// is added. Returns `on_error` (null/0) whenever an exception is pending.
/// Inlined into each entry, so that the success path of a scalar call is one
/// function (measured: a separate `fast` frame cost about 3 ns per call).
#[inline(always)]
pub(crate) fn fast<'f, R>(
    env: &mut EnvUnowned<'f>,
    on_error: R,
    body: impl FnOnce(RawEnv<'f>) -> BResult<R>,
) -> R {
    // SAFETY: `env` is the EnvUnowned of the native method that called us,
    // on this thread; `raw` is moved into `body` and cannot outlive it.
    let raw = unsafe { RawEnv::from_unowned(env) };
    match catch_unwind(AssertUnwindSafe(|| body(raw))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            fail(env, e);
            on_error
        }
        Err(payload) => {
            fail(env, BridgeError::from_panic(&*payload));
            on_error
        }
    }
}

/// [`fast`]'s error path: throw `err` as its typed exception, unless it is
/// `Pending` (the JVM already has the exception to throw).
#[cold]
#[inline(never)]
fn fail(env: &mut EnvUnowned<'_>, err: BridgeError) {
    if !matches!(err, BridgeError::Pending) {
        env.with_env(|env| -> BResult<()> {
            crate::error::throw(env, err);
            Ok(())
        })
        .resolve::<ThrowTyped>();
    }
}
