//! `label`, `scale`, `edit` (a scripted KUBE_EDITOR, an invalid edit reopened with its error) and `delete` (names, `-l`, `--all`, `-f`, cascade policies, the old `--cascade=false`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::util::{fixture, mask, step, up, Cluster};

const MINUTE: Duration = Duration::from_secs(60);

fn crane_pods(c: &Cluster) -> Vec<String> {
    c.ok(&["get", "po", "-l", "app=crane", "-o", "name"])
        .lines()
        .map(|l| l.trim_start_matches("pod/").to_string())
        .collect()
}

fn rc_ready(n: usize) -> impl Fn(&str) -> bool {
    move |o: &str| mask(o).contains(&format!("crane  {n}  {n}  {n}  <age>"))
}

/// An editor script: `sh` code run with the file as `$1`.
fn editor(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn replicas(c: &Cluster) -> i64 {
    let rc: Value = serde_json::from_str(&c.ok(&["get", "rc", "crane", "-o", "json"])).unwrap();
    rc["spec"]["replicas"].as_i64().unwrap()
}

#[test]
fn label_scale_edit_and_delete() {
    let c = up();
    let scripts = tempfile::tempdir().unwrap();
    c.ok(&["create", "-f", &fixture("rc-crane.yaml")]);
    c.wait_for("crane ready", MINUTE, &["get", "rc"], rc_ready(3));

    step("label: add, refuse to change without --overwrite, change, remove");
    let pod = crane_pods(&c).remove(0);
    assert_eq!(
        c.ok(&["label", "po", &pod, "env=debug"]),
        format!("pod/{pod} labeled\n")
    );
    assert_eq!(
        c.fails(&["label", "po", &pod, "app=foo"]),
        "error: 'app' already has a value (crane), and --overwrite is false\n"
    );
    assert_eq!(
        c.ok(&["label", &format!("pod/{pod}"), "app=foo", "--overwrite"]),
        format!("pod/{pod} labeled\n")
    );
    assert_eq!(
        c.ok(&["label", "po", &pod, "env-"]),
        format!("pod/{pod} unlabeled\n")
    );
    assert_eq!(
        c.ok(&["label", "po", &pod, "app=foo"]),
        format!("pod/{pod} not labeled\n")
    );
    assert_eq!(mask(&c.ok(&["get", "po", &pod, "--show-labels"])), "NAME  READY  STATUS  RESTARTS  AGE  LABELS\ncrane-xxxxx  1/1  Running  0  <age>  app=foo\n");
    c.wait_for(
        "a replacement for the relabelled pod",
        MINUTE,
        &["get", "po", "-l", "app=crane"],
        |o| o.lines().filter(|l| l.contains(" Running ")).count() == 3,
    );
    assert_eq!(
        c.ok(&["label", "node", "node-2", "disk=ssd"]),
        "node/node-2 labeled\n"
    );
    assert_eq!(
        c.ok(&["get", "no", "-l", "disk=ssd", "-o", "name"]),
        "node/node-1\nnode/node-2\n"
    );
    assert_eq!(
        c.ok(&["label", "node", "node-1", "disk=hdd", "--overwrite"]),
        "node/node-1 labeled\n"
    );
    assert_eq!(
        c.ok(&["get", "no", "-l", "disk=ssd", "-o", "name"]),
        "node/node-2\n"
    );
    assert!(c
        .fails(&["label", "po", &pod, "bad key=x"])
        .starts_with("error: invalid label spec: bad key=x"));

    step("scale: replication controller, precondition, a job's parallelism");
    assert_eq!(
        c.ok(&["scale", "rc", "crane", "--replicas=5"]),
        "replicationcontroller/crane scaled\n"
    );
    c.wait_for("5 crane pods", MINUTE, &["get", "rc"], rc_ready(5));
    assert_eq!(
        c.fails(&[
            "scale",
            "rc",
            "crane",
            "--current-replicas=3",
            "--replicas=1"
        ]),
        "error: Expected replicas to be 3, was 5\n"
    );
    assert_eq!(
        c.ok(&["scale", "rc/crane", "--current-replicas=5", "--replicas=3"]),
        "replicationcontroller/crane scaled\n"
    );
    assert!(c
        .fails(&["scale", "po", &pod, "--replicas=2"])
        .starts_with("error: cannot scale pods"));
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: sleepy\nspec:\n  completions: 4\n  parallelism: 1\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n      - name: main\n        image: busybox\n        command: [\"sleep\", \"30\"]\n";
    c.ok_stdin(&["create", "-f", "-"], job);
    assert_eq!(
        c.ok(&["scale", "job", "sleepy", "--replicas", "2"]),
        "job.batch/sleepy scaled\n"
    );
    let job: Value = serde_json::from_str(&c.ok(&["get", "job", "sleepy", "-o", "json"])).unwrap();
    assert_eq!(job["spec"]["parallelism"], 2);
    c.wait_for("crane back to 3", MINUTE, &["get", "rc"], rc_ready(3));

    step("edit: a change is saved; no change is cancelled");
    let set_two = editor(
        scripts.path(),
        "two.sh",
        r#"sed -i 's/^  replicas: 3$/  replicas: 2/' "$1""#,
    );
    let edit = c.run_env(
        &["edit", "rc", "crane"],
        &[("KUBE_EDITOR", set_two.to_str().unwrap())],
    );
    assert_eq!(
        (edit.status, edit.stdout.as_str()),
        (0, "replicationcontroller/crane edited\n"),
        "{}",
        edit.stderr
    );
    assert_eq!(replicas(&c), 2);
    let noop = editor(scripts.path(), "noop.sh", "true");
    let edit = c.run_env(&["edit", "rc/crane"], &[("EDITOR", noop.to_str().unwrap())]);
    assert_eq!(
        (edit.status, edit.stderr.as_str()),
        (0, "Edit cancelled, no changes made.\n")
    );

    step("edit: an invalid result is reopened with the error in its header");
    let seen = scripts.path().join("second-pass.yaml");
    let fix_on_retry = editor(
        scripts.path(),
        "retry.sh",
        &format!(
            r#"if grep -q "was not valid" "$1"; then cp "$1" {seen}; sed -i 's/^  replicas: -1$/  replicas: 4/' "$1"; else sed -i 's/^  replicas: 2$/  replicas: -1/' "$1"; fi"#,
            seen = seen.display()
        ),
    );
    let edit = c.run_env(
        &["edit", "rc", "crane"],
        &[("KUBE_EDITOR", fix_on_retry.to_str().unwrap())],
    );
    assert_eq!(
        (edit.status, edit.stdout.as_str()),
        (0, "replicationcontroller/crane edited\n"),
        "{}",
        edit.stderr
    );
    let reopened = std::fs::read_to_string(&seen).unwrap();
    assert!(
        reopened.starts_with(
            "# Please edit the object below. Lines beginning with a '#' will be ignored,\n\
             # and an empty file will abort the edit. If an error occurs while saving this file will be\n\
             # reopened with the relevant failures.\n\
             #\n\
             # replicationcontrollers \"crane\" was not valid:\n\
             # * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n\
             #\n\
             apiVersion: v1\n"
        ),
        "{reopened}"
    );
    assert_eq!(replicas(&c), 4);
    let always_bad = editor(
        scripts.path(),
        "bad.sh",
        r#"sed -i 's/^  replicas: [0-9]*$/  replicas: -1/' "$1""#,
    );
    let edit = c.run_env(
        &["edit", "rc", "crane"],
        &[("KUBE_EDITOR", always_bad.to_str().unwrap())],
    );
    assert_eq!(edit.status, 1);
    assert!(
        edit.stderr
            .ends_with("error: Edit cancelled, no valid changes were saved.\n"),
        "{}",
        edit.stderr
    );
    assert_eq!(replicas(&c), 4, "nothing invalid was stored");

    step("delete: orphaning with the old --cascade=false keeps the pods");
    c.wait_for("4 crane pods", MINUTE, &["get", "rc"], rc_ready(4));
    let run = c.run(&["delete", "rc", "crane", "--cascade=false"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "warning: --cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.\n");
    assert_eq!(run.stdout, "replicationcontroller \"crane\" deleted\n");
    assert_eq!(
        c.fails(&["get", "rc", "crane"]),
        "Error from server (NotFound): replicationcontrollers \"crane\" not found\n"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(crane_pods(&c).len(), 4, "the orphaned pods keep running");

    step("delete by label waits until the pods are gone");
    let deleted = c.ok(&["delete", "po", "-l", "app=crane", "--grace-period=1"]);
    assert_eq!(deleted.lines().count(), 4, "{deleted}");
    assert!(
        deleted
            .lines()
            .all(|l| l.starts_with("pod \"crane-") && l.ends_with("\" deleted")),
        "{deleted}"
    );
    let run = c.run(&["get", "po", "-l", "app=crane"]);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", "No resources found in default namespace.\n")
    );

    step("delete with foreground cascade takes the pods first; -f, --all, --now, NotFound");
    c.ok(&["create", "-f", &fixture("rc-crane.yaml")]);
    c.wait_for("crane ready again", MINUTE, &["get", "rc"], rc_ready(3));
    assert_eq!(
        c.ok(&[
            "delete",
            "-f",
            &fixture("rc-crane.yaml"),
            "--cascade=foreground"
        ]),
        "replicationcontroller \"crane\" deleted\n"
    );
    assert!(
        crane_pods(&c).is_empty(),
        "foreground deletion returns once the pods are gone"
    );
    assert_eq!(
        c.ok(&["delete", "job", "--all", "--now"]),
        "job.batch \"sleepy\" deleted\n"
    );
    assert_eq!(
        c.fails(&["delete", "po", "nosuch"]),
        "Error from server (NotFound): pods \"nosuch\" not found\n"
    );
    assert_eq!(c.ok(&["delete", "po", "nosuch", "--ignore-not-found"]), "");
    assert_eq!(
        c.fails(&["delete", "po"]),
        "error: resource(s) were provided, but no name was specified\n"
    );
    assert!(c
        .fails(&["delete", "rc", "x", "--cascade=maybe"])
        .contains("invalid cascade value (maybe)"));
}
