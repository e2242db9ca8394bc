//! Shared set-up of the scheduling scenarios: the cluster, its two nodes, pods, and waits.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use skiff_api::meta::{Condition, OwnerReference};
use skiff_api::quantity::Quantity;
use skiff_api::types::{Container, Event, Node, NodeAddress, Pod, Resource};
use skiff_client::{Client, ListOptions};
use skiff_testkit::cluster::FAST_LEADER_ELECTION;
use skiff_testkit::{step, wait_for, ClusterSpec, NodeletSpec, TestCluster};

/// A cluster with `schedulers` schedulers and nodes n1 (disk=ssd) and n2. The nodes are
/// registered by `skiff-nodelet --runtime fake` when that binary runs the node agent, and
/// otherwise created directly as Ready Node objects (nothing runs the pods then; scheduling
/// does not need it).
pub async fn cluster(schedulers: usize) -> (TestCluster, Client) {
    let nodelets = nodelet_runs_agents();
    let mut spec = ClusterSpec {
        schedulers,
        scheduler_args: FAST_LEADER_ELECTION.iter().map(|s| s.to_string()).collect(),
        ..ClusterSpec::default()
    };
    if nodelets {
        spec.nodelets = vec![
            NodeletSpec::new("n1").label("disk", "ssd"),
            NodeletSpec::new("n2"),
        ];
        spec.nodelet_args = [
            "--runtime",
            "fake",
            "--cpu",
            "4",
            "--memory",
            "8Gi",
            "--max-pods",
            "110",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
    }
    step(&format!(
        "start the cluster ({schedulers} schedulers, nodelets: {nodelets})"
    ));
    let cluster = TestCluster::start(spec).await;
    let admin = cluster.admin_client();
    if !nodelets {
        register_node(&admin, "n1", &[("disk", "ssd")]).await;
        register_node(&admin, "n2", &[]).await;
    }
    (cluster, admin)
}

/// True when `skiff-nodelet` runs the node agent (not only its internal subcommands).
fn nodelet_runs_agents() -> bool {
    let output = Command::new(skiff_testkit::binary::binary("skiff-nodelet"))
        .arg("--help")
        .output();
    output.is_ok_and(|o| {
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--node-name")
    })
}

/// A Ready node as a node agent registers it: 4 cpu, 8Gi, 110 pods.
pub fn node_object(name: &str, labels: &[(&str, &str)]) -> Node {
    let mut node = Node::named("", name);
    node.metadata.labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    node.metadata
        .labels
        .insert("kubernetes.io/hostname".into(), name.into());
    for (k, v) in [("cpu", "4"), ("memory", "8Gi"), ("pods", "110")] {
        node.status.capacity.insert(k.into(), Quantity(v.into()));
        node.status.allocatable.insert(k.into(), Quantity(v.into()));
    }
    node.status.conditions.push(Condition::new(
        "Ready",
        true,
        "KubeletReady",
        "registered by the test",
    ));
    node.status.addresses = vec![
        NodeAddress {
            type_: "InternalIP".into(),
            address: "127.0.0.1".into(),
        },
        NodeAddress {
            type_: "Hostname".into(),
            address: name.into(),
        },
    ];
    node
}

pub async fn register_node(admin: &Client, name: &str, labels: &[(&str, &str)]) {
    admin
        .create(&node_object(name, labels))
        .await
        .expect("create node");
}

/// A busybox pod in `default` with the given node selector.
pub fn pod(name: &str, selector: &[(&str, &str)]) -> Pod {
    let mut pod = Pod::named("default", name);
    pod.spec.containers.push(Container {
        name: "main".into(),
        image: "busybox".into(),
        command: vec!["sleep".into(), "3600".into()],
        ..Container::default()
    });
    pod.spec.node_selector = selector
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>();
    pod
}

/// `pod` owned by a controller, as a ReplicationController creates it.
pub fn owned_by(mut pod: Pod, kind: &str, name: &str, uid: &str) -> Pod {
    pod.metadata.owner_references.push(OwnerReference {
        api_version: "v1".into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    });
    pod
}

/// Waits until the pod is bound; returns its node.
pub async fn wait_bound(admin: &Client, name: &str, within: Duration) -> String {
    wait_for(&format!("pod {name} to be bound"), within, || async move {
        let pod: Pod = admin.get("default", name).await.ok()?;
        (!pod.spec.node_name.is_empty()).then_some(pod.spec.node_name)
    })
    .await
}

/// The events about pod `name` in `default`.
pub async fn events_for(admin: &Client, name: &str) -> Vec<Event> {
    let events = admin
        .list::<Event>(Some("default"), &ListOptions::default())
        .await
        .expect("list events");
    events
        .items
        .into_iter()
        .filter(|e| e.involved_object.name == name && e.involved_object.kind == "Pod")
        .collect()
}

/// Waits for an event about pod `name` with `reason`; returns it.
pub async fn wait_event(admin: &Client, name: &str, reason: &str, within: Duration) -> Event {
    wait_for(
        &format!("a {reason} event for pod {name}"),
        within,
        || async move {
            events_for(admin, name)
                .await
                .into_iter()
                .find(|e| e.reason == reason)
        },
    )
    .await
}
