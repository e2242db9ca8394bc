//! The Node a nodelet registers, its Lease heartbeat, its metrics, and a hollow node
//! (`--runtime fake`) that runs pods without processes.

use std::time::Duration;

use serde_json::json;
use skiff_api::types::{Lease, Node};
use skiff_testkit::{step, NodeletSpec};

use crate::util::{main_status, pod, restart_count, Cluster};

#[tokio::test]
async fn nodes_register_heartbeat_and_hollow_nodes_run_pods() {
    let metrics_port = skiff_testkit::cluster::free_port();
    let c = Cluster::start(vec![
        NodeletSpec::new("n1")
            .label("disk", "ssd")
            .arg("--cpu")
            .arg("2")
            .arg("--memory")
            .arg("4Gi")
            .arg("--max-pods")
            .arg("20")
            .arg("--metrics-listen")
            .arg(&format!("127.0.0.1:{metrics_port}")),
        NodeletSpec::new("hollow").arg("--runtime").arg("fake"),
    ])
    .await;

    step("the Node carries labels, capacity, addresses, endpoint and info");
    let n1: Node = c.admin.get("", "n1").await.expect("node n1");
    let labels = &n1.metadata.labels;
    assert_eq!(labels.get("disk").map(String::as_str), Some("ssd"));
    assert_eq!(
        labels.get("kubernetes.io/hostname").map(String::as_str),
        Some("n1")
    );
    let cap = |k: &str| {
        n1.status
            .capacity
            .get(k)
            .map(|q| q.0.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        (cap("cpu"), cap("memory"), cap("pods")),
        ("2".into(), "4Gi".into(), "20".into())
    );
    assert_eq!(n1.status.allocatable, n1.status.capacity);
    let addresses: Vec<(String, String)> = n1
        .status
        .addresses
        .iter()
        .map(|a| (a.type_.clone(), a.address.clone()))
        .collect();
    assert_eq!(
        addresses,
        [
            ("InternalIP".into(), "127.0.0.1".into()),
            ("Hostname".into(), "n1".into())
        ]
    );
    assert!(n1.status.daemon_endpoints.kubelet_endpoint.port > 0);
    assert!(
        n1.status.node_info.kubelet_version.starts_with("skiff-"),
        "{:?}",
        n1.status.node_info
    );
    assert_eq!(n1.status.node_info.operating_system, "linux");
    let ready = n1
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "KubeletReady")
    );
    let hollow: Node = c.admin.get("", "hollow").await.expect("node hollow");
    assert!(
        hollow.status.capacity.contains_key("cpu") && hollow.status.capacity.contains_key("memory")
    );
    assert_eq!(
        hollow.status.capacity.get("pods").map(|q| q.0.as_str()),
        Some("110")
    );

    step("the Lease is renewed every heartbeat");
    let first: Lease =
        skiff_testkit::wait_for("the node's Lease", Duration::from_secs(10), || async {
            c.admin.get("kube-node-lease", "n1").await.ok()
        })
        .await;
    assert_eq!(first.spec.holder_identity.as_deref(), Some("n1"));
    assert_eq!(first.spec.lease_duration_seconds, Some(40));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later: Lease = c.admin.get("kube-node-lease", "n1").await.expect("lease");
    assert!(
        later.spec.renew_time > first.spec.renew_time,
        "the lease was not renewed"
    );

    step("a hollow node runs pods without processes, and honours the fake exit code");
    c.create(&pod(
        "hollow-web",
        "hollow",
        json!({"containers": [{"name": "web", "image": "luksa/kubia"}]}),
    ))
    .await;
    let mut job = pod(
        "hollow-job",
        "hollow",
        json!({"restartPolicy": "OnFailure", "containers": [{"name": "work", "image": "luksa/batch-job"}]}),
    );
    job.metadata
        .annotations
        .insert("skiff.io/fake-exit-code".into(), "0".into());
    job.metadata
        .annotations
        .insert("skiff.io/fake-run-seconds".into(), "1".into());
    c.create(&job).await;
    let web = c
        .wait_pod("hollow-web", "Running", 20, |p| p.status.phase == "Running")
        .await;
    assert!(main_status(&web).unwrap().ready);
    let job = c
        .wait_pod("hollow-job", "Succeeded", 20, |p| {
            p.status.phase == "Succeeded"
        })
        .await;
    assert_eq!(
        main_status(&job)
            .unwrap()
            .state
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        0
    );
    assert_eq!(restart_count(&job), 0);
    assert!(
        !c.data_dir("hollow").join("containers").exists(),
        "a hollow node starts no containers"
    );

    step("the metrics endpoint reports pods and health");
    c.create(&pod(
        "metered",
        "n1",
        json!({"containers": [{"name": "web", "image": "luksa/kubia"}]}),
    ))
    .await;
    c.wait_pod("metered", "Running", 20, |p| p.status.phase == "Running")
        .await;
    let metrics = http_get(metrics_port, "/metrics").await;
    assert!(
        metrics.contains("skiff_nodelet_running_pods 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skiff_nodelet_pod_sync_duration_seconds_count"),
        "{metrics}"
    );
    let health = http_get(metrics_port, "/health").await;
    assert!(health.contains("{\"health\":\"true\"}"), "{health}");
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("response");
    out
}
