//! One semantics, two wire forms: what is written through the gRPC API (`skiff`) is read and
//! watched through the REST API (kubectl), and the other way round.

use serde_json::Value;

use crate::util::{fixture, step, Cluster, MINUTE};

fn pod(name: &str, app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels:\n    app: {app}\nspec:\n  containers:\n  - name: main\n    image: busybox\n    command: [\"sleep\", \"3600\"]\n"
    )
}

/// uid and resourceVersion of an object as JSON.
fn identity(json: &str) -> (String, String) {
    let v: Value = serde_json::from_str(json).expect("json");
    let meta = &v["metadata"];
    (
        meta["uid"].as_str().unwrap_or_default().to_string(),
        meta["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[test]
fn grpc_and_rest_see_the_same_objects() {
    let c = Cluster::up();

    step("created through gRPC, read through REST");
    assert_eq!(
        c.skiff_ok(&["create", "-f", &fixture("rc-crane.yaml")]),
        "replicationcontroller/crane created\n"
    );
    // The controller writes the rc's status meanwhile: compare reads that no write came
    // between (the REST reads before and after the gRPC one agree).
    let same = (0..20).any(|_| {
        let before = identity(&c.ok(&["get", "rc", "crane", "-o", "json"]));
        let grpc = identity(&c.skiff_ok(&["get", "rc", "crane", "-o", "json"]));
        let after = identity(&c.ok(&["get", "rc", "crane", "-o", "json"]));
        assert!(!before.0.is_empty());
        assert_eq!(before.0, grpc.0, "one uid");
        before == after && grpc == before
    });
    assert!(
        same,
        "REST and gRPC never agreed on crane's resourceVersion"
    );

    step("created through REST, read through gRPC");
    let file = c.write("rest-pod.yaml", &pod("made-by-rest", "rest"));
    assert_eq!(c.ok(&["create", "-f", &file]), "pod/made-by-rest created\n");
    let grpc = identity(&c.skiff_ok(&["get", "po", "made-by-rest", "-o", "json"]));
    let rest = identity(&c.ok(&["get", "po", "made-by-rest", "-o", "json"]));
    assert_eq!(rest.0, grpc.0);

    step("a REST watch sees a gRPC write");
    let rest_watch = c.stream(&["get", "po", "-l", "app=grpc-watched", "-w", "--no-headers"]);
    let grpc_watch = c.skiff_stream(&["get", "po", "-l", "app=rest-watched", "-w", "--no-headers"]);
    let file = c.write("grpc-watched.yaml", &pod("grpc-watched", "grpc-watched"));
    assert_eq!(
        c.skiff_ok(&["create", "-f", &file]),
        "pod/grpc-watched created\n"
    );
    rest_watch.until(MINUTE, |l| l.starts_with("grpc-watched "));

    step("a gRPC watch sees a REST write");
    let file = c.write("rest-watched.yaml", &pod("rest-watched", "rest-watched"));
    assert_eq!(c.ok(&["create", "-f", &file]), "pod/rest-watched created\n");
    grpc_watch.until(MINUTE, |l| l.starts_with("rest-watched "));

    step("both list the same pods; a REST delete is seen by gRPC");
    let names = |text: String| {
        let mut v: Vec<String> = text.lines().map(String::from).collect();
        v.sort();
        v
    };
    c.wait_for(
        "crane's pods",
        MINUTE,
        &["get", "po", "-l", "app=crane", "-o", "name"],
        |o| o.lines().count() == 3,
    );
    assert_eq!(
        names(c.ok(&["get", "po", "-o", "name"])),
        names(c.skiff_ok(&["get", "po", "-o", "name"]))
    );
    assert_eq!(
        c.ok(&[
            "delete",
            "po",
            "made-by-rest",
            "--grace-period=0",
            "--force"
        ])
        .lines()
        .last(),
        Some("pod \"made-by-rest\" force deleted from default namespace")
    );
    let gone = c.skiff(&["get", "po", "made-by-rest"]);
    assert!(
        gone.stderr.contains("(NotFound)") || gone.stdout.contains("Terminating"),
        "{}{}",
        gone.stdout,
        gone.stderr
    );
}
