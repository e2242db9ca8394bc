//! What list and watch select on: namespace, label selector and field selector, and the per-kind selectable fields.

use skiff_api::error::ApiError;
use skiff_api::fields::{FieldSelector, COMMON_FIELDS, POD_FIELDS};
use skiff_api::kinds::KindInfo;
use skiff_api::selector::Selector;

pub use super::object_index::ObjectIndex;

const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];
const NODE_FIELDS: &[&str] = &["spec.unschedulable"];
const NAMESPACE_FIELDS: &[&str] = &["status.phase"];

/// The fields a field selector may use for this kind (Kubernetes' set for pods, events, nodes
/// and namespaces; metadata.name and metadata.namespace everywhere).
pub fn selectable_fields(info: &KindInfo) -> Vec<&'static str> {
    COMMON_FIELDS
        .iter()
        .chain(kind_fields(info))
        .copied()
        .collect()
}

/// The selectable fields of this kind besides the common ones.
pub fn kind_fields(info: &KindInfo) -> &'static [&'static str] {
    match info.plural {
        "pods" => POD_FIELDS,
        "events" => EVENT_FIELDS,
        "nodes" => NODE_FIELDS,
        "namespaces" => NAMESPACE_FIELDS,
        _ => &[],
    }
}

/// One client's selection.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Empty: every namespace (and always for cluster-scoped kinds).
    pub namespace: String,
    pub labels: Selector,
    pub fields: FieldSelector,
}

impl Filter {
    /// Parses the selectors of a list or watch request; bad syntax or an unsupported field is
    /// BadRequest.
    pub fn new(
        info: &KindInfo,
        namespace: &str,
        label_selector: &str,
        field_selector: &str,
    ) -> Result<Filter, ApiError> {
        let labels =
            Selector::parse(label_selector).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(field_selector)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        fields
            .check_supported(&selectable_fields(info))
            .map_err(ApiError::bad_request)?;
        let namespace = if info.namespaced {
            namespace.to_string()
        } else {
            String::new()
        };
        Ok(Filter {
            namespace,
            labels,
            fields,
        })
    }

    pub fn matches(&self, index: &ObjectIndex) -> bool {
        (self.namespace.is_empty() || self.namespace == index.namespace())
            && self.labels.matches_with(|key| index.label(key))
            && self.fields.matches(|f| index.field(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skiff_api::kinds::by_plural;

    #[test]
    fn pods_select_on_node_phase_and_labels() {
        let pods = by_plural("pods").unwrap();
        let pod = json!({"metadata": {"name": "p", "namespace": "default", "labels": {"app": "crane"}},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let idx = ObjectIndex::of(pods, &pod);
        let yes = [
            ("", "", ""),
            ("default", "app=crane", "spec.nodeName=n1"),
            (
                "",
                "app in (crane,kubia)",
                "status.phase!=Pending,metadata.name=p",
            ),
        ];
        for (ns, l, f) in yes {
            assert!(
                Filter::new(pods, ns, l, f).unwrap().matches(&idx),
                "{ns} {l} {f}"
            );
        }
        let no = [
            ("other", "", ""),
            ("", "app!=crane", ""),
            ("", "", "spec.nodeName="),
            ("", "!app", ""),
        ];
        for (ns, l, f) in no {
            assert!(
                !Filter::new(pods, ns, l, f).unwrap().matches(&idx),
                "{ns} {l} {f}"
            );
        }
    }

    #[test]
    fn unsupported_fields_and_bad_selectors_are_bad_requests() {
        let rs = by_plural("replicasets").unwrap();
        let e = Filter::new(rs, "", "", "spec.nodeName=x").unwrap_err();
        assert!(
            e.message
                .contains("field label not supported: spec.nodeName"),
            "{e}"
        );
        let e = Filter::new(rs, "", "app in (", "").unwrap_err();
        assert_eq!(e.reason, skiff_api::error::Reason::BadRequest);
    }

    #[test]
    fn events_select_on_the_involved_object_and_nodes_on_bools() {
        let events = by_plural("events").unwrap();
        let ev = json!({"metadata": {"name": "e", "namespace": "default"},
                        "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "nodelet"}});
        let idx = ObjectIndex::of(events, &ev);
        assert!(
            Filter::new(events, "", "", "involvedObject.name=p,source=nodelet")
                .unwrap()
                .matches(&idx)
        );
        let nodes = by_plural("nodes").unwrap();
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        let idx = ObjectIndex::of(nodes, &node);
        assert!(Filter::new(nodes, "ignored", "", "spec.unschedulable=true")
            .unwrap()
            .matches(&idx));
    }
}
