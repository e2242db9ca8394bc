//! Table tests of the three patch types; the strategic cases follow what Kubernetes'
//! `strategicpatch` package does with the same inputs.

use serde_json::{json, Value};

use super::*;
use crate::error::Reason;

fn smp(kind: &str, original: Value, patch: Value) -> Result<Value, ApiError> {
    apply_patch(
        kind,
        &original,
        PatchType::StrategicMerge,
        patch.to_string().as_bytes(),
    )
}

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

#[test]
fn content_types_name_patch_types() {
    let cases = [
        ("application/json-patch+json", Some(PatchType::Json)),
        ("application/merge-patch+json", Some(PatchType::Merge)),
        (
            "application/strategic-merge-patch+json; charset=utf-8",
            Some(PatchType::StrategicMerge),
        ),
        ("Application/Merge-Patch+JSON", Some(PatchType::Merge)),
        ("application/apply-patch+yaml", None),
        ("application/json", None),
        ("", None),
    ];
    for (content_type, want) in cases {
        assert_eq!(
            PatchType::from_content_type(content_type),
            want,
            "{content_type}"
        );
    }
    for t in [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge] {
        assert_eq!(PatchType::from_content_type(t.content_type()), Some(t));
    }
}

#[test]
fn json_patch_applies_operations_and_reports_failures() {
    let original =
        json!({"metadata": {"name": "crane", "labels": {"app": "crane"}}, "spec": {"replicas": 3}});
    let patch = br#"[{"op": "replace", "path": "/spec/replicas", "value": 5},
                     {"op": "add", "path": "/metadata/labels/env", "value": "prod"},
                     {"op": "test", "path": "/metadata/name", "value": "crane"}]"#;
    let patched = apply_patch("ReplicationController", &original, PatchType::Json, patch).unwrap();
    assert_eq!(patched["spec"]["replicas"], 5);
    assert_eq!(
        patched["metadata"]["labels"],
        json!({"app": "crane", "env": "prod"})
    );

    let failing = br#"[{"op": "test", "path": "/spec/replicas", "value": 4}]"#;
    let err =
        apply_patch("ReplicationController", &original, PatchType::Json, failing).unwrap_err();
    assert_eq!(err.reason, Reason::Invalid);
    assert_eq!(err.code, 422);
    assert!(err.message.contains("/spec/replicas"), "{}", err.message);

    let missing = br#"[{"op": "remove", "path": "/spec/selector"}]"#;
    let err =
        apply_patch("ReplicationController", &original, PatchType::Json, missing).unwrap_err();
    assert!(err.message.contains("/spec/selector"), "{}", err.message);

    for garbage in [
        &b"{\"op\": \"add\"}"[..],
        b"[{\"op\": \"frobnicate\", \"path\": \"/a\"}]",
        b"not json",
    ] {
        let err = apply_patch("Pod", &original, PatchType::Json, garbage).unwrap_err();
        assert_eq!(
            err.reason,
            Reason::BadRequest,
            "{}",
            String::from_utf8_lossy(garbage)
        );
    }
}

#[test]
fn merge_patch_replaces_lists_and_null_deletes() {
    let original = pod(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
    let patch = json!({"metadata": {"labels": {"app": "kubia"}}, "spec": {"containers": [{"name": "b", "image": "z"}]}});
    let patched = apply_patch(
        "Pod",
        &original,
        PatchType::Merge,
        patch.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        patched["spec"]["containers"],
        json!([{"name": "b", "image": "z"}])
    );
    assert_eq!(patched["metadata"]["labels"]["app"], "kubia");

    let removal = br#"{"metadata": {"labels": {"app": null}}}"#;
    let patched = apply_patch("Pod", &patched, PatchType::Merge, removal).unwrap();
    assert_eq!(patched["metadata"]["labels"], json!({}));

    for bad in [&b"[1]"[..], b"\"x\"", b"{"] {
        let err = apply_patch("Pod", &original, PatchType::Merge, bad).unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest);
    }
}

#[test]
fn strategic_merge_merges_lists_by_their_keys() {
    // (what, original, patch, result)
    let cases = [
        (
            "a container's image changes, the other container stays",
            pod(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])),
            json!({"spec": {"containers": [{"name": "b", "image": "z"}]}}),
            pod(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "z"}])),
        ),
        (
            "a new container without $setElementOrder comes first (patch items before server-only ones)",
            pod(json!([{"name": "a", "image": "x"}])),
            json!({"spec": {"containers": [{"name": "c", "image": "w"}]}}),
            pod(json!([{"name": "c", "image": "w"}, {"name": "a", "image": "x"}])),
        ),
        (
            "$setElementOrder puts the new container last, as kubectl apply sends it",
            pod(json!([{"name": "a", "image": "x"}])),
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
                            "containers": [{"name": "c", "image": "w"}]}}),
            pod(json!([{"name": "a", "image": "x"}, {"name": "c", "image": "w"}])),
        ),
        (
            "$setElementOrder alone reorders the live list",
            pod(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])),
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
            pod(json!([{"name": "b", "image": "y"}, {"name": "a", "image": "x"}])),
        ),
        (
            "$patch: delete removes the element with that key",
            pod(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
            pod(json!([{"name": "b", "image": "y"}])),
        ),
        (
            "$patch: replace in a list replaces it whole",
            pod(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])),
            json!({"spec": {"containers": [{"name": "c", "image": "w"}, {"$patch": "replace"}]}}),
            pod(json!([{"name": "c", "image": "w"}])),
        ),
        (
            "ports merge by containerPort, env by name, args are replaced",
            pod(json!([{"name": "a", "image": "x", "args": ["1", "2"],
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])),
            json!({"spec": {"containers": [{"name": "a", "args": ["3"],
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "env": [{"name": "B", "value": "20"}]}]}}),
            pod(json!([{"name": "a", "image": "x", "args": ["3"],
                        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "20"}]}])),
        ),
        (
            "null deletes a key; maps merge",
            json!({"metadata": {"labels": {"app": "kubia", "env": "dev"}, "annotations": {"a": "1"}}}),
            json!({"metadata": {"labels": {"env": null, "tier": "web"}}}),
            json!({"metadata": {"labels": {"app": "kubia", "tier": "web"}, "annotations": {"a": "1"}}}),
        ),
        (
            "$patch: replace on a map replaces the map",
            json!({"metadata": {"labels": {"app": "kubia", "env": "dev"}}}),
            json!({"metadata": {"labels": {"$patch": "replace", "only": "this"}}}),
            json!({"metadata": {"labels": {"only": "this"}}}),
        ),
        (
            "$patch: delete on a map empties it",
            json!({"spec": {"nodeSelector": {"disk": "ssd"}, "restartPolicy": "Always"}}),
            json!({"spec": {"nodeSelector": {"$patch": "delete"}}}),
            json!({"spec": {"nodeSelector": {}, "restartPolicy": "Always"}}),
        ),
        (
            "finalizers merge as a set; $deleteFromPrimitiveList removes",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "c"], "$deleteFromPrimitiveList/finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": ["b", "c"]}}),
        ),
        (
            "conditions merge by type",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]}}),
        ),
        (
            "ownerReferences merge by uid",
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a", "controller": true}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": null}, {"uid": "2", "name": "b"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}}),
        ),
        (
            "tolerations have no merge key: replaced",
            json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}),
            json!({"spec": {"tolerations": [{"key": "c"}]}}),
            json!({"spec": {"tolerations": [{"key": "c"}]}}),
        ),
        (
            "$retainKeys clears the fields it does not name",
            json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        ),
        (
            "containers in a controller's pod template merge too",
            json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}}),
            json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "a", "image": "z"}]}}}}),
            json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "a", "image": "z"}, {"name": "b", "image": "y"}]}}}}),
        ),
        (
            "directives in a list the original lacks are applied to an empty list",
            json!({"spec": {}}),
            json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "gone", "$patch": "delete"}]}}),
            json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}),
        ),
        (
            "a value of another type replaces the original",
            json!({"spec": {"nodeSelector": "bogus"}}),
            json!({"spec": {"nodeSelector": {"disk": "ssd"}}}),
            json!({"spec": {"nodeSelector": {"disk": "ssd"}}}),
        ),
    ];
    for (what, original, patch, want) in cases {
        let kind = original["kind"]
            .as_str()
            .unwrap_or("ReplicationController")
            .to_string();
        assert_eq!(smp(&kind, original, patch).unwrap(), want, "{what}");
    }
}

#[test]
fn kubectl_apply_patch_with_last_applied_configuration() {
    // What kubectl apply sends after changing an image and adding a label in a manifest.
    let live = json!({"apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "kubia", "namespace": "default", "resourceVersion": "7",
                     "labels": {"app": "kubia"}, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"replicas": 3, "selector": {"app": "kubia"}, "template": {
            "metadata": {"labels": {"app": "kubia"}},
            "spec": {"restartPolicy": "Always", "containers": [{"name": "kubia", "image": "luksa/kubia",
                "imagePullPolicy": "IfNotPresent", "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]}}},
        "status": {"replicas": 3}});
    let patch = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"new\":1}"},
                                    "labels": {"tier": "web"}},
        "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "kubia"}],
                                       "containers": [{"image": "luksa/kubia:v2", "name": "kubia"}]}}}});
    let result = smp("ReplicationController", live.clone(), patch).unwrap();
    let container = &result["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "luksa/kubia:v2");
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        container["ports"],
        live["spec"]["template"]["spec"]["containers"][0]["ports"]
    );
    assert_eq!(
        result["metadata"]["labels"],
        json!({"app": "kubia", "tier": "web"})
    );
    assert_eq!(result["status"], live["status"]);
    assert_eq!(result["metadata"]["resourceVersion"], "7");
}

#[test]
fn strategic_merge_errors_name_the_path() {
    let original = pod(json!([{"name": "a", "image": "x"}]));
    let cases = [
        (json!({"spec": {"containers": ["a"]}}), "spec.containers[0]"),
        (
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "merge key \"name\"",
        ),
        (
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "spec.containers[0]",
        ),
        (
            json!({"spec": {"containers": [{"$patch": "delete"}]}}),
            "spec.containers[0]",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "$patch": "explode"}]}}),
            "unknown patch type",
        ),
        (json!({"metadata": {"$patch": "explode"}}), "metadata"),
        (
            json!({"metadata": {"finalizers": [{"a": 1}]}}),
            "metadata.finalizers[0]",
        ),
        (
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
            "rollingUpdate is set by the patch but missing from $retainKeys",
        ),
        (
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
            "spec.strategy",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"image": "x"}]}}),
            "spec.containers",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": "a"}}),
            "must be a list",
        ),
    ];
    for (patch, want) in cases {
        let err = smp("Pod", original.clone(), patch.clone()).unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest, "{patch}");
        assert!(
            err.message.contains(want),
            "{patch}: {} lacks {want}",
            err.message
        );
    }
    for bad in [&b"[]"[..], b"nope"] {
        let err = apply_patch("Pod", &original, PatchType::StrategicMerge, bad).unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest);
    }
}
