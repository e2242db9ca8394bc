//! Pod startup latency as ClusterLoader2 measures it: from the moment a watch first sees a
//! pod to the moment it sees the pod Running; and, for garbage collection, which pods the
//! watch has seen deleted (so the run waits on the watch, not on lists of every pod that
//! would load the store as much as the collection does).

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
    deleted: bool,
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

    /// How many pods seen have not been seen deleted.
    pub fn remaining(&self) -> usize {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.values().filter(|s| !s.deleted).count()
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

    fn record_deleted(&self, name: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.entry(name.to_string()).or_default().deleted = true;
    }

    /// After a relist: every pod seen that the list no longer holds was deleted meanwhile.
    fn record_listed(&self, pods: &[Pod]) {
        pods.iter().for_each(|pod| self.record(pod));
        let listed: std::collections::HashSet<&str> =
            pods.iter().map(|p| p.metadata.name.as_str()).collect();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for (name, s) in seen.iter_mut() {
            if !listed.contains(name.as_str()) {
                s.deleted = true;
            }
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
                    tracker.record_deleted(&pod.metadata.name);
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
            tracker.record_listed(&list.items);
            *resource_version = list.resource_version;
        }
        Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, phase: &str) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = name.into();
        pod.status.phase = phase.into();
        pod
    }

    #[test]
    fn pods_are_counted_until_seen_deleted_or_missing_from_a_relist() {
        let tracker = StartupTracker::default();
        for name in ["a", "b", "c"] {
            tracker.record(&pod(name, "Pending"));
        }
        tracker.record(&pod("a", "Running"));
        assert_eq!((tracker.running(), tracker.remaining()), (1, 3));
        tracker.record_deleted("a");
        assert_eq!(tracker.remaining(), 2);
        tracker.record_listed(&[pod("c", "Running")]);
        assert_eq!((tracker.running(), tracker.remaining()), (2, 1));
        assert_eq!(tracker.latencies().len(), 2);
    }
}
