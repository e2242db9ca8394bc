//! `autoscaling/v1` Scale: the body of the `scale` subresource (`kubectl scale`), which reads
//! and writes a controller's desired count without touching the rest of the object.

use serde::{Deserialize, Serialize};

use crate::meta::{is_default, ObjectMeta};

/// Represents a scaling request for a resource: the scale subresource of a
/// ReplicationController, ReplicaSet or Job (whose `parallelism` it scales).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Scale {
    /// Always `autoscaling/v1`.
    pub api_version: String,
    /// Always `Scale`.
    pub kind: String,
    /// The metadata of the scaled object (name, namespace, uid, resourceVersion).
    pub metadata: ObjectMeta,
    /// The desired count.
    pub spec: ScaleSpec,
    /// The current count, as the controller last reported it.
    #[serde(skip_serializing_if = "is_default")]
    pub status: ScaleStatus,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            api_version: Scale::API_VERSION.to_string(),
            kind: "Scale".to_string(),
            metadata: ObjectMeta::default(),
            spec: ScaleSpec::default(),
            status: ScaleStatus::default(),
        }
    }
}

impl Scale {
    pub const API_VERSION: &'static str = "autoscaling/v1";
}

/// The desired state of a scaled object.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScaleSpec {
    /// The desired number of instances of the scaled object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// The current state of a scaled object.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScaleStatus {
    /// The actual number of observed instances of the scaled object.
    pub replicas: i32,
    /// The label selector of the pods the scaled object counts, in its string form
    /// (`app=crane,env in (prod)`), as `kubectl get --selector` takes it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub selector: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scale_reads_and_writes_kubernetes_json() {
        let wire = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "crane", "namespace": "default", "resourceVersion": "42"},
            "spec": {"replicas": 5}, "status": {"replicas": 3, "selector": "app=crane"}});
        let scale: Scale = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(scale.spec.replicas, Some(5));
        assert_eq!(scale.status.selector, "app=crane");
        assert_eq!(serde_json::to_value(&scale).unwrap(), wire);
        let empty = serde_json::to_value(Scale::default()).unwrap();
        assert_eq!(
            empty,
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {}, "spec": {}})
        );
        let err = serde_json::from_value::<Scale>(json!({"spec": {"replica": 1}})).unwrap_err();
        assert!(err.to_string().contains("unknown field `replica`"), "{err}");
    }
}
