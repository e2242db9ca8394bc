//! Benchmark (ignored by default; run with `--run-ignored only`): pod startup latency
//! (created -> Running seen through a watch) for 300 pods over 3 nodelets, as plain
//! processes and in sandboxes side by side, and the memory each running pod costs.
//! `SKIFF_BENCH_PODS` changes the count, `SKIFF_BENCH_MODES` the modes (`plain,sandbox`),
//! `SKIFF_BENCH_RUNTIME=fake` uses hollow nodes, `SKIFF_BENCH_LOGS=DIR` keeps each pod's
//! times (create answered, Running seen; wall clock) and the nodelets' logs.

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

/// A `/proc/meminfo` field in KiB (`Slab`, `Percpu`): the kernel's share of a sandbox
/// (network namespace, veth pair, cgroup) shows there, not in any process.
fn meminfo_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The pause processes' PIDs under a nodelet's data dir (one per pod sandbox).
fn pause_pids(dir: &std::path::Path) -> Vec<u32> {
    let Ok(pods) = std::fs::read_dir(dir.join("sandboxes")) else {
        return Vec::new();
    };
    pods.flatten()
        .filter_map(|pod| {
            let text = std::fs::read_to_string(pod.path().join("sandbox.json")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some(v["pause_pid"].as_u64()? as u32)
        })
        .collect()
}

/// What one mode measured.
struct Report {
    mode: &'static str,
    /// p50, p90, p99, max from the create's answer to Running seen.
    startup: [Duration; 4],
    all_running: Duration,
    nodelet_per_pod_kib: f64,
    supervisor_rss_kib: u64,
    /// Mean pause RSS (private part), and the kernel's slab + per-CPU growth per pod.
    sandbox: Option<(u64, u64, f64)>,
}

/// Runs `count` pods over three nodelets, plain processes or sandboxes, and measures.
async fn measure(mode: &'static str, count: usize, runtime: &str) -> Report {
    let nodes = ["n1", "n2", "n3"];
    let sandboxed = mode == "sandbox";
    let specs: Vec<NodeletSpec> = nodes
        .iter()
        .map(|n| NodeletSpec::new(n).arg("--runtime").arg(runtime))
        .collect();
    let c = if sandboxed {
        Cluster::start_sandboxed(specs).await
    } else {
        Cluster::start(specs).await
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let nodelet_pids: Vec<u32> = nodes
        .iter()
        .filter_map(|n| c.tc.pid(&format!("nodelet-{n}")))
        .collect();
    let idle: Vec<u64> = nodelet_pids.iter().map(|p| rss_kib(*p)).collect();
    let kernel_idle = meminfo_kib("Slab:") + meminfo_kib("Percpu:");

    step(&format!(
        "{mode}: creating {count} pods over {} nodelets",
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
    // With `SKIFF_BENCH_LOGS`, each pod's times too (wall clock, to line up with the logs).
    if let Ok(keep) = std::env::var("SKIFF_BENCH_LOGS") {
        let wall = |at: Instant| {
            let ago = Instant::now().saturating_duration_since(at);
            (chrono::Utc::now() - chrono::Duration::from_std(ago).unwrap_or_default())
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let lines: Vec<String> = running
            .iter()
            .filter_map(|(name, at)| {
                let (_, answered) = created_at.get(name)?;
                Some(format!("{name} {} {}\n", wall(*answered), wall(*at)))
            })
            .collect();
        std::fs::create_dir_all(&keep).expect("SKIFF_BENCH_LOGS dir");
        let path = std::path::Path::new(&keep).join(format!("{mode}-pods.txt"));
        std::fs::write(path, lines.concat()).expect("writing the pods' times");
    }
    // From the create's answer (the pod exists) to Running seen; the request's own time is
    // the apiserver's, measured elsewhere.
    let mut latencies: Vec<Duration> = running
        .iter()
        .filter_map(|(name, at)| Some(at.saturating_duration_since(created_at.get(name)?.1)))
        .collect();
    latencies.sort();
    let startup = [
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    ];

    tokio::time::sleep(Duration::from_secs(12)).await;
    let busy: Vec<u64> = nodelet_pids.iter().map(|p| rss_kib(*p)).collect();
    let per_node = count as f64 / nodes.len() as f64;
    let grown: f64 = busy
        .iter()
        .zip(&idle)
        .map(|(b, i)| *b as f64 - *i as f64)
        .sum();
    let supervisors: Vec<u32> = nodes
        .iter()
        .flat_map(|n| supervisor_pids(&c.data_dir(n)))
        .collect();
    let sup_rss: u64 = supervisors.iter().map(|p| rss_kib(*p)).sum();
    let sandbox = sandboxed.then(|| {
        let pauses: Vec<u32> = nodes
            .iter()
            .flat_map(|n| pause_pids(&c.data_dir(n)))
            .collect();
        assert_eq!(pauses.len(), count, "one pause process per pod");
        let n = pauses.len().max(1) as u64;
        let rss: u64 = pauses.iter().map(|p| rss_kib(*p)).sum();
        let private: u64 = pauses.iter().map(|p| status_kib(*p, "RssAnon:")).sum();
        let kernel = meminfo_kib("Slab:") + meminfo_kib("Percpu:");
        let kernel_per_pod = (kernel as f64 - kernel_idle as f64) / count as f64;
        (rss / n, private / n, kernel_per_pod)
    });
    eprintln!(
        "BENCH {mode}: nodelet RSS idle {idle:?} KiB, with {per_node} pods each {busy:?} KiB"
    );
    // `SKIFF_BENCH_LOGS=DIR` keeps the nodelets' logs (with `RUST_LOG=skiff_nodelet=debug`
    // they time each sandbox's and container's start).
    if let Ok(keep) = std::env::var("SKIFF_BENCH_LOGS") {
        std::fs::create_dir_all(&keep).expect("SKIFF_BENCH_LOGS dir");
        for n in nodes {
            let name = format!("nodelet-{n}");
            let path = std::path::Path::new(&keep).join(format!("{mode}-{name}.log"));
            std::fs::write(&path, c.tc.log(&name)).expect("writing a kept log");
        }
    }
    Report {
        mode,
        startup,
        all_running,
        nodelet_per_pod_kib: grown / count as f64,
        supervisor_rss_kib: sup_rss / supervisors.len().max(1) as u64,
        sandbox,
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// Plain processes, then sandboxes, one after the other on the same machine: pod startup
/// (the create's answer to Running seen through a watch) and memory per pod, side by side.
#[tokio::test]
#[ignore = "benchmark: run with --run-ignored only"]
async fn pod_startup_latency_and_memory() {
    let count: usize = std::env::var("SKIFF_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    // `SKIFF_BENCH_RUNTIME=fake` runs hollow nodes: the control plane's share of the latency
    // (sandboxes need real processes, so that run is plain only).
    let runtime = std::env::var("SKIFF_BENCH_RUNTIME").unwrap_or_else(|_| "process".to_string());
    let default_modes = if runtime == "fake" {
        "plain"
    } else {
        "plain,sandbox"
    };
    let modes = std::env::var("SKIFF_BENCH_MODES").unwrap_or_else(|_| default_modes.to_string());
    let mut reports = Vec::new();
    for mode in modes.split(',') {
        let mode = match mode {
            "plain" => "plain",
            "sandbox" => "sandbox",
            other => panic!("SKIFF_BENCH_MODES: unknown mode {other:?} (plain, sandbox)"),
        };
        reports.push(measure(mode, count, &runtime).await);
    }
    eprintln!("BENCH {count} pods over 3 nodelets, created 16 at a time (runtime {runtime}):");
    eprintln!("| mode | p50 | p90 | p99 | max | all Running after | nodelet KiB/pod | supervisor RSS KiB | pause RSS (private) KiB | kernel KiB/pod |");
    eprintln!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &reports {
        let (pause, kernel) = match r.sandbox {
            Some((rss, private, kernel)) => (format!("{rss} ({private})"), format!("{kernel:.0}")),
            None => ("-".into(), "-".into()),
        };
        eprintln!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {} | {pause} | {kernel} |",
            r.mode,
            ms(r.startup[0]),
            ms(r.startup[1]),
            ms(r.startup[2]),
            ms(r.startup[3]),
            ms(r.all_running),
            r.nodelet_per_pod_kib,
            r.supervisor_rss_kib,
        );
    }
    if let [plain, sandbox] = &reports[..] {
        eprintln!(
            "BENCH sandbox p99 / plain p99 = {:.2}",
            sandbox.startup[2].as_secs_f64() / plain.startup[2].as_secs_f64().max(1e-9)
        );
    }
}
