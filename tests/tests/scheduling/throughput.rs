//! Throughput against a real cluster: `skiff-bench scheduler` creates hollow nodes and pods,
//! runs the scheduler, and reports pods/s once every pod is bound. Sized by
//! SKIFF_SCHED_BENCH_NODES and SKIFF_SCHED_BENCH_PODS (default 100 nodes, 1000 pods); more
//! `skiff-bench scheduler` flags (e.g. `--binds-in-flight 128`) in SKIFF_SCHED_BENCH_ARGS.

use std::time::Duration;

use skiff_testkit::cluster::ADMIN_TOKEN;
use skiff_testkit::{step, ClusterSpec, TestCluster};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_pod_is_bound_and_the_rate_is_reported() {
    let (nodes, pods) = (
        size("SKIFF_SCHED_BENCH_NODES", 100),
        size("SKIFF_SCHED_BENCH_PODS", 1000),
    );
    step("start store and apiserver (no scheduler, no controller-manager)");
    // TLS, as `skiff up` runs it: skiff-bench trusts the cluster CA.
    let cluster = TestCluster::start(ClusterSpec::default()).await;
    let ca = cluster.pki().expect("a TLS cluster").ca_cert();
    step(&format!(
        "skiff-bench scheduler: {nodes} hollow nodes, {pods} pods"
    ));
    let mut bench = tokio::process::Command::new(skiff_testkit::binary::binary("skiff-bench"));
    bench
        .args([
            "scheduler",
            "--apiserver",
            &cluster.apiserver_endpoints().join(","),
            "--token",
            ADMIN_TOKEN,
        ])
        .arg("--certificate-authority")
        .arg(&ca)
        .args(["--nodes", &nodes.to_string(), "--pods", &pods.to_string()])
        .args(
            std::env::var("SKIFF_SCHED_BENCH_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(600), bench.output())
        .await
        .expect("the benchmark timed out")
        .expect("run skiff-bench scheduler");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("scheduled: {pods}, unschedulable: 0")),
        "{stdout}"
    );
    assert!(stdout.contains("pods/s"), "{stdout}");
    drop(cluster);
}
