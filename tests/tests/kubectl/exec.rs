//! `kubectl exec` through the REST API's WebSocket stream (v5.channel.k8s.io): output, exit
//! code, stdin, and the role check; on a `skiff up` cluster whose pods run in sandboxes.

use crate::util::{step, Cluster, MINUTE};

const RC: &str = "apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia
spec:
  replicas: 1
  selector:
    app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
";

const VIEWER_TOKEN: &str = "viewer-token-for-exec";

/// The name of the only pod of the `kubia` RC once it runs.
fn running_kubia(c: &Cluster) -> String {
    let out = c.wait_for(
        "the kubia pod running",
        MINUTE,
        &[
            "get",
            "po",
            "-l",
            "app=kubia",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}",
        ],
        |o| o.lines().any(|l| l.ends_with(" Running")),
    );
    let line = out
        .lines()
        .find(|l| l.ends_with(" Running"))
        .expect("a running pod");
    line.split(' ').next().expect("name").to_string()
}

#[test]
fn kubectl_exec_streams_output_exit_code_and_stdin() {
    let c = Cluster::up();
    let rc = c.write("kubia-rc.yaml", RC);
    c.ok(&["create", "-f", &rc]);
    let pod = running_kubia(&c);
    assert!(pod.starts_with("kubia-"), "{pod}");

    step("kubectl exec POD -- cat /etc/hostname: the pod's name");
    assert_eq!(
        c.ok(&["exec", &pod, "--", "cat", "/etc/hostname"]),
        format!("{pod}\n")
    );
    step("-c names the container; stderr comes back apart from stdout");
    let run = c.run(&[
        "exec",
        &pod,
        "-c",
        "kubia",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!(
        (run.status, run.stdout.as_str(), run.stderr.as_str()),
        (0, "out\n", "err\n")
    );

    step("the command's exit code is kubectl's");
    let run = c.run(&["exec", &pod, "--", "sh", "-c", "exit 3"]);
    assert_eq!(run.status, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("command terminated with exit code 3"),
        "{}",
        run.stderr
    );

    step("-i pipes stdin, and its end ends the command");
    let run = c.run_stdin(&["exec", "-i", &pod, "--", "cat"], "hi\nthere\n");
    assert_eq!(
        (run.status, run.stdout.as_str()),
        (0, "hi\nthere\n"),
        "{}",
        run.stderr
    );
    let run = c.run_stdin(&["exec", "-i", &pod, "--", "wc", "-c"], "12345");
    assert_eq!(run.stdout.trim(), "5", "{}", run.stderr);

    step("an unknown container or pod is refused by name");
    let refused = c.fails(&["exec", &pod, "-c", "nope", "--", "true"]);
    assert!(
        refused.contains(&format!("container nope is not valid for pod {pod}")),
        "{refused}"
    );
    let refused = c.fails(&["exec", "missing", "--", "true"]);
    assert!(
        refused.contains("(NotFound)") && refused.contains("pods \"missing\" not found"),
        "{refused}"
    );

    step("a viewer may not exec");
    c.add_token(VIEWER_TOKEN, "vera", "skiff:viewers");
    let run = c.run(&["--token", VIEWER_TOKEN, "exec", &pod, "--", "true"]);
    assert_ne!(run.status, 0, "{}", run.stdout);
    assert!(
        run.stderr.to_lowercase().contains("forbidden")
            && run
                .stderr
                .contains("User \"vera\" cannot create resource \"pods/exec\""),
        "{}",
        run.stderr
    );
}
