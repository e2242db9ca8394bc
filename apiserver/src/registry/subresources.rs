//! Subresources: pods/binding (sets spec.nodeName once) and scale (replicas of rc and rs, parallelism of a job).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use skiff_api::admit::admit_update;
use skiff_api::error::{ApiError, Cause};
use skiff_api::kinds::{self, KindInfo};
use skiff_api::meta::Time;
use skiff_api::selector::{LabelSelector, Selector};

use super::object::meta_str;
use super::{effective_namespace, Registry};

/// The scale subresource of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    pub spec_replicas: i32,
    pub status_replicas: i32,
    /// The selector in its string form (`app=crane,env in (prod)`).
    pub selector: String,
    pub resource_version: String,
}

/// The object at `path`, made an object if it is missing or something else.
fn object_at<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    let Value::Object(map) = value else {
        unreachable!("replaced by an object just above")
    };
    match path.split_first() {
        None => map,
        Some((first, rest)) => object_at(map.entry(first.to_string()).or_insert(Value::Null), rest),
    }
}

/// Where each scalable kind keeps its desired and current count.
fn scale_fields(info: &KindInfo) -> Result<(&'static str, &'static str), ApiError> {
    match info.plural {
        "replicationcontrollers" | "replicasets" => Ok(("replicas", "replicas")),
        "jobs" => Ok(("parallelism", "active")),
        _ => Err(ApiError::not_found(
            &format!("{}/scale", info.qualified_resource()),
            "",
        )),
    }
}

fn scale_of(info: &KindInfo, obj: &Value) -> Result<Scale, ApiError> {
    let (spec_field, status_field) = scale_fields(info)?;
    let int = |v: Option<&Value>, default: i64| v.and_then(Value::as_i64).unwrap_or(default) as i32;
    let selector = match (info.plural, obj.pointer("/spec/selector")) {
        (_, None) => String::new(),
        ("replicationcontrollers", Some(sel)) => {
            let map: BTreeMap<String, String> =
                serde_json::from_value(sel.clone()).map_err(ApiError::internal)?;
            Selector::from_map(&map).to_string()
        }
        (_, Some(sel)) => {
            let ls: LabelSelector =
                serde_json::from_value(sel.clone()).map_err(ApiError::internal)?;
            Selector::from_label_selector(&ls)
                .map_err(|_| ApiError::internal("the stored selector is not valid"))?
                .to_string()
        }
    };
    Ok(Scale {
        spec_replicas: int(obj.get("spec").and_then(|s| s.get(spec_field)), 1),
        status_replicas: int(obj.get("status").and_then(|s| s.get(status_field)), 0),
        selector,
        resource_version: meta_str(obj, "resourceVersion").to_string(),
    })
}

impl Registry {
    /// Assigns a pod to a node, once; adds the PodScheduled=True condition.
    pub async fn bind(
        &self,
        namespace: &str,
        name: &str,
        node: &str,
        uid: &str,
    ) -> Result<Value, ApiError> {
        let pods = kinds::by_plural("pods")
            .ok_or_else(|| ApiError::internal("pods are not registered"))?;
        if node.is_empty() {
            return Err(ApiError::invalid(
                "Binding",
                name,
                vec![Cause::required("target.name", "")],
            ));
        }
        let ns = effective_namespace(pods, namespace).to_string();
        self.guaranteed_update(pods, &ns, name, None, |current| {
            let pod = &current.object;
            let conflict = |why: String| ApiError::conflict("pods/binding", name, &why);
            let current_uid = meta_str(pod, "uid");
            if !uid.is_empty() && uid != current_uid {
                return Err(conflict(format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {current_uid}")));
            }
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(conflict(format!("pod {name} is being deleted, cannot be assigned to a host")));
            }
            let assigned = pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or_default();
            if !assigned.is_empty() {
                return Err(conflict(format!("pod {name} is already assigned to node {assigned:?}")));
            }
            let mut out = pod.clone();
            object_at(&mut out, &["spec"]).insert("nodeName".to_string(), json!(node));
            let status = object_at(&mut out, &["status"]);
            let conditions = status.entry("conditions").or_insert_with(|| json!([]));
            if !conditions.is_array() {
                *conditions = json!([]);
            }
            if let Value::Array(list) = conditions {
                list.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
                list.push(json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": Time::now()}));
            }
            Ok(out)
        })
        .await
    }

    pub async fn get_scale(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
    ) -> Result<Scale, ApiError> {
        scale_fields(info)?;
        let obj = self.get(info, namespace, name).await?;
        scale_of(info, &obj)
    }

    /// Sets the desired count; with `current` >= 0 only if the desired count is still that.
    pub async fn update_scale(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
        replicas: i32,
        current: i32,
    ) -> Result<Scale, ApiError> {
        let (spec_field, _) = scale_fields(info)?;
        if replicas < 0 {
            let cause = Cause::invalid(
                "spec.replicas",
                replicas,
                "must be greater than or equal to 0",
            );
            return Err(ApiError::invalid("Scale", name, vec![cause]));
        }
        let ns = effective_namespace(info, namespace).to_string();
        let resource = format!("{}/scale", info.qualified_resource());
        let updated = self
            .guaranteed_update(info, &ns, name, None, |stored| {
                let now = scale_of(info, &stored.object)?;
                if current >= 0 && now.spec_replicas != current {
                    let why = format!(
                        "the desired count is {}, not {current}; please apply your changes to the latest version and try again",
                        now.spec_replicas
                    );
                    return Err(ApiError::conflict(&resource, name, &why));
                }
                let mut out = stored.object.clone();
                object_at(&mut out, &["spec"]).insert(spec_field.to_string(), json!(replicas));
                admit_update(info, out, &stored.object)
            })
            .await?;
        scale_of(info, &updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::kinds::by_plural;

    #[test]
    fn scale_reads_each_kind() {
        let rc = json!({"metadata": {"resourceVersion": "5"}, "spec": {"replicas": 3, "selector": {"app": "crane"}},
                        "status": {"replicas": 2}});
        let s = scale_of(by_plural("replicationcontrollers").unwrap(), &rc).unwrap();
        assert_eq!(
            s,
            Scale {
                spec_replicas: 3,
                status_replicas: 2,
                selector: "app=crane".into(),
                resource_version: "5".into()
            }
        );
        let rs = json!({"spec": {"replicas": 1, "selector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]}}});
        let s = scale_of(by_plural("replicasets").unwrap(), &rs).unwrap();
        assert_eq!(s.selector, "env in (a,b)");
        let job = json!({"spec": {"parallelism": 4}, "status": {"active": 1}});
        let s = scale_of(by_plural("jobs").unwrap(), &job).unwrap();
        assert_eq!((s.spec_replicas, s.status_replicas), (4, 1));
        assert!(scale_of(by_plural("pods").unwrap(), &job).is_err());
    }

    #[test]
    fn object_at_repairs_non_objects() {
        let mut v = json!({"spec": 3});
        object_at(&mut v, &["spec"]).insert("a".into(), json!(1));
        assert_eq!(v, json!({"spec": {"a": 1}}));
    }
}
