//! Validation: each rule of the API gets its own Kubernetes-style message and full field path.

use skiff_api::error::Reason;

use super::{create_err, UID};

/// A pod with one container built from `container` (flow-style YAML fields) and extra spec fields.
fn pod(container: &str, spec_extra: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{{container}}}]\n{spec_extra}")
}

fn rs(selector: &str, labels: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: r}}\nspec:\n  selector: {selector}\n  template:\n    metadata: {{labels: {labels}}}\n    spec: {{containers: [{{name: c, image: busybox}}]}}\n"
    )
}

fn job(restart_policy: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n  template:\n    spec:\n      restartPolicy: {restart_policy}\n      containers: [{{name: main, image: luksa/batch-job}}]\n"
    )
}

fn cron(schedule: &str, extra: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: c}}\nspec:\n  schedule: \"{schedule}\"\n{extra}  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers: [{{name: main, image: busybox}}]\n"
    )
}

/// Asserts the manifest is refused as Invalid with a cause that reads `want` exactly.
fn assert_invalid(manifest: &str, want: &str) {
    let err = create_err(manifest);
    assert_eq!(err.reason, Reason::Invalid, "{}", err.message);
    let causes: Vec<String> = err.details.causes.iter().map(ToString::to_string).collect();
    assert!(
        causes.iter().any(|c| c == want),
        "want cause {want:?}\n got {causes:#?}"
    );
}

#[test]
fn pod_rules() {
    let table = [
        (pod("name: a", ""), "spec.containers[0].image: Required value"),
        (pod("image: busybox", ""), "spec.containers[0].name: Required value"),
        (
            pod("name: Web, image: busybox", ""),
            "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b}, {name: a, image: c}]}\n".to_string(),
            "spec.containers[1].name: Duplicate value: \"a\"",
        ),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n".to_string(), "spec.containers: Required value"),
        (
            pod("name: a, image: b, ports: [{containerPort: 70000}]", ""),
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            pod("name: a, image: b, ports: [{containerPort: 80, protocol: TPC}]", ""),
            "spec.containers[0].ports[0].protocol: Unsupported value: \"TPC\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
        ),
        (
            pod("name: a, image: b", "  restartPolicy: Sometimes\n"),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ),
        (
            pod("name: a, image: b, livenessProbe: {periodSeconds: 5}", ""),
            "spec.containers[0].livenessProbe: Required value: must specify a handler type (exec, httpGet or tcpSocket)",
        ),
        (
            pod("name: a, image: b, livenessProbe: {exec: {command: [cat, /tmp/healthy]}, tcpSocket: {port: 80}}", ""),
            "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        ),
        (
            pod("name: a, image: b, livenessProbe: {tcpSocket: {port: 0}}", ""),
            "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ),
        (
            pod("name: a, image: b, livenessProbe: {httpGet: {port: 80}, periodSeconds: -1}", ""),
            "spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            pod("name: a, image: b, livenessProbe: {httpGet: {port: 80}, successThreshold: 2}", ""),
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        ),
        (
            pod("name: a, image: b, readinessProbe: {httpGet: {port: 80, scheme: FTP}}", ""),
            "spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"",
        ),
        (
            pod("name: a, image: b, resources: {requests: {cpu: '2'}, limits: {cpu: '1'}}", ""),
            "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        ),
        (
            pod("name: a, image: b, resources: {requests: {gpu: '1'}}", ""),
            "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
        ),
        (
            pod("name: a, image: b, env: [{name: 1X, value: y}]", ""),
            "spec.containers[0].env[0].name: Invalid value: \"1X\": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
        ),
        (
            pod("name: a, image: b", "  nodeSelector: {disk: 'ssd drive'}\n"),
            "spec.nodeSelector: Invalid value: \"ssd drive\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
        (
            pod("name: a, image: b", "  activeDeadlineSeconds: 0\n"),
            "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
        ),
    ];
    for (manifest, want) in table {
        assert_invalid(&manifest, want);
    }
}

#[test]
fn metadata_rules() {
    assert_invalid(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {'-app': x}}\nspec: {containers: [{name: a, image: b}]}\n",
        "metadata.labels: Invalid value: \"-app\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
    assert_invalid(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: My_Pod}\nspec: {containers: [{name: a, image: b}]}\n",
        "metadata.name: Invalid value: \"My_Pod\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
    assert_invalid(
        "apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: b}}\nspec: {containers: [{name: a, image: b}]}\n",
        "metadata.name: Required value: name or generateName is required",
    );
}

#[test]
fn selectors_must_match_template_labels() {
    assert_invalid(
        &rs("{matchLabels: {app: crane}}", "{app: kubia}"),
        "spec.template.metadata.labels: Invalid value: {\"app\":\"kubia\"}: `selector` does not match template `labels`",
    );
    assert_invalid(
        &rs("{matchExpressions: [{key: app, operator: In, values: [crane]}]}", "{app: kubia}"),
        "spec.template.metadata.labels: Invalid value: {\"app\":\"kubia\"}: `selector` does not match template `labels`",
    );
    assert_invalid(
        "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n  selector: {app: crane}\n  template:\n    metadata: {labels: {app: other}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
        "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`",
    );
    assert_invalid(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  template:\n    metadata: {labels: {app: x}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
        "spec.selector: Required value",
    );
    assert_invalid(
        &rs("{}", "{app: x}"),
        "spec.selector: Invalid value: {}: empty selector is invalid for ReplicaSet",
    );
}

#[test]
fn match_expression_rules() {
    assert_invalid(
        &rs("{matchExpressions: [{key: app, operator: Exists, values: [crane]}]}", "{app: crane}"),
        "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    );
    assert_invalid(
        &rs("{matchExpressions: [{key: app, operator: In}]}", "{app: crane}"),
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    );
    assert_invalid(
        &rs("{matchExpressions: [{key: app, operator: in, values: [crane]}]}", "{app: crane}"),
        "spec.selector.matchExpressions[0].operator: Unsupported value: \"in\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\" (did you mean \"In\"?)",
    );
}

/// The notes' typo, `DoesNotExists`, is refused with the nearest operator.
#[test]
fn a_misspelt_operator_gets_a_did_you_mean() {
    assert_invalid(
        &rs("{matchExpressions: [{key: app, operator: DoesNotExists}]}", "{app: crane}"),
        "spec.selector.matchExpressions[0].operator: Unsupported value: \"DoesNotExists\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\" (did you mean \"DoesNotExist\"?)",
    );
}

#[test]
fn controllers_run_forever() {
    assert_invalid(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {restartPolicy: OnFailure, containers: [{name: c, image: busybox}]}\n",
        "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
    );
    assert_invalid(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    );
}

#[test]
fn job_rules() {
    assert_invalid(&job("Always"), "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"");
    // Left out, restartPolicy defaults to Always, which a Job refuses (as in Kubernetes).
    let no_policy = job("Never").replace("      restartPolicy: Never\n", "");
    assert_invalid(&no_policy, "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"");
    assert_invalid(
        &job("Never").replace("spec:\n  template", "spec:\n  completions: -2\n  template"),
        "spec.completions: Invalid value: -2: must be greater than or equal to 0",
    );
    assert_invalid(
        &job("Never").replace("spec:\n  template", "spec:\n  selector: {matchLabels: {app: x}}\n  template"),
        &format!("spec.selector: Invalid value: {{\"matchLabels\":{{\"app\":\"x\",\"controller-uid\":\"{UID}\"}}}}: `selector` not auto-generated (set `manualSelector: true` to choose your own selector)"),
    );
    assert_invalid(
        &job("Never").replace("spec:\n  template", "spec:\n  manualSelector: true\n  selector: {matchLabels: {app: x}}\n  template"),
        "spec.template.metadata.labels: Invalid value: {}: `selector` does not match template `labels`",
    );
}

#[test]
fn cron_job_rules() {
    let err = create_err(&cron("61 * * * *", ""));
    let cause = err
        .details
        .causes
        .iter()
        .find(|c| c.field == "spec.schedule")
        .expect("a schedule cause");
    assert!(
        cause.message.starts_with("Invalid value: \"61 * * * *\": "),
        "{}",
        cause.message
    );
    assert!(
        cause.message.contains("minute"),
        "the message names the field: {}",
        cause.message
    );
    let err = create_err(&cron("* * *", ""));
    assert!(
        err.message.contains("expected exactly 5 fields, found 3"),
        "{}",
        err.message
    );
    assert_invalid(&cron("* * * * *", "  concurrencyPolicy: Sometimes\n"), "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"");
    assert_invalid(
        &cron("* * * * *", "  startingDeadlineSeconds: -5\n"),
        "spec.startingDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0",
    );
    assert_invalid(
        &cron("* * * * *", "").replace("restartPolicy: OnFailure", "restartPolicy: Always"),
        "spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
    );
}

#[test]
fn several_problems_are_reported_together() {
    let err = create_err(&pod(
        "name: a, ports: [{containerPort: 0}]",
        "  restartPolicy: Sometimes\n",
    ));
    assert_eq!(err.details.causes.len(), 3, "{:#?}", err.details.causes);
    assert!(
        err.message
            .starts_with("Pod \"p\" is invalid: [spec.containers[0].image: Required value, "),
        "{}",
        err.message
    );
}
