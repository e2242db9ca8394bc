//! The hub: hands each applied revision's events to the watchers they match, without
//! ever waiting on a watcher.
//!
//! Single-key watchers are found through a map by key, range watchers by a scan of the
//! (usually few) range watchers, so thousands of single-key watchers cost one lookup
//! per event. Each watcher has a bounded queue; when it is full the hub marks the
//! watcher lagging and stops sending to it; the watcher then replays what it missed
//! from history on its own and asks to be resumed ([`Hub::resume`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use skiff_proto::mvccpb::{event::EventType, Event};
use tokio::sync::mpsc;

use crate::mvcc::span::KeySpan;

/// Queue length (in revisions) of one watcher before it is marked lagging.
pub(crate) const LIVE_QUEUE: usize = 128;

/// The events of one revision, in sub-revision order (event `i` has sub revision `i`).
#[derive(Debug)]
pub(crate) struct RevEvents {
    pub revision: i64,
    pub events: Vec<Event>,
    /// prev_kv was filled on every event that has a previous version.
    pub has_prev: bool,
}

#[derive(Debug)]
pub(crate) enum Signal {
    Events(Arc<RevEvents>),
    /// The state was replaced (snapshot restore): replay from history.
    Resync,
}

/// Which events a watcher wants.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    pub span: KeySpan,
    pub no_put: bool,
    pub no_delete: bool,
}

impl Filter {
    pub(crate) fn matches(&self, ev: &Event) -> bool {
        let Some(kv) = &ev.kv else { return false };
        let wanted = if ev.r#type == EventType::Delete as i32 {
            !self.no_delete
        } else {
            !self.no_put
        };
        wanted && self.span.contains(&kv.key)
    }
}

struct Slot {
    filter: Filter,
    prev_kv: bool,
    tx: mpsc::Sender<Signal>,
    lagging: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    slots: HashMap<u64, Slot>,
    by_key: HashMap<Vec<u8>, Vec<u64>>,
    ranges: BTreeSet<u64>,
}

pub(crate) struct Hub {
    inner: Mutex<Inner>,
    /// Every revision up to this one has been handed to the registered watchers.
    published: AtomicI64,
    prev_kv_watchers: AtomicUsize,
}

impl Hub {
    pub(crate) fn new(revision: i64) -> Hub {
        Hub {
            inner: Mutex::new(Inner::default()),
            published: AtomicI64::new(revision),
            prev_kv_watchers: AtomicUsize::new(0),
        }
    }

    pub(crate) fn published(&self) -> i64 {
        self.published.load(Ordering::Acquire)
    }

    pub(crate) fn wants_prev_kv(&self) -> bool {
        self.prev_kv_watchers.load(Ordering::Acquire) > 0
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().slots.len()
    }

    /// Registers a watcher; it receives every revision after the returned one.
    pub(crate) fn register(
        &self,
        filter: Filter,
        prev_kv: bool,
        tx: mpsc::Sender<Signal>,
        lagging: Arc<AtomicBool>,
    ) -> (u64, i64) {
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        match &filter.span {
            KeySpan::Single(key) => inner.by_key.entry(key.clone()).or_default().push(id),
            KeySpan::Range { .. } => {
                inner.ranges.insert(id);
            }
        }
        if prev_kv {
            self.prev_kv_watchers.fetch_add(1, Ordering::AcqRel);
        }
        inner.slots.insert(
            id,
            Slot {
                filter,
                prev_kv,
                tx,
                lagging,
            },
        );
        (id, self.published())
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut inner = self.inner.lock();
        let Some(slot) = inner.slots.remove(&id) else {
            return;
        };
        match &slot.filter.span {
            KeySpan::Single(key) => {
                if let Some(ids) = inner.by_key.get_mut(key) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        inner.by_key.remove(key);
                    }
                }
            }
            KeySpan::Range { .. } => {
                inner.ranges.remove(&id);
            }
        }
        if slot.prev_kv {
            self.prev_kv_watchers.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Live delivery resumes for a lagging watcher that has drained its queue; it
    /// receives every revision after the returned one and replays up to it itself.
    pub(crate) fn resume(&self, id: u64) -> i64 {
        let inner = self.inner.lock();
        if let Some(slot) = inner.slots.get(&id) {
            slot.lagging.store(false, Ordering::Release);
        }
        self.published()
    }

    /// Hands each revision to its watchers, in order. Never blocks on a watcher.
    pub(crate) fn publish(&self, batches: Vec<RevEvents>) {
        if batches.is_empty() {
            return;
        }
        let inner = self.inner.lock();
        let mut targets = Vec::new();
        for batch in batches {
            let revision = batch.revision;
            if !inner.slots.is_empty() {
                targets.clear();
                for ev in &batch.events {
                    let Some(kv) = &ev.kv else { continue };
                    let matches =
                        |id: &u64| inner.slots.get(id).is_some_and(|s| s.filter.matches(ev));
                    if let Some(ids) = inner.by_key.get(&kv.key) {
                        targets.extend(ids.iter().copied().filter(matches));
                    }
                    targets.extend(inner.ranges.iter().copied().filter(matches));
                }
                targets.sort_unstable();
                targets.dedup();
                let batch = Arc::new(batch);
                for id in &targets {
                    let Some(slot) = inner.slots.get(id) else {
                        continue;
                    };
                    if slot.lagging.load(Ordering::Acquire) {
                        continue;
                    }
                    if let Err(mpsc::error::TrySendError::Full(_)) =
                        slot.tx.try_send(Signal::Events(batch.clone()))
                    {
                        slot.lagging.store(true, Ordering::Release);
                    }
                }
            }
            self.published.store(revision, Ordering::Release);
        }
    }

    /// After a snapshot restore: `revision` is the restored state's; every watcher
    /// replays what it has not seen from the restored history.
    pub(crate) fn reset(&self, revision: i64) {
        let inner = self.inner.lock();
        self.published.store(revision, Ordering::Release);
        for slot in inner.slots.values() {
            slot.lagging.store(true, Ordering::Release);
            // A full queue wakes the watcher anyway.
            let _ = slot.tx.try_send(Signal::Resync);
        }
    }
}
