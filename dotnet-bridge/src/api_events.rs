//! Event subscriptions.

use crate::callback::EventSink;
use crate::handles::{MODULES, SUBSCRIPTIONS};
use crate::types::{bh_event_fn, bh_module, bh_status, bh_subscription};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Subscribe to the module's events on `topic` (UTF-8, 1..=128 bytes, not
/// NUL-terminated; `"*"` for every topic). `cb` runs on the host's dispatcher
/// thread, one event at a time, in emit order per module. `*out` is written
/// on success only; free it with `bh_unsubscribe` (also after the module or
/// host closed, which stops deliveries but does not retire the handle).
///
/// # Safety
/// `topic` must be readable for `topic_len` bytes; `cb` a function of type
/// `bh_event_fn` that does not unwind; `user_data` usable from the dispatcher
/// thread until `bh_unsubscribe` returns; `out` valid for a write of
/// `bh_subscription`.
#[no_mangle]
pub unsafe extern "C" fn bh_subscribe(
    m: bh_module,
    topic: *const c_char,
    topic_len: usize,
    cb: bh_event_fn,
    user_data: *mut c_void,
    out: *mut bh_subscription,
) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let topic = c.utf8(topic, topic_len, "topic")?;
        let sink = EventSink::new(c, cb, user_data)?;
        let module = MODULES.get(m)?;
        let sub = module.subscribe(topic, Box::new(move |ev| sink.deliver(&ev.topic, &ev.data)))?;
        out.write(SUBSCRIPTIONS.insert(Arc::new(sub)));
        Ok(())
    })
}

/// Retire the subscription. When this returns, `cb` is not running and never
/// runs again, so `user_data` may be freed — unless this is called from
/// inside `cb` itself, which is allowed, does not deadlock, and guarantees
/// that no later delivery starts. A second call is `BH_E_CLOSED` (a retired handle).
#[no_mangle]
pub extern "C" fn bh_unsubscribe(s: bh_subscription) -> bh_status {
    ffi_boundary!({
        let sub = SUBSCRIPTIONS.remove(s)?;
        sub.unsubscribe();
        Ok(())
    })
}
