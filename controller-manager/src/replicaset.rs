//! The ReplicaSet controller: the shared replica controller over `apps/v1` ReplicaSets, whose selector is a LabelSelector (matchLabels and matchExpressions).

use skiff_api::selector::Selector;
use skiff_api::types::{PodTemplateSpec, ReplicaSet, ReplicaStatus};
use skiff_runtime::informer::{Informer, Store};

use crate::informers::{Informers, Stores};
use crate::replica::{ReplicaController, ReplicaKind};

pub type ReplicaSetManager = ReplicaController<ReplicaSet>;

impl ReplicaKind for ReplicaSet {
    const CONTROLLER: &'static str = "replicaset";
    const COMPONENT: &'static str = "replicaset-controller";

    fn informer(informers: &mut Informers) -> &mut Informer<Self> {
        &mut informers.replica_sets
    }

    fn store(stores: &Stores) -> &Store<Self> {
        &stores.replica_sets
    }

    fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }

    /// `None` for a missing or invalid selector (validation refuses both).
    fn selector(&self) -> Option<Selector> {
        Selector::from_label_selector(self.spec.selector.as_ref()?).ok()
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
    use skiff_api::selector::{LabelSelector, LabelSelectorRequirement};
    use std::collections::BTreeMap;

    #[test]
    fn match_expressions_select_as_kubernetes_does() {
        let mut rs = ReplicaSet::default();
        assert!(rs.selector().is_none());
        rs.spec.selector = Some(LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![
                LabelSelectorRequirement {
                    key: "app".into(),
                    operator: "In".into(),
                    values: vec!["crane-expr".into()],
                },
                LabelSelectorRequirement {
                    key: "env".into(),
                    operator: "NotIn".into(),
                    values: vec!["dev".into()],
                },
            ],
        });
        let sel = rs.selector().unwrap();
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(sel.matches(&labels(&[("app", "crane-expr"), ("env", "production")])));
        assert!(
            sel.matches(&labels(&[("app", "crane-expr")])),
            "NotIn matches a missing key"
        );
        assert!(!sel.matches(&labels(&[("app", "crane-expr"), ("env", "dev")])));
        assert!(!sel.matches(&labels(&[("app", "crane")])));
    }
}
