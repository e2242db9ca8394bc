//! `skiff exec` through the apiserver and the pod's nodelet: output, exit code, stdin.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use skiff_testkit::binary::binary;
use skiff_testkit::cluster::ADMIN_TOKEN;
use skiff_testkit::{step, NodeletSpec};

use crate::util::{pod, Cluster};

/// Runs `skiff exec ARGS` against the cluster with `input` on stdin; returns (exit code,
/// stdout, stderr).
fn skiff_exec(c: &Cluster, args: &[&str], input: &[u8]) -> (i32, String, String) {
    let server = c.tc.apiserver_endpoints()[0].clone();
    let mut command = Command::new(binary("skiff"));
    command.args(["--server", &server, "--token", ADMIN_TOKEN]);
    if let Some(pki) = c.tc.pki() {
        command.arg("--certificate-authority").arg(pki.ca_cert());
    }
    let mut child = command
        .arg("exec")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("skiff exec");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().expect("skiff exec output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn skiff_exec_runs_in_the_container_with_output_exit_code_and_stdin() {
    let c = Cluster::start_sandboxed(vec![NodeletSpec::new("n1")]).await;
    c.create(&pod(
        "shell",
        "n1",
        json!({"containers": [{"name": "main", "image": "busybox",
                               "command": ["sh", "-c", "echo inside > /tmp/mark; sleep 600"]}]}),
    ))
    .await;
    let shell = c
        .wait_pod("shell", "Running", 30, |p| p.status.phase == "Running")
        .await;

    step("cat /etc/hostname: the pod's name, exit code 0");
    assert_eq!(
        skiff_exec(&c, &["shell", "--", "cat", "/etc/hostname"], b""),
        (0, "shell\n".to_string(), String::new())
    );
    step("the container's own /tmp and processes");
    assert_eq!(
        skiff_exec(&c, &["shell", "--", "cat", "/tmp/mark"], b"").1,
        "inside\n"
    );
    let (_, ps, _) = skiff_exec(&c, &["shell", "--", "ps", "-o", "pid=", "-e"], b"");
    assert!(ps.split_whitespace().any(|p| p == "1"), "{ps}");
    step("the command is in the container's cgroup, as the container's process is");
    let (_, own, _) = skiff_exec(&c, &["shell", "--", "cat", "/proc/self/cgroup"], b"");
    let pid = c
        .container_pid("n1", &shell, "main", 0)
        .expect("the container's PID");
    let container = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("its cgroup");
    let memory = |text: &str| {
        text.lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|c| c == "memory"))
                    || l.starts_with("0::")
            })
            .map(|l| l.rsplit(':').next().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let cgroup = format!("/{}_main_0", shell.metadata.uid);
    assert!(memory(&container).ends_with(&cgroup), "{container}");
    assert_eq!(
        memory(&own),
        memory(&container),
        "exec: {own}container: {container}"
    );
    step("the exit code comes back");
    let (code, _, err) = skiff_exec(
        &c,
        &["shell", "--", "sh", "-c", "echo oops >&2; exit 3"],
        b"",
    );
    assert_eq!(code, 3);
    assert!(
        err.contains("oops") && err.contains("command terminated with exit code 3"),
        "{err}"
    );
    step("-i pipes stdin");
    assert_eq!(
        skiff_exec(&c, &["-i", "shell", "--", "tr", "a-z", "A-Z"], b"hello\n"),
        (0, "HELLO\n".to_string(), String::new())
    );
    step("without -i the command's stdin is empty");
    assert_eq!(skiff_exec(&c, &["shell", "--", "cat"], b"ignored\n").1, "");
}
