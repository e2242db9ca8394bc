//! One kind's watch cache: current objects, a window of recent events tagged with revisions, and the fan-out to client watches.
//!
//! Everything that changes the cache happens under one lock, and events are pushed into every
//! client's bounded channel under that lock, so a client registered at revision R sees exactly
//! the events after R, in order, without gaps or repeats. A client whose channel is full is
//! dropped (its watch ends with an error and it resumes from its last resourceVersion), so a
//! slow client never delays the others.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::{Event, EventType, KeyValue};
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;
use tokio::sync::{mpsc, watch};

use super::CacheConfig;
use crate::registry::filter::{Filter, ObjectIndex};
use crate::registry::object;

/// One object as the cache keeps it: what selectors need, and its JSON ready to send.
#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub index: ObjectIndex,
    /// The object with its resourceVersion set.
    pub json: Bytes,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl CachedObject {
    fn new(info: &KindInfo, key: String, value: &Value) -> CachedObject {
        CachedObject::with_index(key, ObjectIndex::of(info, value), value)
    }

    /// The object, whose selector index has been extracted already.
    pub fn with_index(key: String, index: ObjectIndex, value: &Value) -> CachedObject {
        // Exactly as long as the JSON: the encoder's buffer grows by doubling, and the cache
        // keeps each object (and each event in its window) for long.
        let json = Bytes::from(
            serde_json::to_vec(value)
                .unwrap_or_default()
                .into_boxed_slice(),
        );
        let deleting = value
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null());
        CachedObject {
            key,
            index,
            json,
            deleting,
        }
    }

    /// Decodes a stored key-value; `None` (with a warning) for bytes that are not JSON.
    pub fn from_kv(info: &KindInfo, kv: &KeyValue, revision: i64) -> Option<CachedObject> {
        let key = String::from_utf8_lossy(&kv.key).into_owned();
        match object::decode(&kv.value, revision) {
            Ok(value) => Some(CachedObject::new(info, key, &value)),
            Err(err) => {
                tracing::warn!(%key, %err, "skipping a stored object that is not valid JSON");
                None
            }
        }
    }

    /// The same object stamped with another resourceVersion (a DELETED event carries the
    /// object's last state at the revision of its deletion).
    fn at_revision(&self, info: &KindInfo, revision: i64) -> CachedObject {
        match object::decode(&self.json, revision) {
            Ok(value) => CachedObject::new(info, self.key.clone(), &value),
            Err(_) => CachedObject {
                key: self.key.clone(),
                index: self.index.clone(),
                json: self.json.clone(),
                deleting: self.deleting,
            },
        }
    }
}

/// One change, as kept in the window.
#[derive(Debug)]
pub struct CacheEvent {
    pub revision: i64,
    pub deleted: bool,
    /// The new state; for a deletion, the last state stamped with the deletion revision.
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
}

/// What a client watch receives from the cache.
#[derive(Debug)]
pub enum Msg {
    Event { kind: &'static str, json: Bytes },
    Bookmark(i64),
}

pub(super) struct Watcher {
    filter: Filter,
    tx: mpsc::Sender<Msg>,
    bookmarks: bool,
    /// The revision the client has been told about (by an event or a bookmark).
    last_sent: i64,
    /// Why the cache ended this watch, read by the client stream once the channel closes.
    closed: Arc<Mutex<Option<ApiError>>>,
}

pub(super) struct State {
    pub(super) ready: bool,
    /// Every change up to this revision is in `objects`.
    pub(super) revision: i64,
    /// The newest revision of an applied event (progress notifications move only `revision`).
    last_event: i64,
    /// A watch may resume from any revision >= this one.
    pub(super) oldest: i64,
    pub(super) objects: HashMap<String, Arc<CachedObject>>,
    pub(super) events: VecDeque<Arc<CacheEvent>>,
    pub(super) watchers: HashMap<u64, Watcher>,
    last_bookmark: Instant,
}

pub struct KindCache {
    pub info: &'static KindInfo,
    pub(super) state: Mutex<State>,
    /// The cache's revision, published after each change has been fanned out; -1 until the
    /// first list has loaded.
    pub(super) revision_tx: watch::Sender<i64>,
    /// A client waits for a revision the cache has not reached: ask the store for progress now
    /// rather than at the next tick.
    pub(super) progress_wanted: tokio::sync::Notify,
    pub(super) next_id: AtomicU64,
    window: usize,
    pub(super) buffer: usize,
    bookmark_interval: Duration,
    /// Events delivered to clients (counted by the client streams).
    pub events_sent: AtomicU64,
    /// Client watches ended because they fell behind.
    pub slow_watchers: AtomicU64,
    /// Times the cache was rebuilt from a fresh list.
    pub relists: AtomicU64,
    /// Lists answered from the cache.
    pub lists_from_cache: AtomicU64,
    /// Lists that read the store because the cache was not ready or did not catch up in time.
    pub list_fallbacks: AtomicU64,
}

/// How an event looks to one client's filter, with Kubernetes' transitions: an object that
/// starts matching arrives as ADDED, one that stops matching as DELETED.
pub(super) fn view(filter: &Filter, ev: &CacheEvent) -> Option<(&'static str, Bytes)> {
    let prev_match = ev.prev.as_ref().is_some_and(|p| filter.matches(&p.index));
    if ev.deleted {
        return prev_match.then(|| ("DELETED", ev.object.json.clone()));
    }
    let cur_match = filter.matches(&ev.object.index);
    match (prev_match, cur_match) {
        (false, true) => Some(("ADDED", ev.object.json.clone())),
        (true, true) => Some(("MODIFIED", ev.object.json.clone())),
        (true, false) => Some(("DELETED", ev.object.json.clone())),
        (false, false) => None,
    }
}

impl KindCache {
    pub fn new(info: &'static KindInfo, config: &CacheConfig) -> KindCache {
        let (revision_tx, _) = watch::channel(-1);
        KindCache {
            info,
            state: Mutex::new(State {
                ready: false,
                revision: 0,
                last_event: 0,
                oldest: 0,
                objects: HashMap::new(),
                events: VecDeque::new(),
                watchers: HashMap::new(),
                last_bookmark: Instant::now(),
            }),
            revision_tx,
            progress_wanted: tokio::sync::Notify::new(),
            next_id: AtomicU64::new(1),
            window: config.window.max(1),
            buffer: config.buffer.max(1),
            bookmark_interval: config.bookmark_interval,
            events_sent: AtomicU64::new(0),
            slow_watchers: AtomicU64::new(0),
            relists: AtomicU64::new(0),
            lists_from_cache: AtomicU64::new(0),
            list_fallbacks: AtomicU64::new(0),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.state.lock().ready
    }

    pub fn revision(&self) -> i64 {
        self.state.lock().revision
    }

    /// (objects, events in the window, client watches, revision, oldest resumable revision)
    pub fn stats(&self) -> (usize, usize, usize, i64, i64) {
        let s = self.state.lock();
        (
            s.objects.len(),
            s.events.len(),
            s.watchers.len(),
            s.revision,
            s.oldest,
        )
    }

    /// Names of the objects whose deletion has been requested.
    pub fn names_being_deleted(&self) -> Vec<String> {
        let s = self.state.lock();
        s.objects
            .values()
            .filter(|o| o.deleting)
            .map(|o| o.index.name().to_string())
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.state.lock().objects.get(key).cloned()
    }

    /// Replaces the contents with a fresh list taken at `revision`. With `expire`, every client
    /// watch ends with Expired: the events between its revision and this list are lost, so it
    /// must list again.
    pub fn reset(&self, kvs: &[KeyValue], revision: i64, expire: bool) {
        let objects: HashMap<String, Arc<CachedObject>> = kvs
            .iter()
            .filter_map(|kv| CachedObject::from_kv(self.info, kv, kv.mod_revision))
            .map(|o| (o.key.clone(), Arc::new(o)))
            .collect();
        let mut s = self.state.lock();
        if expire {
            self.relists.fetch_add(1, Ordering::Relaxed);
            for (_, w) in s.watchers.drain() {
                *w.closed.lock() = Some(ApiError::expired(format!(
                    "too old resource version: {} ({revision})",
                    w.last_sent
                )));
            }
        }
        s.objects = objects;
        s.events.clear();
        s.revision = revision;
        s.last_event = revision;
        s.oldest = revision;
        s.ready = true;
        drop(s);
        self.revision_tx.send_replace(revision);
    }

    /// Applies store events (in revision order) and fans them out.
    pub fn apply(&self, events: Vec<Event>) {
        // Decoding happens before taking the lock; deletions need the cached previous state.
        let prepared: Vec<(Event, Option<CachedObject>)> = events
            .into_iter()
            .map(|ev| {
                let obj = match (ev.r#type(), ev.kv.as_ref()) {
                    (EventType::Put, Some(kv)) => {
                        CachedObject::from_kv(self.info, kv, kv.mod_revision)
                    }
                    _ => None,
                };
                (ev, obj)
            })
            .collect();
        let mut s = self.state.lock();
        // One revision can hold several events (a transaction, a lease revoke deleting every
        // key attached to it), and the store sends a revision's events together: what is at or
        // below the newest revision applied before this batch has been applied already (a
        // watch resumed with an overlap), the rest of a revision this batch began has not.
        let applied = s.last_event;
        for (ev, obj) in prepared {
            let Some(kv) = ev.kv.as_ref() else { continue };
            let revision = kv.mod_revision;
            if revision <= applied {
                continue;
            }
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            let cache_event = if ev.r#type() == EventType::Delete {
                let prev = s.objects.remove(&key).or_else(|| {
                    ev.prev_kv
                        .as_ref()
                        .and_then(|p| CachedObject::from_kv(self.info, p, p.mod_revision))
                        .map(Arc::new)
                });
                let Some(prev) = prev else {
                    s.last_event = revision;
                    s.revision = s.revision.max(revision);
                    continue;
                };
                let object = Arc::new(prev.at_revision(self.info, revision));
                CacheEvent {
                    revision,
                    deleted: true,
                    object,
                    prev: Some(prev),
                }
            } else {
                let Some(obj) = obj else {
                    // Not JSON (logged when decoding): skipped, but its revision is seen.
                    s.last_event = revision;
                    s.revision = s.revision.max(revision);
                    continue;
                };
                let object = Arc::new(obj);
                let prev = s.objects.insert(key, object.clone());
                CacheEvent {
                    revision,
                    deleted: false,
                    object,
                    prev,
                }
            };
            s.last_event = revision;
            s.revision = s.revision.max(revision);
            let cache_event = Arc::new(cache_event);
            self.fan_out(&mut s, &cache_event);
            s.events.push_back(cache_event);
            while s.events.len() > self.window {
                if let Some(old) = s.events.pop_front() {
                    s.oldest = old.revision;
                }
            }
        }
        let revision = s.revision;
        drop(s);
        self.revision_tx.send_replace(revision);
    }

    /// The store is at `revision` and every event up to it has been applied.
    pub fn progress(&self, revision: i64) {
        let mut s = self.state.lock();
        if !s.ready || revision <= s.revision {
            return;
        }
        s.revision = revision;
        drop(s);
        self.revision_tx.send_replace(revision);
    }

    /// Sends a BOOKMARK with the current revision to every watch that asked for them and has
    /// not been told about that revision, at most once per bookmark interval.
    pub fn bookmark_tick(&self) {
        let mut s = self.state.lock();
        if s.last_bookmark.elapsed() < self.bookmark_interval {
            return;
        }
        s.last_bookmark = Instant::now();
        let revision = s.revision;
        for w in s.watchers.values_mut() {
            if w.bookmarks
                && w.last_sent < revision
                && w.tx.try_send(Msg::Bookmark(revision)).is_ok()
            {
                w.last_sent = revision;
            }
        }
    }

    fn fan_out(&self, s: &mut State, ev: &CacheEvent) {
        let mut gone = Vec::new();
        for (id, w) in s.watchers.iter_mut() {
            let Some((kind, json)) = view(&w.filter, ev) else {
                continue;
            };
            match w.tx.try_send(Msg::Event { kind, json }) {
                Ok(()) => w.last_sent = ev.revision,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.slow_watchers.fetch_add(1, Ordering::Relaxed);
                    *w.closed.lock() = Some(ApiError::timeout(format!(
                        "watch of {} closed: the client fell {} events behind; watch again from resourceVersion {}",
                        self.info.plural, self.buffer, w.last_sent
                    )));
                    gone.push(*id);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*id),
            }
        }
        for id in gone {
            s.watchers.remove(&id);
        }
    }

    pub(super) fn register(
        &self,
        s: &mut State,
        filter: Filter,
        bookmarks: bool,
    ) -> (u64, mpsc::Receiver<Msg>, Arc<Mutex<Option<ApiError>>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.buffer);
        let closed = Arc::new(Mutex::new(None));
        let last_sent = s.revision;
        s.watchers.insert(
            id,
            Watcher {
                filter,
                tx,
                bookmarks,
                last_sent,
                closed: closed.clone(),
            },
        );
        (id, rx, closed)
    }

    pub(super) fn unregister(&self, id: u64) {
        self.state.lock().watchers.remove(&id);
    }
}
