//! Resource limits and signals inside sandboxes: a container over its memory limit is
//! OOMKilled (137) and restarted per its restartPolicy; kubia-unhealthy, PID 1 of its
//! container and deaf to SIGTERM like node.js, ends with 137 after the grace period.

use std::time::Duration;

use serde_json::json;
use skiff_testkit::{step, NodeletSpec};

use crate::util::{main_status, pod, restart_count, Cluster};

#[tokio::test]
async fn a_container_over_its_memory_limit_is_oom_killed_and_restarted() {
    let c = Cluster::start_sandboxed(vec![NodeletSpec::new("n1")]).await;
    step("tail /dev/zero (one endless line held in memory) with a 16Mi limit");
    c.create(&pod(
        "hog",
        "n1",
        json!({"containers": [{"name": "main", "image": "busybox",
                               "command": ["tail", "/dev/zero"],
                               "resources": {"limits": {"memory": "16Mi", "cpu": "500m"}}}]}),
    ))
    .await;
    let p = c
        .wait_pod("hog", "restarted after an OOM kill", 60, |p| {
            restart_count(p) >= 1
        })
        .await;
    let last = main_status(&p)
        .and_then(|s| s.last_state.terminated.clone())
        .expect("lastState.terminated");
    assert_eq!((last.reason.as_str(), last.exit_code), ("OOMKilled", 137));

    step("a pod without a limit on the same node is not affected");
    c.create(&pod(
        "calm",
        "n1",
        json!({"containers": [{"name": "main", "image": "busybox",
                               "command": ["sleep", "600"]}]}),
    ))
    .await;
    let calm = c
        .wait_pod("calm", "Running", 30, |p| p.status.phase == "Running")
        .await;
    assert_eq!(restart_count(&calm), 0);
}

#[tokio::test]
async fn kubia_unhealthy_ignores_sigterm_as_pid_1_and_ends_with_137() {
    let c = Cluster::start_sandboxed(vec![NodeletSpec::new("n1")]).await;
    step("kubia-unhealthy, liveness every second, grace period 2 s");
    c.create(&pod(
        "kubia-liveness",
        "n1",
        json!({"terminationGracePeriodSeconds": 2,
               "containers": [{"name": "kubia", "image": "luksa/kubia-unhealthy",
                               "ports": [{"containerPort": 8080}],
                               "livenessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                 "periodSeconds": 1, "failureThreshold": 3}}]}),
    ))
    .await;
    let p = c
        .wait_pod("kubia-liveness", "restarted by its probe", 60, |p| {
            restart_count(p) >= 1
        })
        .await;
    let last = main_status(&p)
        .and_then(|s| s.last_state.terminated.clone())
        .expect("lastState.terminated");
    assert_eq!(last.exit_code, 137, "{last:?}");
    assert_eq!(last.signal, 9, "{last:?}");
    step("the kill came after the grace period (SIGTERM was ignored)");
    let killing = c
        .events("kubia-liveness")
        .await
        .into_iter()
        .find(|e| e.reason == "Killing")
        .expect("a Killing event");
    let killed_at = killing
        .last_timestamp
        .or(killing.first_timestamp)
        .expect("time");
    let finished = last.finished_at.expect("finishedAt");
    let waited = (finished.0 - killed_at.0).to_std().unwrap_or_default();
    assert!(
        waited >= Duration::from_millis(1500),
        "killed after {waited:?}"
    );
}

/// The container's process, PID 1 of its PID namespace, cannot exec its program: the
/// supervisor learns it from `spawn` and the container ends with 128 and reason StartError
/// naming the program, as a container runtime reports it.
#[tokio::test]
async fn a_program_that_cannot_start_in_a_sandbox_is_a_start_error() {
    let c = Cluster::start_sandboxed(vec![NodeletSpec::new("n1")]).await;
    step("a container whose program does not exist, restartPolicy Never");
    c.create(&pod(
        "missing",
        "n1",
        json!({"restartPolicy": "Never",
               "containers": [{"name": "main", "image": "busybox",
                               "command": ["/no/such/program"]}]}),
    ))
    .await;
    let p = c
        .wait_pod("missing", "its container terminated", 60, |p| {
            main_status(p).is_some_and(|s| s.state.terminated.is_some())
        })
        .await;
    let ended = main_status(&p)
        .and_then(|s| s.state.terminated.clone())
        .expect("state.terminated");
    assert_eq!(
        (ended.reason.as_str(), ended.exit_code),
        ("StartError", 128),
        "{ended:?}"
    );
    assert!(
        ended.message.contains("/no/such/program"),
        "the message names the program: {ended:?}"
    );
    step("the container's cgroup is gone with it");
    let net = c.tc.sandbox_net().expect("a sandboxed cluster");
    let uid = &p.metadata.uid;
    let left: Vec<_> = net
        .cgroups(1)
        .iter()
        .map(|node| node.join(format!("{uid}_main_0")))
        .filter(|dir| dir.exists())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!net.cgroups(1).is_empty(), "the node's own cgroup stays");
}
