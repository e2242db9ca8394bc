//! Container processes a nodelet started: each runs under a supervisor in a session of its
//! own, so it outlives a killed nodelet; a test kills them by the PIDs their supervisors
//! recorded in the nodelet's data dir.

use std::path::Path;

use serde_json::Value;

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Field 22 of /proc/PID/stat (start time in ticks), to tell a PID's owner apart from a
/// later process that got the same PID.
fn start_ticks(pid: u64) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// SIGKILLs every container process group and supervisor recorded under a nodelet's data
/// dir (`DATA/containers/<pod>/<container>/<instance>/{child,supervisor}.json`), if the
/// recorded process still holds its PID.
pub fn kill_all(data_dir: &Path) {
    let Ok(pods) = std::fs::read_dir(data_dir.join("containers")) else {
        return;
    };
    for pod in pods.flatten() {
        for container in std::fs::read_dir(pod.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            for instance in std::fs::read_dir(container.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let dir = instance.path();
                let child = read_json(&dir.join("child.json")).map(|c| c["process"].clone());
                let supervisor = read_json(&dir.join("supervisor.json"));
                for (record, group) in [(child, true), (supervisor, false)] {
                    let Some(record) = record else { continue };
                    let (Some(pid), Some(ticks)) =
                        (record["pid"].as_u64(), record["start_ticks"].as_u64())
                    else {
                        continue;
                    };
                    if start_ticks(pid) != Some(ticks) {
                        continue;
                    }
                    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                        let signal = rustix::process::Signal::KILL;
                        let _ = if group {
                            rustix::process::kill_process_group(p, signal)
                        } else {
                            rustix::process::kill_process(p, signal)
                        };
                    }
                }
            }
        }
    }
}
