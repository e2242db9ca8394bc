//! The scheduler's Prometheus metrics: pods scheduled, unschedulable attempts, bind errors, latencies, queue sizes; served with /health by `skiff_common::http`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use skiff_common::http::Observe;
use skiff_common::metrics::{Histogram, MetricsText};

use crate::queue::QueueCounts;

#[derive(Debug, Default)]
pub struct Metrics {
    /// Pods bound to a node.
    pub scheduled: AtomicU64,
    /// Scheduling attempts that found no node.
    pub unschedulable: AtomicU64,
    /// Bindings the apiserver refused or that failed on the way.
    pub bind_errors: AtomicU64,
    /// From the pod first seen waiting to its binding written.
    pub scheduling_latency: Histogram,
    /// One run of the decision (filters and scores over every node).
    pub algorithm_latency: Histogram,
    pub leader: AtomicBool,
    /// Both informers have their first list.
    pub synced: AtomicBool,
    pub queue: Mutex<QueueCounts>,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn text(&self) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        let flag = |b: &AtomicBool| if b.load(Ordering::Relaxed) { 1.0 } else { 0.0 };
        let queue = *self.queue.lock();
        let mut m = MetricsText::new();
        m.counter(
            "skiff_scheduler_pods_scheduled_total",
            "Pods bound to a node.",
            load(&self.scheduled),
        )
        .counter(
            "skiff_scheduler_unschedulable_total",
            "Scheduling attempts that found no node for the pod.",
            load(&self.unschedulable),
        )
        .counter(
            "skiff_scheduler_bind_errors_total",
            "Bindings that failed.",
            load(&self.bind_errors),
        )
        .gauge(
            "skiff_scheduler_leader",
            "1 while this instance is the acting scheduler.",
            flag(&self.leader),
        );
        for (stage, value) in [
            ("active", queue.active),
            ("backoff", queue.backoff),
            ("unschedulable", queue.unschedulable),
            ("binding", queue.binding),
        ] {
            m.sample(
                "skiff_scheduler_pending_pods",
                "Pods waiting in the scheduling queue, by stage.",
                "gauge",
                &[("queue", stage)],
                value as f64,
            );
        }
        m.histogram(
            "skiff_scheduler_scheduling_duration_seconds",
            "From a pod first seen waiting to its binding written.",
            &[],
            &self.scheduling_latency,
        );
        m.histogram(
            "skiff_scheduler_algorithm_duration_seconds",
            "One scheduling decision (filters and scores over every node).",
            &[],
            &self.algorithm_latency,
        );
        m.finish()
    }
}

impl Observe for Metrics {
    fn metrics(&self) -> String {
        self.text()
    }

    fn health(&self) -> Result<(), String> {
        if self.synced.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err("the node and pod caches have not synced yet".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn text_has_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        Metrics::inc(&m.scheduled);
        Metrics::inc(&m.scheduled);
        m.scheduling_latency.observe(Duration::from_millis(3));
        m.scheduling_latency.observe(Duration::from_millis(200));
        m.scheduling_latency.observe(Duration::from_secs(100));
        let text = m.text();
        skiff_testkit::prometheus::parse(&text).expect("valid Prometheus text");
        assert!(
            text.contains("skiff_scheduler_pods_scheduled_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_scheduler_scheduling_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_scheduler_scheduling_duration_seconds_bucket{le=\"0.25\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_scheduler_scheduling_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_scheduler_scheduling_duration_seconds_count 3\n"),
            "{text}"
        );
        assert!(
            text.contains("skiff_scheduler_pending_pods{queue=\"unschedulable\"} 0\n"),
            "{text}"
        );
        assert!(m.health().is_err());
        m.synced.store(true, Ordering::Relaxed);
        assert!(m.health().is_ok());
    }
}
