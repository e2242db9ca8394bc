//! What list and watch select on: namespace, label selector and field selector, and the per-kind selectable fields.

use std::collections::BTreeMap;

use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_api::fields::{FieldSelector, COMMON_FIELDS, POD_FIELDS};
use skiff_api::kinds::KindInfo;
use skiff_api::selector::Selector;

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
    let extra: &[&str] = match info.plural {
        "pods" => POD_FIELDS,
        "events" => EVENT_FIELDS,
        "nodes" => NODE_FIELDS,
        "namespaces" => NAMESPACE_FIELDS,
        _ => &[],
    };
    COMMON_FIELDS.iter().chain(extra).copied().collect()
}

/// The parts of an object selectors look at, extracted once per object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectIndex {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Every selectable field with its value (missing fields are the empty string).
    pub fields: Vec<(&'static str, String)>,
}

impl ObjectIndex {
    pub fn of(info: &KindInfo, object: &Value) -> ObjectIndex {
        let meta = object.get("metadata");
        let s = |f: &str| {
            meta.and_then(|m| m.get(f))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let labels = meta
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let fields = selectable_fields(info)
            .into_iter()
            .map(|f| (f, field_value(object, f)))
            .collect();
        ObjectIndex {
            namespace: s("namespace"),
            name: s("name"),
            labels,
            fields,
        }
    }

    fn field(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| v.clone())
    }
}

/// A field's value as a field selector compares it: strings as is, numbers and booleans in
/// their JSON form, missing as empty. `source` of an event means its `source.component`.
fn field_value(object: &Value, field: &str) -> String {
    let path = if field == "source" {
        "source.component"
    } else {
        field
    };
    let mut cur = object;
    for part in path.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
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
        (self.namespace.is_empty() || self.namespace == index.namespace)
            && self.labels.matches(&index.labels)
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
