//! The worker loop every controller shares: take a key, sync it, re-queue it on failure with back-off or after the delay the sync asked for.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use skiff_runtime::workqueue::WorkQueue;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::error::SyncError;
use crate::metrics::Metrics;

/// What a successful sync asks for: nothing, or to look at the key again after a delay
/// (a Job's deadline, a CronJob's next scheduled time).
pub type Requeue = Option<Duration>;

/// A controller's per-key logic.
pub trait Reconciler<K>: Send + Sync + 'static {
    /// The controller's name in logs and metrics.
    fn name(&self) -> &'static str;

    /// Brings the object named by `key` to its desired state, reading the informers' caches.
    fn sync(&self, key: &K) -> impl Future<Output = Result<Requeue, SyncError>> + Send;
}

/// Starts `workers` workers for `queue` on `tracker`; they stop (and the queue shuts down)
/// when `cancel` fires, abandoning an in-flight sync so that a deposed leader stops writing
/// at once.
pub fn spawn_workers<K, R>(
    reconciler: Arc<R>,
    queue: WorkQueue<K>,
    workers: usize,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
    metrics: Arc<Metrics>,
) where
    K: Clone + Eq + Hash + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    {
        let queue = queue.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            cancel.cancelled().await;
            queue.shut_down();
        });
    }
    for _ in 0..workers.max(1) {
        let (reconciler, queue, cancel, metrics) = (
            reconciler.clone(),
            queue.clone(),
            cancel.clone(),
            metrics.clone(),
        );
        tracker.spawn(async move { work(reconciler, queue, cancel, metrics).await });
    }
}

async fn work<K, R>(
    reconciler: Arc<R>,
    queue: WorkQueue<K>,
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
) where
    K: Clone + Eq + Hash + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    let name = reconciler.name();
    loop {
        let key = tokio::select! {
            _ = cancel.cancelled() => return,
            key = queue.get() => match key {
                Some(key) => key,
                None => return,
            },
        };
        let started = Instant::now();
        let result = tokio::select! {
            _ = cancel.cancelled() => {
                queue.done(&key);
                return;
            }
            result = reconciler.sync(&key) => result,
        };
        metrics.observe_sync(name, started.elapsed(), result.is_ok());
        match result {
            Ok(requeue) => {
                queue.forget(&key);
                if let Some(delay) = requeue {
                    queue.add_after(key.clone(), delay);
                }
            }
            Err(error) => {
                if error.is_conflict() {
                    debug!(
                        controller = name,
                        ?key,
                        "sync lost a race; retrying: {error}"
                    );
                } else {
                    warn!(
                        controller = name,
                        ?key,
                        retries = queue.num_requeues(&key),
                        "sync failed; retrying: {error}"
                    );
                }
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use skiff_api::error::ApiError;

    struct Recorder {
        seen: Mutex<Vec<(String, Instant)>>,
    }

    impl Reconciler<String> for Recorder {
        fn name(&self) -> &'static str {
            "test"
        }

        async fn sync(&self, key: &String) -> Result<Requeue, SyncError> {
            let attempts = {
                let mut seen = self.seen.lock();
                seen.push((key.clone(), Instant::now()));
                seen.iter().filter(|(k, _)| k == key).count()
            };
            match (key.as_str(), attempts) {
                ("flaky", 1) => Err(SyncError::api("create pod", ApiError::internal("boom"))),
                ("later", 1) => Ok(Some(Duration::from_secs(5))),
                _ => Ok(None),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_and_delays_bring_keys_back() {
        let recorder = Arc::new(Recorder {
            seen: Mutex::new(Vec::new()),
        });
        let queue = WorkQueue::new("test");
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let metrics = Metrics::new();
        spawn_workers(
            recorder.clone(),
            queue.clone(),
            2,
            &tracker,
            &cancel,
            metrics.clone(),
        );
        let start = Instant::now();
        for key in ["ok", "flaky", "later"] {
            queue.add(key.to_string());
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        let seen = recorder.seen.lock().clone();
        let times = |k: &str| -> Vec<Duration> {
            seen.iter()
                .filter(|(key, _)| key == k)
                .map(|(_, t)| *t - start)
                .collect()
        };
        assert_eq!(times("ok").len(), 1);
        assert_eq!(times("flaky").len(), 2, "a failed sync is retried");
        let later = times("later");
        assert_eq!(later.len(), 2, "a requested requeue happens");
        assert!(later[1] >= Duration::from_secs(5), "{later:?}");
        assert!(queue.is_shutting_down());
        let text = metrics.render();
        assert!(
            text.contains("skiff_controller_syncs_total{controller=\"test\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_controller_sync_errors_total{controller=\"test\"} 1\n"),
            "{text}"
        );
    }
}
