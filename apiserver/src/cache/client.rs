//! A client watch served from the cache: replay after the requested resourceVersion, then live events and bookmarks, then the reason it ended.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use parking_lot::Mutex;
use serde_json::json;
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;
use skiff_proto::skiffapi::WatchEvent;
use tokio::sync::mpsc;

use super::kind::{view, KindCache, Msg};
use super::{Behind, CATCH_UP};
use crate::registry::filter::Filter;

/// Where a client watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Empty or "0": from the cache's current state, no replay.
    Now,
    /// After this resourceVersion.
    After(i64),
}

impl Start {
    pub fn parse(rv: &str) -> Result<Start, ApiError> {
        match rv.trim() {
            "" | "0" => Ok(Start::Now),
            s => match s.parse::<i64>() {
                Ok(n) if n > 0 => Ok(Start::After(n)),
                _ => Err(ApiError::bad_request(format!(
                    "invalid resource version {s:?}: must be a positive integer"
                ))),
            },
        }
    }
}

/// The stream of events of one client watch.
pub struct ClientWatch {
    cache: Arc<KindCache>,
    id: u64,
    replay: VecDeque<Msg>,
    rx: mpsc::Receiver<Msg>,
    closed: Arc<Mutex<Option<ApiError>>>,
    done: bool,
}

impl KindCache {
    /// Starts a client watch. A resourceVersion older than the window gives a stream with a
    /// single ERROR (Expired) event, as Kubernetes does, so clients relist.
    pub async fn watch(
        self: &Arc<Self>,
        start: Start,
        filter: Filter,
        bookmarks: bool,
    ) -> Result<ClientWatch, ApiError> {
        let wanted = match start {
            Start::Now => 0,
            Start::After(r) => r,
        };
        match self.wait_for(wanted, CATCH_UP).await {
            Ok(_) => {}
            Err(Behind::NotReady) => {
                return Err(ApiError::unavailable(format!(
                    "the watch cache of {} is not ready yet",
                    self.info.plural
                )))
            }
            Err(Behind::At(current)) => {
                return Err(ApiError::timeout(format!(
                    "Too large resource version: {wanted}, current: {current}"
                )))
            }
        }
        let mut s = self.state.lock();
        let mut replay = VecDeque::new();
        if let Start::After(from) = start {
            if from < s.oldest {
                let closed = Arc::new(Mutex::new(Some(ApiError::expired(format!(
                    "too old resource version: {from} ({})",
                    s.oldest
                )))));
                let (_tx, rx) = mpsc::channel(1);
                return Ok(ClientWatch {
                    cache: self.clone(),
                    id: 0,
                    replay,
                    rx,
                    closed,
                    done: false,
                });
            }
            let first = s.events.partition_point(|e| e.revision <= from);
            for ev in s.events.iter().skip(first) {
                if let Some((kind, json)) = view(&filter, ev) {
                    replay.push_back(Msg::Event { kind, json });
                }
            }
        }
        let (id, rx, closed) = self.register(&mut s, filter, bookmarks);
        drop(s);
        Ok(ClientWatch {
            cache: self.clone(),
            id,
            replay,
            rx,
            closed,
            done: false,
        })
    }
}

impl ClientWatch {
    fn to_event(&self, msg: Msg) -> WatchEvent {
        match msg {
            Msg::Event { kind, json } => {
                self.cache.events_sent.fetch_add(1, Ordering::Relaxed);
                WatchEvent {
                    r#type: kind.to_string(),
                    object: json.to_vec(),
                }
            }
            Msg::Bookmark(revision) => bookmark_event(self.cache.info, revision),
        }
    }
}

/// A BOOKMARK event: the kind's object carrying only the revision the watch has reached.
pub fn bookmark_event(info: &KindInfo, revision: i64) -> WatchEvent {
    let object = json!({
        "apiVersion": info.storage_version(),
        "kind": info.kind,
        "metadata": {"resourceVersion": revision.to_string()},
    });
    WatchEvent {
        r#type: "BOOKMARK".to_string(),
        object: serde_json::to_vec(&object).unwrap_or_default(),
    }
}

/// An ERROR event carrying a Kubernetes Status, as watch streams report their end.
pub fn error_event(err: &ApiError) -> WatchEvent {
    WatchEvent {
        r#type: "ERROR".to_string(),
        object: serde_json::to_vec(&err.to_status_json()).unwrap_or_default(),
    }
}

impl Stream for ClientWatch {
    type Item = Result<WatchEvent, tonic::Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(msg) = self.replay.pop_front() {
            let ev = self.to_event(msg);
            return Poll::Ready(Some(Ok(ev)));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(msg)) => {
                let ev = self.to_event(msg);
                Poll::Ready(Some(Ok(ev)))
            }
            Poll::Ready(None) => {
                self.done = true;
                let reason = self.closed.lock().take();
                Poll::Ready(reason.map(|err| Ok(error_event(&err))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ClientWatch {
    fn drop(&mut self) {
        if self.id != 0 {
            self.cache.unregister(self.id);
        }
    }
}
