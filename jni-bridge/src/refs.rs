//! Global references, counted.
//!
//! Every global reference the bridge keeps (a listener's `EventSink`, a
//! pending `NativeFuture`) is a [`CountedGlobal`]: created through the jni
//! crate, deleted when dropped (on whichever thread drops it; the jni crate
//! attaches for the scope if that thread is not attached), and counted, so
//! tests can assert that subscribe/unsubscribe and submit cycles leave no
//! global reference behind (catalog Q16).
#![forbid(unsafe_code)]

use jni::objects::JObject;
use jni::refs::Global;
use jni::Env;
use std::sync::atomic::{AtomicI64, Ordering};

static LIVE: AtomicI64 = AtomicI64::new(0);

/// A counted global reference to a non-null object.
#[derive(Debug)]
pub(crate) struct CountedGlobal {
    inner: Global<JObject<'static>>,
}

impl CountedGlobal {
    /// A new global reference to `obj` (which must not be null).
    pub(crate) fn new(env: &Env<'_>, obj: &JObject<'_>) -> jni::errors::Result<Self> {
        if obj.is_null() {
            return Err(jni::errors::Error::NullPtr("global reference target"));
        }
        let inner = env.new_global_ref(obj)?;
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(CountedGlobal { inner })
    }

    /// The referenced object.
    pub(crate) fn as_obj(&self) -> &JObject<'static> {
        self.inner.as_obj()
    }
}

impl Drop for CountedGlobal {
    fn drop(&mut self) {
        // `inner` is dropped right after this: DeleteGlobalRef.
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Global references currently held by the bridge.
pub(crate) fn live() -> i64 {
    LIVE.load(Ordering::Relaxed)
}
