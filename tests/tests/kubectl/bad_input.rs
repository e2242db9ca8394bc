//! Bad input through kubectl: a misspelt manifest is refused with the field's path and a
//! suggestion (nothing stored), a stale update gets Conflict, a viewer gets Forbidden on
//! create and a wrong token Unauthorized.

use crate::util::{step, Cluster, MINUTE};

/// The notes' misspelt manifest: `initalDelaySeconds`.
const TYPO: &str = "apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  containers:
  - image: luksa/kubia
    name: kubia
    livenessProbe:
      httpGet:
        path: /
        port: 8080
      initalDelaySeconds: 15
";

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers:
  - image: luksa/kubia
    name: kubia
";

const VIEWER_TOKEN: &str = "viewer-token-for-kubectl";

#[test]
fn bad_input_through_kubectl() {
    let c = Cluster::up();

    step("a misspelt field is refused with its path and a suggestion; nothing is stored");
    let typo = c.write("pod-typo.yaml", TYPO);
    let refused = c.fails(&["create", "-f", &typo]);
    assert!(
        refused.starts_with("Error from server (BadRequest): error when creating"),
        "{refused}"
    );
    assert!(
        refused.contains("spec.containers[0].livenessProbe.initalDelaySeconds")
            && refused.contains("did you mean \"initialDelaySeconds\""),
        "{refused}"
    );
    let missing = c.fails(&["get", "po", "typo"]);
    assert_eq!(
        missing,
        "Error from server (NotFound): pods \"typo\" not found\n"
    );
    let run = c.run_stdin(&["apply", "-f", "-"], TYPO);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("did you mean \"initialDelaySeconds\""),
        "{}",
        run.stderr
    );

    step("a stale update gets Conflict");
    let pod = c.write("plain.yaml", POD);
    assert_eq!(c.ok(&["create", "-f", &pod]), "pod/plain created\n");
    let stale = c.write(
        "plain-stale.yaml",
        &c.ok(&["get", "po", "plain", "-o", "yaml"]),
    );
    assert_eq!(
        c.ok(&["label", "po", "plain", "tier=web"]),
        "pod/plain labeled\n"
    );
    let conflict = c.fails(&["replace", "-f", &stale]);
    assert!(
        conflict.starts_with("Error from server (Conflict): error when replacing"),
        "{conflict}"
    );
    assert!(
        conflict.contains(
            "Operation cannot be fulfilled on pods \"plain\": the object has been modified"
        ),
        "{conflict}"
    );
    assert_eq!(
        c.ok(&[
            "get",
            "po",
            "plain",
            "-o",
            "jsonpath={.metadata.labels.tier}"
        ]),
        "web"
    );

    step("a viewer may read but not create");
    c.add_token(VIEWER_TOKEN, "vera", "skiff:viewers");
    let viewer = ["--token", VIEWER_TOKEN];
    let read = c.ok(&[&viewer[..], &["get", "po", "plain", "-o", "name"]].concat());
    assert_eq!(read, "pod/plain\n");
    let second = c.write("second.yaml", &POD.replace("name: plain", "name: second"));
    let forbidden = c.fails(&[&viewer[..], &["create", "-f", &second]].concat());
    assert!(
        forbidden.starts_with("Error from server (Forbidden): error when creating"),
        "{forbidden}"
    );
    assert!(
        forbidden.contains("User \"vera\" cannot create resource \"pods\""),
        "{forbidden}"
    );
    let missing = c.fails(&["get", "po", "second"]);
    assert!(missing.contains("(NotFound)"), "{missing}");

    step("a wrong token is Unauthorized");
    let unauthorized = c.fails(&["--token", "nope", "get", "po"]);
    assert!(unauthorized.contains("Unauthorized"), "{unauthorized}");
    c.wait_for(
        "admin still fine",
        MINUTE,
        &["get", "po", "plain", "-o", "name"],
        |o| o == "pod/plain\n",
    );
}
