//! Updates: immutable fields, server-owned metadata, generation, and status-subresource writes.

use serde_json::{json, Value};
use skiff_api::admit::{admit_status_update, admit_update};
use skiff_api::error::{ApiError, Reason};
use skiff_api::kinds;

use super::{create_ok, UID};

fn update(new: Value, old: &Value) -> Result<Value, ApiError> {
    let info = kinds::by_kind(old["kind"].as_str().unwrap()).unwrap();
    admit_update(info, new, old)
}

fn causes(err: &ApiError) -> Vec<String> {
    err.details.causes.iter().map(ToString::to_string).collect()
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: a}}\nspec:\n  containers: [{name: a, image: busybox, livenessProbe: {exec: {command: [cat, /tmp/healthy]}}}]\n";

#[test]
fn pod_image_and_labels_may_change_but_not_the_rest_of_the_spec() {
    let old = create_ok(POD);
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("busybox:1.36");
    new["metadata"]["labels"]["app"] = json!("b");
    let stored = update(new, &old).unwrap();
    assert_eq!(stored["spec"]["containers"][0]["image"], "busybox:1.36");
    assert_eq!(
        stored["metadata"]["generation"], 2,
        "a spec change bumps the generation"
    );

    let mut new = old.clone();
    new["spec"]["containers"][0]["livenessProbe"]["periodSeconds"] = json!(3);
    new["spec"]["restartPolicy"] = json!("Never");
    let err = update(new, &old).unwrap_err();
    assert_eq!(err.reason, Reason::Invalid);
    assert_eq!(
        causes(&err),
        ["spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds` or `spec.terminationGracePeriodSeconds` (changed: spec.containers[0].livenessProbe.periodSeconds, spec.restartPolicy)"]
    );
}

#[test]
fn metadata_identity_is_immutable_and_server_fields_are_kept() {
    let old = create_ok(POD);
    let mut new = old.clone();
    new["metadata"]["name"] = json!("q");
    new["metadata"]["uid"] = json!("another-uid");
    let err = update(new, &old).unwrap_err();
    let c = causes(&err);
    assert!(
        c.contains(&"metadata.name: Invalid value: \"q\": field is immutable".to_string()),
        "{c:?}"
    );
    assert!(
        c.contains(&"metadata.uid: Invalid value: \"another-uid\": field is immutable".to_string()),
        "{c:?}"
    );

    // An update without uid, timestamps or namespace keeps the stored ones; a label-only change
    // keeps the generation.
    let mut new = old.clone();
    let meta = new["metadata"].as_object_mut().unwrap();
    for field in ["uid", "creationTimestamp", "namespace", "generation"] {
        meta.remove(field);
    }
    new["metadata"]["labels"]["tier"] = json!("web");
    new["status"] = json!({"phase": "Running"});
    let stored = update(new, &old).unwrap();
    assert_eq!(stored["metadata"]["uid"], UID);
    assert_eq!(
        stored["metadata"]["creationTimestamp"],
        "2024-05-01T12:00:00Z"
    );
    assert_eq!(stored["metadata"]["namespace"], "default");
    assert_eq!(stored["metadata"]["generation"], 1);
    assert_eq!(
        stored["status"],
        json!({"phase": "Pending"}),
        "a spec update does not write status"
    );
}

#[test]
fn selectors_and_job_templates_are_immutable() {
    let rs = create_ok(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b, c: d}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    );
    let mut new = rs.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"c": "d"}});
    let err = update(new, &rs).unwrap_err();
    assert_eq!(
        causes(&err),
        ["spec.selector: Invalid value: {\"matchLabels\":{\"c\":\"d\"}}: field is immutable"]
    );
    let mut scaled = rs.clone();
    scaled["spec"]["replicas"] = json!(5);
    assert_eq!(update(scaled, &rs).unwrap()["spec"]["replicas"], 5);

    let job = create_ok(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox}]\n",
    );
    let mut new = job.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("luksa/batch-job");
    new["spec"]["parallelism"] = json!(3);
    let err = update(new, &job).unwrap_err();
    let c = causes(&err);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].starts_with("spec.template: Invalid value: {")
            && c[0].ends_with("}: field is immutable"),
        "{c:?}"
    );
    let mut new = job.clone();
    new["spec"]["parallelism"] = json!(3);
    assert_eq!(
        update(new, &job).unwrap()["spec"]["parallelism"],
        3,
        "parallelism may change"
    );
}

#[test]
fn status_updates_change_only_status() {
    let old = create_ok(POD);
    let info = kinds::by_kind("Pod").unwrap();
    let mut new = old.clone();
    new["metadata"]["resourceVersion"] = json!("42");
    new["metadata"]["labels"]["app"] = json!("ignored");
    new["spec"]["containers"][0]["image"] = json!("ignored");
    new["status"] = json!({
        "phase": "Running",
        "podIP": "127.0.0.5",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "a", "ready": true, "restartCount": 1,
            "state": {"running": {"startedAt": "2024-05-01T12:00:05Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "Error"}}}]
    });
    let stored = admit_status_update(info, new, &old).unwrap();
    assert_eq!(stored["status"]["phase"], "Running");
    assert_eq!(
        stored["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        137
    );
    assert_eq!(stored["metadata"]["labels"]["app"], "a");
    assert_eq!(stored["spec"]["containers"][0]["image"], "busybox");
    assert_eq!(stored["metadata"]["resourceVersion"], "42");

    let mut bad = old.clone();
    bad["status"] = json!({"phase": "Sleeping", "podIP": "not-an-ip"});
    let err = admit_status_update(info, bad, &old).unwrap_err();
    assert_eq!(
        causes(&err),
        [
            "status.phase: Unsupported value: \"Sleeping\": supported values: \"Pending\", \"Running\", \"Succeeded\", \"Failed\", \"Unknown\"",
            "status.podIP: Invalid value: \"not-an-ip\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ]
    );

    let lease_info = kinds::by_kind("Lease").unwrap();
    let err = admit_status_update(lease_info, json!({}), &json!({})).unwrap_err();
    assert_eq!(err.reason, Reason::MethodNotAllowed);
}

#[test]
fn create_refuses_a_resource_version_and_a_mismatched_kind() {
    let mut pod = super::yaml(POD);
    pod["metadata"]["resourceVersion"] = json!("7");
    let err = super::create(pod).unwrap_err();
    assert_eq!(
        err.message,
        "resourceVersion should not be set on objects to be created"
    );

    let rs_info = kinds::by_kind("ReplicaSet").unwrap();
    let err = skiff_api::admit::admit_create(rs_info, super::yaml(POD)).unwrap_err();
    assert_eq!(err.reason, Reason::BadRequest);
    assert!(
        err.message
            .contains("the object's kind \"Pod\" does not match the resource \"replicasets\""),
        "{}",
        err.message
    );
}
