//! Graceful deletion: SIGTERM, the grace period, SIGKILL for a container that ignores
//! SIGTERM, then the nodelet's confirmation makes the object disappear.

use std::time::{Duration, Instant};

use serde_json::json;
use skiff_api::types::Pod;
use skiff_client::{DeleteOptions, WatchEvent, WatchOptions};
use skiff_testkit::step;
use tonic::codegen::tokio_stream::StreamExt;

use crate::util::{alive, busybox, main_status, pod, Cluster};

/// Deletes pod `name` and follows it through a watch until it is gone; returns how long
/// that took and the last status seen before the DELETED event.
async fn delete_and_follow(c: &Cluster, name: &str) -> (Duration, Pod) {
    let current = c.get(name).await.expect("the pod");
    let options = WatchOptions {
        field_selector: format!("metadata.name={name}"),
        resource_version: current.metadata.resource_version.clone(),
        ..WatchOptions::default()
    };
    let mut watch = c
        .admin
        .watch::<Pod>(Some("default"), &options)
        .await
        .expect("watch");
    let started = Instant::now();
    let deleted = c
        .admin
        .delete::<Pod>("default", name, &DeleteOptions::default())
        .await
        .expect("delete");
    let marked = deleted.expect("a bound pod stays while its containers stop");
    assert!(marked.metadata.deletion_timestamp.is_some());
    let mut last = marked;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(40), watch.next())
            .await
            .unwrap_or_else(|_| panic!("pod {name} did not disappear"))
            .expect("watch ended")
            .expect("watch error");
        match event {
            WatchEvent::Modified(p) | WatchEvent::Added(p) => last = p,
            WatchEvent::Deleted(_) => return (started.elapsed(), last),
            WatchEvent::Bookmark { .. } => {}
        }
    }
}

#[tokio::test]
async fn a_container_ignoring_sigterm_is_killed_after_the_grace_period() {
    let c = Cluster::two_nodes().await;
    step("a container that ignores SIGTERM, grace period 3 s");
    let script = "trap '' TERM; echo started; while true; do sleep 1; done";
    let mut stubborn = busybox("stubborn", "n1", script, "Always");
    stubborn.spec.termination_grace_period_seconds = Some(3);
    let created = c.create(&stubborn).await;
    c.wait_pod("stubborn", "Running", 20, |p| p.status.phase == "Running")
        .await;
    let pid = c
        .container_pid("n1", &created, "main", 0)
        .expect("container pid");
    assert!(alive(pid));

    step("delete: SIGTERM is ignored, SIGKILL comes after 3 s, then the object goes");
    let (took, last) = delete_and_follow(&c, "stubborn").await;
    assert!(
        took >= Duration::from_millis(2800),
        "gone after {took:?}, before the grace period ended"
    );
    assert!(took <= Duration::from_secs(10), "gone only after {took:?}");
    let t = main_status(&last)
        .unwrap()
        .state
        .terminated
        .clone()
        .expect("the final status shows the end");
    assert_eq!((t.exit_code, t.signal), (137, 9), "SIGKILLed");
    assert!(!alive(pid), "the container process is gone");
    c.wait_event("stubborn", "Killing", "Stopping container main", 5)
        .await;
    let dir = c.instance_dir("n1", &created, "main", 0);
    skiff_testkit::wait_for(
        "its state to be removed",
        Duration::from_secs(5),
        || async { (!dir.exists()).then_some(()) },
    )
    .await;

    step("a container that obeys SIGTERM goes at once with exit code 143");
    let kubia = pod(
        "polite",
        "n2",
        json!({"containers": [{"name": "kubia", "image": "luksa/kubia"}]}),
    );
    c.create(&kubia).await;
    c.wait_pod("polite", "Running", 20, |p| p.status.phase == "Running")
        .await;
    let (took, last) = delete_and_follow(&c, "polite").await;
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let t = main_status(&last)
        .unwrap()
        .state
        .terminated
        .clone()
        .expect("terminated");
    assert_eq!((t.exit_code, t.signal), (143, 15));
}

#[tokio::test]
async fn finished_and_never_started_pods_are_deleted_too() {
    let c = Cluster::two_nodes().await;
    step("a completed pod and a pod whose image does not exist");
    c.create(&busybox("done", "n1", "true", "Never")).await;
    c.create(&pod(
        "broken",
        "n2",
        json!({"containers": [{"name": "x", "image": "no/such-image"}]}),
    ))
    .await;
    c.wait_pod("done", "Succeeded", 20, |p| p.status.phase == "Succeeded")
        .await;
    c.wait_pod("broken", "waiting", 20, |p| {
        main_status(p).is_some_and(|s| s.state.waiting.is_some())
    })
    .await;
    for name in ["done", "broken"] {
        c.admin
            .delete::<Pod>("default", name, &DeleteOptions::default())
            .await
            .expect("delete");
        c.wait_gone(name, 15).await;
    }
}
