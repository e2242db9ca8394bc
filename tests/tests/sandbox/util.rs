//! Helpers of the sandbox scenarios: running a command inside a container (the same
//! `enter` helper exec probes and `skiff exec` use) and listing what a cluster left.

use std::process::Command;

use skiff_api::types::Pod;
use skiff_testkit::binary::binary;

use crate::util::Cluster;

/// Runs `argv` inside the pod's container `main` (instance 0) on `node`; returns
/// (exit code, stdout + stderr).
pub fn enter(c: &Cluster, node: &str, pod: &Pod, argv: &[&str]) -> (i32, String) {
    let pid = c
        .container_pid(node, pod, "main", 0)
        .expect("the container's PID");
    let out = Command::new(binary("skiff-nodelet-shim"))
        .args(["enter", "--pid", &pid.to_string(), "--cwd", "/", "--"])
        .args(argv)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .expect("running the enter helper");
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The pause process and host veth of a pod's sandbox on `node`.
pub fn sandbox_record(c: &Cluster, node: &str, pod: &Pod) -> serde_json::Value {
    let path = c
        .data_dir(node)
        .join("sandboxes")
        .join(&pod.metadata.uid)
        .join("sandbox.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("sandbox.json")
}

/// Every mount point of this host's mount namespace under `dir`.
pub fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.display().to_string();
    text.lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(4)
                .is_some_and(|m| m.starts_with(&dir))
        })
        .map(str::to_string)
        .collect()
}
