//! Keeps one kind's cache in step with the store: list once, then one store watch from the cache's revision, re-established on another member when it breaks.
//!
//! While the kind is quiet the loop asks the store for progress, so the cache's revision (and
//! the bookmarks clients get) keeps moving. A progress revision is applied one request later:
//! some etcd versions can answer a progress request before sending events that precede the
//! revision they report, and a bookmark must never overtake an event. A client watching from a
//! revision the cache has not reached (typically: just listed from the store) makes the loop
//! ask twice at once instead of waiting for the next tick.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::KindCache;
use crate::metrics::Metrics;
use crate::registry::object::kind_prefix;
use crate::store::{Store, WatchItem};

/// Progress requests in a row without any answer before the member is considered stuck.
const MAX_UNANSWERED: u32 = 5;

pub struct Reflector {
    pub cache: Arc<KindCache>,
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    pub progress_interval: Duration,
    pub open_timeout: Duration,
}

/// Why one watch session ended.
enum Ended {
    Shutdown,
    /// Reconnect from the cache's revision.
    Broken,
    /// History was compacted past the cache's revision: list again, expire client watches.
    Compacted,
}

impl Reflector {
    pub async fn run(self, shutdown: CancellationToken) {
        let plural = self.cache.info.plural;
        let mut relist = true;
        let mut backoff = Duration::from_millis(100);
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            if relist {
                match self.list().await {
                    Ok(()) => relist = false,
                    Err(err) => {
                        tracing::warn!(resource = plural, %err, "listing for the watch cache failed; retrying");
                        if sleep_or_shutdown(backoff, &shutdown).await {
                            return;
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
            let session = std::time::Instant::now();
            let ended = self.watch_session(&shutdown).await;
            // A watch that ran for a while says the store is fine: reconnect quickly.
            if session.elapsed() > Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            match ended {
                Ended::Shutdown => return,
                Ended::Compacted => relist = true,
                Ended::Broken => {
                    if sleep_or_shutdown(backoff, &shutdown).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
            backoff = Duration::from_millis(100);
        }
    }

    async fn list(&self) -> Result<(), crate::store::StoreError> {
        let (kvs, revision) = self.store.list(&kind_prefix(self.cache.info)).await?;
        // A relist (after compaction) loses the events in between: client watches must relist too.
        let expire = self.cache.is_ready();
        if expire {
            tracing::warn!(
                resource = self.cache.info.plural,
                revision,
                "watch cache rebuilt from a fresh list; client watches expire"
            );
        }
        self.cache.reset(&kvs, revision, expire);
        Ok(())
    }

    /// One store watch, from the cache's revision + 1, until it breaks.
    async fn watch_session(&self, shutdown: &CancellationToken) -> Ended {
        let plural = self.cache.info.plural;
        let prefix = kind_prefix(self.cache.info);
        let member = self.store.watch_member();
        let url = member.url.clone();
        let start = self.cache.revision() + 1;
        let opened = tokio::select! {
            _ = shutdown.cancelled() => return Ended::Shutdown,
            r = tokio::time::timeout(self.open_timeout, self.store.watch(&member, &prefix, start)) => r,
        };
        let (mut watch, first) = match opened {
            Ok(Ok(w)) => w,
            Ok(Err(status)) => {
                tracing::warn!(resource = plural, member = %url, error = %status.message(), "opening the store watch failed");
                self.store.member_failed(&member);
                return Ended::Broken;
            }
            Err(_) => {
                tracing::warn!(resource = plural, member = %url, "opening the store watch timed out");
                self.store.member_failed(&member);
                return Ended::Broken;
            }
        };
        let _open = self.metrics.store_watch_opened(plural, &url);
        tracing::debug!(resource = plural, member = %url, start, "store watch open");
        let mut pending_progress: Option<i64> = None;
        let mut unanswered = 0u32;
        let mut chase = false;
        let mut ticker = tokio::time::interval(self.progress_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next = first;
        loop {
            if let Some(item) = next.take() {
                unanswered = 0;
                match item {
                    WatchItem::Events(events) => self.cache.apply(events),
                    WatchItem::Progress(revision) => {
                        if let Some(earlier) = pending_progress.replace(revision) {
                            self.cache.progress(earlier);
                        }
                        // A client is waiting: the answer to one more request makes this
                        // revision safe to apply.
                        if chase {
                            chase = false;
                            if watch.request_progress().await.is_err() {
                                self.store.member_failed(&member);
                                return Ended::Broken;
                            }
                        }
                    }
                    WatchItem::Compacted(revision) => {
                        tracing::warn!(
                            resource = plural,
                            compacted = revision,
                            from = start,
                            "the store compacted past the watch cache's revision"
                        );
                        return Ended::Compacted;
                    }
                    WatchItem::Canceled(reason) => {
                        tracing::warn!(resource = plural, member = %url, %reason, "the store canceled the watch");
                        self.store.member_failed(&member);
                        return Ended::Broken;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ended::Shutdown,
                item = watch.next() => match item {
                    Ok(item) => next = Some(item),
                    Err(status) => {
                        tracing::warn!(resource = plural, member = %url, error = %status.message(), "store watch broke; reconnecting");
                        self.store.member_failed(&member);
                        return Ended::Broken;
                    }
                },
                _ = self.cache.progress_wanted.notified() => {
                    if watch.request_progress().await.is_err() {
                        self.store.member_failed(&member);
                        return Ended::Broken;
                    }
                    chase = true;
                }
                _ = ticker.tick() => {
                    self.cache.bookmark_tick();
                    if unanswered >= MAX_UNANSWERED {
                        tracing::warn!(resource = plural, member = %url, "store watch does not answer progress requests; reconnecting");
                        self.store.member_failed(&member);
                        return Ended::Broken;
                    }
                    if watch.request_progress().await.is_err() {
                        self.store.member_failed(&member);
                        return Ended::Broken;
                    }
                    unanswered += 1;
                }
            }
        }
    }
}

/// Sleeps; true when shutdown came first.
async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
