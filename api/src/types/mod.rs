//! The resource types, with Kubernetes' JSON field names, and the [`Resource`] trait that lets typed code be generic over kinds.
//!
//! Every struct rejects unknown fields, so a misspelt field in a manifest is an error rather
//! than silently ignored. Fields skiff accepts but does not act on are listed in the doc of the
//! module that declares them. Kubernetes fields skiff does not implement (volumes, tolerations,
//! affinity, init containers, security contexts, ...) are not accepted at all: a manifest that
//! uses them is refused with an "unknown field" error instead of running differently than the
//! user expects.

mod apps;
mod autoscaling;
mod batch;
mod cluster;
mod container;
mod event;
mod pod;

pub use apps::*;
pub use autoscaling::*;
pub use batch::*;
pub use cluster::*;
pub use container::*;
pub use event::*;
pub use pod::*;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::meta::{ObjectMeta, ObjectReference, OwnerReference};

/// What every top-level kind offers to generic code (clients, informers, controllers).
pub trait Resource:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + Default + Send + Sync + 'static
{
    /// The storage apiVersion (`apps/v1`).
    const API_VERSION: &'static str;
    const KIND: &'static str;
    /// The resource name (`replicasets`).
    const PLURAL: &'static str;
    const NAMESPACED: bool;

    fn metadata(&self) -> &ObjectMeta;
    fn metadata_mut(&mut self) -> &mut ObjectMeta;

    /// An empty object of this kind with the given namespace and name.
    fn named(namespace: &str, name: &str) -> Self {
        let mut obj = Self::default();
        *obj.metadata_mut() = ObjectMeta::named(namespace, name);
        obj
    }

    fn name(&self) -> &str {
        &self.metadata().name
    }

    fn namespace(&self) -> &str {
        &self.metadata().namespace
    }
}

/// The owner reference a controller puts on the objects it creates (`controller: true`,
/// `blockOwnerDeletion: true`, as Kubernetes controllers do).
pub fn controller_reference<R: Resource>(owner: &R) -> OwnerReference {
    OwnerReference {
        api_version: R::API_VERSION.to_string(),
        kind: R::KIND.to_string(),
        name: owner.name().to_string(),
        uid: owner.metadata().uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A reference to `obj`, for events and CronJob `status.active`.
pub fn object_reference<R: Resource>(obj: &R) -> ObjectReference {
    let meta = obj.metadata();
    ObjectReference {
        kind: R::KIND.to_string(),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        api_version: R::API_VERSION.to_string(),
        resource_version: meta.resource_version.clone(),
        field_path: String::new(),
    }
}

/// Declares a top-level kind: the struct with `apiVersion`, `kind` and `metadata` followed by
/// the given fields, a `Default` that fills in `apiVersion` and `kind`, and its [`Resource`]
/// impl. Every field is optional when decoding (`#[serde(default)]`); validation, not the
/// decoder, reports missing required values, so all of them are reported at once.
macro_rules! resource {
    (
        $(#[$attr:meta])*
        pub struct $name:ident($api_version:literal, $kind:literal, $plural:literal, namespaced: $namespaced:literal) {
            $( $(#[$field_attr:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$attr])*
        #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq)]
        #[serde(rename_all = "camelCase", deny_unknown_fields, default)]
        pub struct $name {
            /// The versioned schema of this representation of an object (`v1`, `apps/v1`).
            pub api_version: String,
            /// The REST resource this object represents (`Pod`, `ReplicaSet`).
            pub kind: String,
            /// Standard object metadata: name, namespace, labels, owners...
            pub metadata: crate::meta::ObjectMeta,
            $( $(#[$field_attr])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    api_version: $api_version.to_string(),
                    kind: $kind.to_string(),
                    metadata: Default::default(),
                    $( $field: Default::default(), )*
                }
            }
        }

        impl crate::types::Resource for $name {
            const API_VERSION: &'static str = $api_version;
            const KIND: &'static str = $kind;
            const PLURAL: &'static str = $plural;
            const NAMESPACED: bool = $namespaced;

            fn metadata(&self) -> &crate::meta::ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut crate::meta::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
pub(crate) use resource;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds;

    fn check<R: Resource>() {
        let info = kinds::by_kind(R::KIND).unwrap();
        assert_eq!(info.storage_version(), R::API_VERSION);
        assert_eq!(info.plural, R::PLURAL);
        assert_eq!(info.namespaced, R::NAMESPACED);
        let json = serde_json::to_value(R::named("", "x")).unwrap();
        assert_eq!(json["apiVersion"], R::API_VERSION);
        assert_eq!(json["kind"], R::KIND);
    }

    #[test]
    fn every_type_matches_its_registry_entry() {
        check::<Namespace>();
        check::<Node>();
        check::<Pod>();
        check::<ReplicationController>();
        check::<Event>();
        check::<ReplicaSet>();
        check::<DaemonSet>();
        check::<Job>();
        check::<CronJob>();
        check::<Lease>();
    }

    /// Informers keep every pod of a cluster: a pod decoded from JSON text (which, unlike a
    /// `Value`, does not tell a list's length in advance) holds no spare room in its lists.
    #[test]
    fn a_decoded_pod_keeps_no_room_in_its_lists() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "finalizers": ["f"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "ReplicationController",
                    "name": "rc", "uid": "u", "controller": true}],
                "managedFields": [{"manager": "m", "operation": "Update"}]},
            "spec": {"containers": [{"name": "c", "image": "i", "command": ["sleep"],
                "args": ["9"], "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "1"}]}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": true,
                    "restartCount": 0}]}
        });
        let pod: Pod = serde_json::from_str(&json.to_string()).unwrap();
        let m = &pod.metadata;
        let c = &pod.spec.containers[0];
        let s = &pod.status;
        for (what, len, capacity) in [
            ("finalizers", m.finalizers.len(), m.finalizers.capacity()),
            (
                "ownerReferences",
                m.owner_references.len(),
                m.owner_references.capacity(),
            ),
            (
                "managedFields",
                m.managed_fields.len(),
                m.managed_fields.capacity(),
            ),
            (
                "containers",
                pod.spec.containers.len(),
                pod.spec.containers.capacity(),
            ),
            ("command", c.command.len(), c.command.capacity()),
            ("args", c.args.len(), c.args.capacity()),
            ("ports", c.ports.len(), c.ports.capacity()),
            ("env", c.env.len(), c.env.capacity()),
            ("conditions", s.conditions.len(), s.conditions.capacity()),
            (
                "containerStatuses",
                s.container_statuses.len(),
                s.container_statuses.capacity(),
            ),
        ] {
            assert_eq!((len, capacity), (1, 1), "{what}");
        }
    }
}
