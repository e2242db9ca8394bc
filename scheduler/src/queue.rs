//! The scheduling queue: pods waiting for a decision (active, first come first served), pods waiting out a back-off, and pods that fit nowhere until the cluster changes.
//!
//! Shaped like kube-scheduler's: an unschedulable pod is parked until an event that may
//! make it fit (a node added or changed, resources freed) moves it back; a pod that failed
//! recently waits out its back-off first, which doubles with every failed attempt up to a
//! maximum, so a busy cluster cannot make the scheduler spin on a pod that still fits nowhere.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// Where a pod known to the queue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Active,
    Backoff,
    Unschedulable,
    /// Decided; its binding is being written.
    Binding,
}

#[derive(Clone, Debug)]
struct Entry {
    uid: String,
    stage: Stage,
    /// Stale copies of the key in the active list or the back-off heap carry an older seq.
    seq: u64,
    attempts: u32,
    last_failure: Option<Instant>,
    /// When the pod was first seen waiting, for the scheduling latency.
    first_seen: Instant,
}

/// A pod taken from the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Popped {
    pub key: String,
    pub uid: String,
    pub first_seen: Instant,
    pub attempts: u32,
}

/// Counts per stage, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
    pub binding: usize,
}

impl QueueCounts {
    fn slot(&mut self, stage: Stage) -> &mut usize {
        match stage {
            Stage::Active => &mut self.active,
            Stage::Backoff => &mut self.backoff,
            Stage::Unschedulable => &mut self.unschedulable,
            Stage::Binding => &mut self.binding,
        }
    }
}

/// The bookkeeping that follows every stage change: counts, and the set of parked pods
/// (so that moving them back does not scan every pod).
#[derive(Debug, Default)]
struct Index {
    counts: QueueCounts,
    parked: HashSet<String>,
}

impl Index {
    /// The pod under `key` left stage `from` (None: it is new) for `to` (None: it is gone).
    fn moved(&mut self, key: &str, from: Option<Stage>, to: Option<Stage>) {
        if let Some(from) = from {
            *self.counts.slot(from) -= 1;
            if from == Stage::Unschedulable {
                self.parked.remove(key);
            }
        }
        if let Some(to) = to {
            *self.counts.slot(to) += 1;
            if to == Stage::Unschedulable {
                self.parked.insert(key.to_string());
            }
        }
    }
}

#[derive(Debug)]
pub struct SchedulingQueue {
    entries: HashMap<String, Entry>,
    active: VecDeque<(String, u64)>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    index: Index,
    next_seq: u64,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl SchedulingQueue {
    pub fn new(initial_backoff: Duration, max_backoff: Duration) -> SchedulingQueue {
        SchedulingQueue {
            entries: HashMap::new(),
            active: VecDeque::new(),
            backoff: BinaryHeap::new(),
            index: Index::default(),
            next_seq: 0,
            initial_backoff,
            max_backoff,
        }
    }

    /// Queues a pod that needs a node, unless the queue already knows this pod. A pod with a
    /// different uid under a known key is a new pod: it replaces the old entry.
    pub fn add(&mut self, key: &str, uid: &str, now: Instant) {
        if self.entries.get(key).is_some_and(|e| e.uid == uid) {
            return;
        }
        self.remove(key);
        let seq = self.seq();
        let entry = Entry {
            uid: uid.to_string(),
            stage: Stage::Active,
            seq,
            attempts: 0,
            last_failure: None,
            first_seen: now,
        };
        self.entries.insert(key.to_string(), entry);
        self.index.moved(key, None, Some(Stage::Active));
        self.active.push_back((key.to_string(), seq));
    }

    /// Forgets a pod (bound, deleted, finished).
    pub fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.index.moved(key, Some(old.stage), None);
        }
    }

    /// Forgets the pod under `key` only if it is still the pod with `uid`.
    pub fn remove_uid(&mut self, key: &str, uid: &str) {
        if self.entries.get(key).is_some_and(|e| e.uid == uid) {
            self.remove(key);
        }
    }

    /// True when the pod with `uid` under `key` has been decided and is being bound.
    pub fn is_binding(&self, key: &str, uid: &str) -> bool {
        self.entries
            .get(key)
            .is_some_and(|e| e.uid == uid && e.stage == Stage::Binding)
    }

    pub fn stage(&self, key: &str) -> Option<Stage> {
        self.entries.get(key).map(|e| e.stage)
    }

    /// True when some pod waits in the active list.
    pub fn has_active(&self) -> bool {
        self.index.counts.active > 0
    }

    /// Takes the next active pod; it stays known (stage Binding) until the caller says what
    /// became of it.
    pub fn pop(&mut self) -> Option<Popped> {
        while let Some((key, seq)) = self.active.pop_front() {
            if !self.is_current(&key, seq, Stage::Active) {
                continue;
            }
            let popped = self.set_stage(&key, Stage::Binding, |entry| Popped {
                uid: entry.uid.clone(),
                first_seen: entry.first_seen,
                attempts: entry.attempts,
                key: key.clone(),
            });
            if popped.is_some() {
                return popped;
            }
        }
        None
    }

    /// The pod fits nowhere: park it until the cluster changes.
    pub fn unschedulable(&mut self, key: &str, now: Instant) {
        self.set_stage(key, Stage::Unschedulable, |entry| {
            entry.attempts += 1;
            entry.last_failure = Some(now);
        });
    }

    /// Scheduling or binding failed for a passing reason: retry after the back-off.
    pub fn retry_later(&mut self, key: &str, now: Instant) {
        let seq = self.seq();
        let (initial, max) = (self.initial_backoff, self.max_backoff);
        let ready = self.set_stage(key, Stage::Backoff, |entry| {
            entry.attempts += 1;
            entry.last_failure = Some(now);
            entry.seq = seq;
            now + backoff(initial, max, entry.attempts)
        });
        if let Some(ready) = ready {
            self.backoff.push(Reverse((ready, seq, key.to_string())));
        }
    }

    /// Something changed that may make parked pods fit: each goes back to the active list,
    /// or to the back-off heap while its back-off lasts. Returns how many moved.
    pub fn move_all_to_active(&mut self, now: Instant) -> usize {
        let parked: Vec<String> = self.index.parked.iter().cloned().collect();
        let (initial, max) = (self.initial_backoff, self.max_backoff);
        for key in &parked {
            let seq = self.seq();
            let ready = self.entries.get(key).and_then(|e| {
                e.last_failure
                    .map(|at| at + backoff(initial, max, e.attempts))
            });
            match ready {
                Some(ready) if ready > now => {
                    self.set_stage(key, Stage::Backoff, |e| e.seq = seq);
                    self.backoff.push(Reverse((ready, seq, key.clone())));
                }
                _ => {
                    self.set_stage(key, Stage::Active, |e| e.seq = seq);
                    self.active.push_back((key.clone(), seq));
                }
            }
        }
        parked.len()
    }

    /// Moves pods whose back-off has ended to the active list.
    pub fn flush_backoff(&mut self, now: Instant) {
        while let Some(Reverse((ready, seq, key))) = self.backoff.peek().cloned() {
            if ready > now {
                break;
            }
            self.backoff.pop();
            if !self.is_current(&key, seq, Stage::Backoff) {
                continue;
            }
            let seq = self.seq();
            self.set_stage(&key, Stage::Active, |e| e.seq = seq);
            self.active.push_back((key, seq));
        }
    }

    /// When the earliest back-off ends.
    pub fn next_backoff(&mut self) -> Option<Instant> {
        // Drop stale heap tops so the caller does not wake for nothing.
        while let Some(Reverse((ready, seq, key))) = self.backoff.peek() {
            if self.is_current(key, *seq, Stage::Backoff) {
                return Some(*ready);
            }
            self.backoff.pop();
        }
        None
    }

    pub fn counts(&self) -> QueueCounts {
        self.index.counts
    }

    /// Moves the pod under `key` to `stage` and lets `update` change its entry.
    fn set_stage<R>(
        &mut self,
        key: &str,
        stage: Stage,
        update: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        let entry = self.entries.get_mut(key)?;
        let from = entry.stage;
        entry.stage = stage;
        let result = update(entry);
        self.index.moved(key, Some(from), Some(stage));
        Some(result)
    }

    fn is_current(&self, key: &str, seq: u64, stage: Stage) -> bool {
        self.entries
            .get(key)
            .is_some_and(|e| e.seq == seq && e.stage == stage)
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// `initial * 2^(attempts-1)`, capped at `max`.
pub fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    initial.saturating_mul(1 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> SchedulingQueue {
        SchedulingQueue::new(Duration::from_secs(1), Duration::from_secs(10))
    }

    /// The counts as a full scan sees them.
    fn recount(q: &SchedulingQueue) -> QueueCounts {
        let mut counts = QueueCounts::default();
        for entry in q.entries.values() {
            *counts.slot(entry.stage) += 1;
        }
        counts
    }

    #[test]
    fn counts_follow_every_move() {
        let t0 = Instant::now();
        let mut q = queue();
        // A fixed pseudo-random walk over every operation.
        let mut state = 7u64;
        for step in 0..2000u64 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = format!("p{}", (state >> 33) % 12);
            let uid = format!("u{}", (state >> 40) % 2);
            let now = t0 + Duration::from_millis(step * 37);
            match (state >> 20) % 8 {
                0 | 1 => q.add(&key, &uid, now),
                2 => drop(q.pop()),
                3 => q.unschedulable(&key, now),
                4 => q.retry_later(&key, now),
                5 => drop(q.move_all_to_active(now)),
                6 => q.flush_backoff(now),
                _ => q.remove_uid(&key, &uid),
            }
            assert_eq!(q.counts(), recount(&q), "after step {step}");
            assert_eq!(q.index.parked.len(), q.counts().unschedulable);
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let b = |n| backoff(Duration::from_secs(1), Duration::from_secs(10), n);
        assert_eq!(
            [b(0), b(1), b(2), b(3), b(4), b(5), b(100)].map(|d| d.as_secs()),
            [1, 1, 2, 4, 8, 10, 10]
        );
    }

    #[test]
    fn first_come_first_served_without_duplicates() {
        let now = Instant::now();
        let mut q = queue();
        q.add("a", "1", now);
        q.add("b", "1", now);
        q.add("a", "1", now);
        assert_eq!(q.pop().unwrap().key, "a");
        q.add("a", "1", now); // known (binding): ignored
        assert_eq!(q.pop().unwrap().key, "b");
        assert!(q.pop().is_none());
        // Removed and added again: one copy only.
        q.add("c", "1", now);
        q.remove("c");
        q.add("c", "1", now);
        assert_eq!(q.pop().unwrap().key, "c");
        assert!(q.pop().is_none());
    }

    #[test]
    fn a_new_pod_under_an_old_name_replaces_the_entry() {
        let now = Instant::now();
        let mut q = queue();
        q.add("a", "old", now);
        q.pop();
        q.unschedulable("a", now);
        q.add("a", "new", now);
        let popped = q.pop().unwrap();
        assert_eq!((popped.uid.as_str(), popped.attempts), ("new", 0));
        q.remove_uid("a", "old");
        assert_eq!(q.stage("a"), Some(Stage::Binding));
    }

    #[test]
    fn parked_pods_return_on_events_after_their_backoff() {
        let t0 = Instant::now();
        let mut q = queue();
        q.add("a", "1", t0);
        q.pop();
        q.unschedulable("a", t0);
        assert_eq!(q.stage("a"), Some(Stage::Unschedulable));
        assert!(
            q.next_backoff().is_none(),
            "parked pods wait for an event, not a timer"
        );
        // An event within the back-off (1 s after the first failure): wait it out.
        q.move_all_to_active(t0 + Duration::from_millis(300));
        assert_eq!(q.stage("a"), Some(Stage::Backoff));
        assert_eq!(q.next_backoff(), Some(t0 + Duration::from_secs(1)));
        q.flush_backoff(t0 + Duration::from_millis(900));
        assert!(!q.has_active());
        q.flush_backoff(t0 + Duration::from_secs(1));
        assert!(q.has_active());
        let popped = q.pop().unwrap();
        assert_eq!(popped.attempts, 1);
        // Second failure: 2 s back-off; an event after it moves the pod straight back.
        let t1 = t0 + Duration::from_secs(1);
        q.unschedulable("a", t1);
        q.move_all_to_active(t1 + Duration::from_secs(2));
        assert_eq!(q.stage("a"), Some(Stage::Active));
        assert_eq!(
            q.counts(),
            QueueCounts {
                active: 1,
                ..QueueCounts::default()
            }
        );
    }

    #[test]
    fn retry_later_waits_for_the_backoff_and_stale_entries_are_skipped() {
        let t0 = Instant::now();
        let mut q = queue();
        q.add("a", "1", t0);
        q.pop();
        q.retry_later("a", t0);
        q.remove("a");
        q.add("a", "1", t0);
        q.flush_backoff(t0 + Duration::from_secs(5));
        assert_eq!(q.pop().unwrap().attempts, 0);
        assert!(
            q.pop().is_none(),
            "the stale back-off copy does not come back"
        );
        assert!(q.next_backoff().is_none());
    }
}
