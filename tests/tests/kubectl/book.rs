//! The book's chapter 4 with the real kubectl in place of `skiff`, over every manifest in
//! `fixtures/seed/`, outputs asserted.

use std::time::Duration;

use serde_json::Value;

use crate::util::{assert_stamped, fixture, row, rows, step, Cluster, MINUTE};

/// (manifest, what kubectl prints on create), in the book's order; `rs-crane.yaml` comes
/// later, to adopt the pods an orphaning delete leaves.
const SEED: [(&str, &str); 12] = [
    ("pod-kubia-unhealthy.yaml", "pod/kubia-liveness created"),
    ("pod-liveness-http.yaml", "pod/crane-liveness created"),
    ("pod-liveness-exec.yaml", "pod/healthy-file created"),
    ("pod-liveness-tcp.yaml", "pod/crane-tcp created"),
    ("rc-crane.yaml", "replicationcontroller/crane created"),
    (
        "rs-crane-matchexpressions.yaml",
        "replicaset.apps/crane-expr created",
    ),
    ("ds-ssd-monitor.yaml", "daemonset.apps/ssd-monitor created"),
    ("job-batch.yaml", "job.batch/batch-job created"),
    (
        "job-deadline.yaml",
        "job.batch/time-limited-batch-job created",
    ),
    (
        "job-multi-completion.yaml",
        "job.batch/multi-completion-batch-job created",
    ),
    (
        "job-multi-completion-parallel.yaml",
        "job.batch/multi-completion-parallel-batch-job created",
    ),
    (
        "cronjob-every-fifteen-minutes.yaml",
        "cronjob.batch/batch-job-every-fifteen-minutes created",
    ),
];

fn header(table: &str) -> String {
    table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn book_chapter_with_kubectl() {
    let c = Cluster::up();

    step("get nodes");
    let nodes = c.ok(&["get", "no"]);
    assert_eq!(header(&nodes), "NAME STATUS ROLES AGE VERSION", "{nodes}");
    for node in ["node-1", "node-2"] {
        assert_eq!(row(&nodes, node)[1], "Ready", "{nodes}");
    }
    let labelled = c.ok(&["get", "nodes", "-l", "disk=ssd", "-o", "name"]);
    assert_eq!(labelled, "node/node-1\n");

    step("create -f every seed manifest");
    for (file, created) in SEED {
        assert_eq!(
            c.ok(&["create", "-f", &fixture(file)]),
            format!("{created}\n"),
            "{file}"
        );
    }
    let again = c.fails(&["create", "-f", &fixture("rc-crane.yaml")]);
    assert!(
        again.contains("Error from server (AlreadyExists)")
            && again.contains("\"crane\" already exists"),
        "{again}"
    );

    step("get rc / rs / ds / jobs / cj");
    let rc = c.wait_for("crane's 3 pods ready", MINUTE, &["get", "rc"], |o| {
        rows(o).iter().any(|r| r[..4] == ["crane", "3", "3", "3"])
    });
    assert_eq!(header(&rc), "NAME DESIRED CURRENT READY AGE");
    let rs = c.wait_for(
        "crane-expr ready",
        MINUTE,
        &["get", "rs", "-o", "wide"],
        |o| {
            rows(o)
                .iter()
                .any(|r| r[..4] == ["crane-expr", "3", "3", "3"])
        },
    );
    assert_eq!(
        header(&rs),
        "NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR",
        "{rs}"
    );
    assert!(
        row(&rs, "crane-expr")[5..].join(" ")
            == "crane heejeong/crane app in (crane-expr),env notin (dev)",
        "{rs}"
    );
    let ds = c.wait_for("the ssd-monitor pod", MINUTE, &["get", "ds"], |o| {
        row(o, "ssd-monitor")[1..6] == ["1", "1", "1", "1", "1"]
    });
    assert_eq!(
        header(&ds),
        "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE"
    );
    assert_eq!(row(&ds, "ssd-monitor")[6], "disk=ssd");
    let jobs = c.ok(&["get", "jobs"]);
    assert_eq!(header(&jobs), "NAME COMPLETIONS DURATION AGE", "{jobs}");
    assert_eq!(row(&jobs, "multi-completion-batch-job")[1], "0/5", "{jobs}");
    let cj = c.ok(&["get", "cj"]);
    assert_eq!(
        header(&cj),
        "NAME SCHEDULE SUSPEND ACTIVE LAST SCHEDULE AGE",
        "{cj}"
    );
    assert_eq!(
        row(&cj, "batch-job-every-fifteen-minutes")[1..6],
        ["0,15,30,45", "*", "*", "*", "*"]
    );

    step("get po: -o wide, name, yaml, json, --show-labels, -l");
    let wide = c.wait_for(
        "crane-liveness running",
        MINUTE,
        &["get", "po", "-o", "wide"],
        |o| row(o, "crane-liveness")[2] == "Running",
    );
    assert_eq!(
        header(&wide),
        "NAME READY STATUS RESTARTS AGE IP NODE",
        "{wide}"
    );
    let liveness = row(&wide, "crane-liveness");
    assert!(
        liveness[5].parse::<std::net::Ipv4Addr>().is_ok(),
        "pod IP: {wide}"
    );
    assert!(liveness[6].starts_with("node-"), "node: {wide}");
    let crane_pods = c.ok(&["get", "po", "-l", "app=crane", "-o", "name"]);
    let crane_pods: Vec<&str> = crane_pods.lines().collect();
    assert_eq!(crane_pods.len(), 3, "{crane_pods:?}");
    assert!(
        crane_pods.iter().all(|p| p.starts_with("pod/crane-")),
        "{crane_pods:?}"
    );
    let labels = c.ok(&["get", "po", "--show-labels", "-l", "app=crane"]);
    assert_eq!(header(&labels), "NAME READY STATUS RESTARTS AGE LABELS");
    assert!(
        rows(&labels)[1..].iter().all(|r| r[5] == "app=crane"),
        "{labels}"
    );
    let yaml = c.ok(&["get", "po", "kubia-liveness", "-o", "yaml"]);
    for line in [
        "apiVersion: v1",
        "kind: Pod",
        "  name: kubia-liveness",
        "    livenessProbe:",
        "        path: /",
    ] {
        assert!(yaml.lines().any(|l| l == line), "{line:?} in:\n{yaml}");
    }
    let json: Value = serde_json::from_str(&c.ok(&["get", "po", "-o", "json"])).expect("json");
    assert_eq!(json["kind"], "List");
    let names: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    for name in [
        "kubia-liveness",
        "crane-liveness",
        "healthy-file",
        "crane-tcp",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }

    step("get ev");
    let events = c.wait_for("events of crane-liveness", MINUTE, &["get", "ev"], |o| {
        o.contains("pod/crane-liveness")
    });
    assert_eq!(
        header(&events),
        "LAST SEEN TYPE REASON OBJECT MESSAGE",
        "{events}"
    );
    assert!(
        rows(&events)
            .iter()
            .any(|r| r.get(2).map(String::as_str) == Some("Scheduled")),
        "{events}"
    );

    step("get -w sees a new pod when the rc is scaled");
    let watch = c.stream(&["get", "po", "-l", "app=crane", "-w", "--no-headers"]);
    let before: Vec<String> = crane_pods
        .iter()
        .map(|p| p.trim_start_matches("pod/").to_string())
        .collect();
    // Scale only once kubectl has printed its initial list: a pod created before
    // that list would be part of it (sorted by name), not a watch event.
    let listed = std::cell::Cell::new(0);
    let initial = watch.until(MINUTE, |l| {
        let name = l.split_whitespace().next().unwrap_or_default();
        if before.iter().any(|b| b == name) {
            listed.set(listed.get() + 1);
        }
        listed.get() == before.len()
    });
    assert_eq!(
        initial.len(),
        before.len(),
        "the watch lists exactly the existing pods first: {initial:?}"
    );
    assert_eq!(
        c.ok(&["scale", "rc", "crane", "--replicas=4"]),
        "replicationcontroller/crane scaled\n"
    );
    watch.until(MINUTE, |l| {
        l.split_whitespace()
            .next()
            .is_some_and(|n| n.starts_with("crane-") && !before.iter().any(|b| b == n))
    });
    drop(watch);
    c.wait_for("4 crane pods", MINUTE, &["get", "rc", "crane"], |o| {
        row(o, "crane")[1..3] == ["4", "4"]
    });

    step("label: refused without --overwrite, then relabelled");
    let pod = before[0].clone();
    let refused = c.fails(&["label", "po", &pod, "app=foo"]);
    assert_eq!(
        refused,
        "error: 'app' already has a value (crane), and --overwrite is false\n"
    );
    assert_eq!(
        c.ok(&["label", "po", &pod, "app=foo", "--overwrite"]),
        format!("pod/{pod} labeled\n")
    );
    assert_eq!(
        c.ok(&["get", "po", &pod, "-o", "jsonpath={.metadata.labels.app}"]),
        "foo"
    );
    c.wait_for(
        "a replacement for the relabelled pod",
        MINUTE,
        &["get", "po", "-l", "app=crane", "-o", "name"],
        |o| o.lines().count() == 4,
    );

    step("edit rc with KUBE_EDITOR");
    let editor = c.write(
        "editor.sh",
        "#!/bin/sh\nsed -i '0,/^  replicas: 4$/s//  replicas: 3/' \"$1\"\n",
    );
    std::process::Command::new("chmod")
        .args(["+x", &editor])
        .status()
        .expect("chmod");
    let edited = c.run_env(&["edit", "rc", "crane"], &[("KUBE_EDITOR", &editor)]);
    assert_eq!(edited.status, 0, "{}{}", edited.stdout, edited.stderr);
    assert_eq!(edited.stdout, "replicationcontroller/crane edited\n");
    assert_eq!(
        c.ok(&["get", "rc", "crane", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    c.wait_for(
        "3 crane pods again",
        MINUTE,
        &["get", "po", "-l", "app=crane", "-o", "name"],
        |o| o.lines().count() == 3,
    );

    step("apply -f twice: unchanged, then configured");
    let manifest = |replicas: u32| {
        format!(
            "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: kubia\nspec:\n  replicas: {replicas}\n  selector:\n    app: kubia\n  template:\n    metadata:\n      labels:\n        app: kubia\n    spec:\n      containers:\n      - name: kubia\n        image: luksa/kubia\n        ports:\n        - containerPort: 8080\n"
        )
    };
    let file = c.write("kubia-rc.yaml", &manifest(1));
    assert_eq!(
        c.ok(&["apply", "-f", &file]),
        "replicationcontroller/kubia created\n"
    );
    assert_eq!(
        c.ok(&["apply", "-f", &file]),
        "replicationcontroller/kubia unchanged\n"
    );
    let file = c.write("kubia-rc.yaml", &manifest(2));
    assert_eq!(
        c.ok(&["apply", "-f", &file]),
        "replicationcontroller/kubia configured\n"
    );
    assert_eq!(
        c.ok(&["get", "rc", "kubia", "-o", "jsonpath={.spec.replicas}"]),
        "2"
    );
    let container = c.ok(&[
        "get",
        "rc",
        "kubia",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].ports[0].containerPort}",
    ]);
    assert_eq!(
        container, "8080",
        "apply's strategic merge keeps the container whole"
    );

    step("delete rc --cascade=orphan keeps the pods; the ReplicaSet adopts them");
    let kept = c.ok(&["get", "po", "-l", "app=crane", "-o", "name"]);
    assert_eq!(
        c.ok(&["delete", "rc", "crane", "--cascade=orphan"]),
        "replicationcontroller \"crane\" deleted from default namespace\n"
    );
    c.wait_for("the rc gone", MINUTE, &["get", "rc", "-o", "name"], |o| {
        !o.contains("crane")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        c.ok(&["get", "po", "-l", "app=crane", "-o", "name"]),
        kept,
        "orphaned pods are kept"
    );
    assert_eq!(
        c.ok(&["create", "-f", &fixture("rs-crane.yaml")]),
        "replicaset.apps/crane created\n"
    );
    c.wait_for(
        "crane rs with 3 pods",
        MINUTE,
        &["get", "rs", "crane"],
        |o| row(o, "crane")[1..4] == ["3", "3", "3"],
    );
    assert_eq!(
        c.ok(&["get", "po", "-l", "app=crane", "-o", "name"]),
        kept,
        "adopted, not replaced"
    );

    step("delete -f");
    assert_eq!(
        c.ok(&["delete", "-f", &fixture("rs-crane.yaml")]),
        "replicaset.apps \"crane\" deleted from default namespace\n"
    );
    let gone = c.fails(&["get", "rs", "crane"]);
    assert!(
        gone.contains("Error from server (NotFound): replicasets.apps \"crane\" not found"),
        "{gone}"
    );

    step("explain and api-resources");
    let explain = c.ok(&["explain", "pod.spec.containers.livenessProbe"]);
    for want in [
        "KIND:       Pod",
        "VERSION:    v1",
        "FIELD: livenessProbe <Probe>",
        "DESCRIPTION:",
        "FIELDS:",
        "initialDelaySeconds\t<integer>",
        "httpGet\t<HTTPGetAction>",
    ] {
        assert!(explain.contains(want), "{want:?} in:\n{explain}");
    }
    let resources = c.ok(&["api-resources"]);
    assert_eq!(
        header(&resources),
        "NAME SHORTNAMES APIVERSION NAMESPACED KIND",
        "{resources}"
    );
    for want in [
        ["pods", "po", "v1", "true", "Pod"],
        [
            "replicationcontrollers",
            "rc",
            "v1",
            "true",
            "ReplicationController",
        ],
        ["nodes", "no", "v1", "false", "Node"],
        ["events", "ev", "v1", "true", "Event"],
        ["namespaces", "ns", "v1", "false", "Namespace"],
        ["replicasets", "rs", "apps/v1", "true", "ReplicaSet"],
        ["daemonsets", "ds", "apps/v1", "true", "DaemonSet"],
        ["cronjobs", "cj", "batch/v1", "true", "CronJob"],
    ] {
        assert!(
            rows(&resources).iter().any(|r| r == &want),
            "{want:?} in:\n{resources}"
        );
    }
    assert!(
        rows(&resources)
            .iter()
            .any(|r| r[..2] == ["jobs", "batch/v1"]),
        "{resources}"
    );

    step("the liveness probe restarts kubia-liveness: describe, logs --previous");
    c.wait_for(
        "kubia-liveness restarted",
        Duration::from_secs(150),
        &[
            "get",
            "po",
            "kubia-liveness",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ],
        |o| o.trim().parse::<u32>().is_ok_and(|n| n >= 1),
    );
    let described = c.ok(&["describe", "po", "kubia-liveness"]);
    let line = |prefix: &str| {
        described
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{described}"))
            .split_once(':')
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        line("Liveness:"),
        "http-get http://:8080/ delay=0s timeout=1s period=10s successThreshold=1 failureThreshold=3"
    );
    assert_eq!(line("Last State:"), "Terminated");
    assert!(
        ["137", "143"].contains(&line("Exit Code:").as_str()),
        "{described}"
    );
    assert!(
        line("Restart Count:").parse::<u32>().is_ok_and(|n| n >= 1),
        "{described}"
    );
    assert!(
        described.contains("Liveness probe failed: HTTP probe failed with statuscode: 500"),
        "{described}"
    );
    assert!(
        rows(&described)
            .iter()
            .any(|r| r.len() > 2 && r[0] == "Warning" && r[1] == "Unhealthy"),
        "{described}"
    );
    let previous = c.ok(&["logs", "kubia-liveness", "--previous"]);
    assert!(previous.contains("Received request from"), "{previous}");
    let current = c.ok(&["logs", "kubia-liveness"]);
    assert!(current.starts_with("Kubia server starting"), "{current}");
    let stamped = c.ok(&["logs", "kubia-liveness", "--previous", "--timestamps"]);
    assert_stamped(&stamped, &previous);

    step("skiff up told where the kubeconfig is");
    let export = format!("export KUBECONFIG={}", c.kubeconfig().display());
    assert!(
        c.up.up_output.contains(&export),
        "skiff up prints {export:?}:\n{}",
        c.up.up_output
    );
}
