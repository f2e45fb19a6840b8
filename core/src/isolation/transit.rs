//! Events in transit: accepted by a worker (its module's `emit` returned),
//! not yet in the host's event queue. When a subscription ends, the hub
//! counts in `events_discarded` the events it misses that are already in
//! the hub; this counts the ones still on their way, as they arrive.
//!
//! What the host knows of a worker's events: its accepted-event count in
//! its last answer (`promised`) and how many have arrived (`received`),
//! both wrapping `u32`, and that the worker sends them in the order it
//! accepted them. So event number `k` of a worker (counted from 1) was
//! accepted by the time the host saw `promised >= k`. A subscription that
//! ends is owed, per worker, the events numbered in `(after, through]`:
//! `through` is `promised` when it ended, `after` the larger of `received`
//! then (those arrived: the hub counts them) and `promised` when it began
//! (those were accepted before it existed). The supervisor counts each
//! owed event on the subscription's topic as it hands it to the hub (or
//! finds the hub closed); one the hub drops for a full queue is already
//! counted in `events_dropped`. Arrivals and the end of a subscription
//! exclude each other ([`Shared::transit`]), so no event is counted by both
//! the hub and here. An owed event that never arrives (its worker died) is
//! lost with the worker, not a discard: the entry goes with the worker.
#![forbid(unsafe_code)]

use super::pool::Shared;
use crate::counters::Counters;
use crate::events::InTransit;
use std::sync::{Arc, Weak};

/// Most owed ranges kept per module (one per worker per subscription that
/// ended with events on their way; an honest worker's arrive within
/// milliseconds). Bounds what a worker that announces events it never
/// sends can make the host hold; beyond it a range is not recorded.
const MAX_OWED: usize = 65_536;

/// `a > b` for wrapping counts.
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The events of one worker an ending subscription is owed, `(after,
/// through]`: announced (`promised`), not yet arrived (`received`), and
/// accepted after it began (`began`: announced or arrived then). `None`
/// when there are none.
fn owed_range(began: u32, promised: u32, received: u32) -> Option<(u32, u32)> {
    let from = if after(began, received) {
        began
    } else {
        received
    };
    after(promised, from).then_some((from, promised))
}

/// What an ended subscription is still owed by one worker.
#[derive(Debug)]
struct Owed {
    worker: u64,
    /// Events numbered in `(after, through]`.
    after: u32,
    through: u32,
    topic: Option<Arc<str>>,
    counters: Arc<Counters>,
}

/// The owed ranges of a module's ended subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Transit {
    owed: Vec<Owed>,
}

impl Transit {
    /// Event number `k` of `worker`, on `topic`, was handed to the hub (or
    /// the hub is gone): count it for every subscription owed it.
    pub(crate) fn arrived(&self, worker: u64, k: u32, topic: &str) {
        for o in &self.owed {
            if o.worker == worker
                && after(k, o.after)
                && !after(k, o.through)
                && o.topic.as_deref().is_none_or(|t| t == topic)
            {
                Counters::inc(&o.counters.events_discarded);
            }
        }
    }

    /// Every event of `worker` up to number `received` has arrived.
    pub(crate) fn passed(&mut self, worker: u64, received: u32) {
        if !self.owed.is_empty() {
            self.owed
                .retain(|o| o.worker != worker || after(o.through, received));
        }
    }

    /// `worker` is gone: what it did not send is lost with it.
    pub(crate) fn gone(&mut self, worker: u64) {
        self.owed.retain(|o| o.worker != worker);
    }

    pub(crate) fn clear(&mut self) {
        self.owed = Vec::new();
    }
}

/// A subscription to an isolated module: what its workers had announced
/// when it began.
pub(crate) struct Mark {
    shared: Weak<Shared>,
    /// Per worker: the events numbered up to this were accepted before the
    /// subscription existed (a worker not listed started after it).
    before: Vec<(u64, u32)>,
}

impl Mark {
    pub(crate) fn new(shared: &Arc<Shared>) -> Mark {
        let _t = shared.transit.lock();
        let pool = shared.pool.lock();
        let before = pool
            .slots
            .iter()
            .map(|s| {
                let (promised, received) = s.worker.event_counts();
                let b = if after(received, promised) {
                    received
                } else {
                    promised
                };
                (s.worker.id, b)
            })
            .collect();
        Mark {
            shared: Arc::downgrade(shared),
            before,
        }
    }
}

impl InTransit for Mark {
    fn end(
        &self,
        topic: Option<&Arc<str>>,
        counters: &Arc<Counters>,
        deactivate: &mut dyn FnMut() -> bool,
    ) {
        let Some(shared) = self.shared.upgrade() else {
            // The module's workers are gone: nothing is on its way.
            deactivate();
            return;
        };
        let mut t = shared.transit.lock();
        if !deactivate() {
            return;
        }
        let pool = shared.pool.lock();
        for s in &pool.slots {
            let (promised, received) = s.worker.event_counts();
            let began = self
                .before
                .iter()
                .find(|(id, _)| *id == s.worker.id)
                .map_or(0, |&(_, b)| b);
            let Some((from, promised)) = owed_range(began, promised, received) else {
                continue;
            };
            if t.owed.len() >= MAX_OWED {
                tracing::debug!(target: "bridgehost::events", "too many ended subscriptions with events in transit; not counting more");
                break;
            }
            t.owed.push(Owed {
                worker: s.worker.id,
                after: from,
                through: promised,
                topic: topic.cloned(),
                counters: Arc::clone(counters),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owed_are_the_announced_not_arrived_accepted_since_the_start() {
        // 10 announced, 4 arrived, began with 2 announced: 5..=10.
        assert_eq!(owed_range(2, 10, 4), Some((4, 10)));
        // Began after 7 were announced: not owed those (they were accepted
        // before it existed), only 8..=10.
        assert_eq!(owed_range(7, 10, 4), Some((7, 10)));
        // Everything announced before it began, or arrived: nothing.
        assert_eq!(owed_range(10, 10, 4), None);
        assert_eq!(owed_range(2, 10, 10), None);
        // Arrivals ahead of the last answer (a call still running): nothing.
        assert_eq!(owed_range(2, 10, 12), None);
        // Wrapping counts.
        assert_eq!(
            owed_range(u32::MAX - 5, 3, u32::MAX - 2),
            Some((u32::MAX - 2, 3))
        );
    }

    #[test]
    fn counts_each_owed_arrival_once_in_range_and_topic() {
        let c = Arc::new(Counters::default());
        let mut t = Transit::default();
        t.owed.push(Owed {
            worker: 1,
            after: u32::MAX - 1,
            through: 1,
            topic: Some(Arc::from("a")),
            counters: Arc::clone(&c),
        });
        // Numbers wrap: u32::MAX, 0 and 1 are owed; u32::MAX - 1 and 2 not.
        for (k, topic) in [
            (u32::MAX - 1, "a"),
            (u32::MAX, "a"),
            (0, "b"),
            (0, "a"),
            (1, "a"),
            (2, "a"),
        ] {
            t.arrived(1, k, topic);
            t.arrived(2, k, topic); // another worker's: not owed
        }
        assert_eq!(c.snapshot().events_discarded, 3);
        t.passed(1, 0);
        assert_eq!(t.owed.len(), 1);
        t.passed(1, 1);
        assert!(t.owed.is_empty());
    }
}
