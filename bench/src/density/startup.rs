//! Pod startup latency as ClusterLoader2 measures it: from the moment a watch first sees a
//! pod to the moment it sees the pod Running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use skiff_api::types::Pod;
use skiff_client::{Client, ListOptions, WatchEvent, WatchOptions};
use tokio_util::sync::CancellationToken;

/// What the watch saw of one pod.
#[derive(Default, Clone, Copy)]
struct Seen {
    added: Option<Instant>,
    running: Option<Instant>,
}

/// Pods seen and when they ran, filled by [`watch_pods`].
#[derive(Clone, Default)]
pub struct StartupTracker {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
}

impl StartupTracker {
    /// How many pods have been seen Running.
    pub fn running(&self) -> usize {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.values().filter(|s| s.running.is_some()).count()
    }

    /// Every pod's startup latency (seen -> Running).
    pub fn latencies(&self) -> Vec<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.values()
            .filter_map(|s| Some(s.running?.saturating_duration_since(s.added?)))
            .collect()
    }

    fn record(&self, pod: &Pod) {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen.entry(pod.metadata.name.clone()).or_default();
        entry.added.get_or_insert(now);
        if pod.status.phase == "Running" {
            entry.running.get_or_insert(now);
        }
    }
}

/// Watches the namespace's pods (from `resource_version`) until `stop`, recording each pod
/// into `tracker`; a broken watch is resumed from the last version it delivered, and one
/// ended as Expired (the apiserver ends a watcher that falls too far behind, as Kubernetes
/// does) is replaced by a list, recorded as seen now, and a watch from the list's version.
pub async fn watch_pods(
    client: Client,
    namespace: String,
    mut resource_version: String,
    tracker: StartupTracker,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let options = WatchOptions {
            resource_version: resource_version.clone(),
            ..WatchOptions::default()
        };
        let mut stream = match client.watch::<Pod>(Some(&namespace), &options).await {
            Ok(stream) => stream,
            Err(e) if e.is_expired() => {
                relist(&client, &namespace, &mut resource_version, &tracker).await;
                continue;
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => return,
                event = stream.next() => event,
            };
            match event {
                Some(Ok(WatchEvent::Added(pod) | WatchEvent::Modified(pod))) => {
                    resource_version = pod.metadata.resource_version.clone();
                    tracker.record(&pod);
                }
                Some(Ok(WatchEvent::Deleted(pod))) => {
                    resource_version = pod.metadata.resource_version.clone();
                }
                Some(Ok(WatchEvent::Bookmark {
                    resource_version: rv,
                })) => resource_version = rv,
                Some(Err(e)) if e.is_expired() => {
                    relist(&client, &namespace, &mut resource_version, &tracker).await;
                    break;
                }
                Some(Err(_)) | None => break,
            }
        }
    }
}

/// Records every pod of a fresh list and moves `resource_version` to the list's.
async fn relist(
    client: &Client,
    namespace: &str,
    resource_version: &mut String,
    tracker: &StartupTracker,
) {
    match client
        .list::<Pod>(Some(namespace), &ListOptions::default())
        .await
    {
        Ok(list) => {
            list.items.iter().for_each(|pod| tracker.record(pod));
            *resource_version = list.resource_version;
        }
        Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
    }
}
