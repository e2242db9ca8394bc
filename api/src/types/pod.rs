//! Pods, pod templates and pod status.
//!
//! Accepted but not acted on: nothing beyond the container fields listed in `container.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::container::Container;
use super::resource;
use crate::meta::{is_default, Condition, ObjectMeta, Time};

resource! {
    /// A group of containers that run together on one node.
    pub struct Pod("v1", "Pod", "pods", namespaced: true) {
        pub spec: PodSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: PodStatus,
    }
}

/// What the pod should run, and where.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PodSpec {
    /// The containers of the pod; there must be at least one. Containers are merged by `name`
    /// in strategic merge patches.
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub containers: Vec<Container>,
    /// `Always` (default), `OnFailure` or `Never`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub restart_policy: String,
    /// The node's labels must include all of these for the pod to be placed there.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// The node the pod is bound to; set by the scheduler (or directly by a DaemonSet).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node_name: String,
    /// Seconds between SIGTERM and SIGKILL when the pod is deleted (default 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// The pod fails once it has been running this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
}

/// The pod a controller creates: labels and annotations plus a [`PodSpec`].
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PodTemplateSpec {
    #[serde(skip_serializing_if = "is_default")]
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
}

/// The phases of a pod's life.
pub const POD_PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/// What the node agent observed; written through the status subresource.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// `PodScheduled`, `Initialized`, `ContainersReady`, `Ready`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// A one-word reason such as `DeadlineExceeded` or `NodeLost`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(rename = "hostIP", skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
    #[serde(rename = "podIP", skip_serializing_if = "String::is_empty")]
    pub pod_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub container_statuses: Vec<ContainerStatus>,
}

/// The observed state of one container.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerStatus {
    pub name: String,
    #[serde(skip_serializing_if = "is_default")]
    pub state: ContainerState,
    /// The state of the previous instance, kept after a restart so users can see why it died.
    #[serde(skip_serializing_if = "is_default")]
    pub last_state: ContainerState,
    pub ready: bool,
    pub restart_count: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// Always written, even empty: Kubernetes' API marks it required, and clients generated
    /// from its OpenAPI (the official Python client) refuse a status without it.
    #[serde(rename = "imageID")]
    pub image_id: String,
    #[serde(rename = "containerID", skip_serializing_if = "String::is_empty")]
    pub container_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
}

/// At most one of the three is set.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<ContainerStateWaiting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<ContainerStateRunning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<ContainerStateTerminated>,
}

/// Not running yet, or waiting to restart (`ContainerCreating`, `CrashLoopBackOff`).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerStateWaiting {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// A running container: when it started.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerStateRunning {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
}

/// The process ended: `exitCode` is 128+signal when a signal killed it (137 for SIGKILL).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerStateTerminated {
    pub exit_code: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub signal: i32,
    /// `Completed` for exit code 0, `Error` otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    #[serde(rename = "containerID", skip_serializing_if = "String::is_empty")]
    pub container_id: String,
}
