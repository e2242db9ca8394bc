//! Exit codes and reasons, graceful stop, kill, and start failures.

use std::time::{Duration, Instant};

use skiff_nodelet::runtime::{ContainerStatus, ExitRecord, RuntimeError};

use crate::util::{is_running, within, TestNode};

fn exited(status: ContainerStatus) -> ExitRecord {
    match status {
        ContainerStatus::Exited(record) => record,
        other => panic!("expected an exit record, got {other:?}"),
    }
}

#[tokio::test]
async fn exit_zero_is_completed_and_exit_one_is_error() {
    let node = TestNode::new();
    println!("=== exit 0");
    let ok = node
        .runtime
        .start(node.spec("p", "ok", 0, &["sh", "-c", "echo hello; exit 0"]))
        .await
        .unwrap();
    let record = exited(within(10, "exit 0", node.runtime.wait(&ok)).await.unwrap());
    assert_eq!(
        (record.exit_code, record.signal, record.reason.as_str()),
        (0, None, "Completed")
    );
    let started = record.started_at.expect("started_at");
    assert!(started <= record.finished_at);
    assert_eq!(node.log(&ok), "hello\n");

    println!("=== exit 1");
    let bad = node
        .runtime
        .start(node.spec("p", "bad", 0, &["sh", "-c", "echo oops >&2; exit 1"]))
        .await
        .unwrap();
    let record = exited(within(10, "exit 1", node.runtime.wait(&bad)).await.unwrap());
    assert_eq!(
        (record.exit_code, record.signal, record.reason.as_str()),
        (1, None, "Error")
    );
    assert_eq!(node.log(&bad), "oops\n");
    // status() agrees with wait().
    assert_eq!(exited(node.runtime.status(&bad).unwrap()), record);
}

#[tokio::test]
async fn sigterm_gives_143_and_sigkill_gives_137() {
    let node = TestNode::new();
    let term = node
        .runtime
        .start(node.spec("p", "term", 0, &["sleep", "1000"]))
        .await
        .unwrap();
    let killed = node
        .runtime
        .start(node.spec("p", "kill", 0, &["sleep", "1000"]))
        .await
        .unwrap();
    let ContainerStatus::Running { pid, .. } = node.runtime.status(&term).unwrap() else {
        panic!("not running");
    };
    assert!(is_running(pid));

    println!("=== stop with SIGTERM");
    let begun = Instant::now();
    let record = exited(
        node.runtime
            .stop(&term, Duration::from_secs(10))
            .await
            .unwrap(),
    );
    assert_eq!(
        (record.exit_code, record.signal, record.reason.as_str()),
        (143, Some(15), "Error")
    );
    assert!(
        begun.elapsed() < Duration::from_secs(3),
        "SIGTERM should end sleep at once"
    );
    assert!(!is_running(pid));

    println!("=== kill with SIGKILL");
    let record = exited(node.runtime.kill(&killed).await.unwrap());
    assert_eq!(
        (record.exit_code, record.signal, record.reason.as_str()),
        (137, Some(9), "Error")
    );

    // Stopping an exited container changes nothing.
    let again = exited(
        node.runtime
            .stop(&term, Duration::from_secs(1))
            .await
            .unwrap(),
    );
    assert_eq!(again.exit_code, 143);
}

#[tokio::test]
async fn a_container_ignoring_sigterm_is_killed_after_the_grace_period() {
    let node = TestNode::new();
    let script = "trap '' TERM; echo ready; while :; do sleep 0.1; done";
    let id = node
        .runtime
        .start(node.spec("p", "stubborn", 0, &["sh", "-c", script]))
        .await
        .unwrap();
    node.wait_for_log(&id, "ready").await;

    let begun = Instant::now();
    let record = exited(
        within(
            20,
            "stop",
            node.runtime.stop(&id, Duration::from_millis(1500)),
        )
        .await
        .unwrap(),
    );
    let took = begun.elapsed();
    assert_eq!((record.exit_code, record.signal), (137, Some(9)));
    assert!(
        took >= Duration::from_millis(1500),
        "killed before the grace period: {took:?}"
    );
    assert!(
        took < Duration::from_millis(4000),
        "SIGKILL came late: {took:?}"
    );
}

#[tokio::test]
async fn leftover_processes_die_with_the_main_process() {
    let node = TestNode::new();
    let id = node
        .runtime
        .start(node.spec("p", "bg", 0, &["sh", "-c", "sleep 1000 & echo $!; exit 3"]))
        .await
        .unwrap();
    let record = exited(within(10, "exit", node.runtime.wait(&id)).await.unwrap());
    assert_eq!(record.exit_code, 3);
    let background: u32 = node.log(&id).trim().parse().unwrap();
    // The background sleep was in the container's process group: it is gone too.
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_running(background) {
        assert!(
            Instant::now() < deadline,
            "background process {background} survived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_command_that_cannot_start_is_a_start_error_with_exit_code_128() {
    let node = TestNode::new();
    for (argv, needle) in [
        (
            "no-such-command-skiff",
            "executable file not found in $PATH",
        ),
        ("/nonexistent/skiff/cmd", "/nonexistent/skiff/cmd"),
    ] {
        let id = node.runtime.start(node.spec("p", "c", 0, &[argv])).await;
        let id = id.unwrap();
        let record = exited(node.runtime.status(&id).unwrap());
        assert_eq!(
            (record.exit_code, record.reason.as_str()),
            (128, "StartError")
        );
        assert!(
            record.message.as_deref().unwrap().contains(needle),
            "{record:?}"
        );
        assert_eq!(record.started_at, None);
        node.runtime.remove_pod("uid-p").unwrap();
    }
}

#[tokio::test]
async fn spec_errors_are_reported_not_run() {
    let node = TestNode::new();
    let spec = node.spec("p", "c", 0, &["true"]);
    let id = node.runtime.start(spec.clone()).await.unwrap();
    within(10, "exit", node.runtime.wait(&id)).await.unwrap();
    assert!(matches!(
        node.runtime.start(spec.clone()).await,
        Err(RuntimeError::AlreadyExists(_))
    ));
    let mut evil = spec.clone();
    evil.pod_uid = "../escape".into();
    assert!(matches!(
        node.runtime.start(evil).await,
        Err(RuntimeError::InvalidName { .. })
    ));
    let mut empty = spec;
    empty.instance = 1;
    empty.argv.clear();
    assert!(matches!(
        node.runtime.start(empty).await,
        Err(RuntimeError::EmptyCommand(_))
    ));
}

#[tokio::test]
async fn env_working_dir_and_pod_identity_reach_the_process() {
    let node = TestNode::new();
    let workdir = node.dir.path().join("work");
    std::fs::create_dir(&workdir).unwrap();
    let mut spec = node.image_spec(
        "web-1",
        "c",
        "busybox",
        &[
            "sh",
            "-c",
            "echo $HOSTNAME $POD_NAME $POD_NAMESPACE $POD_IP $GREETING; pwd",
        ],
    );
    spec.env = vec![("GREETING".into(), "hi".into())];
    spec.working_dir = Some(workdir.clone());
    let id = node.runtime.start(spec).await.unwrap();
    within(10, "exit", node.runtime.wait(&id)).await.unwrap();
    let ip = node.pod_ip("web-1");
    assert_eq!(
        node.log(&id),
        format!("web-1 web-1 default {ip} hi\n{}\n", workdir.display())
    );
}

#[tokio::test]
async fn remove_pod_refuses_while_running_then_cleans_up() {
    let node = TestNode::new();
    let id = node
        .runtime
        .start(node.spec("p", "c", 0, &["sleep", "1000"]))
        .await
        .unwrap();
    assert_eq!(node.runtime.pod_uids().unwrap(), vec!["uid-p".to_string()]);
    assert!(matches!(
        node.runtime.remove_pod("uid-p"),
        Err(RuntimeError::StillRunning { running, .. }) if running == vec![id.clone()]
    ));
    node.runtime
        .stop(&id, Duration::from_secs(5))
        .await
        .unwrap();
    node.runtime.remove_pod("uid-p").unwrap();
    assert!(node.runtime.pod_uids().unwrap().is_empty());
    assert!(matches!(
        node.runtime.status(&id),
        Err(RuntimeError::NotFound(_))
    ));
    // The pod's IP goes back to the pool with the pod.
    let ip = node.pod_ip("p");
    assert_eq!(node.ipam.release("uid-p").await.unwrap(), Some(ip));
}
