//! Container logs served by the nodelet and proxied by the apiserver: whole, tail, follow,
//! previous, and the choice of container in a multi-container pod.

use std::time::Duration;

use serde_json::json;
use skiff_client::LogOptions;
use skiff_testkit::step;
use tonic::codegen::tokio_stream::StreamExt;

use crate::util::{pod, Cluster};

fn container(name: &str) -> Option<String> {
    Some(name.to_string())
}

#[tokio::test]
async fn logs_of_a_multi_container_pod() {
    let c = Cluster::two_nodes().await;
    step("a pod with two containers");
    let spec = json!({"containers": [
        {"name": "a", "image": "busybox", "command": ["sh", "-c", "echo a-1; echo a-2; echo a-3; exec sleep 3600"]},
        {"name": "b", "image": "busybox", "command": ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.3; done"]}
    ]});
    c.create(&pod("multi", "n2", spec)).await;
    c.wait_pod("multi", "Running", 20, |p| {
        p.status.phase == "Running"
            && p.status
                .container_statuses
                .iter()
                .all(|s| s.state.running.is_some())
    })
    .await;

    step("without a container name the request names the choices");
    let err = c.logs("multi", LogOptions::default()).await.unwrap_err();
    assert_eq!(
        err.message,
        "a container name must be specified for pod multi, choose one of: [a b]"
    );

    step("whole log, tail, previous");
    let all = skiff_testkit::wait_for("a's three lines", Duration::from_secs(5), || async {
        let log = c
            .logs(
                "multi",
                LogOptions {
                    container: container("a"),
                    ..LogOptions::default()
                },
            )
            .await
            .ok()?;
        (log.lines().count() == 3).then_some(log)
    })
    .await;
    assert_eq!(all, "a-1\na-2\na-3\n");
    let tail = c
        .logs(
            "multi",
            LogOptions {
                container: container("a"),
                tail_lines: Some(2),
                ..LogOptions::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(tail, "a-2\na-3\n");
    let err = c
        .logs(
            "multi",
            LogOptions {
                container: container("a"),
                previous: true,
                ..LogOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "previous terminated container \"a\" in pod \"multi\" not found"
    );

    step("follow: new lines arrive as they are written");
    let options = LogOptions {
        container: container("b"),
        follow: true,
        tail_lines: Some(1),
        ..LogOptions::default()
    };
    let mut stream = c
        .admin
        .logs("default", "multi", &options)
        .await
        .expect("follow");
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lines().count() < 5 {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("lines kept coming")
            .expect("the stream stays open")
            .expect("log chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let numbers: Vec<u32> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("tick-")?.parse().ok())
        .collect();
    assert!(numbers.len() >= 5, "{seen}");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive lines: {seen}"
    );
}
