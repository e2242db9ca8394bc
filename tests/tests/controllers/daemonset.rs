//! The DaemonSet chapter of the notes: ssd-monitor runs only on `disk=ssd` nodes; labelling a node adds a pod, relabelling it to `disk=hdd` removes it; a deleted pod comes back; deleting the DaemonSet deletes its pods.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use skiff_api::types::{Container, DaemonSet, Node, Pod, Resource};
use skiff_client::DeleteOptions;
use skiff_testkit::{step, wait_for, NodeletSpec};

use crate::util::{cluster, live, pods, running, Runtime, Setup};

const WITHIN: Duration = Duration::from_secs(30);

/// Node name -> the live daemon pod on it, when every live daemon pod is Running and no node
/// has two.
async fn placement(admin: &skiff_client::Client) -> Option<BTreeMap<String, String>> {
    let live_pods: Vec<Pod> = pods(admin, "app=ssd-monitor")
        .await
        .into_iter()
        .filter(live)
        .collect();
    let placed: BTreeMap<String, String> = live_pods
        .iter()
        .map(|p| (p.spec.node_name.clone(), p.metadata.name.clone()))
        .collect();
    (placed.len() == live_pods.len() && live_pods.iter().all(running)).then_some(placed)
}

/// Waits until the daemon pods run on exactly `nodes`.
async fn wait_on_nodes(admin: &skiff_client::Client, nodes: &[&str]) -> BTreeMap<String, String> {
    wait_for(
        &format!("one ssd-monitor pod on each of {nodes:?}"),
        WITHIN,
        || async {
            let placed = placement(admin).await?;
            placed.keys().eq(nodes.iter()).then_some(placed)
        },
    )
    .await
}

#[tokio::test]
async fn daemon_set_follows_node_labels() {
    let nodes = vec![
        NodeletSpec::new("n1").label("disk", "ssd"),
        NodeletSpec::new("n2"),
        NodeletSpec::new("n3"),
    ];
    let (mut cluster, admin) = cluster(Setup::new(nodes, Runtime::Fake)).await;

    step("stop the scheduler; a plain pod now stays Pending, unbound");
    cluster.stop("scheduler-1", Duration::from_secs(10));
    let mut plain = Pod::named("default", "needs-a-scheduler");
    plain.spec.containers.push(Container {
        name: "crane".into(),
        image: "heejeong/crane".into(),
        ..Container::default()
    });
    admin.create(&plain).await.expect("create the plain pod");

    step("create ds ssd-monitor: one pod, on the disk=ssd node only, placed without the scheduler");
    admin.create(&fixture_ds()).await.expect("create ds");
    let placed = wait_on_nodes(&admin, &["n1"]).await;
    let plain: Pod = admin
        .get("default", "needs-a-scheduler")
        .await
        .expect("the plain pod");
    assert_eq!(
        (plain.spec.node_name.as_str(), plain.status.phase.as_str()),
        ("", "Pending"),
        "with the scheduler stopped, nothing but the DaemonSet controller places pods"
    );
    wait_for("ds status", WITHIN, || async {
        let ds: DaemonSet = admin.get("default", "ssd-monitor").await.ok()?;
        let s = &ds.status;
        (s.desired_number_scheduled == 1
            && s.current_number_scheduled == 1
            && s.number_ready == 1
            && s.number_misscheduled == 0)
            .then_some(())
    })
    .await;

    step("label n2 disk=ssd: it gets a pod");
    admin
        .patch::<Node>("", "n2", &json!({"metadata": {"labels": {"disk": "ssd"}}}))
        .await
        .expect("label n2");
    let placed2 = wait_on_nodes(&admin, &["n1", "n2"]).await;
    assert_eq!(placed2["n1"], placed["n1"]);

    step("relabel n1 disk=hdd: its pod is deleted");
    admin
        .patch::<Node>("", "n1", &json!({"metadata": {"labels": {"disk": "hdd"}}}))
        .await
        .expect("relabel n1");
    let placed3 = wait_on_nodes(&admin, &["n2"]).await;

    step("delete the daemon pod on n2: it is recreated there");
    admin
        .delete::<Pod>("default", &placed3["n2"], &DeleteOptions::default())
        .await
        .expect("delete pod");
    let placed4 = wait_for("a new pod on n2", WITHIN, || async {
        let placed = placement(&admin).await?;
        (placed.keys().eq(["n2"].iter()) && placed["n2"] != placed3["n2"]).then_some(placed)
    })
    .await;
    let pod: Pod = admin.get("default", &placed4["n2"]).await.expect("new pod");
    assert_eq!(pod.spec.node_name, "n2");

    step("delete the DaemonSet: its pods go");
    admin
        .delete::<DaemonSet>("default", "ssd-monitor", &DeleteOptions::default())
        .await
        .expect("delete ds");
    wait_for("no ssd-monitor pods", WITHIN, || async {
        pods(&admin, "app=ssd-monitor")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    drop(cluster);
}

#[tokio::test]
async fn a_node_that_joins_gets_its_daemon_pod() {
    let nodes = vec![
        NodeletSpec::new("n1").label("disk", "ssd"),
        NodeletSpec::new("n2").label("disk", "ssd").later(),
        NodeletSpec::new("n3").later(),
    ];
    let (mut cluster, admin) = cluster(Setup::new(nodes, Runtime::Fake)).await;

    step("create ds ssd-monitor: a pod on n1, the only node so far");
    admin.create(&fixture_ds()).await.expect("create ds");
    let before = wait_on_nodes(&admin, &["n1"]).await;

    step("n2 (disk=ssd) and n3 (no label) join: n2 gets a pod, n3 none");
    cluster.start_component("nodelet-n2");
    cluster.start_component("nodelet-n3");
    cluster.wait_node_ready("n2", WITHIN).await;
    cluster.wait_node_ready("n3", WITHIN).await;
    let after = wait_on_nodes(&admin, &["n1", "n2"]).await;
    assert_eq!(after["n1"], before["n1"], "n1's pod is kept");
    wait_for("ds status counts the new node", WITHIN, || async {
        let ds: DaemonSet = admin.get("default", "ssd-monitor").await.ok()?;
        let s = &ds.status;
        (s.desired_number_scheduled == 2 && s.number_ready == 2).then_some(())
    })
    .await;
    drop(cluster);
}

fn fixture_ds() -> DaemonSet {
    crate::util::fixture("ds-ssd-monitor.yaml")
}
