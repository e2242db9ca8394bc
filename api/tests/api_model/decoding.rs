//! Strict decoding: unknown fields with their path and a suggestion, misplaced fields, wrong types, unknown kinds and apiVersions.

use serde_json::json;
use skiff_api::error::{CauseType, Reason};

use super::{create, create_err, yaml};

fn message(text: &str) -> String {
    let err = create_err(text);
    assert_eq!(err.reason, Reason::BadRequest, "{}", err.message);
    err.message
}

#[test]
fn misspelt_probe_field_names_the_path_and_the_fix() {
    let err = create_err(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: crane-liveness
spec:
  containers:
  - image: heejeong/crane
    name: crane
    livenessProbe:
      httpGet:
        path: /test
        port: 8080
      initalDelaySeconds: 15
"#,
    );
    assert_eq!(err.reason, Reason::BadRequest);
    assert!(
        err.message.ends_with(
            r#"spec.containers[0].livenessProbe.initalDelaySeconds: unknown field "initalDelaySeconds", did you mean "initialDelaySeconds"?"#
        ),
        "{}",
        err.message
    );
    assert!(err
        .message
        .starts_with(r#"Pod in version "v1" cannot be handled as a Pod: strict decoding error: "#));
    let cause = &err.details.causes[0];
    assert_eq!(cause.reason, CauseType::FieldValueUnknown);
    assert_eq!(
        cause.field,
        "spec.containers[0].livenessProbe.initalDelaySeconds"
    );
    assert_eq!(err.details.name, "crane-liveness");
}

#[test]
fn unknown_field_far_from_any_name_lists_the_known_ones() {
    let m = message(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: busybox, volumeMounts: []}
"#,
    );
    assert!(m.contains(r#"spec.containers[0].volumeMounts: unknown field "volumeMounts" (known fields here: name, image, command"#), "{m}");
}

#[test]
fn containers_beside_spec_point_to_spec_containers() {
    let m = message(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: misplaced
containers:
- name: main
  image: busybox
"#,
    );
    assert!(
        m.ends_with(r#"containers: unknown field "containers" at the top level; it belongs under spec: did you mean "spec.containers"?"#),
        "{m}"
    );
}

#[test]
fn pod_fields_directly_under_a_template_point_one_level_down() {
    let m = message(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    restartPolicy: Never
    containers: [{name: a, image: busybox}]
"#,
    );
    assert!(
        m.contains(r#"did you mean "spec.template.spec.restartPolicy"?"#),
        "{m}"
    );
}

#[test]
fn misspelt_top_level_and_metadata_fields() {
    for (text, want) in [
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nsepc: {}\n", r#"sepc: unknown field "sepc", did you mean "spec"?"#),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, lables: {a: b}}\n", r#"metadata.lables: unknown field "lables", did you mean "labels"?"#),
        (
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec: {selector: {matchLabel: {a: b}}}\n",
            r#"spec.selector.matchLabel: unknown field "matchLabel", did you mean "matchLabels"?"#,
        ),
    ] {
        let m = message(text);
        assert!(m.ends_with(want), "{m}");
    }
}

#[test]
fn wrong_types_name_the_path_and_the_expected_type() {
    let table = [
        ("apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec: {replicas: three}\n", r#"spec.replicas: expected an integer (32-bit), got the string "three""#),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {name: a}}\n", "spec.containers: expected a list, got an object"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {version: 1.5}}\n", r#"metadata.labels.version: expected a string, got the number 1.5 (quote it in YAML: "1.5")"#),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b, resources: {limits: {cpu: lots}}}]}\n", "spec.containers[0].resources.limits.cpu: quantities must match the regular expression"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {activeDeadlineSeconds: 1.5}\n", "spec.activeDeadlineSeconds: expected an integer, got the number 1.5"),
    ];
    for (text, want) in table {
        let m = message(text);
        assert!(m.contains(want), "want {want:?} in {m}");
    }
}

#[test]
fn null_means_unset() {
    let obj = yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: null, creationTimestamp: null}\nspec: {containers: [{name: a, image: busybox}]}\nstatus: {}\n");
    let stored = create(obj).unwrap();
    assert_eq!(stored["metadata"]["namespace"], "default");
}

/// `batch/vbeta1` (for `batch/v1beta1`) is refused naming the versions that are known.
#[test]
fn a_misspelt_api_version_names_the_known_ones() {
    let m = message("apiVersion: batch/vbeta1\nkind: CronJob\nmetadata: {name: c}\n");
    assert!(
        m.contains(r#"apiVersion "batch/vbeta1" is not known"#),
        "{m}"
    );
    assert!(
        m.contains("CronJob is served as apiVersion: batch/v1 (or batch/v1beta1)"),
        "{m}"
    );
    assert!(m.contains(r#"did you mean "batch/v1beta1"?"#), "{m}");
    let m = message("apiVersion: batch/vbeta1\nkind: Widget\nmetadata: {name: c}\n");
    assert!(
        m.contains(r#"did you mean "batch/v1beta1"? (known apiVersions: v1, apps/v1"#),
        "{m}"
    );
}

#[test]
fn kinds_and_api_versions_are_checked_first() {
    let table = [
        (
            "apiVersion: v1\nkind: pod\nmetadata: {name: p}\n",
            r#"no kind "pod" is registered for version "v1"; did you mean "Pod"?"#,
        ),
        (
            "apiVersion: apps/v1beta2\nkind: DemonSet\nmetadata: {name: p}\n",
            r#"no kind "DemonSet" is registered for version "apps/v1beta2"; did you mean "DaemonSet"?"#,
        ),
        (
            "apiVersion: apps/v1\nkind: Job\nmetadata: {name: p}\n",
            "Job is served as apiVersion: batch/v1",
        ),
        (
            "apiVersion: app/v1\nkind: Widget\nmetadata: {name: p}\n",
            r#"apiVersion "app/v1" is not known; did you mean "apps/v1"? (known apiVersions: v1, apps/v1"#,
        ),
    ];
    for (text, want) in table {
        let m = message(text);
        assert!(m.contains(want), "want {want:?} in {m}");
    }
    let missing = [
        (
            json!({"kind": "Pod", "metadata": {"name": "p"}}),
            "Object 'apiVersion' is missing: a Pod needs apiVersion: v1",
        ),
        (
            json!({"apiVersion": "v1", "metadata": {"name": "p"}}),
            "Object 'Kind' is missing: known kinds: Namespace, Node, Pod",
        ),
        (
            json!(["not", "an", "object"]),
            "a manifest must be an object with apiVersion, kind and metadata; got a list",
        ),
    ];
    for (obj, want) in missing {
        let err = create(obj).unwrap_err();
        assert!(
            err.message.starts_with(want),
            "want {want:?} in {}",
            err.message
        );
    }
}
