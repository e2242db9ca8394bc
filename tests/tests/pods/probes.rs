//! Probes run by the nodelet: the book's kubia-unhealthy restarted by its HTTP liveness
//! probe with faithful timing, TCP and exec probes healthy and not, readiness flipping
//! READY, and two pods on one node both listening on 8080.

use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::types::Pod;
use skiff_client::LogOptions;
use skiff_testkit::step;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{condition, main_status, pod, restart_count, Cluster};

fn kubia(name: &str, node: &str, image: &str, probes: Value) -> Pod {
    let mut container = json!({
        "name": "kubia", "image": image,
        "ports": [{"name": "http", "containerPort": 8080}]
    });
    if let (Some(c), Some(p)) = (container.as_object_mut(), probes.as_object()) {
        c.extend(p.clone());
    }
    pod(name, node, json!({"containers": [container]}))
}

fn sleeper(name: &str, probe_kind: &str, probe: Value) -> Pod {
    let mut container = json!({"name": "main", "image": "busybox", "command": ["sleep", "3600"]});
    container[probe_kind] = probe;
    pod(name, "n2", json!({"containers": [container]}))
}

#[tokio::test]
async fn kubia_unhealthy_is_restarted_by_its_liveness_probe() {
    let c = Cluster::two_nodes().await;
    step("kubia-unhealthy with an HTTP liveness probe: delay 2 s, period 1 s, 3 failures");
    let probe = json!({"livenessProbe": {"httpGet": {"path": "/", "port": 8080}, "initialDelaySeconds": 2, "periodSeconds": 1, "failureThreshold": 3}});
    c.create(&kubia(
        "kubia-liveness",
        "n1",
        "luksa/kubia-unhealthy",
        probe,
    ))
    .await;

    let p = c
        .wait_pod("kubia-liveness", "restarted by the probe", 40, |p| {
            restart_count(p) >= 1
        })
        .await;
    let status = main_status(&p).unwrap();
    let last = status
        .last_state
        .terminated
        .clone()
        .expect("lastState.terminated");
    assert!(
        matches!(last.exit_code, 137 | 143),
        "exit code {}",
        last.exit_code
    );
    assert_eq!(last.reason, "Error");
    assert!(matches!(last.signal, 9 | 15), "signal {}", last.signal);
    // Probes at 2..6 s are answered 200 (5 requests), 7, 8 and 9 s get 500: killed at ~9 s.
    let ran = (last.finished_at.unwrap().0 - last.started_at.unwrap().0).num_seconds();
    assert!(
        (7..=12).contains(&ran),
        "the first instance lived {ran} s, expected about 2 + 4x1 + 3x1 = 9"
    );

    step("the events say why");
    c.wait_event(
        "kubia-liveness",
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
        5,
    )
    .await;
    let killing = c
        .wait_event(
            "kubia-liveness",
            "Killing",
            "Container kubia failed liveness probe, will be restarted",
            5,
        )
        .await;
    assert_eq!(killing.involved_object.field_path, "spec.containers{kubia}");
    let unhealthy = c
        .events("kubia-liveness")
        .await
        .into_iter()
        .find(|e| e.reason == "Unhealthy")
        .unwrap();
    assert_eq!(unhealthy.type_, "Warning");
    assert!(
        unhealthy.count >= 3,
        "three failures fold into one event: count {}",
        unhealthy.count
    );

    step("the previous instance's log is readable through the apiserver");
    let previous = c
        .logs(
            "kubia-liveness",
            LogOptions {
                previous: true,
                ..LogOptions::default()
            },
        )
        .await
        .expect("previous log");
    assert!(previous.contains("Kubia server starting"), "{previous}");
    assert!(
        previous.matches("Received request from").count() >= 8,
        "{previous}"
    );

    step("it keeps being restarted");
    let p = c
        .wait_pod("kubia-liveness", "restarted again", 40, |p| {
            restart_count(p) >= 2
        })
        .await;
    assert_eq!(p.status.phase, "Running");
}

#[tokio::test]
async fn tcp_and_exec_probes_healthy_and_unhealthy() {
    let c = Cluster::two_nodes().await;
    step("four pods: TCP and exec liveness probes that pass and that fail");
    let fast = |handler: Value| {
        let mut p = json!({"initialDelaySeconds": 1, "periodSeconds": 1, "failureThreshold": 2});
        if let (Some(p), Some(h)) = (p.as_object_mut(), handler.as_object()) {
            p.extend(h.clone());
        }
        p
    };
    c.create(&kubia(
        "tcp-ok",
        "n1",
        "luksa/kubia",
        json!({"livenessProbe": fast(json!({"tcpSocket": {"port": "http"}}))}),
    ))
    .await;
    c.create(&sleeper(
        "tcp-bad",
        "livenessProbe",
        fast(json!({"tcpSocket": {"port": 8080}})),
    ))
    .await;
    let pod_name_check = json!({"exec": {"command": ["sh", "-c", "test \"$POD_NAME\" = exec-ok"]}});
    c.create(&sleeper("exec-ok", "livenessProbe", fast(pod_name_check)))
        .await;
    c.create(&sleeper(
        "exec-bad",
        "livenessProbe",
        fast(json!({"exec": {"command": ["cat", "/nonexistent/healthy"]}})),
    ))
    .await;

    step("the failing ones are restarted, with the probe's output in the event");
    for name in ["tcp-bad", "exec-bad"] {
        let p = c
            .wait_pod(name, "restarted", 30, |p| restart_count(p) >= 1)
            .await;
        let last = main_status(&p)
            .unwrap()
            .last_state
            .terminated
            .clone()
            .unwrap();
        assert_eq!(last.exit_code, 143, "sleep dies of SIGTERM");
    }
    c.wait_event("tcp-bad", "Unhealthy", "connect: connection refused", 5)
        .await;
    c.wait_event("exec-bad", "Unhealthy", "No such file or directory", 5)
        .await;

    step("the passing ones never are");
    for name in ["tcp-ok", "exec-ok"] {
        let p = c.get(name).await.unwrap();
        assert_eq!(p.status.phase, "Running", "{name}");
        assert_eq!(restart_count(&p), 0, "{name}");
        assert!(
            c.events(name).await.iter().all(|e| e.reason != "Killing"),
            "{name} was killed"
        );
    }
}

#[tokio::test]
async fn readiness_flips_ready_without_restarts() {
    let c = Cluster::two_nodes().await;
    step("kubia-unhealthy with a readiness probe: ready for 5 requests, then not");
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1, "failureThreshold": 2}});
    let created = c
        .create(&kubia("kubia-ready", "n2", "luksa/kubia-unhealthy", probe))
        .await;
    assert_eq!(created.status.phase, "Pending");

    let p = c
        .wait_pod("kubia-ready", "Ready", 20, |p| {
            condition(p, "Ready") == "True"
        })
        .await;
    assert!(main_status(&p).unwrap().ready);
    assert_eq!(condition(&p, "ContainersReady"), "True");

    let p = c
        .wait_pod("kubia-ready", "not Ready", 20, |p| {
            condition(p, "Ready") == "False"
        })
        .await;
    assert!(!main_status(&p).unwrap().ready);
    let ready = p
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason, "ContainersNotReady");
    assert_eq!(ready.message, "containers with unready status: [kubia]");
    assert_eq!(p.status.phase, "Running");
    c.wait_event(
        "kubia-ready",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 500",
        5,
    )
    .await;

    step("readiness never restarts a container");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let p = c.get("kubia-ready").await.unwrap();
    assert_eq!(restart_count(&p), 0);
    assert_eq!(condition(&p, "Ready"), "False");
}

async fn http_get(ip: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect((ip, 8080))
        .await
        .expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("response");
    out
}

#[tokio::test]
async fn two_pods_on_port_8080_on_one_node() {
    let c = Cluster::two_nodes().await;
    step("two kubia pods with containerPort 8080 and probes on n1");
    let probes = json!({
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        "livenessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1, "initialDelaySeconds": 1}
    });
    for name in ["kubia-a", "kubia-b"] {
        c.create(&kubia(name, "n1", "luksa/kubia", probes.clone()))
            .await;
    }
    let a = c
        .wait_pod("kubia-a", "Ready", 20, |p| condition(p, "Ready") == "True")
        .await;
    let b = c
        .wait_pod("kubia-b", "Ready", 20, |p| condition(p, "Ready") == "True")
        .await;
    assert_ne!(a.status.pod_ip, b.status.pod_ip, "each pod has its own IP");

    step("each answers on its own IP");
    for p in [&a, &b] {
        let answer = http_get(&p.status.pod_ip).await;
        assert!(
            answer.contains(&format!("You've hit {}", p.metadata.name)),
            "{answer}"
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for name in ["kubia-a", "kubia-b"] {
        let p = c.get(name).await.unwrap();
        assert_eq!(
            (p.status.phase.as_str(), restart_count(&p)),
            ("Running", 0),
            "{name}"
        );
        assert_eq!(condition(&p, "Ready"), "True", "{name}");
    }
}
