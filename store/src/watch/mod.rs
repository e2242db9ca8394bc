//! Watchers: every event from a start revision, in revision order, exactly once.
//!
//! # Layout
//! - `hub`: fans applied events out to live watchers through bounded queues.
//! - `history`: replays events from the history records.
//!
//! A watcher first replays history from its start revision up to the revision the hub
//! had published when it registered, then takes live events from its queue. When the
//! queue overflows (a slow client) the hub stops feeding it; the watcher drains what
//! it has, replays the gap from history and resumes live delivery, so a slow client
//! never blocks apply and never misses an event. History that was compacted before
//! the watcher read it ends the watcher with `Compacted`.
//!
//! After a snapshot restore every watcher resyncs the same way from the restored
//! history (a watcher whose next revision the snapshot compacted gets `Compacted`).

pub(crate) mod history;
pub(crate) mod hub;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use skiff_proto::mvccpb::Event;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use crate::mvcc::codec::Rev;
use crate::mvcc::span::KeySpan;
use crate::mvcc::Core;
use history::HistoryError;
use hub::{Filter, RevEvents, Signal, LIVE_QUEUE};

/// Live revisions merged into one item at most (when the watcher is behind).
const MAX_LIVE_EVENTS: usize = 1000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchSpec {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    /// 0 or less: from now (the current revision + 1).
    pub start_revision: i64,
    pub prev_kv: bool,
    pub no_put: bool,
    pub no_delete: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WatchItem {
    /// Events in revision order; every event up to `revision` has now been delivered.
    /// All events of one revision are always in the same item.
    Events { events: Vec<Event>, revision: i64 },
    /// The history this watcher needs is compacted; the watcher is done.
    Compacted { compact_revision: i64 },
}

pub struct Watcher {
    core: Arc<Core>,
    id: u64,
    filter: Filter,
    prev_kv: bool,
    rx: mpsc::Receiver<Signal>,
    lagging: Arc<AtomicBool>,
    /// Every event before this revision has been delivered.
    next_rev: i64,
    /// Revisions up to here come from history; later ones from the queue.
    history_until: i64,
    done: bool,
    /// Times this watcher fell behind and caught up from history.
    resyncs: u64,
}

impl Watcher {
    pub(crate) fn new(core: Arc<Core>, spec: WatchSpec) -> Watcher {
        let filter = Filter {
            span: KeySpan::new(&spec.key, &spec.range_end),
            no_put: spec.no_put,
            no_delete: spec.no_delete,
        };
        let (tx, rx) = mpsc::channel(LIVE_QUEUE);
        let lagging = Arc::new(AtomicBool::new(false));
        let (id, published) = core
            .hub
            .register(filter.clone(), spec.prev_kv, tx, lagging.clone());
        let next_rev = if spec.start_revision <= 0 {
            published + 1
        } else {
            spec.start_revision
        };
        Watcher {
            core,
            id,
            filter,
            prev_kv: spec.prev_kv,
            rx,
            lagging,
            next_rev,
            history_until: published,
            done: false,
            resyncs: 0,
        }
    }

    /// The next batch of events, or `Compacted` (after which this never resolves).
    /// Cancel-safe: state only changes together with a returned item.
    pub async fn next(&mut self) -> WatchItem {
        loop {
            if self.done {
                return std::future::pending().await;
            }
            if self.next_rev <= self.history_until {
                match history::read(
                    &self.core,
                    &self.filter,
                    self.prev_kv,
                    self.next_rev,
                    self.history_until,
                ) {
                    Ok(chunk) => {
                        self.next_rev = chunk.next;
                        if !chunk.events.is_empty() {
                            return WatchItem::Events {
                                events: chunk.events,
                                revision: chunk.next - 1,
                            };
                        }
                        // A long stretch without matches: let other tasks run.
                        tokio::task::yield_now().await;
                    }
                    Err(err) => return self.fail(err),
                }
                continue;
            }
            // Read the flag before the queue: the hub only sets it on a full queue,
            // so "lagging and empty" means everything sent before the gap is drained.
            let lagging = self.lagging.load(Ordering::Acquire);
            let signal = match self.rx.try_recv() {
                Ok(signal) => signal,
                Err(TryRecvError::Empty) if lagging => {
                    self.resyncs += 1;
                    self.history_until = self.core.hub.resume(self.id);
                    continue;
                }
                Err(TryRecvError::Empty) => match self.rx.recv().await {
                    Some(signal) => signal,
                    None => {
                        self.done = true;
                        continue;
                    }
                },
                Err(TryRecvError::Disconnected) => {
                    self.done = true;
                    continue;
                }
            };
            if let Some(item) = self.live(signal) {
                return item;
            }
        }
    }

    fn fail(&mut self, err: HistoryError) -> WatchItem {
        self.done = true;
        let compact_revision = match err {
            HistoryError::Compacted(rev) => rev,
            HistoryError::Store(e) => {
                // The client must start over either way; Compacted makes it re-list.
                tracing::error!(error = %e, "watch history unreadable; cancelling the watch as compacted");
                self.core.state.read().compact
            }
        };
        WatchItem::Compacted { compact_revision }
    }

    /// Takes this signal and whatever else is queued (bounded) into one item.
    fn live(&mut self, first: Signal) -> Option<WatchItem> {
        let mut events = Vec::new();
        let mut revision = None;
        let mut signal = Some(first);
        while let Some(s) = signal.take() {
            if let Signal::Events(batch) = s {
                // Older revisions were already replayed from history.
                if batch.revision >= self.next_rev {
                    self.take(&batch, &mut events);
                    self.next_rev = batch.revision + 1;
                    revision = Some(batch.revision);
                }
            }
            if events.len() < MAX_LIVE_EVENTS {
                signal = self.rx.try_recv().ok();
            }
        }
        match revision {
            Some(revision) if !events.is_empty() => Some(WatchItem::Events { events, revision }),
            _ => None,
        }
    }

    fn take(&self, batch: &RevEvents, out: &mut Vec<Event>) {
        let mut mine: Vec<(Rev, Event)> = batch
            .events
            .iter()
            .enumerate()
            .filter(|(_, ev)| self.filter.matches(ev))
            .map(|(sub, ev)| (Rev::new(batch.revision, sub as i64), ev.clone()))
            .collect();
        if !self.prev_kv {
            for (_, ev) in &mut mine {
                ev.prev_kv = None;
            }
        } else if !batch.has_prev {
            // Registered while this batch was being applied: look the values up now.
            if let Err(e) = history::fill_prev(&self.core, &mut mine) {
                tracing::warn!(error = %e, "watch: cannot read previous values");
            }
        }
        out.extend(mine.into_iter().map(|(_, ev)| ev));
    }

    /// How many times this watcher fell behind its queue and replayed from history.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// `Some(rev)` when the watcher is live and every event up to `rev` has been
    /// delivered (for progress notifications); `None` while it is catching up.
    pub fn progress_revision(&self) -> Option<i64> {
        if self.done || self.next_rev <= self.history_until || self.lagging.load(Ordering::Acquire)
        {
            return None;
        }
        // Load the revision before looking at the queue: anything published up to it
        // was queued before, so an empty queue means it was all delivered.
        let published = self.core.hub.published();
        if !self.rx.is_empty() {
            return None;
        }
        Some(published)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.core.hub.unregister(self.id);
    }
}
