//! Cluster-level kinds: Namespace, Node, and Lease (`coordination.k8s.io/v1`, used for node heartbeats and leader election).
//!
//! Accepted but not acted on: Namespace `spec.finalizers`, Node `status.nodeInfo` (informational).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::resource;
use crate::meta::{is_default, Condition, MicroTime};
use crate::quantity::Quantity;

resource! {
    /// A scope for names; namespaced objects live in exactly one namespace.
    pub struct Namespace("v1", "Namespace", "namespaces", namespaced: false) {
        #[serde(skip_serializing_if = "is_default")]
        pub spec: NamespaceSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: NamespaceStatus,
    }
}

/// The desired state of a namespace: the finalizers that must be cleared before it goes.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NamespaceSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// The observed state of a namespace: its phase (Active or Terminating).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NamespaceStatus {
    /// `Active` or `Terminating`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

resource! {
    /// A machine that runs pods; registered and kept up to date by its node agent.
    pub struct Node("v1", "Node", "nodes", namespaced: false) {
        #[serde(skip_serializing_if = "is_default")]
        pub spec: NodeSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: NodeStatus,
    }
}

/// The desired state of a node: whether new pods may be scheduled on it.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeSpec {
    /// When true the scheduler places no new pods here.
    #[serde(skip_serializing_if = "is_default")]
    pub unschedulable: bool,
    /// The address range the node's pods get their IPs from.
    #[serde(rename = "podCIDR", skip_serializing_if = "String::is_empty")]
    pub pod_cidr: String,
}

/// The node types of address.
pub const NODE_ADDRESS_TYPES: [&str; 5] = [
    "Hostname",
    "InternalIP",
    "ExternalIP",
    "InternalDNS",
    "ExternalDNS",
];

/// The observed state of a node, reported by its node agent: conditions, addresses, capacity and system information.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeStatus {
    /// Total resources (`cpu`, `memory`, `pods`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,
    /// What is left for pods after system reservations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,
    /// `Ready` (with `lastHeartbeatTime`), and pressure conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    #[serde(skip_serializing_if = "is_default")]
    pub node_info: NodeSystemInfo,
    #[serde(skip_serializing_if = "is_default")]
    pub daemon_endpoints: NodeDaemonEndpoints,
}

/// One address of a node (InternalIP, Hostname...).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeAddress {
    /// One of [`NODE_ADDRESS_TYPES`].
    #[serde(rename = "type")]
    pub type_: String,
    pub address: String,
}

/// Facts about the node's software, shown by `describe node`.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeSystemInfo {
    #[serde(rename = "machineID", skip_serializing_if = "String::is_empty")]
    pub machine_id: String,
    #[serde(rename = "systemUUID", skip_serializing_if = "String::is_empty")]
    pub system_uuid: String,
    #[serde(rename = "bootID", skip_serializing_if = "String::is_empty")]
    pub boot_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kernel_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub os_image: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container_runtime_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubelet_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kube_proxy_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operating_system: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub architecture: String,
}

/// The ports of the daemons running on a node.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeDaemonEndpoints {
    /// Where the node agent serves logs.
    #[serde(skip_serializing_if = "is_default")]
    pub kubelet_endpoint: DaemonEndpoint,
}

/// A port a daemon on the node listens on.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonEndpoint {
    /// Capitalised in Kubernetes' JSON too.
    #[serde(rename = "Port")]
    pub port: i32,
}

resource! {
    /// A lease held by one holder at a time: node heartbeats and leader election.
    pub struct Lease("coordination.k8s.io/v1", "Lease", "leases", namespaced: true) {
        #[serde(skip_serializing_if = "is_default")]
        pub spec: LeaseSpec,
    }
}

/// The state of a lease: who holds it, for how long, and when it was last renewed.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LeaseSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    /// How long the holder keeps the lease after its last renewal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<MicroTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<MicroTime>,
    /// How many times the lease changed holders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i32>,
}
