//! Prometheus metrics (requests by verb, resource and code, latency, watches, store watches, cache sizes) and the /health answer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use skiff_common::http::Observe;
use skiff_common::metrics::{HistogramVec, MetricsText};

use crate::cache::WatchCache;
use crate::store::Store;

pub struct Metrics {
    /// (verb, resource, code) -> requests
    requests: Mutex<BTreeMap<(String, String, String), u64>>,
    /// Latency by verb and resource.
    latency: HistogramVec,
    /// resource -> open store watch streams
    store_watches: Mutex<BTreeMap<&'static str, i64>>,
    /// resource -> store watches opened since start
    store_watch_opens: Mutex<BTreeMap<&'static str, u64>>,
    /// resource -> the member its store watch is open on
    store_watch_members: Mutex<BTreeMap<&'static str, String>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: Mutex::default(),
            latency: HistogramVec::new(&["verb", "resource"]),
            store_watches: Mutex::default(),
            store_watch_opens: Mutex::default(),
            store_watch_members: Mutex::default(),
        }
    }
}

/// Counts one open store watch until dropped.
pub struct StoreWatchGuard {
    metrics: Arc<Metrics>,
    resource: &'static str,
}

impl Drop for StoreWatchGuard {
    fn drop(&mut self) {
        *self
            .metrics
            .store_watches
            .lock()
            .entry(self.resource)
            .or_default() -= 1;
        self.metrics
            .store_watch_members
            .lock()
            .remove(self.resource);
    }
}

impl Metrics {
    pub fn record(&self, verb: &str, resource: &str, code: &str, took: Duration) {
        let key = (verb.to_string(), resource.to_string(), code.to_string());
        *self.requests.lock().entry(key).or_default() += 1;
        self.latency.observe(&[verb, resource], took);
    }

    pub fn store_watch_opened(
        self: &Arc<Self>,
        resource: &'static str,
        member: &str,
    ) -> StoreWatchGuard {
        *self.store_watches.lock().entry(resource).or_default() += 1;
        self.store_watch_members
            .lock()
            .insert(resource, member.to_string());
        *self.store_watch_opens.lock().entry(resource).or_default() += 1;
        StoreWatchGuard {
            metrics: self.clone(),
            resource,
        }
    }

    /// Open store watch streams of one resource.
    pub fn store_watches(&self, resource: &str) -> i64 {
        self.store_watches
            .lock()
            .get(resource)
            .copied()
            .unwrap_or(0)
    }

    fn write(&self, m: &mut MetricsText) {
        for ((verb, resource, code), n) in self.requests.lock().iter() {
            m.sample(
                "skiff_apiserver_requests_total",
                "Requests served, by verb, resource and result code.",
                "counter",
                &[("verb", verb), ("resource", resource), ("code", code)],
                *n as f64,
            );
        }
        self.latency.write(
            m,
            "skiff_apiserver_request_duration_seconds",
            "Request latency, by verb and resource.",
        );
        for (resource, n) in self.store_watches.lock().iter() {
            m.sample(
                "skiff_apiserver_store_watches",
                "Open watch streams on the store, by resource (one per kind, whatever the number of client watches).",
                "gauge",
                &[("resource", resource)],
                *n as f64,
            );
        }
        for (resource, member) in self.store_watch_members.lock().iter() {
            m.sample(
                "skiff_apiserver_store_watch_member",
                "The store member each resource's store watch is open on (1 per open watch).",
                "gauge",
                &[("resource", resource), ("member", member)],
                1.0,
            );
        }
        for (resource, n) in self.store_watch_opens.lock().iter() {
            m.sample(
                "skiff_apiserver_store_watch_opens_total",
                "Store watches opened (reconnections included), by resource.",
                "counter",
                &[("resource", resource)],
                *n as f64,
            );
        }
    }
}

/// What /metrics and /health report.
pub struct Observer {
    pub metrics: Arc<Metrics>,
    pub cache: Arc<WatchCache>,
    pub store: Arc<Store>,
    /// The built-in namespaces exist.
    pub bootstrapped: Arc<AtomicBool>,
}

impl Observe for Observer {
    fn metrics(&self) -> String {
        let mut m = MetricsText::new();
        self.metrics.write(&mut m);
        let mut kinds: Vec<_> = self.cache.all().collect();
        kinds.sort_by_key(|k| k.info.plural);
        for k in kinds {
            let (objects, events, watchers, revision, _) = k.stats();
            let r = [("resource", k.info.plural)];
            m.sample(
                "skiff_apiserver_watch_cache_objects",
                "Objects in the watch cache.",
                "gauge",
                &r,
                objects as f64,
            );
            m.sample(
                "skiff_apiserver_watch_cache_events",
                "Events in the watch cache's window.",
                "gauge",
                &r,
                events as f64,
            );
            m.sample(
                "skiff_apiserver_watch_cache_revision",
                "The watch cache's store revision.",
                "gauge",
                &r,
                revision as f64,
            );
            m.sample(
                "skiff_apiserver_watches",
                "Open client watches.",
                "gauge",
                &r,
                watchers as f64,
            );
            let sent = k.events_sent.load(Ordering::Relaxed) as f64;
            m.sample(
                "skiff_apiserver_watch_events_sent_total",
                "Watch events sent to clients.",
                "counter",
                &r,
                sent,
            );
            let slow = k.slow_watchers.load(Ordering::Relaxed) as f64;
            m.sample(
                "skiff_apiserver_watch_slow_clients_total",
                "Client watches ended because they fell behind.",
                "counter",
                &r,
                slow,
            );
            let served = k.lists_from_cache.load(Ordering::Relaxed) as f64;
            m.sample(
                "skiff_apiserver_watch_cache_lists_total",
                "Lists answered from the watch cache.",
                "counter",
                &r,
                served,
            );
            let fallbacks = k.list_fallbacks.load(Ordering::Relaxed) as f64;
            m.sample(
                "skiff_apiserver_watch_cache_list_fallbacks_total",
                "Lists that read the store because the watch cache was not ready or did not reach the revision in time.",
                "counter",
                &r,
                fallbacks,
            );
            let relists = k.relists.load(Ordering::Relaxed) as f64;
            m.sample(
                "skiff_apiserver_watch_cache_relists_total",
                "Watch cache rebuilds after a compaction.",
                "counter",
                &r,
                relists,
            );
        }
        m.gauge(
            "skiff_apiserver_store_healthy",
            "Whether the last store request reached a member.",
            f64::from(self.store.is_healthy()),
        );
        m.finish()
    }

    fn health(&self) -> Result<(), String> {
        if !self.store.is_healthy() {
            return Err("the store is unreachable".to_string());
        }
        if !self.bootstrapped.load(Ordering::Relaxed) {
            return Err("the built-in namespaces are not created yet".to_string());
        }
        if !self.cache.is_ready() {
            return Err("the watch cache is loading".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Arc::new(Metrics::default());
        m.record("create", "pods", "OK", Duration::from_millis(3));
        m.record("create", "pods", "AlreadyExists", Duration::from_millis(30));
        let g = m.store_watch_opened("pods", "http://127.0.0.1:2379");
        assert_eq!(m.store_watches("pods"), 1);
        drop(g);
        assert_eq!(m.store_watches("pods"), 0);
        let mut text = MetricsText::new();
        m.write(&mut text);
        let text = text.finish();
        skiff_testkit::prometheus::parse(&text).expect("valid Prometheus text");
        assert!(text.contains(r#"skiff_apiserver_request_duration_seconds_bucket{verb="create",resource="pods",le="0.005"} 1"#), "{text}");
        assert!(text.contains(r#"skiff_apiserver_request_duration_seconds_bucket{verb="create",resource="pods",le="0.05"} 2"#), "{text}");
        assert!(text.contains(r#"skiff_apiserver_requests_total{verb="create",resource="pods",code="AlreadyExists"} 1"#), "{text}");
    }
}
