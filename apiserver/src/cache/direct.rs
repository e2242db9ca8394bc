//! A client watch on a kind the watch cache does not keep (events, as in Kubernetes): a store
//! watch of its own, each change filtered and stamped as it arrives.

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
use crate::store::{Event, EventType, Store, StoreWatch, WatchItem};

/// The events of one direct watch.
pub type DirectStream = BoxStream<'static, Result<WatchEvent, tonic::Status>>;

/// Opens a store watch over the kind from `start` and turns its changes into the client's
/// events, with Kubernetes' selector transitions. Bookmarks, when asked for, come every
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
    let (watch, first) = match store
        .watch(&member, &object::kind_prefix(info), start_revision)
        .await
    {
        Ok(opened) => opened,
        Err(status) => {
            store.member_failed(&member);
            return Err(ApiError::from_status(&status));
        }
    };
    let mut direct = Direct {
        watch,
        info,
        filter,
        bookmarks,
        from: start_revision - 1,
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
    info: &'static KindInfo,
    filter: Filter,
    bookmarks: bool,
    /// The revision the client asked to watch after, for the Expired message.
    from: i64,
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
                            self.end(ApiError::unavailable("the store ended the watch"));
                        }
                        continue;
                    }
                },
                None => self.watch.next().await,
            };
            match item {
                Ok(item) => self.take(item),
                Err(status) => self.end(ApiError::unavailable(format!(
                    "the store ended the watch: {}",
                    status.message()
                ))),
            }
        }
    }

    fn take(&mut self, item: WatchItem) {
        match item {
            WatchItem::Events(events) => {
                for event in events {
                    if let Some(event) = self.client_event(&event) {
                        self.queue.push_back(event);
                    }
                }
            }
            // The store also sends progress on its own schedule, asked for or not.
            WatchItem::Progress(revision) if self.bookmarks => {
                self.queue.push_back(bookmark_event(self.info, revision));
            }
            WatchItem::Progress(_) => {}
            WatchItem::Compacted(revision) => self.end(ApiError::expired(format!(
                "too old resource version: {} ({revision})",
                self.from
            ))),
            WatchItem::Canceled(reason) => self.end(ApiError::unavailable(format!(
                "the store ended the watch: {reason}"
            ))),
        }
    }

    /// The change as this client sees it; `None` when its filter selects neither state.
    fn client_event(&self, event: &Event) -> Option<WatchEvent> {
        let kv = event.kv.as_ref()?;
        let revision = kv.mod_revision;
        let prev = event
            .prev_kv
            .as_ref()
            .and_then(|p| CachedObject::from_kv(self.info, p, p.mod_revision))
            .map(Arc::new);
        let (deleted, object) = if event.r#type() == EventType::Delete {
            // A deletion carries the object's last state, stamped with the deletion's revision.
            let last = event.prev_kv.as_ref()?;
            (true, CachedObject::from_kv(self.info, last, revision)?)
        } else {
            (false, CachedObject::from_kv(self.info, kv, revision)?)
        };
        let change = CacheEvent {
            revision,
            deleted,
            object: Arc::new(object),
            prev,
        };
        let (kind, json) = view(&self.filter, &change)?;
        Some(WatchEvent {
            r#type: kind.to_string(),
            object: json.to_vec(),
        })
    }

    fn end(&mut self, err: ApiError) {
        self.queue.push_back(error_event(&err));
        self.done = true;
    }
}
