//! The official Python client: list, watch from a resourceVersion and resume after a
//! disconnect without missing or repeating an event; a watch from a version the apiserver no
//! longer has gets 410 Gone, and the client relists (the script is `client.py`).

use serde_json::Value;

use crate::util::{step, Cluster};

#[test]
fn python_client_lists_watches_resumes_and_relists_after_410() {
    let c = Cluster::up();

    step("list, watch, disconnect, resume");
    let summary: Value =
        serde_json::from_str(&c.python("client.py", &["resume"])).expect("summary");
    let last = summary["last"]
        .as_str()
        .expect("last resourceVersion")
        .to_string();
    assert!(
        summary["events"].as_array().is_some_and(|e| e.len() >= 4),
        "{summary}"
    );

    step("the apiserver restarts: its window starts after the old version");
    assert_eq!(
        c.ok(&["label", "po", "py-2", "moved=yes"]),
        "pod/py-2 labeled\n"
    );
    c.restart_apiserver();

    step("a watch from the old version gets 410 and relists");
    let summary: Value =
        serde_json::from_str(&c.python("client.py", &["expired", &last])).expect("summary");
    assert_eq!(
        summary["relisted"],
        serde_json::json!(["py-2", "py-3"]),
        "{summary}"
    );
    assert!(
        summary["gone"]
            .as_str()
            .is_some_and(|g| g.contains("Expired") || g.contains("Gone")),
        "{summary}"
    );
}

#[test]
#[ignore = "needs the REST API to take apiVersion and kind from the URL when a body omits them, as Kubernetes does (today: 400 Object 'Kind' is missing)"]
fn python_client_objects_without_kind_are_created() {
    let c = Cluster::up();
    let summary: Value =
        serde_json::from_str(&c.python("client.py", &["kindless"])).expect("summary");
    assert_eq!(summary["created"], "py-kindless");
    assert_eq!(
        c.ok(&["get", "po", "py-kindless", "-o", "name"]),
        "pod/py-kindless\n"
    );
}
