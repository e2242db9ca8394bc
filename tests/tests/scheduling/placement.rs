//! Pods land on nodes whose labels match their node selector, the scheduler says so in a
//! `Scheduled` event, and a controller's pods spread over both nodes even when one node is
//! busier.

use std::collections::BTreeMap;
use std::time::Duration;

use skiff_api::meta::condition_is_true;
use skiff_api::types::{
    Pod, PodTemplateSpec, ReplicationController, ReplicationControllerSpec, Resource,
};
use skiff_testkit::step;

use crate::util::{cluster, owned_by, pod, wait_bound, wait_event};

#[tokio::test(flavor = "multi_thread")]
async fn pods_land_on_matching_nodes_and_a_controllers_pods_spread() {
    let (cluster, admin) = cluster(2).await;
    let scenario = async {
        step("a pod with nodeSelector disk=ssd lands on n1, the ssd node");
        for name in ["ssd-1", "ssd-2", "ssd-3"] {
            admin
                .create(&pod(name, &[("disk", "ssd")]))
                .await
                .expect("create pod");
        }
        for name in ["ssd-1", "ssd-2", "ssd-3"] {
            assert_eq!(
                wait_bound(&admin, name, Duration::from_secs(20)).await,
                "n1",
                "{name}"
            );
        }
        let bound: Pod = admin.get("default", "ssd-1").await.expect("get pod");
        assert!(
            condition_is_true(&bound.status.conditions, "PodScheduled"),
            "{:?}",
            bound.status
        );

        step("the scheduler records a Scheduled event with its decision: scores, filtered nodes");
        let event = wait_event(&admin, "ssd-1", "Scheduled", Duration::from_secs(10)).await;
        assert!(
            event
                .message
                .starts_with("Successfully assigned default/ssd-1 to n1 (scores: n1=")
                && event
                    .message
                    .ends_with("; filtered out: n2 (node(s) didn't match Pod's node selector))"),
            "{}",
            event.message
        );
        assert_eq!(
            (event.type_.as_str(), event.source.component.as_str()),
            ("Normal", "default-scheduler")
        );

        step("four pods of one ReplicationController spread 2/2, though n1 is busier");
        let labels = BTreeMap::from([("app".to_string(), "kubia".to_string())]);
        let mut rc = ReplicationController::named("default", "kubia");
        rc.spec = ReplicationControllerSpec {
            replicas: Some(4),
            selector: labels.clone(),
            template: PodTemplateSpec {
                metadata: Default::default(),
                spec: pod("template", &[]).spec,
            },
            ..ReplicationControllerSpec::default()
        };
        rc.spec.template.metadata.labels = labels.clone();
        let rc = admin.create(&rc).await.expect("create rc");
        let names: Vec<String> = (1..=4).map(|i| format!("kubia-{i}")).collect();
        for name in &names {
            let mut p = owned_by(
                pod(name, &[]),
                "ReplicationController",
                "kubia",
                &rc.metadata.uid,
            );
            p.metadata.labels = labels.clone();
            admin.create(&p).await.expect("create pod");
        }
        let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
        for name in &names {
            *per_node
                .entry(wait_bound(&admin, name, Duration::from_secs(20)).await)
                .or_default() += 1;
        }
        assert_eq!(
            per_node,
            BTreeMap::from([("n1".to_string(), 2), ("n2".to_string(), 2)])
        );
    };
    tokio::time::timeout(Duration::from_secs(120), scenario)
        .await
        .expect("scenario timed out");
    drop(cluster);
}
