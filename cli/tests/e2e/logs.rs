//! `logs`: the current and the previous instance, `--tail`, `-f`, `-c`, and the error for a pod with several containers.

use std::time::Duration;

use serde_json::Value;

use crate::util::{mask, step, up};

const MINUTE: Duration = Duration::from_secs(60);

const PODS: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: two
spec:
  containers:
  - name: a
    image: busybox
    command: ["sh", "-c", "echo from-a; sleep 3600"]
  - name: b
    image: busybox
    command: ["sh", "-c", "echo from-b; echo second-b; sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo starting; sleep 1; echo giving up; exit 3"]
"#;

#[test]
fn logs_of_current_previous_and_several_containers() {
    let c = up();
    assert_eq!(
        c.ok_stdin(&["create", "-f", "-"], PODS),
        "pod/two created\npod/ticker created\npod/crasher created\n"
    );
    c.wait_for(
        "two and ticker running",
        MINUTE,
        &["get", "po", "two", "ticker"],
        |o| o.lines().filter(|l| l.contains(" Running ")).count() == 2,
    );

    step("a pod with several containers needs -c");
    assert_eq!(
        c.fails(&["logs", "two"]),
        "error: a container name must be specified for pod two, choose one of: [a b]\n"
    );
    c.wait_for("b's output", MINUTE, &["logs", "two", "-c", "b"], |o| {
        o == "from-b\nsecond-b\n"
    });
    assert_eq!(
        c.ok(&["logs", "pod/two", "-c", "b", "--tail", "1"]),
        "second-b\n"
    );
    assert_eq!(c.ok(&["logs", "two", "-c", "a"]), "from-a\n");
    let stamped = c.ok(&["logs", "two", "-c", "b", "--timestamps"]);
    let lines: Vec<(&str, &str)> = stamped.lines().filter_map(|l| l.split_once(' ')).collect();
    assert_eq!(
        lines.iter().map(|(_, text)| *text).collect::<Vec<_>>(),
        ["from-b", "second-b"],
        "{stamped}"
    );
    for (time, _) in lines {
        assert!(
            chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
            "{stamped}"
        );
    }
    assert!(c
        .fails(&["logs", "two", "-c", "zz"])
        .contains("container zz is not valid for pod two"));
    assert_eq!(
        c.fails(&["logs", "nosuch"]),
        "Error from server (NotFound): pods \"nosuch\" not found\n"
    );

    step("-f follows new lines");
    let follow = c.stream(&["logs", "-f", "ticker"]);
    let lines = follow.until(MINUTE, |l| l == "tick 3");
    assert!(lines.starts_with(&["tick 0".to_string()]), "{lines:?}");
    drop(follow);

    step("--previous shows why the last instance died");
    c.wait_for(
        "crasher to restart",
        Duration::from_secs(90),
        &["get", "po", "crasher", "-o", "json"],
        |o| {
            serde_json::from_str::<Value>(o).is_ok_and(|p| {
                p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(1)
            })
        },
    );
    assert_eq!(
        c.ok(&["logs", "crasher", "--previous"]),
        "starting\ngiving up\n"
    );
    assert_eq!(c.ok(&["logs", "crasher", "-p", "--tail=1"]), "giving up\n");
    let row = mask(&c.ok(&["get", "po", "crasher", "--no-headers"]));
    assert!(
        row.starts_with("crasher  0/1  ") || row.starts_with("crasher  1/1  "),
        "{row}"
    );
    assert!(
        row.contains(" (<age> ago)  <age>"),
        "RESTARTS shows when: {row}"
    );
    let described = mask(&c.ok(&["describe", "po", "crasher"]));
    assert!(described.contains("    Last State:  Terminated\n      Reason:  Error\n      Exit Code:  3\n      Started:  <time>\n      Finished:  <time>\n"), "{described}");
    assert!(described.contains("    Command:\n      sh\n      -c\n      echo starting; sleep 1; echo giving up; exit 3\n"), "{described}");
}
