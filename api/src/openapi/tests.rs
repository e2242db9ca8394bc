//! The documents' shape: what kubectl explain, kubectl's validation check and apply read.

use serde_json::{json, Value};

use super::*;

/// Every `$ref` in `value` names a schema under `prefix` in `doc`.
fn check_refs(doc: &Value, value: &Value, prefix: &str, section: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let name = r
                    .strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{r} is not under {prefix}"));
                assert!(
                    doc.pointer(&format!("{section}/{}", name.replace('/', "~1")))
                        .is_some(),
                    "dangling {r}"
                );
            }
            map.values()
                .for_each(|v| check_refs(doc, v, prefix, section));
        }
        Value::Array(list) => list
            .iter()
            .for_each(|v| check_refs(doc, v, prefix, section)),
        _ => {}
    }
}

/// No keyword Swagger 2.0 lacks appears in a schema.
fn check_swagger2(value: &Value, at: &str) {
    match value {
        Value::Object(map) => {
            for banned in ["anyOf", "oneOf", "const", "nullable", "$defs", "$schema"] {
                assert!(!map.contains_key(banned), "{banned} at {at}");
            }
            if let Some(t) = map.get("type") {
                assert!(
                    t.is_string() || at.ends_with("/properties"),
                    "type {t} at {at}"
                );
            }
            for (k, v) in map {
                check_swagger2(v, &format!("{at}/{k}"));
            }
        }
        Value::Array(list) => list.iter().for_each(|v| check_swagger2(v, at)),
        _ => {}
    }
}

/// The schema a reference (or an allOf around one) points to.
fn resolve<'a>(doc: &'a Value, schema: &'a Value, section: &str) -> &'a Value {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str);
    match reference {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &doc[section][name]
        }
        None => schema,
    }
}

/// Walks `pod.spec.containers.livenessProbe` as kubectl explain does.
fn explain<'a>(doc: &'a Value, section: &str, kind: &str, path: &[&str]) -> &'a Value {
    let mut schema = &doc[section][kind];
    for field in path {
        schema = resolve(doc, schema, section);
        if schema.get("type") == Some(&json!("array")) {
            schema = resolve(doc, &schema["items"], section);
        }
        schema = &schema["properties"][*field];
        assert!(!schema.is_null(), "{field} missing under {kind}");
    }
    schema
}

#[test]
fn v2_has_every_kind_with_its_gvk_and_valid_swagger() {
    let doc = v2();
    assert_eq!(doc["swagger"], "2.0");
    let kinds = [
        ("io.k8s.api.core.v1.Pod", "", "v1", "Pod"),
        (
            "io.k8s.api.core.v1.ReplicationController",
            "",
            "v1",
            "ReplicationController",
        ),
        ("io.k8s.api.core.v1.Node", "", "v1", "Node"),
        ("io.k8s.api.core.v1.Namespace", "", "v1", "Namespace"),
        ("io.k8s.api.core.v1.Event", "", "v1", "Event"),
        ("io.k8s.api.apps.v1.ReplicaSet", "apps", "v1", "ReplicaSet"),
        (
            "io.k8s.api.apps.v1beta2.ReplicaSet",
            "apps",
            "v1beta2",
            "ReplicaSet",
        ),
        ("io.k8s.api.apps.v1.DaemonSet", "apps", "v1", "DaemonSet"),
        ("io.k8s.api.batch.v1.Job", "batch", "v1", "Job"),
        ("io.k8s.api.batch.v1.CronJob", "batch", "v1", "CronJob"),
        (
            "io.k8s.api.batch.v1beta1.CronJob",
            "batch",
            "v1beta1",
            "CronJob",
        ),
        (
            "io.k8s.api.coordination.v1.Lease",
            "coordination.k8s.io",
            "v1",
            "Lease",
        ),
        (
            "io.k8s.api.autoscaling.v1.Scale",
            "autoscaling",
            "v1",
            "Scale",
        ),
    ];
    for (name, group, version, kind) in kinds {
        let gvk = &doc["definitions"][name]["x-kubernetes-group-version-kind"];
        assert_eq!(
            gvk,
            &json!([{"group": group, "version": version, "kind": kind}]),
            "{name}"
        );
    }
    assert!(doc["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].is_object());
    // kubectl cannot read a boolean schema: every property must be an object schema.
    let entry = &doc["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"];
    assert_eq!(entry["properties"]["fieldsV1"]["type"], "object", "{entry}");
    assert_eq!(entry["properties"]["manager"]["type"], "string", "{entry}");
    check_refs(&doc, &doc, "#/definitions/", "/definitions");
    check_swagger2(&doc["definitions"], "definitions");
    check_swagger2(&doc["paths"], "paths");
    let scale = &doc["definitions"]["io.k8s.api.autoscaling.v1.ScaleStatus"]["properties"];
    assert_eq!(scale["selector"]["type"], "string");
    assert_eq!(scale["replicas"]["format"], "int32");
}

#[test]
fn explain_finds_the_liveness_probe_with_descriptions() {
    for (doc, section) in [(v2(), "definitions"), (v3("api/v1").unwrap(), "components")] {
        let (doc, section) = if section == "components" {
            (doc["components"].clone(), "schemas")
        } else {
            (doc, section)
        };
        let probe = explain(
            &doc,
            section,
            "io.k8s.api.core.v1.Pod",
            &["spec", "containers", "livenessProbe"],
        );
        let field = probe["description"].as_str().unwrap_or_default();
        assert!(
            field.starts_with("Periodic check of the container's health"),
            "{field}"
        );
        let probe = resolve(&doc, probe, section);
        assert!(
            probe["description"]
                .as_str()
                .unwrap()
                .contains("liveness or readiness"),
            "{probe}"
        );
        let delay = &probe["properties"]["initialDelaySeconds"];
        assert_eq!(delay["type"], "integer");
        let http = resolve(&doc, &probe["properties"]["httpGet"], section);
        assert_eq!(http["properties"]["port"]["format"], "int-or-string");
        let image = explain(
            &doc,
            section,
            "io.k8s.api.core.v1.Pod",
            &["spec", "containers", "image"],
        );
        assert_eq!(image["type"], "string");
        let labels = explain(
            &doc,
            section,
            "io.k8s.api.core.v1.Pod",
            &["metadata", "labels"],
        );
        assert_eq!(labels["additionalProperties"]["type"], "string");
        let created = explain(
            &doc,
            section,
            "io.k8s.api.core.v1.Pod",
            &["metadata", "creationTimestamp"],
        );
        assert_eq!(created["format"], "date-time");
    }
}

#[test]
fn lists_carry_their_patch_merge_keys() {
    let doc = v2();
    let defs = &doc["definitions"];
    let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    let ports = &defs["io.k8s.api.core.v1.Container"]["properties"]["ports"];
    assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
    let args = &defs["io.k8s.api.core.v1.Container"]["properties"]["args"];
    assert!(args.get("x-kubernetes-patch-strategy").is_none());
    let finalizers =
        &defs["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["finalizers"];
    assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
}

#[test]
fn v3_index_lists_every_group_version_and_each_document_resolves() {
    let index = v3_index();
    let paths = index["paths"].as_object().unwrap();
    let mut names: Vec<&str> = paths.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "api/v1",
            "apis/apps/v1",
            "apis/apps/v1beta2",
            "apis/batch/v1",
            "apis/batch/v1beta1",
            "apis/coordination.k8s.io/v1"
        ]
    );
    for (name, entry) in paths {
        let url = entry["serverRelativeURL"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("/openapi/v3/{name}?hash=")),
            "{url}"
        );
        let doc = v3(url.split('?').next().unwrap()).unwrap();
        assert_eq!(doc["openapi"], "3.0.0");
        check_refs(&doc, &doc, "#/components/schemas/", "/components/schemas");
    }
    assert_eq!(v3("/api/v1"), v3("api/v1"));
    assert!(v3("apis/extensions/v1beta1").is_none());
    assert_eq!(v3_index(), index, "hashes are stable");
}

/// kubectl decides to validate on the server when the PATCH of the kind's group-version
/// document takes `fieldValidation`.
#[test]
fn every_patch_operation_names_its_kind_and_takes_field_validation() {
    for (path, group, version, kind) in [
        ("api/v1", "", "v1", "Pod"),
        ("api/v1", "", "v1", "ReplicationController"),
        ("api/v1", "", "v1", "Namespace"),
        ("apis/apps/v1", "apps", "v1", "ReplicaSet"),
        ("apis/apps/v1beta2", "apps", "v1beta2", "DaemonSet"),
        ("apis/batch/v1beta1", "batch", "v1beta1", "CronJob"),
        (
            "apis/coordination.k8s.io/v1",
            "coordination.k8s.io",
            "v1",
            "Lease",
        ),
    ] {
        let doc = v3(path).unwrap();
        let gvk = json!({"group": group, "version": version, "kind": kind});
        let patch = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|p| p.get("patch"))
            .find(|op| op["x-kubernetes-group-version-kind"] == gvk)
            .unwrap_or_else(|| panic!("no PATCH for {gvk} in {path}"));
        let params: Vec<&str> = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(params.contains(&"fieldValidation"), "{params:?}");
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object()
        );
        let schema = &doc["components"]["schemas"][format!(
            "io.k8s.api.{}.{version}.{kind}",
            match group {
                "" => "core",
                "coordination.k8s.io" => "coordination",
                g => g,
            }
        )];
        assert_eq!(schema["x-kubernetes-group-version-kind"], json!([gvk]));
    }
    let v1 = v3("api/v1").unwrap();
    let pods = &v1["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
    for method in ["get", "put", "patch", "delete"] {
        assert!(pods[method].is_object(), "{method}");
    }
    assert!(
        v1["paths"]["/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/scale"]["put"]
            .is_object()
    );
    assert!(v1["paths"]["/api/v1/nodes/{name}/status"]["patch"].is_object());
    assert!(v1["paths"]["/api/v1/pods"]["get"].is_object());
}
