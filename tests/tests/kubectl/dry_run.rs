//! Server-side dry runs through kubectl (`--dry-run=server`, the API's `dryRun=All`): every
//! write is decided as it would be (defaults, validation, AlreadyExists, Conflict) and
//! answered, and nothing is stored.

use serde_json::Value;

use crate::util::{fixture, step, Cluster, MINUTE};

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: dry
  labels:
    tier: one
spec:
  containers:
  - image: luksa/kubia
    name: kubia
";

/// The stored object as JSON.
fn stored(c: &Cluster, what: &str) -> Value {
    serde_json::from_str(&c.ok(&["get", what, "-o", "json"])).expect("kubectl JSON")
}

fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

#[test]
fn server_dry_runs_decide_and_store_nothing() {
    let c = Cluster::up();
    let pod = c.write("pod-dry.yaml", POD);

    step("create: answered with defaults, a uid and no resourceVersion; nothing stored");
    let answer: Value =
        serde_json::from_str(&c.ok(&["create", "-f", &pod, "--dry-run=server", "-o", "json"]))
            .expect("JSON");
    assert!(!meta(&answer, "uid").is_empty(), "{answer}");
    assert!(!meta(&answer, "creationTimestamp").is_empty(), "{answer}");
    assert_eq!(meta(&answer, "resourceVersion"), "", "{answer}");
    assert_eq!(
        answer["spec"]["restartPolicy"], "Always",
        "defaults are applied: {answer}"
    );
    assert_eq!(
        c.fails(&["get", "po", "dry"]),
        "Error from server (NotFound): pods \"dry\" not found\n"
    );

    step("validation still refuses a bad manifest");
    let bad = c.write("pod-bad.yaml", &POD.replace("name: kubia", "nmae: kubia"));
    let refused = c.fails(&["create", "-f", &bad, "--dry-run=server"]);
    assert!(
        refused.contains("spec.containers[0].nmae") && refused.contains("did you mean \"name\""),
        "{refused}"
    );

    step("a dry-run create of an existing name is AlreadyExists");
    c.ok(&["create", "-f", &pod]);
    // Once it runs nothing else writes the pod, so its version can be compared.
    c.wait_for(
        "pod dry running",
        MINUTE,
        &["get", "po", "dry", "-o", "jsonpath={.status.phase}"],
        |o| o == "Running",
    );
    let before = stored(&c, "po/dry");
    let refused = c.fails(&["create", "-f", &pod, "--dry-run=server"]);
    assert!(
        refused.contains("(AlreadyExists)") && refused.contains("pods \"dry\" already exists"),
        "{refused}"
    );

    step("label and apply: answered changed, stored unchanged");
    let labelled = c.ok(&[
        "label",
        "po",
        "dry",
        "tier=two",
        "--overwrite",
        "--dry-run=server",
        "-o",
        "jsonpath={.metadata.labels.tier} {.metadata.resourceVersion}",
    ]);
    assert_eq!(
        labelled,
        format!("two {}", meta(&before, "resourceVersion")),
        "a dry-run update keeps the stored version"
    );
    let changed = c.write("pod-dry2.yaml", &POD.replace("tier: one", "tier: three"));
    assert_eq!(
        c.ok(&["apply", "-f", &changed, "--dry-run=server"]),
        "pod/dry configured (server dry run)\n"
    );
    let after = stored(&c, "po/dry");
    assert_eq!(after["metadata"]["labels"]["tier"], "one", "{after}");
    assert_eq!(
        meta(&after, "resourceVersion"),
        meta(&before, "resourceVersion")
    );

    step("scale and delete: answered, nothing changes");
    c.ok(&["create", "-f", &fixture("rc-crane.yaml")]);
    assert_eq!(
        c.ok(&["scale", "rc", "crane", "--replicas=5", "--dry-run=server"]),
        "replicationcontroller/crane scaled (server dry run)\n"
    );
    assert_eq!(stored(&c, "rc/crane")["spec"]["replicas"], 3);
    assert_eq!(
        c.ok(&["delete", "po", "dry", "--dry-run=server"]),
        "pod \"dry\" deleted from default namespace (server dry run)\n"
    );
    let still = stored(&c, "po/dry");
    assert_eq!(meta(&still, "uid"), meta(&before, "uid"));
    assert!(still["metadata"]["deletionTimestamp"].is_null(), "{still}");

    step("only dryRun=All is a dry run");
    let json = serde_json::to_string(&answer).expect("JSON");
    let body = c.write("pod-dry.json", &json);
    let refused = c.fails(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/pods?dryRun=Some",
        "-f",
        &body,
    ]);
    assert!(
        refused.contains("supported values: \\\"All\\\"")
            || refused.contains("supported values: \"All\""),
        "{refused}"
    );
}
