//! The hot path: `Method.call(byte[], off, len)`, `Method.call(direct ByteBuffer)`,
//! `Method.callTyped` and the scalar calls `Method.callScalar` (docs/TYPED.md, "Direct calls").
//!
//! Both run through [`jvm::fast`] (panic boundary, typed exceptions, no JNI
//! call with an exception pending) and use only the raw-table operations of
//! [`jvm::RawEnv`]. Per call: one lock-free id lookup (no `Arc` clone), one input copy (`byte[]`; none
//! for a direct buffer), the module call, one output copy into a new array.
#![forbid(unsafe_code)]

use crate::error::{invalid, BResult, BridgeError};
use crate::jvm::{self, RawEnv};
use crate::registry;
use bridgehost::Method;
use jni::objects::{JByteArray, JByteBuffer, JClass, JLongArray};
use jni::sys::{jbyteArray, jint, jlong};
use jni::EnvUnowned;
use std::cell::RefCell;

/// An output buffer larger than this is not kept for the next call.
const KEEP_OUTPUT_CAPACITY: usize = 64 << 10;

thread_local! {
    /// Per-thread output buffer reused across calls (no allocation per call).
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's reusable output buffer (a fresh one if it is
/// somehow in use already; nothing on the call path re-enters, but a
/// `try_borrow` costs nothing and cannot panic).
pub(crate) fn with_output<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    OUTPUT.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            let r = f(&mut v);
            if v.capacity() > KEEP_OUTPUT_CAPACITY {
                *v = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// A Java `(offset, length)` pair: both non-negative (the upper bound is
/// checked by the JVM against the array, or by us against the buffer).
pub(crate) fn range(offset: jint, length: jint) -> BResult<(jint, usize)> {
    if offset < 0 || length < 0 {
        return Err(invalid(format!(
            "offset ({offset}) and length ({length}) must not be negative"
        )));
    }
    Ok((offset, length as usize))
}

/// Refuse an input longer than the module's `max_input` before it is copied
/// out of a Java array: the core refuses it too, but only once it has the
/// bytes, and copying a 1 GiB array to be refused took seconds. The same
/// error (kind and message) as the core's refusal.
#[inline]
pub(crate) fn check_input_len(method: &Method, len: usize) -> BResult<()> {
    method.check_input_len(len).map_err(BridgeError::from)
}

/// [`check_input_len`] for `array[offset .. offset + len]`: an input range
/// that is not inside the array is left to the copy, which raises the JVM's
/// own `ArrayIndexOutOfBoundsException` before reading anything (a bad range
/// is reported as such, whatever its length). Reads the array's length only
/// for an input over the limit.
#[inline]
pub(crate) fn check_array_input(
    raw: RawEnv<'_>,
    method: &Method,
    array: &JByteArray<'_>,
    offset: jint,
    len: usize,
) -> BResult<()> {
    if len <= method.max_input() {
        return Ok(());
    }
    array_input_too_large(raw, method, array, offset, len)
}

#[cold]
#[inline(never)]
fn array_input_too_large(
    raw: RawEnv<'_>,
    method: &Method,
    array: &JByteArray<'_>,
    offset: jint,
    len: usize,
) -> BResult<()> {
    if array.is_null() {
        return Ok(()); // the copy reports it
    }
    let end = i64::from(offset).saturating_add(i64::try_from(len).unwrap_or(i64::MAX));
    if end <= i64::from(raw.array_len(array)?) {
        check_input_len(method, len)
    } else {
        Ok(())
    }
}

/// Call `method` on `input`, return the output as a new `byte[]`.
fn call_to_array(raw: RawEnv<'_>, method: &Method, input: &[u8]) -> BResult<jbyteArray> {
    with_output(|out| {
        method.call_with(input, out)?;
        raw.new_byte_array(out)
    })
}

/// `static native byte[] Native.call(long method, byte[] input, int offset, int length)`
pub(crate) extern "system" fn call_array<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    input: JByteArray<'f>,
    offset: jint,
    length: jint,
) -> jbyteArray {
    jvm::fast(&mut env, std::ptr::null_mut(), |raw| {
        let (offset, length) = range(offset, length)?;
        registry::with_method(method, |method| {
            check_array_input(raw, method, &input, offset, length)?;
            raw.with_array_copy(&input, offset, length, |bytes| {
                call_to_array(raw, method, bytes)
            })
        })
    })
}

/// `static native byte[] Native.callDirect(long method, ByteBuffer input, int position, int length)`
pub(crate) extern "system" fn call_direct<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    input: JByteBuffer<'f>,
    position: jint,
    length: jint,
) -> jbyteArray {
    jvm::fast(&mut env, std::ptr::null_mut(), |raw| {
        let (position, length) = range(position, length)?;
        registry::with_method(method, |method| {
            raw.with_direct(&input, position as usize, length, |bytes| {
                call_to_array(raw, method, bytes)
            })
        })
    })
}

/// [`call_typed`] flag: the input array is one `list<u8>`, encoded here (its
/// length, then its bytes, in one copy).
const TYPED_LIST_INPUT: jint = 1;
/// [`call_typed`] flag: the output is one `list<u8>`; its bytes are returned
/// (checked by the core: a mismatch is `AbiMismatchException`).
const TYPED_LIST_OUTPUT: jint = 2;

/// `static native byte[] Native.callTyped(long method, byte[] input, int flags)`:
/// the call under a generated binding's function whose input and/or result
/// is one `list<u8>` (`Method.callTyped`), with no encoding copy in Java.
pub(crate) extern "system" fn call_typed<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    input: JByteArray<'f>,
    flags: jint,
) -> jbyteArray {
    use bridgehost::interface::typed::wire;
    jvm::fast(&mut env, std::ptr::null_mut(), |raw| {
        if flags & !(TYPED_LIST_INPUT | TYPED_LIST_OUTPUT) != 0 {
            return Err(invalid(format!("unknown typed call flags {flags:#x}")));
        }
        let len = usize::try_from(raw.array_len(&input)?).unwrap_or(0);
        let head = if flags & TYPED_LIST_INPUT != 0 {
            wire::run_prefix(len, wire::Run::Bytes)
                .map_err(|e| invalid(e.to_string()))?
                .to_vec()
        } else {
            Vec::new()
        };
        registry::with_method(method, |method| {
            bridgehost::interface::check_list_claim(
                method,
                flags & TYPED_LIST_INPUT != 0,
                flags & TYPED_LIST_OUTPUT != 0,
                "callTyped",
            )?;
            check_input_len(method, len.saturating_add(head.len()))?;
            raw.with_array_copy_after(&head, &input, 0, len, |bytes| {
                with_output(|out| {
                    method.call_with(bytes, out)?;
                    if flags & TYPED_LIST_OUTPUT != 0 {
                        raw.new_byte_array(bridgehost::interface::bytes_output(method, out)?)
                    } else {
                        raw.new_byte_array(out)
                    }
                })
            })
        })
    })
}

/// Most arguments a scalar call copies to the stack (`BH_DIRECT_MAX_PARAMS`;
/// the core refuses more, naming the count).
const SCALAR_STACK: usize = bridgehost::interface::typed::scalar::MAX_PARAMS;

/// A scalar call (`Method::call_scalar`): each `long` is one argument's slot
/// (its 64 bits), the result is the result's slot (0 without a result). No
/// array, no allocation, no output buffer: the id lookup, the core's checks
/// of the slots, the module's direct entry (or, without one, the bytes entry
/// inside the core), the core's check of the result slot.
#[inline(always)]
fn scalar(method: jlong, args: &[u64]) -> BResult<jlong> {
    Ok(registry::call_scalar(method, args)? as jlong)
}

/// `static native long Native.callScalar0(long method)`
pub(crate) extern "system" fn call_scalar0<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
) -> jlong {
    jvm::fast(&mut env, 0, |_| scalar(method, &[]))
}

/// `static native long Native.callScalar1(long method, long a0)`
pub(crate) extern "system" fn call_scalar1<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    a0: jlong,
) -> jlong {
    jvm::fast(&mut env, 0, |_| scalar(method, &[a0 as u64]))
}

/// `static native long Native.callScalar2(long method, long a0, long a1)`
pub(crate) extern "system" fn call_scalar2<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    a0: jlong,
    a1: jlong,
) -> jlong {
    jvm::fast(&mut env, 0, |_| scalar(method, &[a0 as u64, a1 as u64]))
}

/// `static native long Native.callScalar3(long method, long a0, long a1, long a2)`
pub(crate) extern "system" fn call_scalar3<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    a0: jlong,
    a1: jlong,
    a2: jlong,
) -> jlong {
    jvm::fast(&mut env, 0, |_| {
        scalar(method, &[a0 as u64, a1 as u64, a2 as u64])
    })
}

/// `static native long Native.callScalar4(long method, long a0, long a1, long a2, long a3)`
pub(crate) extern "system" fn call_scalar4<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    a0: jlong,
    a1: jlong,
    a2: jlong,
    a3: jlong,
) -> jlong {
    jvm::fast(&mut env, 0, |_| {
        scalar(method, &[a0 as u64, a1 as u64, a2 as u64, a3 as u64])
    })
}

/// `static native long Native.callScalarN(long method, long[] args)`: any
/// count (five to eight under generated bindings); the array is copied.
pub(crate) extern "system" fn call_scalar_n<'f>(
    mut env: EnvUnowned<'f>,
    _class: JClass<'f>,
    method: jlong,
    args: JLongArray<'f>,
) -> jlong {
    jvm::fast(&mut env, 0, |raw| {
        raw.with_long_array::<SCALAR_STACK, _>(&args, |slots| scalar(method, slots))
    })
}
