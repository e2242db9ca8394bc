//! A client watch on a kind the watch cache does not keep (events, as in Kubernetes): a store
//! watch of its own, each change filtered and stamped as it arrives.
//!
//! As in the reflector, a progress revision becomes a bookmark only one answer later: some
//! etcd versions answer a progress request before sending events that precede the revision
//! they report, and a bookmark must never overtake an event.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;
use skiff_proto::skiffapi::WatchEvent;

use super::client::{bookmark_event, error_event, Start};
use super::kind::{view, CacheEvent, CachedObject};
use crate::registry::filter::Filter;
use crate::registry::object;
use crate::store::{Event, EventType, Store, StoreWatch, WatchItem, WatchMember};

/// The events of one direct watch.
pub type DirectStream = BoxStream<'static, Result<WatchEvent, tonic::Status>>;

/// Opens a store watch over the kind (in the filter's namespace) from `start` and turns its
/// changes into the client's events, with Kubernetes' selector transitions. Bookmarks, when asked for, come every
/// `bookmark_interval` from the store's progress answers. The stream ends with an ERROR
/// event when its revision has been compacted (Expired, so the client lists again) or the
/// store ends the watch; the client then watches again from its last resourceVersion.
pub async fn watch(
    store: &Arc<Store>,
    info: &'static KindInfo,
    start: Start,
    filter: Filter,
    bookmarks: bool,
    bookmark_interval: Duration,
) -> Result<DirectStream, ApiError> {
    let start_revision = match start {
        // The store's "from now".
        Start::Now => 0,
        Start::After(revision) => revision.saturating_add(1),
    };
    let member = store.watch_member();
    let prefix = object::list_prefix(info, &filter.namespace);
    let (watch, first) = match store.watch(&member, &prefix, start_revision).await {
        Ok(opened) => opened,
        Err(status) => {
            store.member_failed(&member);
            return Err(ApiError::from_status(&status));
        }
    };
    let mut direct = Direct {
        watch,
        store: store.clone(),
        member,
        info,
        filter,
        bookmarks,
        from: start_revision - 1,
        seen: start_revision - 1,
        pending_progress: None,
        bookmarked: -1,
        queue: VecDeque::new(),
        done: false,
    };
    if let Some(item) = first {
        direct.take(item);
    }
    let ticks = bookmarks.then(|| {
        let first = tokio::time::Instant::now() + bookmark_interval;
        let mut tick = tokio::time::interval_at(first, bookmark_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    Ok(Box::pin(stream::unfold(
        (direct, ticks),
        |(mut direct, mut ticks)| async move {
            let event = direct.next(ticks.as_mut()).await?;
            Some((Ok(event), (direct, ticks)))
        },
    )))
}

struct Direct {
    watch: StoreWatch,
    store: Arc<Store>,
    member: WatchMember,
    info: &'static KindInfo,
    filter: Filter,
    bookmarks: bool,
    /// The revision the client asked to watch after, for the Expired message.
    from: i64,
    /// The newest revision whose changes have been looked at (sent or filtered out): no
    /// bookmark goes below it.
    seen: i64,
    /// The last progress revision, made a bookmark when the next one arrives.
    pending_progress: Option<i64>,
    /// The revision of the last bookmark sent: a quiet kind gets it once, not every tick.
    bookmarked: i64,
    queue: VecDeque<WatchEvent>,
    done: bool,
}

impl Direct {
    async fn next(&mut self, mut ticks: Option<&mut tokio::time::Interval>) -> Option<WatchEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            let item = match ticks.as_deref_mut() {
                Some(tick) => tokio::select! {
                    item = self.watch.next() => item,
                    _ = tick.tick() => {
                        // Answered with a Progress item once every change before it is out.
                        if self.watch.request_progress().await.is_err() {
                            self.broken("the progress request failed".to_string());
                        }
                        continue;
                    }
                },
                None => self.watch.next().await,
            };
            match item {
                Ok(item) => self.take(item),
                Err(status) => self.broken(status.message().to_string()),
            }
        }
    }

    fn take(&mut self, item: WatchItem) {
        match item {
            WatchItem::Events(events) => {
                for event in events {
                    match self.client_event(&event) {
                        Ok(Some(event)) => self.queue.push_back(event),
                        Ok(None) => {}
                        Err(err) => return self.end(err),
                    }
                    if let Some(kv) = &event.kv {
                        self.seen = self.seen.max(kv.mod_revision);
                    }
                }
            }
            // The store also sends progress on its own schedule, asked for or not.
            WatchItem::Progress(revision) => {
                let earlier = self.pending_progress.replace(revision);
                let due = |r: &i64| self.bookmarks && *r >= self.seen && *r > self.bookmarked;
                if let Some(earlier) = earlier.filter(due) {
                    self.seen = earlier;
                    self.bookmarked = earlier;
                    self.queue.push_back(bookmark_event(self.info, earlier));
                }
            }
            WatchItem::Compacted(revision) => self.end(ApiError::expired(format!(
                "too old resource version: {} ({revision})",
                self.from
            ))),
            WatchItem::Canceled(reason) => self.broken(reason),
        }
    }

    /// The change as this client sees it; `None` when its filter selects neither state or
    /// the stored value is not JSON (logged). An error when the state before a deletion is
    /// gone from the store: the client must list again.
    fn client_event(&self, event: &Event) -> Result<Option<WatchEvent>, ApiError> {
        let Some(kv) = event.kv.as_ref() else {
            return Ok(None);
        };
        let revision = kv.mod_revision;
        let (deleted, object, prev) = if event.r#type() == EventType::Delete {
            // A deletion carries the object's last state, stamped with the deletion's revision;
            // that state is also what the filter judges (its index is the same), so it is
            // decoded once.
            let last = event.prev_kv.as_ref().ok_or_else(|| {
                ApiError::expired(format!(
                    "the state before the deletion at revision {revision} is gone from the store"
                ))
            })?;
            let Some(object) = CachedObject::from_kv(self.info, last, revision).map(Arc::new)
            else {
                return Ok(None);
            };
            (true, object.clone(), Some(object))
        } else {
            let Some(object) = CachedObject::from_kv(self.info, kv, revision).map(Arc::new) else {
                return Ok(None);
            };
            let prev = event
                .prev_kv
                .as_ref()
                .and_then(|p| CachedObject::from_kv(self.info, p, p.mod_revision))
                .map(Arc::new);
            // Without the earlier state (compacted away), an object that existed before is
            // judged by its new state alone: MODIFIED if selected, not ADDED.
            let existed = kv.create_revision != kv.mod_revision;
            let prev = prev.or_else(|| existed.then(|| object.clone()));
            (false, object, prev)
        };
        let change = CacheEvent {
            revision,
            deleted,
            object,
            prev,
        };
        Ok(view(&self.filter, &change).map(|(kind, json)| WatchEvent {
            r#type: kind.to_string(),
            object: json.to_vec(),
        }))
    }

    /// The store stream broke: later watches start on another member, and this client
    /// watches again from its last resourceVersion.
    fn broken(&mut self, reason: String) {
        self.store.member_failed(&self.member);
        self.end(ApiError::unavailable(format!(
            "the store ended the watch: {reason}"
        )));
    }

    fn end(&mut self, err: ApiError) {
        self.queue.push_back(error_event(&err));
        self.done = true;
    }
}
