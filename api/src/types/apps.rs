//! Replicating controllers: ReplicationController (`v1`), ReplicaSet and DaemonSet (`apps/v1`, also accepted as `apps/v1beta2`).
//!
//! Accepted but not acted on: `minReadySeconds` (a ready pod counts as available at once),
//! DaemonSet `updateStrategy` and `revisionHistoryLimit` (a changed template affects only pods
//! created afterwards, the `OnDelete` behaviour).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pod::PodTemplateSpec;
use super::resource;
use crate::meta::{is_default, Condition, IntOrString};
use crate::selector::LabelSelector;

resource! {
    /// Keeps `replicas` pods matching an equality selector running.
    pub struct ReplicationController("v1", "ReplicationController", "replicationcontrollers", namespaced: true) {
        pub spec: ReplicationControllerSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: ReplicaStatus,
    }
}

/// The desired state of a ReplicationController: how many pods, which labels select them, and the template new ones are made from.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReplicationControllerSpec {
    /// Defaults to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(skip_serializing_if = "is_default")]
    pub min_ready_seconds: i32,
    /// Equality-only; defaults to the template's labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    pub template: PodTemplateSpec,
}

/// The status of a ReplicationController or ReplicaSet.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReplicaStatus {
    /// Pods currently matching the selector.
    pub replicas: i32,
    /// Pods whose labels match the template's labels exactly.
    #[serde(skip_serializing_if = "is_default")]
    pub fully_labeled_replicas: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub ready_replicas: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub available_replicas: i32,
    /// The `metadata.generation` the controller last acted on.
    #[serde(skip_serializing_if = "is_default")]
    pub observed_generation: i64,
    /// `ReplicaFailure` when pods cannot be created.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

resource! {
    /// Keeps `replicas` pods matching a set-based selector running.
    pub struct ReplicaSet("apps/v1", "ReplicaSet", "replicasets", namespaced: true) {
        pub spec: ReplicaSetSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: ReplicaStatus,
    }
}

/// The desired state of a ReplicaSet: how many pods, the label selector that finds them, and the template new ones are made from.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReplicaSetSpec {
    /// Defaults to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(skip_serializing_if = "is_default")]
    pub min_ready_seconds: i32,
    /// Required; must match the template's labels; immutable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    pub template: PodTemplateSpec,
}

resource! {
    /// Runs one pod on every node whose labels match the template's `nodeSelector`.
    pub struct DaemonSet("apps/v1", "DaemonSet", "daemonsets", namespaced: true) {
        pub spec: DaemonSetSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: DaemonSetStatus,
    }
}

/// The desired state of a DaemonSet: the label selector of its pods and the template it runs on every eligible node.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DaemonSetSpec {
    /// Required; must match the template's labels; immutable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    pub template: PodTemplateSpec,
    #[serde(skip_serializing_if = "is_default")]
    pub min_ready_seconds: i32,
    /// Accepted, not acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<DaemonSetUpdateStrategy>,
    /// Accepted, not acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
}

/// How a DaemonSet replaces its pods when the template changes.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DaemonSetUpdateStrategy {
    /// `RollingUpdate` or `OnDelete`.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateDaemonSet>,
}

/// The parameters of a rolling update of a DaemonSet.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RollingUpdateDaemonSet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
}

/// The observed state of a DaemonSet: how many nodes should run its pod, run it, and have it ready.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DaemonSetStatus {
    /// Nodes that run a daemon pod and should.
    pub current_number_scheduled: i32,
    /// Nodes that run a daemon pod but should not.
    pub number_misscheduled: i32,
    /// Nodes that should run a daemon pod.
    pub desired_number_scheduled: i32,
    pub number_ready: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub observed_generation: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub updated_number_scheduled: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub number_available: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub number_unavailable: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
