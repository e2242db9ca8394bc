//! The node agent's Prometheus metrics and health, served on `--metrics-listen`: running
//! pods and containers, restarts, probe results, pod sync latency, API writes, and the
//! agent's own resident memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use skiff_common::http::Observe;
use skiff_common::metrics::{Histogram, MetricsText};

use crate::probe::ProbeKind;

/// What one pod contributes to the node's gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodCounts {
    pub running_containers: u32,
    pub restarts: u32,
}

/// The agent's counters; shared by every task.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    pods: Mutex<HashMap<String, PodCounts>>,
    /// [liveness, readiness] x [success, failure]
    probes: [[AtomicU64; 2]; 2],
    sync: Histogram,
    container_starts: AtomicU64,
    status_writes: AtomicU64,
    status_conflicts: AtomicU64,
    /// Unix seconds of the last successful Lease renewal; 0 before the first.
    last_heartbeat: AtomicI64,
    registered: AtomicBool,
    /// Heartbeats older than this make the agent unhealthy.
    heartbeat_limit_secs: AtomicI64,
}

impl NodeMetrics {
    pub fn new(heartbeat_interval: Duration) -> NodeMetrics {
        let m = NodeMetrics::default();
        // Several missed heartbeats in a row, never less than the lease's own slack.
        let limit = (heartbeat_interval.as_secs() as i64 * 5).max(10);
        m.heartbeat_limit_secs.store(limit, Ordering::Relaxed);
        m
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PodCounts>> {
        self.pods.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_pod(&self, uid: &str, counts: PodCounts) {
        let mut pods = self.lock();
        if pods.get(uid) != Some(&counts) {
            pods.insert(uid.to_string(), counts);
        }
    }

    pub fn remove_pod(&self, uid: &str) {
        self.lock().remove(uid);
    }

    pub fn probe_result(&self, kind: ProbeKind, success: bool) {
        let k = match kind {
            ProbeKind::Liveness => 0,
            ProbeKind::Readiness | ProbeKind::Startup => 1,
        };
        self.probes[k][usize::from(!success)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn sync_done(&self, took: Duration) {
        self.sync.observe(took);
    }

    pub fn container_started(&self) {
        self.container_starts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn status_written(&self) {
        self.status_writes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn status_conflict(&self) {
        self.status_conflicts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn heartbeat_ok(&self) {
        self.last_heartbeat
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    pub fn set_registered(&self) {
        self.registered.store(true, Ordering::Relaxed);
    }

    /// Running pods (with at least one running container), running containers, restarts.
    pub fn totals(&self) -> (u64, u64, u64) {
        let pods = self.lock();
        let running_pods = pods.values().filter(|c| c.running_containers > 0).count() as u64;
        let containers = pods.values().map(|c| u64::from(c.running_containers)).sum();
        let restarts = pods.values().map(|c| u64::from(c.restarts)).sum();
        (running_pods, containers, restarts)
    }
}

/// The agent's resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Observe for NodeMetrics {
    fn metrics(&self) -> String {
        let (pods, containers, restarts) = self.totals();
        let mut m = MetricsText::new();
        m.gauge(
            "skiff_nodelet_running_pods",
            "Pods with at least one running container.",
            pods as f64,
        );
        m.gauge(
            "skiff_nodelet_running_containers",
            "Containers running on this node.",
            containers as f64,
        );
        m.gauge(
            "skiff_nodelet_container_restarts",
            "Sum of the restart counts of this node's pods.",
            restarts as f64,
        );
        m.counter(
            "skiff_nodelet_container_starts_total",
            "Container instances started.",
            self.container_starts.load(Ordering::Relaxed) as f64,
        );
        for (k, kind) in ["liveness", "readiness"].iter().enumerate() {
            for (r, result) in ["success", "failure"].iter().enumerate() {
                m.sample(
                    "skiff_nodelet_probe_results_total",
                    "Probe attempts by probe type and result.",
                    "counter",
                    &[("probe_type", kind), ("result", result)],
                    self.probes[k][r].load(Ordering::Relaxed) as f64,
                );
            }
        }
        m.counter(
            "skiff_nodelet_pod_status_writes_total",
            "Pod status updates sent to the apiserver.",
            self.status_writes.load(Ordering::Relaxed) as f64,
        );
        m.counter(
            "skiff_nodelet_pod_status_conflicts_total",
            "Pod status updates that met a newer version and were retried.",
            self.status_conflicts.load(Ordering::Relaxed) as f64,
        );
        if let Some(rss) = resident_memory_bytes() {
            m.gauge(
                "process_resident_memory_bytes",
                "Resident memory of the node agent.",
                rss as f64,
            );
        }
        m.histogram(
            "skiff_nodelet_pod_sync_duration_seconds",
            "How long one pod worker sync took.",
            &[],
            &self.sync,
        );
        m.finish()
    }

    fn health(&self) -> Result<(), String> {
        if !self.registered.load(Ordering::Relaxed) {
            return Err("the Node is not registered yet".to_string());
        }
        let last = self.last_heartbeat.load(Ordering::Relaxed);
        let age = chrono::Utc::now().timestamp() - last;
        let limit = self.heartbeat_limit_secs.load(Ordering::Relaxed);
        if last == 0 || age > limit {
            return Err(format!(
                "no successful heartbeat (Lease renewal) for {age}s"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_histogram_and_health() {
        let m = NodeMetrics::new(Duration::from_secs(2));
        assert!(m.health().is_err());
        m.set_pod(
            "a",
            PodCounts {
                running_containers: 2,
                restarts: 3,
            },
        );
        m.set_pod(
            "b",
            PodCounts {
                running_containers: 0,
                restarts: 1,
            },
        );
        assert_eq!(m.totals(), (1, 2, 4));
        m.remove_pod("a");
        assert_eq!(m.totals(), (0, 0, 1));
        m.sync_done(Duration::from_millis(3));
        m.probe_result(ProbeKind::Liveness, false);
        let text = m.metrics();
        skiff_testkit::prometheus::parse(&text).expect("valid Prometheus text");
        assert!(
            text.contains("skiff_nodelet_pod_sync_duration_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("skiff_nodelet_pod_sync_duration_seconds_bucket{le=\"0.001\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "skiff_nodelet_probe_results_total{probe_type=\"liveness\",result=\"failure\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
        m.set_registered();
        m.heartbeat_ok();
        assert!(m.health().is_ok());
    }
}
