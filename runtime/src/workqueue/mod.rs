//! A work queue with Kubernetes' semantics: deduplicated keys, never one key in two workers at once, delayed and rate-limited re-adds.
//!
//! - [`WorkQueue::add`] ignores a key that is already waiting in the queue.
//! - [`WorkQueue::get`] hands a key to one worker; until that worker calls
//!   [`WorkQueue::done`], no other worker gets the same key. A key added meanwhile is
//!   remembered and queued again by `done`, so the change that caused the add is not lost.
//! - [`WorkQueue::add_after`] adds a key once a delay has passed (the earliest of several
//!   pending delays for one key wins); [`WorkQueue::add_rate_limited`] does so with a per-key
//!   exponential back-off that [`WorkQueue::forget`] resets after a success.
//! - [`WorkQueue::shut_down`] makes every `get` return `None` at once, even with keys still
//!   queued: a component that lost its leadership or is stopping must stop acting, and the
//!   level-triggered design redoes any dropped work from the cache on the next start.
//!
//! Delayed keys need no timer task: a waiting `get` sleeps until the earliest of them is due,
//! so the queue also works under `tokio::time::pause`.

mod rate_limit;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, trace};

pub use rate_limit::ExponentialBackoff;

/// A shared work queue of keys; clones are handles on the same queue.
pub struct WorkQueue<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        WorkQueue {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<K> {
    name: String,
    state: Mutex<State<K>>,
    notify: Notify,
    backoff: ExponentialBackoff,
}

struct State<K> {
    /// Keys ready to hand out, in order.
    queue: VecDeque<K>,
    /// Keys that need processing: those in `queue`, and those added while being processed.
    dirty: HashSet<K>,
    /// Keys a worker holds.
    processing: HashSet<K>,
    /// Delayed adds, earliest first, as (due, sequence number).
    delayed: BinaryHeap<Reverse<(Instant, u64)>>,
    /// The live delayed entries by sequence number; heap entries without one were superseded.
    delayed_keys: HashMap<u64, K>,
    /// Each delayed key's pending entry: (due, sequence number).
    delayed_due: HashMap<K, (Instant, u64)>,
    next_seq: u64,
    /// Consecutive rate-limited re-adds per key.
    failures: HashMap<K, u32>,
    shutting_down: bool,
}

impl<K: Clone + Eq + Hash> State<K> {
    /// Marks `key` dirty and queues it unless a worker holds it; true when it was queued.
    fn add(&mut self, key: K) -> bool {
        if self.shutting_down || self.dirty.contains(&key) {
            return false;
        }
        self.dirty.insert(key.clone());
        if self.processing.contains(&key) {
            return false;
        }
        self.queue.push_back(key);
        true
    }

    fn add_after(&mut self, key: K, due: Instant) {
        if self.shutting_down {
            return;
        }
        if let Some(&(pending, seq)) = self.delayed_due.get(&key) {
            if pending <= due {
                return;
            }
            self.delayed_keys.remove(&seq);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.delayed.push(Reverse((due, seq)));
        self.delayed_keys.insert(seq, key.clone());
        self.delayed_due.insert(key, (due, seq));
    }

    /// Moves the delayed keys that are due into the queue; returns how many were queued.
    fn promote(&mut self, now: Instant) -> usize {
        let mut queued = 0;
        while let Some(&Reverse((due, seq))) = self.delayed.peek() {
            if due > now {
                break;
            }
            self.delayed.pop();
            if let Some(key) = self.delayed_keys.remove(&seq) {
                self.delayed_due.remove(&key);
                if self.add(key) {
                    queued += 1;
                }
            }
        }
        queued
    }

    /// When the earliest live delayed key is due.
    fn next_due(&mut self) -> Option<Instant> {
        while let Some(&Reverse((due, seq))) = self.delayed.peek() {
            if self.delayed_keys.contains_key(&seq) {
                return Some(due);
            }
            self.delayed.pop();
        }
        None
    }
}

impl<K: Clone + Eq + Hash + Send + Sync + 'static> WorkQueue<K> {
    /// A queue with the default back-off (5 ms doubling to 60 s); `name` labels its logs.
    pub fn new(name: impl Into<String>) -> WorkQueue<K> {
        WorkQueue::with_backoff(name, ExponentialBackoff::default())
    }

    pub fn with_backoff(name: impl Into<String>, backoff: ExponentialBackoff) -> WorkQueue<K> {
        let state = State {
            queue: VecDeque::new(),
            dirty: HashSet::new(),
            processing: HashSet::new(),
            delayed: BinaryHeap::new(),
            delayed_keys: HashMap::new(),
            delayed_due: HashMap::new(),
            next_seq: 0,
            failures: HashMap::new(),
            shutting_down: false,
        };
        WorkQueue {
            inner: Arc::new(Inner {
                name: name.into(),
                state: Mutex::new(state),
                notify: Notify::new(),
                backoff,
            }),
        }
    }

    /// Queues `key` unless it is already queued; a key being processed is queued again when
    /// its worker calls [`WorkQueue::done`]. Ignored after shutdown.
    pub fn add(&self, key: K) {
        let queued = self.inner.state.lock().add(key);
        if queued {
            self.inner.notify.notify_one();
        }
    }

    /// Adds `key` once `delay` has passed.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        self.inner
            .state
            .lock()
            .add_after(key, Instant::now() + delay);
        // A waiting worker must learn about the new, possibly earlier, due time.
        self.inner.notify.notify_one();
    }

    /// Adds `key` after its back-off: each call without a [`WorkQueue::forget`] in between
    /// doubles it.
    pub fn add_rate_limited(&self, key: K) {
        let delay = {
            let mut state = self.inner.state.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            let delay = self.inner.backoff.delay(*failures);
            *failures = failures.saturating_add(1);
            delay
        };
        debug!(queue = %self.inner.name, ?delay, "key re-queued with back-off");
        self.add_after(key, delay);
    }

    /// Resets `key`'s back-off (after it was processed successfully).
    pub fn forget(&self, key: &K) {
        self.inner.state.lock().failures.remove(key);
    }

    /// How many rate-limited re-adds `key` has had since it was last forgotten.
    pub fn num_requeues(&self, key: &K) -> u32 {
        self.inner
            .state
            .lock()
            .failures
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// The next key to process; `None` once the queue is shut down. The caller owns the key
    /// until it calls [`WorkQueue::done`].
    pub async fn get(&self) -> Option<K> {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Registered before the state is checked, so an add in between is not missed.
            notified.as_mut().enable();
            let next_due = {
                let mut state = self.inner.state.lock();
                if state.shutting_down {
                    return None;
                }
                state.promote(Instant::now());
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    trace!(queue = %self.inner.name, "key handed out");
                    return Some(key);
                }
                state.next_due()
            };
            match next_due {
                Some(due) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(due) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Releases `key`; if it was added while being processed it is queued again.
    pub fn done(&self, key: &K) {
        let requeued = {
            let mut state = self.inner.state.lock();
            state.processing.remove(key);
            if state.dirty.contains(key) && !state.shutting_down {
                state.queue.push_back(key.clone());
                true
            } else {
                false
            }
        };
        if requeued {
            self.inner.notify.notify_one();
        }
    }

    /// Keys ready to be handed out (delayed keys count once due).
    pub fn len(&self) -> usize {
        let mut state = self.inner.state.lock();
        state.promote(Instant::now());
        state.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the queue: every current and future `get` returns `None`, adds are ignored.
    pub fn shut_down(&self) {
        self.inner.state.lock().shutting_down = true;
        debug!(queue = %self.inner.name, "work queue shut down");
        self.inner.notify.notify_waiters();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner.state.lock().shutting_down
    }
}
