//! `skiff-bench scheduler`: skiff-scheduler's throughput with hollow nodes, in-process (the decision loop over the real cache and queue) or against a live cluster (real pods, real bindings).

mod api;
mod objects;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use skiff_api::error::ApiError;
use skiff_runtime::informer::key_of;
use tokio::time::Instant;

use skiff_scheduler::algorithm::info::PodInfo;
use skiff_scheduler::cache::Cache;
use skiff_scheduler::queue::SchedulingQueue;

#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// Hollow nodes.
    #[arg(long, default_value_t = 1000)]
    pub nodes: usize,
    /// Pods to schedule.
    #[arg(long, default_value_t = 5000)]
    pub pods: usize,
    /// Pods per owning controller, so spreading is exercised; 0 for pods without an owner.
    #[arg(long, default_value_t = 50)]
    pub pods_per_controller: usize,
    #[arg(long, default_value = "100m")]
    pub pod_cpu: String,
    #[arg(long, default_value = "128Mi")]
    pub pod_memory: String,
    #[arg(long, default_value = "8")]
    pub node_cpu: String,
    #[arg(long, default_value = "32Gi")]
    pub node_memory: String,
    #[arg(long, default_value_t = 110)]
    pub node_max_pods: usize,
    /// Run against these apiservers instead of in-process: creates hollow Node objects and the
    /// pods, runs the scheduler in this process, and times until every pod is bound. Use a
    /// cluster without a controller-manager (hollow nodes never heartbeat).
    #[arg(long, value_delimiter = ',')]
    pub apiserver: Vec<String>,
    #[arg(long)]
    pub token: Option<String>,
    /// The cluster CA that signed the apiservers' certificates (TLS apiservers, as `skiff up`
    /// runs them; API mode).
    #[arg(long)]
    pub certificate_authority: Option<std::path::PathBuf>,
    /// Namespace of the benchmark's pods (API mode).
    #[arg(long, default_value = "scheduler-bench")]
    pub namespace: String,
    /// Leave the nodes and pods in place afterwards (API mode).
    #[arg(long)]
    pub keep: bool,
    /// Record Scheduled events as the scheduler does in production (API mode).
    #[arg(long)]
    pub events: bool,
    /// Bindings written at the same time (API mode).
    #[arg(long, default_value_t = 256)]
    pub binds_in_flight: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerBenchError {
    #[error("invalid benchmark arguments: {0}")]
    Invalid(String),
    #[error("apiserver client: {0}")]
    Client(#[from] skiff_client::ConfigError),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("only {bound} of {pods} pods were bound within {waited:?}")]
    Incomplete {
        bound: usize,
        pods: usize,
        waited: Duration,
    },
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub mode: &'static str,
    pub nodes: usize,
    pub pods: usize,
    pub pods_per_controller: usize,
    pub scheduled: usize,
    pub unschedulable: usize,
    /// From the first decision to the last binding.
    pub elapsed: Duration,
    /// Per-decision latency percentiles (in-process) or pod creation time (API mode).
    pub notes: Vec<String>,
    pub min_pods_per_node: i64,
    pub max_pods_per_node: i64,
    /// The most pods of one controller on one node.
    pub max_siblings_per_node: u32,
}

impl BenchReport {
    pub fn pods_per_second(&self) -> f64 {
        self.scheduled as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "mode: {}", self.mode)?;
        writeln!(
            f,
            "nodes: {}, pods: {}, pods per controller: {}",
            self.nodes, self.pods, self.pods_per_controller
        )?;
        writeln!(
            f,
            "scheduled: {}, unschedulable: {}",
            self.scheduled, self.unschedulable
        )?;
        writeln!(
            f,
            "elapsed: {:.3} s, throughput: {:.0} pods/s",
            self.elapsed.as_secs_f64(),
            self.pods_per_second()
        )?;
        writeln!(
            f,
            "pods per node: min {} max {}; most pods of one controller on a node: {}",
            self.min_pods_per_node, self.max_pods_per_node, self.max_siblings_per_node
        )?;
        for note in &self.notes {
            writeln!(f, "{note}")?;
        }
        Ok(())
    }
}

/// Runs the benchmark the arguments ask for.
pub async fn run(args: SchedulerArgs) -> Result<BenchReport, SchedulerBenchError> {
    objects::check(&args)?;
    if args.apiserver.is_empty() {
        Ok(in_process(&args))
    } else {
        api::run(&args).await
    }
}

/// The decision loop alone: queue, cache with assumed pods, filters and scores, with every
/// binding assumed to succeed at once.
pub fn in_process(args: &SchedulerArgs) -> BenchReport {
    let mut cache = Cache::new();
    for i in 0..args.nodes {
        cache.upsert_node(Arc::new(objects::hollow_node(args, i)));
    }
    let pods: HashMap<String, _> = (0..args.pods)
        .map(|i| {
            let pod = objects::bench_pod(args, "bench", i);
            (key_of(&pod), pod)
        })
        .collect();
    let mut queue = SchedulingQueue::new(Duration::from_millis(500), Duration::from_secs(5));
    let now = Instant::now();
    let mut keys: Vec<&String> = pods.keys().collect();
    keys.sort();
    for key in keys {
        queue.add(key, &pods[key].metadata.uid, now);
    }
    let (mut scheduled, mut unschedulable) = (0, 0);
    let mut latencies = Vec::with_capacity(args.pods);
    let started = std::time::Instant::now();
    while let Some(popped) = queue.pop() {
        let t = std::time::Instant::now();
        let Some(pod) = pods.get(&popped.key) else {
            continue;
        };
        let info = PodInfo::new(pod);
        match cache.schedule(&info).map(str::to_string) {
            Ok(node) => {
                cache.assume(&popped.key, &popped.uid, &node, info);
                queue.remove_uid(&popped.key, &popped.uid);
                scheduled += 1;
            }
            Err(_) => {
                queue.unschedulable(&popped.key, Instant::now());
                unschedulable += 1;
            }
        }
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let mut report = objects::spread_report(
        args,
        &cache,
        "in-process (queue, cache and decisions; bindings assumed instant)",
    );
    report.scheduled = scheduled;
    report.unschedulable = unschedulable;
    report.elapsed = elapsed;
    report.notes.push(format!(
        "decision latency: p50 {:?}, p99 {:?}, max {:?}",
        pct(50),
        pct(99),
        latencies.last().copied().unwrap_or_default()
    ));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SchedulerArgs,
    }

    #[test]
    fn in_process_schedules_everything_and_spreads() {
        let args = Cli::parse_from([
            "bench",
            "--nodes",
            "20",
            "--pods",
            "200",
            "--pods-per-controller",
            "20",
        ])
        .args;
        let report = in_process(&args);
        assert_eq!((report.scheduled, report.unschedulable), (200, 0));
        assert_eq!(
            (report.min_pods_per_node, report.max_pods_per_node),
            (10, 10)
        );
        assert_eq!(
            report.max_siblings_per_node, 1,
            "20 pods of a controller over 20 nodes: one each"
        );
        assert!(report.to_string().contains("throughput"));
    }

    #[test]
    fn a_full_cluster_leaves_the_rest_unschedulable() {
        let args = Cli::parse_from([
            "bench",
            "--nodes",
            "2",
            "--pods",
            "10",
            "--node-max-pods",
            "3",
        ])
        .args;
        let report = in_process(&args);
        assert_eq!((report.scheduled, report.unschedulable), (6, 4));
    }
}
