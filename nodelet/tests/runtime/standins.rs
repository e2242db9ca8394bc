//! The built-in image stand-ins, run through the runtime as a pod would run them.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use skiff_nodelet::runtime::{ContainerId, ContainerStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::{within, TestNode};

/// One plain HTTP GET; returns (status code, body).
pub async fn http_get(ip: IpAddr, port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(SocketAddr::new(ip, port)).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

/// Starts a stand-in image for `pod` and waits until it listens on its pod IP:8080.
pub async fn start_server(node: &TestNode, pod: &str, image: &str) -> (ContainerId, IpAddr) {
    let id = node
        .runtime
        .start(node.image_spec(pod, "web", image, &[]))
        .await
        .unwrap();
    let ip = IpAddr::V4(node.pod_ip(pod));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(SocketAddr::new(ip, 8080)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{image} never listened on {ip}:8080"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (id, ip)
}

#[tokio::test]
async fn two_kubia_pods_both_listen_on_8080() {
    let node = TestNode::new();
    let (a, ip_a) = start_server(&node, "kubia-a", "luksa/kubia").await;
    let (b, ip_b) = start_server(&node, "kubia-b", "heejeong/crane:latest").await;
    assert_ne!(ip_a, ip_b);
    assert_eq!(
        http_get(ip_a, 8080, "/").await,
        (200, "You've hit kubia-a\n".into())
    );
    assert_eq!(
        http_get(ip_b, 8080, "/any/path").await,
        (200, "You've hit kubia-b\n".into())
    );
    node.wait_for_log(&a, "Received request from").await;
    assert!(node.log(&a).starts_with("Kubia server starting...\n"));
    // The log copier runs behind the response a little.
    node.wait_for_log(&b, "Received request from").await;
    assert_eq!(node.log(&b).matches("Received request from").count(), 1);
    // Both keep running; a stop ends them with SIGTERM's code.
    for id in [a, b] {
        assert!(node.runtime.status(&id).unwrap().is_running());
        let status = node
            .runtime
            .stop(&id, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(matches!(status, ContainerStatus::Exited(ref r) if r.exit_code == 143));
    }
}

#[tokio::test]
async fn kubia_unhealthy_fails_from_the_sixth_request() {
    let node = TestNode::new();
    let (_id, ip) = start_server(&node, "sick", "docker.io/luksa/kubia-unhealthy").await;
    for i in 1..=5 {
        assert_eq!(
            http_get(ip, 8080, "/").await,
            (200, "You've hit sick\n".into()),
            "request {i}"
        );
    }
    for i in 6..=7 {
        assert_eq!(
            http_get(ip, 8080, "/").await,
            (500, "I'm not well. Please restart me!".into()),
            "request {i}"
        );
    }
}

#[tokio::test]
async fn batch_job_works_then_completes() {
    let node = TestNode::new();
    let mut spec = node.image_spec("job", "main", "luksa/batch-job", &[]);
    spec.env
        .push(("SKIFF_BATCH_JOB_SECONDS".into(), "0.5".into()));
    let id = node.runtime.start(spec).await.unwrap();
    let status = within(20, "batch job", node.runtime.wait(&id))
        .await
        .unwrap();
    let ContainerStatus::Exited(record) = status else {
        panic!("{status:?}")
    };
    assert_eq!((record.exit_code, record.reason.as_str()), (0, "Completed"));
    let ran = record.finished_at - record.started_at.unwrap();
    // Wall-clock times: allow for a clock adjusted meanwhile.
    assert!(ran >= chrono::Duration::milliseconds(400), "{ran}");
    let log = node.log(&id);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].ends_with(" Batch job starting") && lines[0].contains("UTC"),
        "{log}"
    );
    assert!(lines[1].ends_with(" Finished successfully"), "{log}");
}

#[tokio::test]
async fn ssd_monitor_reports_until_stopped() {
    let node = TestNode::new();
    let mut spec = node.image_spec("mon", "main", "luksa/ssd-monitor", &[]);
    spec.env
        .push(("SKIFF_SSD_MONITOR_SECONDS".into(), "0.2".into()));
    let id = node.runtime.start(spec).await.unwrap();
    // A line at once, then one every 200 ms: three within a second (or ten under load).
    let begun = Instant::now();
    while node.log(&id).matches("SSD OK").count() < 3 {
        assert!(
            begun.elapsed() < Duration::from_secs(10),
            "{}",
            node.log(&id)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(node
        .log(&id)
        .lines()
        .all(|l| l.ends_with(" UTC") || l.contains("SSD OK")));
    let status = node
        .runtime
        .stop(&id, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(status, ContainerStatus::Exited(ref r) if r.exit_code == 143));
}

#[tokio::test]
async fn the_supervisor_is_small() {
    let node = TestNode::new();
    let id = node
        .runtime
        .start(node.spec("p", "c", 0, &["sleep", "1000"]))
        .await
        .unwrap();
    let state = node.dir.path().join("containers/uid-p/c/0/supervisor.json");
    let sup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", sup["pid"])).unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let (rss_kib, threads) = (field("VmRSS:"), field("Threads:"));
    println!("supervisor: VmRSS {rss_kib} KiB, {threads} threads");
    assert_eq!(threads, 2, "main thread + log copier");
    assert!(rss_kib < 8 * 1024, "supervisor RSS {rss_kib} KiB");
    node.runtime.kill(&id).await.unwrap();
}
