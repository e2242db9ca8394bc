//! The Node object: registration (create, or update an existing one), and keeping its
//! status (Ready condition, capacity, addresses) current.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use skiff_api::error::ApiError;
use skiff_api::meta::{set_condition, Condition, ObjectMeta, Time};
use skiff_api::quantity::Quantity;
use skiff_api::types::{
    DaemonEndpoint, Node, NodeAddress, NodeDaemonEndpoints, NodeSpec, NodeStatus, NodeSystemInfo,
};
use skiff_client::Client;
use tokio_util::sync::CancellationToken;

use crate::metrics::NodeMetrics;

/// The label every node carries with its own name.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// An unchanged status is still written this often, to refresh `lastHeartbeatTime`.
const REPORT_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What this node says about itself.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub name: String,
    /// From `--labels`.
    pub labels: BTreeMap<String, String>,
    pub pod_cidr: String,
    /// `cpu`, `memory`, `pods`.
    pub capacity: BTreeMap<String, Quantity>,
    /// Where the apiserver reaches this node (`--node-ip`).
    pub address: String,
    /// The port of the NodeLogs service.
    pub logs_port: u16,
    pub info: NodeSystemInfo,
}

/// The Node as this agent would create it.
pub fn desired_node(id: &NodeIdentity) -> Node {
    let mut labels = id.labels.clone();
    labels.insert(HOSTNAME_LABEL.to_string(), id.name.clone());
    Node {
        metadata: ObjectMeta {
            labels,
            ..ObjectMeta::named("", &id.name)
        },
        spec: NodeSpec {
            unschedulable: false,
            pod_cidr: id.pod_cidr.clone(),
        },
        status: desired_status(id, &[]),
        ..Node::default()
    }
}

/// The status this agent reports; `old` conditions keep their transition times.
pub fn desired_status(id: &NodeIdentity, old: &[Condition]) -> NodeStatus {
    let now = Time::now();
    let mut conditions = old.to_vec();
    let fine = [
        (
            "MemoryPressure",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
    ];
    for (type_, reason, message) in fine {
        let mut c = Condition::new(type_, false, reason, message);
        c.last_heartbeat_time = Some(now);
        set_condition(&mut conditions, c);
    }
    let mut ready = Condition::new(
        "Ready",
        true,
        "KubeletReady",
        "kubelet is posting ready status",
    );
    ready.last_heartbeat_time = Some(now);
    set_condition(&mut conditions, ready);
    NodeStatus {
        capacity: id.capacity.clone(),
        allocatable: id.capacity.clone(),
        conditions,
        addresses: vec![
            NodeAddress {
                type_: "InternalIP".to_string(),
                address: id.address.clone(),
            },
            NodeAddress {
                type_: "Hostname".to_string(),
                address: id.name.clone(),
            },
        ],
        node_info: id.info.clone(),
        daemon_endpoints: NodeDaemonEndpoints {
            kubelet_endpoint: DaemonEndpoint {
                port: i32::from(id.logs_port),
            },
        },
    }
}

/// An existing Node (an earlier run of this agent, or one left by an admin) brought in line:
/// labels an admin set stay, missing flag labels and the hostname label are added,
/// `unschedulable` is kept, `podCIDR` is set if it was empty.
pub fn reconcile_existing(mut existing: Node, id: &NodeIdentity) -> Node {
    for (k, v) in &id.labels {
        existing
            .metadata
            .labels
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    existing
        .metadata
        .labels
        .insert(HOSTNAME_LABEL.to_string(), id.name.clone());
    if existing.spec.pod_cidr.is_empty() {
        existing.spec.pod_cidr = id.pod_cidr.clone();
    }
    existing
}

/// Whether the stored status needs a write: anything but the heartbeat times differs, or the
/// last heartbeat is old.
pub fn status_outdated(stored: &NodeStatus, desired: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in &mut s.conditions {
            c.last_heartbeat_time = None;
        }
        s
    };
    if strip(stored) != strip(desired) {
        return true;
    }
    let ready = stored.conditions.iter().find(|c| c.type_ == "Ready");
    match ready.and_then(|c| c.last_heartbeat_time) {
        Some(t) => Time::now().0 - t.0 >= REPORT_EVERY,
        None => true,
    }
}

/// Creates or updates the Node, then writes its status. Returns the stored Node.
pub async fn register(client: &Client, id: &NodeIdentity) -> Result<Node, ApiError> {
    let desired = desired_node(id);
    let node = match client.create(&desired).await {
        Ok(node) => node,
        Err(e) if e.is_already_exists() => {
            let existing: Node = client.get("", &id.name).await?;
            let updated = reconcile_existing(existing.clone(), id);
            if updated.metadata != existing.metadata || updated.spec != existing.spec {
                client.update(&updated).await?
            } else {
                existing
            }
        }
        Err(e) => return Err(e),
    };
    write_status(client, node, id).await
}

async fn write_status(
    client: &Client,
    mut node: Node,
    id: &NodeIdentity,
) -> Result<Node, ApiError> {
    node.status = desired_status(id, &node.status.conditions);
    client.update_status(&node).await
}

/// Registers (retrying until it works), then checks the Node every `period` and rewrites its
/// status when it is outdated (the node controller marked it NotReady, a heartbeat is due) or
/// registers it again if it was deleted.
pub async fn keep_registered(
    client: Client,
    id: NodeIdentity,
    period: Duration,
    metrics: Arc<NodeMetrics>,
    cancel: CancellationToken,
) {
    let mut registered = false;
    let mut retry = Duration::from_millis(200);
    loop {
        let outcome = if registered {
            match client.get::<Node>("", &id.name).await {
                Ok(node)
                    if status_outdated(
                        &node.status,
                        &desired_status(&id, &node.status.conditions),
                    ) =>
                {
                    write_status(&client, node, &id).await.map(drop)
                }
                Ok(_) => Ok(()),
                Err(e) if e.is_not_found() => {
                    tracing::warn!(node = %id.name, "the Node object is gone; registering again");
                    register(&client, &id).await.map(drop)
                }
                Err(e) => Err(e),
            }
        } else {
            register(&client, &id).await.map(drop)
        };
        let wait = match outcome {
            Ok(()) => {
                if !registered {
                    tracing::info!(node = %id.name, "node registered");
                    metrics.set_registered();
                }
                registered = true;
                retry = Duration::from_millis(200);
                period
            }
            Err(e) => {
                tracing::warn!(node = %id.name, error = %e, "updating the Node failed; retrying");
                retry = (retry * 2).min(period);
                retry
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> NodeIdentity {
        NodeIdentity {
            name: "n1".into(),
            labels: BTreeMap::from([("disk".to_string(), "ssd".to_string())]),
            pod_cidr: "127.42.0.0/16".into(),
            address: "127.0.0.1".into(),
            capacity: BTreeMap::from([
                ("cpu".to_string(), Quantity("4".into())),
                ("memory".to_string(), Quantity("8Gi".into())),
                ("pods".to_string(), Quantity("110".into())),
            ]),
            logs_port: 10250,
            info: NodeSystemInfo {
                kubelet_version: "skiff-0.1.0".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_registered_node_follows_the_conventions() {
        let node = desired_node(&identity());
        assert_eq!(node.metadata.name, "n1");
        assert_eq!(
            node.metadata.labels.get(HOSTNAME_LABEL).map(String::as_str),
            Some("n1")
        );
        assert_eq!(
            node.metadata.labels.get("disk").map(String::as_str),
            Some("ssd")
        );
        let s = &node.status;
        assert_eq!(s.capacity, s.allocatable);
        assert_eq!(s.capacity.get("pods").map(|q| q.0.as_str()), Some("110"));
        assert_eq!(s.addresses[0].type_, "InternalIP");
        assert_eq!(s.addresses[0].address, "127.0.0.1");
        assert_eq!(s.addresses[1].address, "n1");
        assert_eq!(s.daemon_endpoints.kubelet_endpoint.port, 10250);
        let ready = s.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert!(ready.is_true());
        assert_eq!(ready.reason, "KubeletReady");
        assert!(ready.last_heartbeat_time.is_some());
        let json = serde_json::to_value(&node).unwrap();
        assert_eq!(
            json["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"],
            10250
        );
    }

    #[test]
    fn an_existing_node_keeps_what_admins_changed() {
        let mut existing = desired_node(&identity());
        existing.metadata.labels.insert("disk".into(), "hdd".into());
        existing
            .metadata
            .labels
            .insert("team".into(), "blue".into());
        existing.spec.unschedulable = true;
        existing.spec.pod_cidr.clear();
        let node = reconcile_existing(existing, &identity());
        assert_eq!(
            node.metadata.labels.get("disk").map(String::as_str),
            Some("hdd")
        );
        assert_eq!(
            node.metadata.labels.get("team").map(String::as_str),
            Some("blue")
        );
        assert!(node.spec.unschedulable);
        assert_eq!(node.spec.pod_cidr, "127.42.0.0/16");
    }

    #[test]
    fn status_is_rewritten_only_when_it_changed_or_the_heartbeat_is_old() {
        let id = identity();
        let stored = desired_status(&id, &[]);
        assert!(!status_outdated(
            &stored,
            &desired_status(&id, &stored.conditions)
        ));
        let mut not_ready = stored.clone();
        for c in &mut not_ready.conditions {
            if c.type_ == "Ready" {
                c.status = "Unknown".into();
                c.reason = "NodeStatusUnknown".into();
            }
        }
        assert!(status_outdated(
            &not_ready,
            &desired_status(&id, &not_ready.conditions)
        ));
        let mut old = stored.clone();
        for c in &mut old.conditions {
            c.last_heartbeat_time = Some(Time(Time::now().0 - chrono::TimeDelta::seconds(120)));
        }
        assert!(status_outdated(&old, &desired_status(&id, &old.conditions)));
        let mut bigger = identity();
        bigger
            .capacity
            .insert("pods".into(), Quantity("200".into()));
        assert!(status_outdated(
            &stored,
            &desired_status(&bigger, &stored.conditions)
        ));
    }
}
