//! The pod network: a pod on one node reaches a pod on another by pod IP, and the answer
//! names the serving pod (its hostname).

use serde_json::json;
use skiff_testkit::{step, NodeletSpec};

use crate::sandbox_util::enter;
use crate::util::{pod, Cluster};

#[tokio::test]
async fn a_pod_on_node_1_reaches_kubia_on_node_2_by_pod_ip() {
    let c = Cluster::start_sandboxed(vec![NodeletSpec::new("n1"), NodeletSpec::new("n2")]).await;

    step("kubia on n2, a client pod on n1");
    c.create(&pod(
        "kubia-n2",
        "n2",
        json!({"containers": [{"name": "main", "image": "luksa/kubia",
                               "ports": [{"containerPort": 8080}]}]}),
    ))
    .await;
    c.create(&pod(
        "client-n1",
        "n1",
        json!({"containers": [{"name": "main", "image": "busybox",
                               "command": ["sleep", "600"]}]}),
    ))
    .await;
    let server = c
        .wait_pod("kubia-n2", "Running with an IP", 30, |p| {
            p.status.phase == "Running" && !p.status.pod_ip.is_empty()
        })
        .await;
    let client = c
        .wait_pod("client-n1", "Running", 30, |p| p.status.phase == "Running")
        .await;
    assert_ne!(server.status.pod_ip, client.status.pod_ip);

    step("HTTP from the client pod to the kubia pod's IP");
    let url = format!("http://{}:8080/", server.status.pod_ip);
    let mut last = (0, String::new());
    for _ in 0..50 {
        last = enter(
            &c,
            "n1",
            &client,
            &["wget", "-q", "-O", "-", "-T", "2", "-t", "1", &url],
        );
        if last.0 == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(last, (0, "You've hit kubia-n2\n".to_string()));

    step("the kubia pod saw the client's pod IP");
    // The log reaches the nodelet's file a moment after the answer reached the client.
    let wanted = format!("Received request from {}", client.status.pod_ip);
    let mut log = String::new();
    for _ in 0..25 {
        log = c
            .logs("kubia-n2", Default::default())
            .await
            .expect("kubia's log");
        if log.contains(&wanted) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(log.contains(&wanted), "{log}");
}
