//! `Method.submit`: the core runs the call on a pool thread, the completion
//! completes the Java `NativeFuture` from there.
//!
//! The input is copied before `submit` returns. The future is held by a
//! [`CountedGlobal`] inside the completion, which the core runs exactly once
//! (result, `Cancelled`, or `Closed`), so the reference is always deleted.
#![forbid(unsafe_code)]

use crate::error::{BResult, BridgeError};
use crate::jvm;
use crate::refs::CountedGlobal;
use crate::registry::{self, TASKS};
use bridgehost::{Counters, Error, Method};
use jni::objects::JObject;
use jni::sys::jlong;
use jni::Env;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Marks a task whose completion ran before its id was published.
const DONE: u64 = u64::MAX;

/// Local references one completion creates.
const FRAME_CAPACITY: usize = 4;

/// Submit `input` to `method`; completes `future` later. Returns the task id
/// for `cancel`.
pub(crate) fn start(
    env: &Env<'_>,
    method: &Method,
    input: Vec<u8>,
    future: &JObject<'_>,
) -> BResult<jlong> {
    let future = CountedGlobal::new(env, future)?;
    let counters = Arc::clone(method.module().counters_ref());
    // The task id is known only after the core accepted the task; the
    // completion may run before that. `slot` resolves the race: whoever
    // comes second removes the id from the table.
    let slot = Arc::new(AtomicU64::new(0));
    let completion_slot = Arc::clone(&slot);
    let handle = method.submit(input, move |result| {
        let id = completion_slot.swap(DONE, Ordering::AcqRel);
        if id != 0 {
            drop(TASKS.remove(id));
        }
        complete(future, result, &counters);
    })?;
    let id = TASKS.insert(Arc::new(handle));
    if slot
        .compare_exchange(0, id, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        drop(TASKS.remove(id));
    }
    Ok(registry::to_java(id))
}

/// Complete the Java future on this (pool) thread, in a local frame. If the
/// result cannot be handed over (an `OutOfMemoryError` creating the array),
/// the future is failed with an `InternalException` instead, so it never
/// stays incomplete.
fn complete(future: CountedGlobal, result: Result<Vec<u8>, Error>, counters: &Counters) {
    let result = result.and_then(|bytes| {
        if i32::try_from(bytes.len()).is_err() {
            Err(Error::ResourceLimit(format!(
                "output of {} bytes does not fit in a Java array",
                bytes.len()
            )))
        } else {
            Ok(bytes)
        }
    });
    let first = jvm::with_attached_env(FRAME_CAPACITY, |env| match &result {
        Ok(bytes) => {
            let array = env.byte_array_from_slice(bytes)?;
            jvm::call_future_succeed(env, future.as_obj(), &array)
        }
        Err(e) => fail(env, &future, e),
    });
    if let Err(e) = first {
        counters.add_callback_error();
        tracing::error!(target: "bridgehost::jni", "completing a future failed: {e}");
        let fallback = Error::Internal(format!("could not deliver the result: {e}"));
        let second = jvm::with_attached_env(FRAME_CAPACITY, |env| fail(env, &future, &fallback));
        if let Err(e) = second {
            tracing::error!(target: "bridgehost::jni", "failing a future failed: {e}");
        }
    }
    drop(future); // DeleteGlobalRef, on this attached thread
}

fn fail(env: &mut Env<'_>, future: &CountedGlobal, e: &Error) -> jni::errors::Result<()> {
    let err = BridgeError::from(e.clone());
    let (kind, message, detail) = err.to_java().unwrap_or((0, String::new(), 0));
    let message = env.new_string(message)?;
    jvm::call_future_fail(env, future.as_obj(), kind, &message, detail)
}
