//! The scheduler's Prometheus metrics: pods scheduled, unschedulable attempts, bind errors, latencies, queue sizes; served with /health by `skiff_common::http`.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use skiff_common::http::Observe;
use skiff_common::metrics::MetricsText;

use crate::queue::QueueCounts;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A latency histogram with fixed buckets, lock-free to observe.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Prometheus text: cumulative `_bucket` lines, `_sum`, `_count`.
    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

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
        let mut out = m.finish();
        self.scheduling_latency.write(
            &mut out,
            "skiff_scheduler_scheduling_duration_seconds",
            "From a pod first seen waiting to its binding written.",
        );
        self.algorithm_latency.write(
            &mut out,
            "skiff_scheduler_algorithm_duration_seconds",
            "One scheduling decision (filters and scores over every node).",
        );
        out
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

    #[test]
    fn text_has_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        Metrics::inc(&m.scheduled);
        Metrics::inc(&m.scheduled);
        m.scheduling_latency.observe(Duration::from_millis(3));
        m.scheduling_latency.observe(Duration::from_millis(200));
        m.scheduling_latency.observe(Duration::from_secs(100));
        let text = m.text();
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
