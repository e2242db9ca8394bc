//! The ReplicationController controller: the shared replica controller over `v1` ReplicationControllers, whose selector is an equality map.

use skiff_api::selector::Selector;
use skiff_api::types::{PodTemplateSpec, ReplicaStatus, ReplicationController};
use skiff_runtime::informer::{Informer, Store};

use crate::informers::{Informers, Stores};
use crate::replica::{ReplicaController, ReplicaKind};

pub type ReplicationManager = ReplicaController<ReplicationController>;

impl ReplicaKind for ReplicationController {
    const CONTROLLER: &'static str = "replicationcontroller";
    const COMPONENT: &'static str = "replication-controller";

    fn informer(informers: &mut Informers) -> &mut Informer<Self> {
        &mut informers.replication_controllers
    }

    fn store(stores: &Stores) -> &Store<Self> {
        &stores.replication_controllers
    }

    fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }

    /// The selector map, or the template's labels when it is empty (the apiserver defaults it
    /// so, but an object written before defaulting must behave the same).
    fn selector(&self) -> Option<Selector> {
        let map = if self.spec.selector.is_empty() {
            &self.spec.template.metadata.labels
        } else {
            &self.spec.selector
        };
        Some(Selector::from_map(map))
    }

    fn template(&self) -> &PodTemplateSpec {
        &self.spec.template
    }

    fn replica_status(&self) -> &ReplicaStatus {
        &self.status
    }

    fn replica_status_mut(&mut self) -> &mut ReplicaStatus {
        &mut self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_defaults_to_the_template_labels() {
        let mut rc = ReplicationController::default();
        rc.spec
            .template
            .metadata
            .labels
            .insert("app".into(), "crane".into());
        assert_eq!(rc.selector().unwrap().to_string(), "app=crane");
        rc.spec.selector.insert("app".into(), "kubia".into());
        assert_eq!(rc.selector().unwrap().to_string(), "app=kubia");
        assert_eq!(rc.replicas(), 1);
    }
}
