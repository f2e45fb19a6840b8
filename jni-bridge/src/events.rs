//! Event delivery: core dispatcher thread → `EventSink.deliver(topic, data)`.
//!
//! The callback the core runs for a subscription owns a [`CountedGlobal`]
//! to the Java `EventSink`. The core drops the callback (and with it the
//! global reference) when `unsubscribe` returns or the module/host closes,
//! after the last delivery finished: no delivery can use a deleted
//! reference, and no reference outlives its subscription.
#![forbid(unsafe_code)]

use crate::jvm;
use crate::refs::CountedGlobal;
use bridgehost::{Counters, Event, EventCallback};
use jni::objects::JObject;
use std::sync::Arc;

/// Local references one delivery creates: the payload array, the topic.
const FRAME_CAPACITY: usize = 4;

/// The core callback for one subscription.
pub(crate) fn callback(
    sink: CountedGlobal,
    want_topic: bool,
    counters: Arc<Counters>,
) -> EventCallback {
    Box::new(move |event: &Event| deliver(&sink, want_topic, event, &counters))
}

/// Deliver one event on the current (dispatcher) thread, inside its own
/// local frame (raw table on a thread the bridge attached, see
/// [`jvm::deliver_on_daemon`]). A listener that throws is caught in Java (`EventSink`), which
/// logs it and returns false; anything that still escapes (an error thrown
/// while reporting) is caught and cleared here. Both are counted as
/// `callback_errors`; nothing is left pending on the thread.
fn deliver(sink: &CountedGlobal, want_topic: bool, event: &Event, counters: &Counters) {
    let topic = want_topic.then_some(&*event.topic);
    // The dispatcher is a thread the bridge attached once: the raw delivery
    // (jvm::deliver_on_daemon). Anywhere else, the jni crate's attach scope.
    let outcome = match jvm::deliver_on_daemon(sink.as_obj(), topic, &event.data) {
        Some(r) => r.map_err(|e| e.to_string()),
        None => jvm::with_attached_env(FRAME_CAPACITY, |env| {
            let data = env.byte_array_from_slice(&event.data)?;
            let topic = match topic {
                Some(t) => JObject::from(env.new_string(t)?),
                None => JObject::null(),
            };
            jvm::call_sink_deliver(env, sink.as_obj(), &topic, &data)
        })
        .map_err(|e| e.to_string()),
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => counters.add_callback_error(),
        Err(e) => {
            counters.add_callback_error();
            tracing::error!(target: "bridgehost::jni", topic = %event.topic, "event delivery failed: {e}");
        }
    }
}
