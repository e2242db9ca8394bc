//! `create`, `apply`, `get` (every output form, several kinds, `-w`, `-A`) and `describe`, with golden outputs (ages, IPs, uids and generated names masked); kubectl's error wording and exit status.

use std::time::Duration;

use serde_json::Value;

use crate::util::{fixture, mask, mask_events_unordered, step, up};

const MINUTE: Duration = Duration::from_secs(60);

fn ready_rc(out: &str) -> bool {
    mask(out).contains("crane  3  3  3  <age>")
}

/// Node names are masked where the scheduler's choice shows, and so are the scores the
/// Scheduled event gives after Kubernetes' message (they depend on what else runs).
fn any_node(text: &str) -> String {
    let masked = text.replace("node-1", "node-N").replace("node-2", "node-N");
    masked
        .lines()
        .map(|line| match line.find(" (scores: ") {
            Some(at) if line.contains("Successfully assigned") => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if masked.ends_with('\n') { "\n" } else { "" }
}

#[test]
fn create_apply_get_and_describe() {
    let c = up();

    step("create a replication controller and see its pods");
    assert_eq!(
        c.ok(&["create", "-f", &fixture("rc-crane.yaml")]),
        "replicationcontroller/crane created\n"
    );
    c.wait_for(
        "crane to have 3 ready pods",
        MINUTE,
        &["get", "rc"],
        ready_rc,
    );
    assert_eq!(
        mask(&c.ok(&["get", "rc"])),
        "NAME  DESIRED  CURRENT  READY  AGE\ncrane  3  3  3  <age>\n"
    );
    let pods = "NAME  READY  STATUS  RESTARTS  AGE\n".to_string()
        + &"crane-xxxxx  1/1  Running  0  <age>\n".repeat(3);
    assert_eq!(mask(&c.ok(&["get", "po"])), pods);
    assert_eq!(mask(&c.ok(&["get", "pods", "-l", "app=crane"])), pods);
    assert_eq!(
        any_node(&mask(&c.ok(&["get", "po", "-o", "wide"]))),
        "NAME  READY  STATUS  RESTARTS  AGE  IP  NODE\n".to_string()
            + &"crane-xxxxx  1/1  Running  0  <age>  <ip>  node-N\n".repeat(3)
    );
    assert_eq!(
        mask(&c.ok(&["get", "po", "--show-labels", "-a"])),
        "NAME  READY  STATUS  RESTARTS  AGE  LABELS\n".to_string()
            + &"crane-xxxxx  1/1  Running  0  <age>  app=crane\n".repeat(3)
    );
    assert_eq!(
        mask(&c.ok(&["get", "po", "-o", "name"])),
        "pod/crane-xxxxx\n".repeat(3)
    );
    assert_eq!(
        mask(&c.ok(&["get", "po", "-A"])),
        "NAMESPACE  NAME  READY  STATUS  RESTARTS  AGE\n".to_string()
            + &"default  crane-xxxxx  1/1  Running  0  <age>\n".repeat(3)
    );

    step("get all, several kinds, TYPE/NAME");
    assert_eq!(
        mask(&c.ok(&["get", "all"])),
        "NAME  READY  STATUS  RESTARTS  AGE\n".to_string()
            + &"pod/crane-xxxxx  1/1  Running  0  <age>\n".repeat(3)
            + "\nNAME  DESIRED  CURRENT  READY  AGE\nreplicationcontroller/crane  3  3  3  <age>\n"
    );
    assert_eq!(
        mask(&c.ok(&["get", "rc,po", "--no-headers"]))
            .lines()
            .count(),
        5
    );
    assert_eq!(
        mask(&c.ok(&["get", "replicationcontroller/crane"])),
        "NAME  DESIRED  CURRENT  READY  AGE\ncrane  3  3  3  <age>\n"
    );
    assert_eq!(
        mask(&c.ok(&["get", "rc", "crane", "-o", "wide"])),
        "NAME  DESIRED  CURRENT  READY  AGE  CONTAINERS  IMAGES  SELECTOR\ncrane  3  3  3  <age>  crane  heejeong/crane  app=crane\n"
    );

    step("-o yaml and -o json");
    let yaml = c.ok(&["get", "rc", "crane", "-o", "yaml"]);
    let docs = skiff_api::manifest::parse_manifests(&yaml).unwrap();
    assert_eq!(
        (
            docs[0]["kind"].as_str(),
            docs[0]["spec"]["replicas"].as_i64()
        ),
        (Some("ReplicationController"), Some(3)),
        "{yaml}"
    );
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: ReplicationController\nmetadata:\n"),
        "{yaml}"
    );
    let list: Value = serde_json::from_str(&c.ok(&["get", "po", "-o", "json"])).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
    let one: Value = serde_json::from_str(&c.ok(&["get", "no", "node-1", "-o", "json"])).unwrap();
    assert_eq!(one["metadata"]["labels"]["disk"], "ssd");

    step("namespaces, events and leases; describe -f");
    assert_eq!(
        mask(&c.ok(&["get", "ns"])),
        "NAME  STATUS  AGE\ndefault  Active  <age>\nkube-node-lease  Active  <age>\nkube-system  Active  <age>\n"
    );
    let events = mask(&c.ok(&["get", "ev"]));
    assert!(
        events.starts_with("LAST SEEN  TYPE  REASON  OBJECT  MESSAGE\n"),
        "{events}"
    );
    assert!(events.contains("<age>  Normal  SuccessfulCreate  replicationcontroller/crane  Created pod: crane-xxxxx\n"), "{events}");
    assert_eq!(
        mask(&c.ok(&["get", "leases", "-n", "kube-system"])),
        "NAME  HOLDER  AGE\nskiff-controller-manager  controller-manager-1  <age>\nskiff-scheduler  scheduler-1  <age>\n"
    );
    let described = mask(&c.ok(&["describe", "-f", &fixture("rc-crane.yaml")]));
    assert!(
        described.starts_with("Name:  crane\nNamespace:  default\nSelector:  app=crane\n"),
        "{described}"
    );

    step("apply: unchanged, configured after a scale, created from stdin and from a directory");
    assert_eq!(
        c.ok(&["apply", "-f", &fixture("rc-crane.yaml")]),
        "replicationcontroller/crane configured\n",
        "the first apply adds its annotation"
    );
    assert_eq!(
        c.ok(&["apply", "-f", &fixture("rc-crane.yaml")]),
        "replicationcontroller/crane unchanged\n"
    );
    c.ok(&["scale", "rc", "crane", "--replicas", "4"]);
    c.wait_for("crane to have 4 ready pods", MINUTE, &["get", "rc"], |o| {
        mask(o).contains("crane  4  4  4  <age>")
    });
    assert_eq!(
        c.ok(&["apply", "-f", &fixture("rc-crane.yaml")]),
        "replicationcontroller/crane configured\n"
    );
    let rc: Value = serde_json::from_str(&c.ok(&["get", "rc", "crane", "-o", "json"])).unwrap();
    assert_eq!(
        rc["spec"]["replicas"], 3,
        "apply set back what the manifest says"
    );
    c.wait_for(
        "crane back to exactly 3 pods",
        MINUTE,
        &["get", "po", "-l", "app=crane"],
        |o| mask(o) == pods,
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kubia-manual\n  labels:\n    creation_method: manual\nspec:\n  containers:\n  - image: luksa/kubia\n    name: kubia\n    ports:\n    - containerPort: 8080\n      protocol: TCP\n";
    assert_eq!(
        c.ok_stdin(&["create", "-f", "-"], pod),
        "pod/kubia-manual created\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("rs-crane-matchexpressions.yaml"),
        dir.path().join("a-rs.yaml"),
    )
    .unwrap();
    std::fs::copy(
        fixture("pod-liveness-http.yaml"),
        dir.path().join("b-pod.yaml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let applied = c.ok(&["apply", "-f", &dir.path().display().to_string()]);
    assert_eq!(
        applied,
        "replicaset.apps/crane-expr created\npod/crane-liveness created\n"
    );

    step("describe a pod: containers, probe line, conditions, events");
    c.wait_for(
        "crane-liveness Running",
        MINUTE,
        &["get", "po", "crane-liveness"],
        |o| o.contains(" Running "),
    );
    let describe = c.wait_for(
        "crane-liveness's start events",
        MINUTE,
        &["describe", "po", "crane-liveness"],
        |o| o.contains("Started container crane"),
    );
    assert_eq!(
        any_node(&mask_events_unordered(&describe)),
        "\
Name:  crane-liveness
Namespace:  default
Node:  node-N/<ip>
Start Time:  <time>
Labels:  <none>
Annotations:  <none>
Status:  Running
IP:  <ip>
IPs:
  IP:  <ip>
Containers:
  crane:
    Container ID:  skiff://<uid>/crane/0
    Image:  heejeong/crane
    Port:  <none>
    Host Port:  <none>
    State:  Running
      Started:  <time>
    Ready:  True
    Restart Count:  0
    Liveness:  http-get http://:8080/test delay=15s timeout=1s period=10s #success=1 #failure=3
    Environment:  <none>
Conditions:
  Type  Status
  PodScheduled  True
  Initialized  True
  ContainersReady  True
  Ready  True
Node-Selectors:  <none>
Events:
  Type  Reason  Age  From  Message
  ----  ------  ----  ----  -------
  Normal  Created  <age>  kubelet  Created container crane
  Normal  Pulled  <age>  kubelet  Container image \"heejeong/crane\" already present on machine
  Normal  Scheduled  <age>  default-scheduler  Successfully assigned default/crane-liveness to node-N
  Normal  Started  <age>  kubelet  Started container crane
"
    );
    assert!(describe.contains("    Liveness:       http-get http://:8080/test delay=15s timeout=1s period=10s #success=1 #failure=3\n"), "{describe}");

    step("describe a replication controller and a replica set");
    assert_eq!(
        mask_events_unordered(&c.ok(&["describe", "rc", "crane"])),
        "\
Name:  crane
Namespace:  default
Selector:  app=crane
Labels:  app=crane
Annotations:  <none>
Replicas:  3 current / 3 desired
Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=crane
  Containers:
   crane:
    Image:  heejeong/crane
    Port:  8080/TCP
    Host Port:  0/TCP
    Environment:  <none>
  Node-Selectors:  <none>
Events:
  Type  Reason  Age  From  Message
  ----  ------  ----  ----  -------
  Normal  SuccessfulCreate  <age>  replication-controller  Created pod: crane-xxxxx
  Normal  SuccessfulCreate  <age>  replication-controller  Created pod: crane-xxxxx
  Normal  SuccessfulCreate  <age>  replication-controller  Created pod: crane-xxxxx
  Normal  SuccessfulCreate  <age>  replication-controller  Created pod: crane-xxxxx
  Normal  SuccessfulDelete  <age>  replication-controller  Deleted pod: crane-xxxxx
"
    );
    c.wait_for("crane-expr ready", MINUTE, &["get", "rs"], |o| {
        mask(o).contains("crane-expr  3  3  3  <age>")
    });
    assert_eq!(
        mask(&c.ok(&["get", "rs", "-o", "wide"])),
        "NAME  DESIRED  CURRENT  READY  AGE  CONTAINERS  IMAGES  SELECTOR\ncrane-expr  3  3  3  <age>  crane  heejeong/crane  app in (crane-expr),env notin (dev)\n"
    );
    assert_eq!(
        c.ok(&["scale", "rs", "crane-expr", "--replicas=1"]),
        "replicaset.apps/crane-expr scaled\n"
    );
    let rs = mask(&c.ok(&["describe", "rs/crane-expr"]));
    assert!(rs.starts_with("Name:  crane-expr\nNamespace:  default\nSelector:  app in (crane-expr),env notin (dev)\n"), "{rs}");
    assert!(
        rs.contains("\nReplicas:  ") && rs.contains("\nPod Template:\n  Labels:  app=crane-expr\n"),
        "{rs}"
    );

    step("errors are kubectl's, with exit status 1");
    assert_eq!(
        c.fails(&["get", "po", "nosuch"]),
        "Error from server (NotFound): pods \"nosuch\" not found\n"
    );
    assert!(c
        .fails(&["get", "foo"])
        .starts_with("error: the server doesn't have a resource type \"foo\""));
    assert_eq!(
        c.fails(&["create", "-f", &fixture("rc-crane.yaml")]),
        format!("Error from server (AlreadyExists): error when creating {:?}: replicationcontrollers \"crane\" already exists\n", fixture("rc-crane.yaml"))
    );
    assert_eq!(
        c.run(&["get", "rs", "-n", "empty"]).stderr,
        "No resources found in empty namespace.\n"
    );
    assert!(c
        .fails(&["describe", "po", "nosuch"])
        .contains("pods \"nosuch\" not found"));

    step("a misspelt field is refused with its path and a suggestion");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(fixture("pod-liveness-http.yaml"))
            .unwrap()
            .replace("crane-liveness", "crane-typo")
            .replace("initialDelaySeconds", "initalDelaySeconds"),
    )
    .unwrap();
    let err = c.fails(&["create", "-f", &bad.display().to_string()]);
    assert!(
        err.contains("spec.containers[0].livenessProbe.initalDelaySeconds"),
        "{err}"
    );
    assert!(
        err.contains("did you mean \"initialDelaySeconds\""),
        "{err}"
    );
    assert!(
        err.starts_with("Error from server (BadRequest): error when creating"),
        "{err}"
    );
    assert!(
        c.fails(&["get", "po", "crane-typo"]).contains("not found"),
        "nothing was stored"
    );

    step("get -w streams changes");
    let watch = c.stream(&["get", "po", "kubia-manual", "-w"]);
    let first = watch.until(MINUTE, |l| l.starts_with("kubia-manual"));
    assert!(first[0].starts_with("NAME "), "{first:?}");
    c.ok(&["label", "po", "kubia-manual", "watched=yes"]);
    c.ok(&["delete", "po", "kubia-manual", "--now", "--wait=false"]);
    watch.until(MINUTE, |l| {
        l.starts_with("kubia-manual") && l.contains("Terminating")
    });
}

#[test]
fn daemonsets_jobs_and_cronjobs() {
    let c = up();

    step("a daemon set runs on the disk=ssd node only");
    assert_eq!(
        c.ok(&["create", "-f", &fixture("ds-ssd-monitor.yaml")]),
        "daemonset.apps/ssd-monitor created\n"
    );
    c.wait_for("the ssd-monitor pod", MINUTE, &["get", "ds"], |o| {
        mask(o).contains("ssd-monitor  1  1  1  1  1  disk=ssd  <age>")
    });
    assert_eq!(
        mask(&c.ok(&["get", "ds"])),
        "NAME  DESIRED  CURRENT  READY  UP-TO-DATE  AVAILABLE  NODE SELECTOR  AGE\nssd-monitor  1  1  1  1  1  disk=ssd  <age>\n"
    );
    assert!(c
        .ok(&["get", "po", "-o", "wide"])
        .lines()
        .any(|l| l.starts_with("ssd-monitor-") && l.ends_with("node-1")));
    let ds = mask(&c.ok(&["describe", "ds", "ssd-monitor"]));
    assert!(
        ds.starts_with(
            "Name:  ssd-monitor\nSelector:  app=ssd-monitor\nNode-Selector:  disk=ssd\n"
        ),
        "{ds}"
    );
    assert!(
        ds.contains("\nDesired Number of Nodes Scheduled: 1\n")
            && ds.contains("\nPods Status:  1 Running / 0 Waiting / 0 Succeeded / 0 Failed\n"),
        "{ds}"
    );

    step("a job runs to completion; its pod shows Completed");
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: quick\nspec:\n  completions: 2\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n      - name: main\n        image: busybox\n        command: [\"sh\", \"-c\", \"echo done\"]\n";
    assert_eq!(
        c.ok_stdin(&["create", "-f", "-"], job),
        "job.batch/quick created\n"
    );
    c.wait_for("the job to complete", MINUTE, &["get", "jobs"], |o| {
        o.contains(" 2/2 ")
    });
    assert_eq!(
        mask(&c.ok(&["get", "job", "quick"])),
        "NAME  COMPLETIONS  DURATION  AGE\nquick  2/2  <age>  <age>\n"
    );
    let pods = mask(&c.ok(&["get", "po", "-l", "job-name=quick"]));
    assert_eq!(
        pods,
        "NAME  READY  STATUS  RESTARTS  AGE\n".to_string()
            + &"quick-xxxxx  0/1  Completed  0  <age>\n".repeat(2)
    );
    let described = mask(&c.ok(&["describe", "job", "quick"]));
    assert!(
        described.contains("\nCompletions:  2\n")
            && described.contains("\nPods Statuses:  0 Active / 2 Succeeded / 0 Failed\n"),
        "{described}"
    );

    step("a cron job shows its schedule");
    // Suspended, so a quarter hour passing during the test changes nothing.
    let cronjob = std::fs::read_to_string(fixture("cronjob-every-fifteen-minutes.yaml"))
        .unwrap()
        .replace("spec:\n  schedule:", "spec:\n  suspend: true\n  schedule:");
    assert!(cronjob.contains("suspend: true"), "{cronjob}");
    assert_eq!(
        c.ok_stdin(&["create", "-f", "-"], &cronjob),
        "cronjob.batch/batch-job-every-fifteen-minutes created\n"
    );
    assert_eq!(
        mask(&c.ok(&["get", "cj"])),
        "NAME  SCHEDULE  SUSPEND  ACTIVE  LAST SCHEDULE  AGE\nbatch-job-every-fifteen-minutes  0,15,30,45 * * * *  True  0  <none>  <age>\n"
    );
    let cj = c.ok(&["describe", "cronjob", "batch-job-every-fifteen-minutes"]);
    assert!(
        mask(&cj).contains("\nSchedule:  0,15,30,45 * * * *\n"),
        "{cj}"
    );
    assert!(
        cj.lines()
            .any(|l| l.starts_with("Starting Deadline Seconds:  ") && l.ends_with(" 15s")),
        "{cj}"
    );

    step("describe node");
    let node = mask(&c.ok(&["describe", "node", "node-1"]));
    for line in [
        "Name:  node-1\n",
        "Labels:  disk=ssd\n",
        "  Ready  True  <time>  <time>",
        "Addresses:\n  InternalIP:  <ip>\n",
        "Non-terminated Pods:  (",
        "  default  ssd-monitor-xxxxx  0 (0%)  0 (0%)  0 (0%)  0 (0%)  <age>",
    ] {
        assert!(node.contains(line), "{line:?} missing in\n{node}");
    }
}
