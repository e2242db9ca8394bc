//! A pod that fits nowhere stays Pending with PodScheduled=False/Unschedulable, a
//! Kubernetes-style message and a FailedScheduling event, and is placed within moments of a
//! node becoming suitable: labelled to match, added with room for it, or freed by a pod that
//! goes away.

use std::time::{Duration, Instant};

use serde_json::json;
use skiff_api::meta::find_condition;
use skiff_api::quantity::Quantity;
use skiff_api::types::{Node, Pod};
use skiff_client::DeleteOptions;
use skiff_testkit::{step, wait_for};

use crate::util::{cluster, node_object, pod, wait_bound, wait_event};

/// Waits for the pod's PodScheduled=False condition; returns its message.
async fn wait_unschedulable(admin: &skiff_client::Client, name: &str) -> String {
    wait_for(
        &format!("pod {name} to be marked Unschedulable"),
        Duration::from_secs(20),
        || async move {
            let pod: Pod = admin.get("default", name).await.ok()?;
            let condition = find_condition(&pod.status.conditions, "PodScheduled")?;
            assert!(
                pod.spec.node_name.is_empty(),
                "bound to {}",
                pod.spec.node_name
            );
            (condition.status == "False" && condition.reason == "Unschedulable")
                .then(|| condition.message.clone())
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn unschedulable_pods_wait_and_are_placed_when_a_node_fits() {
    let (cluster, admin) = cluster(2).await;
    let scenario = async {
        step("a pod selecting gpu=true fits nowhere");
        admin
            .create(&pod("gpu-pod", &[("gpu", "true")]))
            .await
            .expect("create pod");
        let message = wait_unschedulable(&admin, "gpu-pod").await;
        let expected = "0/2 nodes are available: 2 node(s) didn't match Pod's node selector.";
        assert_eq!(message, expected);
        let event = wait_event(
            &admin,
            "gpu-pod",
            "FailedScheduling",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(event.message, expected);
        assert_eq!(
            (event.type_.as_str(), event.source.component.as_str()),
            ("Warning", "default-scheduler")
        );

        step("it stays Pending");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let waiting: Pod = admin.get("default", "gpu-pod").await.expect("get pod");
        assert!(waiting.spec.node_name.is_empty());
        assert_eq!(waiting.status.phase, "Pending");

        step("label n2 gpu=true: the pod is scheduled there within seconds");
        let labelled = Instant::now();
        admin
            .patch::<Node>("", "n2", &json!({"metadata": {"labels": {"gpu": "true"}}}))
            .await
            .expect("label node");
        assert_eq!(
            wait_bound(&admin, "gpu-pod", Duration::from_secs(5)).await,
            "n2"
        );
        eprintln!("bound {:?} after the label", labelled.elapsed());

        step("a pod requesting 6 cpu fits on no 4-cpu node");
        let mut big = pod("big-pod", &[]);
        big.spec.containers[0]
            .resources
            .requests
            .insert("cpu".into(), Quantity("6".into()));
        admin.create(&big).await.expect("create pod");
        assert_eq!(
            wait_unschedulable(&admin, "big-pod").await,
            "0/2 nodes are available: 2 Insufficient cpu."
        );

        step("a node with 16 cpu joins: the pod goes there");
        let mut n3 = node_object("n3", &[]);
        n3.status
            .allocatable
            .insert("cpu".into(), Quantity("16".into()));
        n3.status
            .capacity
            .insert("cpu".into(), Quantity("16".into()));
        let added = Instant::now();
        admin.create(&n3).await.expect("create node");
        assert_eq!(
            wait_bound(&admin, "big-pod", Duration::from_secs(5)).await,
            "n3"
        );
        eprintln!("bound {:?} after the node joined", added.elapsed());

        step("a pod requesting 12 cpu fits nowhere until big-pod leaves n3");
        let mut bigger = pod("bigger-pod", &[]);
        bigger.spec.containers[0]
            .resources
            .requests
            .insert("cpu".into(), Quantity("12".into()));
        admin.create(&bigger).await.expect("create pod");
        assert_eq!(
            wait_unschedulable(&admin, "bigger-pod").await,
            "0/3 nodes are available: 3 Insufficient cpu."
        );
        let deleted = Instant::now();
        admin
            .delete::<Pod>("default", "big-pod", &DeleteOptions::now())
            .await
            .expect("delete pod");
        assert_eq!(
            wait_bound(&admin, "bigger-pod", Duration::from_secs(5)).await,
            "n3"
        );
        eprintln!("bound {:?} after big-pod was deleted", deleted.elapsed());
    };
    tokio::time::timeout(Duration::from_secs(120), scenario)
        .await
        .expect("scenario timed out");
    drop(cluster);
}
