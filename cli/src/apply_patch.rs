//! `apply`'s three-way merge: the JSON merge patch that brings a live object in line with a manifest, given the manifest applied last time.
//!
//! Fields the manifest sets are patched where the live object differs; fields the previous
//! manifest set and this one dropped are removed; fields only the server or other clients set
//! (defaults, status, labels added with `skiff label`) are left alone. A manifest value
//! "covers" a live value when every field it sets is there with the same value, so defaults the
//! server filled into a list (container fields) do not count as a change.

use serde_json::{Map, Value};

/// Where `apply` keeps the manifest it applied, as kubectl keeps
/// `kubectl.kubernetes.io/last-applied-configuration`.
pub const LAST_APPLIED: &str = "skiff.io/last-applied-configuration";

/// True when `live` already holds everything `desired` says.
pub fn covers(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => covers(dv, lv),
            None => dv.is_null(),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| covers(dv, lv))
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        (d, l) => d == l,
    }
}

fn diff(
    last: Option<&Map<String, Value>>,
    desired: &Map<String, Value>,
    live: &Map<String, Value>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for (key, dv) in desired {
        let lv = live.get(key);
        match (dv, lv) {
            (Value::Object(d), Some(Value::Object(l))) => {
                let previous = last.and_then(|m| m.get(key)).and_then(Value::as_object);
                let sub = diff(previous, d, l);
                if !sub.is_empty() {
                    patch.insert(key.clone(), Value::Object(sub));
                }
            }
            (_, Some(lv)) if covers(dv, lv) => {}
            (Value::Null, None) => {}
            _ => {
                patch.insert(key.clone(), dv.clone());
            }
        }
    }
    if let Some(last) = last {
        for key in last.keys() {
            if !desired.contains_key(key) && live.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    patch
}

/// The merge patch for `apply`, including the updated last-applied annotation; empty when
/// nothing needs to change. `desired` is the manifest as the user wrote it.
pub fn three_way(last: Option<&Value>, desired: &Value, live: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let desired_map = desired.as_object().unwrap_or(&empty);
    let live_map = live.as_object().unwrap_or(&empty);
    // The kind is fixed, the apiVersion may be an older spelling of the stored one, and the
    // status belongs to the controllers: none of them is patched.
    let trim = |map: &Map<String, Value>| {
        let mut map = map.clone();
        for key in ["apiVersion", "kind", "status"] {
            map.remove(key);
        }
        map
    };
    let trimmed = trim(desired_map);
    let last_trimmed = last.and_then(Value::as_object).map(trim);
    let mut patch = diff(last_trimmed.as_ref(), &trimmed, live_map);
    let applied = desired.to_string();
    let live_applied = live
        .pointer(&format!(
            "/metadata/annotations/{}",
            LAST_APPLIED.replace('/', "~1")
        ))
        .and_then(Value::as_str);
    if live_applied != Some(applied.as_str()) {
        let metadata = patch
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            let annotations = metadata
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert(LAST_APPLIED.to_string(), Value::String(applied));
            }
        }
    }
    patch
}

/// The manifest with the last-applied annotation set, for a first `apply` (a create).
pub fn with_last_applied(desired: &Value) -> Value {
    let mut object = desired.clone();
    let applied = desired.to_string();
    if let Some(map) = object.as_object_mut() {
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            let annotations = metadata
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert(LAST_APPLIED.to_string(), Value::String(applied));
            }
        }
    }
    object
}

/// The JSON merge patch (RFC 7386) that turns `original` into `edited`, as `edit` sends it:
/// only what the user changed travels, so a status the controllers wrote meanwhile is no
/// conflict. Lists are replaced whole; `null` removes a field.
pub fn merge_patch(original: &Value, edited: &Value) -> Value {
    match (original, edited) {
        (Value::Object(o), Value::Object(e)) => {
            let mut patch = Map::new();
            for (key, ev) in e {
                match o.get(key) {
                    Some(ov) if ov == ev => {}
                    Some(ov @ Value::Object(_)) if ev.is_object() => {
                        patch.insert(key.clone(), merge_patch(ov, ev));
                    }
                    _ => {
                        patch.insert(key.clone(), ev.clone());
                    }
                }
            }
            for key in o.keys() {
                if !e.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                }
            }
            Value::Object(patch)
        }
        (_, e) => e.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rc(replicas: i64) -> Value {
        json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "crane"},
               "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "crane"}},
                        "spec": {"containers": [{"name": "crane", "image": "heejeong/crane"}]}}}})
    }

    /// What the server keeps after applying `manifest`: defaults, status, the annotation.
    fn live_after(manifest: &Value) -> Value {
        let mut live = with_last_applied(manifest);
        live["metadata"]["uid"] = json!("u1");
        live["metadata"]["labels"] = json!({"app": "crane"});
        live["spec"]["selector"] = json!({"app": "crane"});
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] =
            json!("IfNotPresent");
        live["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        live["status"] = json!({"replicas": 3});
        live
    }

    #[test]
    fn an_unchanged_manifest_needs_no_patch() {
        let manifest = rc(3);
        let live = live_after(&manifest);
        let patch = three_way(Some(&manifest), &manifest, &live);
        assert!(patch.is_empty(), "{patch:?}");
    }

    #[test]
    fn changed_fields_are_patched_and_dropped_fields_removed() {
        let first = rc(3);
        let live = live_after(&first);
        let mut second = rc(5);
        second["metadata"]["labels"] = json!({"tier": "web"});
        let patch = three_way(Some(&first), &second, &live);
        assert_eq!(patch["spec"], json!({"replicas": 5}));
        assert_eq!(patch["metadata"]["labels"], json!({"tier": "web"}));
        assert!(patch["metadata"]["annotations"][LAST_APPLIED].is_string());
        // A field the previous manifest set and this one does not is removed.
        let mut third = rc(5);
        third["spec"].as_object_mut().unwrap().remove("replicas");
        let live = live_after(&rc(5));
        let patch = three_way(Some(&rc(5)), &third, &live);
        assert_eq!(patch["spec"], json!({"replicas": null}));
    }

    #[test]
    fn live_changes_to_applied_fields_are_reverted_but_others_kept() {
        let manifest = rc(3);
        let mut live = live_after(&manifest);
        live["spec"]["replicas"] = json!(10); // skiff scale
        live["metadata"]["labels"]["extra"] = json!("yes"); // skiff label
        let patch = three_way(Some(&manifest), &manifest, &live);
        assert_eq!(Value::Object(patch), json!({"spec": {"replicas": 3}}));
    }

    #[test]
    fn a_container_change_replaces_the_list() {
        let manifest = rc(3);
        let live = live_after(&manifest);
        let mut changed = rc(3);
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("luksa/kubia");
        let patch = three_way(Some(&manifest), &changed, &live);
        assert_eq!(
            patch["spec"]["template"]["spec"]["containers"],
            changed["spec"]["template"]["spec"]["containers"]
        );
    }

    #[test]
    fn edits_become_merge_patches_of_what_changed() {
        let original = json!({"metadata": {"name": "crane", "labels": {"app": "crane", "x": "y"}}, "spec": {"replicas": 3, "template": {"a": [1, 2]}}, "status": {"replicas": 3}});
        let mut edited = original.clone();
        edited["spec"]["replicas"] = json!(2);
        edited["spec"]["template"]["a"] = json!([1]);
        edited["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("x");
        edited.as_object_mut().unwrap().remove("status");
        assert_eq!(
            merge_patch(&original, &edited),
            json!({"metadata": {"labels": {"x": null}}, "spec": {"replicas": 2, "template": {"a": [1]}}, "status": null})
        );
        assert_eq!(merge_patch(&original, &original), json!({}));
    }

    #[test]
    fn objects_created_without_apply_get_the_annotation() {
        let manifest = rc(3);
        let mut live = live_after(&manifest);
        live["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
        let patch = three_way(None, &manifest, &live);
        assert_eq!(patch.keys().collect::<Vec<_>>(), ["metadata"]);
    }
}
