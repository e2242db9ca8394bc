//! Benchmark (ignored by default; run with `--run-ignored only`): pod startup latency
//! (created -> Running seen through a watch) for 300 pods over 3 nodelets, and the
//! nodelets' memory when idle and per running pod. `SKIFF_BENCH_PODS` changes the count,
//! `SKIFF_BENCH_RUNTIME=fake` uses hollow nodes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use skiff_api::types::Pod;
use skiff_client::{WatchEvent, WatchOptions};
use skiff_testkit::{step, NodeletSpec};
use tokio::sync::Semaphore;
use tonic::codegen::tokio_stream::StreamExt;

use crate::util::{busybox, Cluster};

/// Creates in flight at once.
const CONCURRENCY: usize = 16;

/// A `/proc/PID/status` field in KiB (`VmRSS`, `RssAnon`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The supervisors' PIDs under a nodelet's data dir.
fn supervisor_pids(dir: &std::path::Path) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(pods) = std::fs::read_dir(dir.join("containers")) else {
        return out;
    };
    for pod in pods.flatten() {
        for c in std::fs::read_dir(pod.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            for i in std::fs::read_dir(c.path()).into_iter().flatten().flatten() {
                let text =
                    std::fs::read_to_string(i.path().join("supervisor.json")).unwrap_or_default();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    if let Some(pid) = v["pid"].as_u64() {
                        out.push(pid as u32);
                    }
                }
            }
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::test]
#[ignore = "benchmark: run with --run-ignored only"]
async fn pod_startup_latency_and_memory() {
    let count: usize = std::env::var("SKIFF_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let nodes = ["n1", "n2", "n3"];
    // `SKIFF_BENCH_RUNTIME=fake` runs hollow nodes: the control plane's share of the latency.
    let runtime = std::env::var("SKIFF_BENCH_RUNTIME").unwrap_or_else(|_| "process".to_string());
    let specs = nodes
        .iter()
        .map(|n| NodeletSpec::new(n).arg("--runtime").arg(&runtime));
    let c = Cluster::start(specs.collect()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let nodelet_pids: Vec<u32> = nodes
        .iter()
        .filter_map(|n| c.tc.pid(&format!("nodelet-{n}")))
        .collect();
    let idle: Vec<u64> = nodelet_pids.iter().map(|p| rss_kib(*p)).collect();
    eprintln!("nodelet RSS idle (KiB): {idle:?}");

    step(&format!(
        "creating {count} pods over {} nodelets",
        nodes.len()
    ));
    let mut watch = c
        .admin
        .watch::<Pod>(Some("default"), &WatchOptions::default())
        .await
        .expect("watch");
    let created_at = std::sync::Arc::new(tokio::sync::Mutex::new(HashMap::<
        String,
        (Instant, Instant),
    >::new()));
    let limit = std::sync::Arc::new(Semaphore::new(CONCURRENCY));
    let begin = Instant::now();
    let mut creators = Vec::new();
    for i in 0..count {
        let name = format!("bench-{i:04}");
        let pod = busybox(&name, nodes[i % nodes.len()], "exec sleep 3600", "Always");
        let (admin, created_at, limit) = (c.admin.clone(), created_at.clone(), limit.clone());
        creators.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.expect("semaphore");
            let sent = Instant::now();
            admin.create(&pod).await.expect("create");
            created_at.lock().await.insert(name, (sent, Instant::now()));
        }));
    }
    let mut running: HashMap<String, Instant> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while running.len() < count {
        let event = tokio::time::timeout_at(deadline.into(), watch.next())
            .await
            .expect("all pods Running within 300 s")
            .expect("watch open")
            .expect("watch event");
        if let WatchEvent::Added(p) | WatchEvent::Modified(p) = event {
            if p.status.phase == "Running" {
                running
                    .entry(p.metadata.name.clone())
                    .or_insert_with(Instant::now);
            }
        }
    }
    let all_running = begin.elapsed();
    for creator in creators {
        creator.await.expect("creator");
    }
    let created_at = created_at.lock().await;
    // From the create request being sent, and from its answer (the pod exists), to Running.
    for (what, from_answer) in [("create sent", false), ("pod created", true)] {
        let mut latencies: Vec<Duration> = running
            .iter()
            .filter_map(|(name, at)| {
                let (sent, answered) = created_at.get(name)?;
                Some(at.saturating_duration_since(if from_answer { *answered } else { *sent }))
            })
            .collect();
        latencies.sort();
        let (p50, p90, p99) = (
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.9),
            percentile(&latencies, 0.99),
        );
        let max = latencies.last().copied().unwrap_or_default();
        eprintln!(
            "BENCH pod startup latency ({what} -> Running seen) over {count} pods: p50 {p50:?} p90 {p90:?} p99 {p99:?} max {max:?}"
        );
    }
    eprintln!("BENCH all {count} pods Running {all_running:?} after the first create");

    tokio::time::sleep(Duration::from_secs(12)).await;
    let busy: Vec<u64> = nodelet_pids.iter().map(|p| rss_kib(*p)).collect();
    let per_node = count as f64 / nodes.len() as f64;
    let per_pod: Vec<f64> = busy
        .iter()
        .zip(&idle)
        .map(|(b, i)| (*b as f64 - *i as f64) / per_node)
        .collect();
    let supervisors: Vec<u32> = nodes
        .iter()
        .flat_map(|n| supervisor_pids(&c.data_dir(n)))
        .collect();
    let sup_rss: u64 = supervisors.iter().map(|p| rss_kib(*p)).sum();
    let sup_anon: u64 = supervisors.iter().map(|p| status_kib(*p, "RssAnon:")).sum();
    let n = supervisors.len().max(1) as u64;
    eprintln!(
        "BENCH nodelet RSS idle {idle:?} KiB, with {per_node} pods each {busy:?} KiB, per pod {per_pod:.1?} KiB; \
         supervisors: {} with mean RSS {} KiB (private {} KiB)",
        supervisors.len(),
        sup_rss / n,
        sup_anon / n
    );
}
