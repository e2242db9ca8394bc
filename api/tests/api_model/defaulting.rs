//! Defaulting: every value the server fills in, checked on the stored JSON.

use serde_json::json;

use super::{create_ok, UID};

#[test]
fn pod_and_probe_defaults() {
    let pod = create_ok(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: web
    image: luksa/kubia
    ports: [{containerPort: 8080, name: http}]
    env: [{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    resources: {limits: {cpu: 500m}}
    livenessProbe: {httpGet: {port: http}}
    readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 5}
  - name: sidecar
    image: busybox:1.36
"#,
    );
    let spec = &pod["spec"];
    assert_eq!(pod["metadata"]["namespace"], "default");
    assert_eq!(pod["metadata"]["generation"], 1);
    assert_eq!(pod["status"], json!({"phase": "Pending"}));
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    let web = &spec["containers"][0];
    assert_eq!(web["imagePullPolicy"], "Always");
    assert_eq!(spec["containers"][1]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(web["ports"][0]["protocol"], "TCP");
    assert_eq!(web["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(web["resources"]["requests"], json!({"cpu": "500m"}));
    assert_eq!(
        web["livenessProbe"],
        json!({
            "httpGet": {"path": "/", "port": "http", "scheme": "HTTP"},
            "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3
        })
    );
    assert_eq!(web["readinessProbe"]["periodSeconds"], 5);
    assert_eq!(web["readinessProbe"]["timeoutSeconds"], 1);
}

#[test]
fn replication_controller_defaults_selector_labels_and_replicas() {
    let rc = create_ok(
        r#"
apiVersion: v1
kind: ReplicationController
metadata: {name: crane}
spec:
  template:
    metadata: {labels: {app: crane}}
    spec: {containers: [{name: crane, image: heejeong/crane}]}
"#,
    );
    assert_eq!(rc["spec"]["replicas"], 1);
    assert_eq!(rc["spec"]["selector"], json!({"app": "crane"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "crane"}));
    assert_eq!(rc["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert!(rc.get("status").is_none());
}

#[test]
fn replica_set_defaults_replicas_but_daemon_set_has_none() {
    let rs = create_ok(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    );
    assert_eq!(rs["spec"]["replicas"], 1);
    let ds = create_ok(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    );
    assert!(ds["spec"].get("replicas").is_none());
    assert_eq!(
        ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        30
    );
}

#[test]
fn job_defaults_and_generated_selector() {
    let job = create_ok(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: batch-job}
spec:
  template:
    metadata: {labels: {app: batch-job}}
    spec:
      restartPolicy: OnFailure
      containers: [{name: main, image: luksa/batch-job}]
"#,
    );
    let spec = &job["spec"];
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["suspend"], false);
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"controller-uid": UID}})
    );
    assert_eq!(
        spec["template"]["metadata"]["labels"],
        json!({"app": "batch-job", "controller-uid": UID, "job-name": "batch-job"})
    );
    // The Job's own labels come from the template as the user wrote it.
    assert_eq!(job["metadata"]["labels"], json!({"app": "batch-job"}));
}

#[test]
fn job_with_only_parallelism_keeps_completions_unset() {
    let job = create_ok(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: q}\nspec:\n  parallelism: 3\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox}]\n",
    );
    assert!(job["spec"].get("completions").is_none());
    assert_eq!(job["spec"]["parallelism"], 3);
}

#[test]
fn job_with_manual_selector_keeps_its_own() {
    let job = create_ok(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: manual}
spec:
  manualSelector: true
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]
"#,
    );
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"app": "x"}})
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"],
        json!({"app": "x"})
    );
}

#[test]
fn cron_job_defaults() {
    let cj = create_ok(
        r#"
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: main, image: busybox}]
"#,
    );
    assert_eq!(cj["apiVersion"], "batch/v1");
    let spec = &cj["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Allow");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    assert_eq!(
        spec["jobTemplate"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        30
    );
    // Job defaults apply when the CronJob creates the Job, not to the template.
    assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
}

#[test]
fn namespace_and_node_scope() {
    let ns = create_ok("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n");
    assert!(ns["metadata"].get("namespace").is_none());
    assert_eq!(ns["status"], json!({"phase": "Active"}));
    let node = create_ok(
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-1, namespace: default, labels: {disk: ssd}}\nstatus:\n  capacity: {cpu: '2', memory: 4Gi, pods: '110'}\n  addresses: [{type: InternalIP, address: 127.0.0.2}]\n",
    );
    assert!(
        node["metadata"].get("namespace").is_none(),
        "cluster-scoped objects lose their namespace"
    );
    assert_eq!(
        node["status"]["capacity"]["memory"], "4Gi",
        "a node keeps the status it registers with"
    );
}

#[test]
fn defaulted_probes_describe_like_kubectl() {
    use skiff_api::types::Pod;
    let pod = create_ok(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    image: heejeong/crane
    livenessProbe: {httpGet: {path: /test, port: 8080}, initialDelaySeconds: 15}
  - name: b
    image: heejeong/crane
    ports: [{name: http, containerPort: 8080}]
    livenessProbe: {tcpSocket: {port: http}, periodSeconds: 5}
  - name: c
    image: busybox
    livenessProbe: {exec: {command: [cat, /tmp/healthy]}}
"#,
    );
    let pod: Pod = serde_json::from_value(pod).unwrap();
    let described: Vec<String> = pod
        .spec
        .containers
        .iter()
        .map(|c| c.liveness_probe.as_ref().unwrap().describe())
        .collect();
    assert_eq!(
        described,
        [
            "http-get http://:8080/test delay=15s timeout=1s period=10s #success=1 #failure=3",
            "tcp-socket :http delay=0s timeout=1s period=5s #success=1 #failure=3",
            "exec [cat /tmp/healthy] delay=0s timeout=1s period=10s #success=1 #failure=3",
        ]
    );
}
