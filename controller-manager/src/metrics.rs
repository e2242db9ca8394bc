//! The controller-manager's metrics: syncs and their latency per controller, queue depths, writes, and whether this process leads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use skiff_common::http::Observe;
use skiff_common::metrics::{HistogramVec, MetricsText};

#[derive(Default, Clone)]
struct ControllerStats {
    syncs: u64,
    errors: u64,
    /// Objects created and deleted, by kind (`pods`, `jobs`).
    creates: BTreeMap<&'static str, u64>,
    deletes: BTreeMap<&'static str, u64>,
}

type DepthFn = Box<dyn Fn() -> usize + Send + Sync>;

/// Shared by every controller of the process; lives across leadership terms.
pub struct Metrics {
    leader: AtomicBool,
    terms: AtomicU64,
    controllers: Mutex<BTreeMap<&'static str, ControllerStats>>,
    /// Sync latency by controller.
    sync_latency: HistogramVec,
    /// Queue depth readers of the current term.
    queues: Mutex<BTreeMap<&'static str, DepthFn>>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics {
            leader: AtomicBool::new(false),
            terms: AtomicU64::new(0),
            controllers: Mutex::default(),
            sync_latency: HistogramVec::new(&["controller"]),
            queues: Mutex::default(),
        })
    }

    pub fn set_leader(&self, leading: bool) {
        if leading && !self.leader.swap(true, Ordering::Relaxed) {
            self.terms.fetch_add(1, Ordering::Relaxed);
        }
        if !leading {
            self.leader.store(false, Ordering::Relaxed);
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub fn observe_sync(&self, controller: &'static str, took: Duration, ok: bool) {
        self.sync_latency.observe(&[controller], took);
        let mut all = self.controllers.lock();
        let stats = all.entry(controller).or_default();
        stats.syncs += 1;
        if !ok {
            stats.errors += 1;
        }
    }

    pub fn created(&self, controller: &'static str, kind: &'static str, n: usize) {
        let mut all = self.controllers.lock();
        *all.entry(controller)
            .or_default()
            .creates
            .entry(kind)
            .or_default() += n as u64;
    }

    pub fn deleted(&self, controller: &'static str, kind: &'static str, n: usize) {
        let mut all = self.controllers.lock();
        *all.entry(controller)
            .or_default()
            .deletes
            .entry(kind)
            .or_default() += n as u64;
    }

    /// Registers how to read a controller's queue depth for this term.
    pub fn register_queue(
        &self,
        controller: &'static str,
        depth: impl Fn() -> usize + Send + Sync + 'static,
    ) {
        self.queues.lock().insert(controller, Box::new(depth));
    }

    pub fn clear_queues(&self) {
        self.queues.lock().clear();
    }

    /// Objects of `kind` created by `controller` since the process started.
    pub fn creations(&self, controller: &str, kind: &str) -> u64 {
        self.controllers
            .lock()
            .get(controller)
            .and_then(|s| s.creates.get(kind).copied())
            .unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut m = MetricsText::new();
        m.gauge(
            "skiff_controller_manager_leader",
            "1 while this controller-manager leads and its controllers run",
            f64::from(u8::from(self.is_leader())),
        );
        m.counter(
            "skiff_controller_manager_leader_terms_total",
            "How many times this process became leader",
            self.terms.load(Ordering::Relaxed) as f64,
        );
        let stats: Vec<(&'static str, ControllerStats)> = self
            .controllers
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (name, s) in &stats {
            let labels = [("controller", *name)];
            m.sample(
                "skiff_controller_syncs_total",
                "Syncs run, per controller",
                "counter",
                &labels,
                s.syncs as f64,
            );
            m.sample(
                "skiff_controller_sync_errors_total",
                "Syncs that failed and were re-queued, per controller",
                "counter",
                &labels,
                s.errors as f64,
            );
            for (kind, n) in &s.creates {
                m.sample(
                    "skiff_controller_creations_total",
                    "Objects created, per controller and resource",
                    "counter",
                    &[("controller", name), ("resource", kind)],
                    *n as f64,
                );
            }
            for (kind, n) in &s.deletes {
                m.sample(
                    "skiff_controller_deletions_total",
                    "Objects deleted, per controller and resource",
                    "counter",
                    &[("controller", name), ("resource", kind)],
                    *n as f64,
                );
            }
        }
        for (name, depth) in self.queues.lock().iter() {
            m.sample(
                "skiff_controller_queue_depth",
                "Keys waiting in a controller's work queue",
                "gauge",
                &[("controller", name)],
                depth() as f64,
            );
        }
        self.sync_latency.write(
            &mut m,
            "skiff_controller_sync_duration_seconds",
            "How long one sync took, per controller",
        );
        m.finish()
    }
}

impl Observe for Metrics {
    fn metrics(&self) -> String {
        self.render()
    }

    /// Healthy while running, leader or standby: a standby is doing its job too.
    fn health(&self) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_syncs_latency_queues_and_leadership() {
        let m = Metrics::new();
        m.set_leader(true);
        m.observe_sync("replicaset", Duration::from_millis(3), true);
        m.observe_sync("replicaset", Duration::from_millis(300), false);
        m.created("replicaset", "pods", 3);
        m.register_queue("replicaset", || 7);
        let text = m.render();
        skiff_testkit::prometheus::parse(&text).expect("valid Prometheus text");
        assert!(
            text.contains("skiff_controller_manager_leader 1\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_controller_syncs_total{controller=\"replicaset\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("skiff_controller_sync_errors_total{controller=\"replicaset\"} 1\n"));
        assert!(text.contains("skiff_controller_queue_depth{controller=\"replicaset\"} 7\n"));
        assert!(text.contains(
            "skiff_controller_creations_total{controller=\"replicaset\",resource=\"pods\"} 3\n"
        ));
        assert!(text.contains("skiff_controller_sync_duration_seconds_bucket{controller=\"replicaset\",le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains(
            "skiff_controller_sync_duration_seconds_count{controller=\"replicaset\"} 2\n"
        ));
        assert_eq!(
            text.matches("# TYPE skiff_controller_sync_duration_seconds histogram")
                .count(),
            1
        );
        assert_eq!(m.creations("replicaset", "pods"), 3);
        m.set_leader(false);
        m.clear_queues();
        let text = m.render();
        assert!(text.contains("skiff_controller_manager_leader 0\n"));
        assert!(text.contains("skiff_controller_manager_leader_terms_total 1\n"));
        assert!(!text.contains("queue_depth{"));
    }
}
