//! The server-side Table of each kind: the same cells as `skiff get -o wide`.

use serde_json::json;

use super::*;

#[test]
fn pod_table_has_kubectls_columns_with_wide_ones_at_priority_one() {
    let created = (Utc::now() - chrono::TimeDelta::seconds(45)).to_rfc3339();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kubia-liveness", "namespace": "default", "creationTimestamp": created, "labels": {"app": "kubia"}},
        "spec": {"containers": [{"name": "c", "image": "luksa/kubia"}], "nodeName": "node-1"},
        "status": {"phase": "Running", "podIP": "127.42.0.7", "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
    let table = to_table("Pod", std::slice::from_ref(&pod), false);
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    let columns: Vec<(String, i64)> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["priority"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, i64)> = [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
    ]
    .iter()
    .map(|(n, p)| (n.to_string(), *p))
    .collect();
    assert_eq!(columns, want);
    assert_eq!(table["columnDefinitions"][0]["format"], "name");
    for c in table["columnDefinitions"].as_array().unwrap() {
        assert_eq!(c["type"], "string");
        assert!(!c["description"].as_str().unwrap().is_empty());
    }
    let row = &table["rows"][0];
    assert_eq!(
        row["cells"],
        json!([
            "kubia-liveness",
            "1/1",
            "Running",
            "0",
            "45s",
            "127.42.0.7",
            "node-1"
        ])
    );
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["metadata"]["labels"]["app"], "kubia");
    assert!(row["object"].get("spec").is_none());

    let full = to_table("Pod", std::slice::from_ref(&pod), true);
    assert_eq!(full["rows"][0]["object"], pod);
}

#[test]
fn every_kind_has_cells_under_every_column() {
    let kinds = [
        "Namespace",
        "Node",
        "Pod",
        "ReplicationController",
        "Event",
        "ReplicaSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Lease",
        "Unknown",
    ];
    for kind in kinds {
        let object = json!({"kind": kind, "metadata": {"name": "x", "namespace": "default"}});
        let table = to_table(kind, &[object], false);
        let columns = table["columnDefinitions"].as_array().unwrap().len();
        assert_eq!(columns, headers(kind, true).len(), "{kind}");
        assert_eq!(
            table["rows"][0]["cells"].as_array().unwrap().len(),
            columns,
            "{kind}"
        );
        assert_eq!(
            table["rows"][0]["cells"][headers(kind, true)
                .iter()
                .position(|h| *h == "NAME")
                .unwrap()],
            "x",
            "{kind}"
        );
    }
}

#[test]
fn events_keep_the_narrow_columns_at_priority_zero() {
    let table = to_table("Event", &[], false);
    let shown: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["priority"] == 0)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["Last Seen", "Type", "Reason", "Object", "Message"]);
    assert_eq!(table["rows"], json!([]));
}

#[test]
fn an_unreadable_object_still_gets_its_name() {
    let bad = json!({"kind": "Pod", "metadata": {"name": "odd"}, "spec": {"containers": "nope"}});
    let table = to_table("Pod", &[bad], false);
    assert_eq!(table["rows"][0]["cells"][0], "odd");
    assert_eq!(table["rows"][0]["cells"].as_array().unwrap().len(), 7);
}
