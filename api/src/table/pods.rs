//! The pod row of `get pods`: READY, STATUS and RESTARTS derived exactly as kubectl's `printPod` does.

use crate::meta::Time;
use crate::types::Pod;

use crate::table::age::Clock;

pub const HEADERS: [&str; 5] = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
pub const WIDE_HEADERS: [&str; 2] = ["IP", "NODE"];

/// The STATUS column: the phase, overridden by the pod's reason, then by the first container
/// that is waiting or terminated with a reason (`ContainerCreating`, `CrashLoopBackOff`,
/// `Completed`, `Error`), and by `Terminating` while a deletion is pending.
pub fn status(pod: &Pod) -> String {
    summary(pod).reason
}

/// What kubectl's `printPod` computes for one pod.
struct Summary {
    ready: usize,
    reason: String,
    restarts: i64,
    last_restart: Option<Time>,
}

fn summary(pod: &Pod) -> Summary {
    let phase = &pod.status.phase;
    let mut reason = if pod.status.reason.is_empty() {
        phase.clone()
    } else {
        pod.status.reason.clone()
    };
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut last_restart: Option<Time> = None;
    let mut has_running = false;
    // kubectl walks the statuses from the last to the first, so the first container with
    // something to say decides the STATUS.
    for container in pod.status.container_statuses.iter().rev() {
        restarts += i64::from(container.restart_count);
        if let Some(finished) = container
            .last_state
            .terminated
            .as_ref()
            .and_then(|t| t.finished_at)
        {
            if last_restart.is_none_or(|l| l < finished) {
                last_restart = Some(finished);
            }
        }
        let state = &container.state;
        if let Some(waiting) = state.waiting.as_ref().filter(|w| !w.reason.is_empty()) {
            reason = waiting.reason.clone();
        } else if let Some(terminated) = &state.terminated {
            reason = if !terminated.reason.is_empty() {
                terminated.reason.clone()
            } else if terminated.signal != 0 {
                format!("Signal:{}", terminated.signal)
            } else {
                format!("ExitCode:{}", terminated.exit_code)
            };
        } else if container.ready && state.running.is_some() {
            has_running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        let has_ready_condition = pod
            .status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.is_true());
        reason = if has_ready_condition {
            "Running".to_string()
        } else {
            "NotReady".to_string()
        };
    }
    let terminal = phase == "Succeeded" || phase == "Failed";
    if pod.metadata.deletion_timestamp.is_some() && pod.status.reason == "NodeLost" {
        reason = "Unknown".to_string();
    } else if pod.metadata.deletion_timestamp.is_some() && !terminal {
        reason = "Terminating".to_string();
    }
    if reason.is_empty() {
        // A pod nobody has reported on yet (no phase) is waiting to be scheduled.
        reason = "Pending".to_string();
    }
    Summary {
        ready,
        reason,
        restarts,
        last_restart,
    }
}

/// One row of `get pods` (without NAMESPACE and LABELS, which the table adds).
pub fn row(pod: &Pod, wide: bool, clock: &Clock) -> Vec<String> {
    let s = summary(pod);
    let restarts = match (&s.last_restart, s.restarts) {
        (Some(at), n) if n != 0 => format!("{n} ({} ago)", clock.since(Some(at))),
        (_, n) => n.to_string(),
    };
    let mut cells = vec![
        pod.metadata.name.clone(),
        format!("{}/{}", s.ready, pod.spec.containers.len()),
        s.reason,
        restarts,
        clock.since(pod.metadata.creation_timestamp.as_ref()),
    ];
    if wide {
        cells.push(or_none(&pod.status.pod_ip));
        cells.push(or_none(&pod.spec.node_name));
    }
    cells
}

pub fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};
    use serde_json::json;

    fn clock() -> Clock {
        Clock::fixed(Utc.with_ymd_and_hms(2024, 5, 5, 10, 0, 0).unwrap())
    }

    fn pod(v: serde_json::Value) -> Pod {
        let mut base = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": "2024-05-05T09:55:00Z"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        merge(&mut base, v);
        serde_json::from_value(base).unwrap()
    }

    fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
        match (base, patch) {
            (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (b, p) => *b = p,
        }
    }

    fn running(ready: bool, restarts: i32) -> serde_json::Value {
        json!({"name": "c", "ready": ready, "restartCount": restarts,
               "state": {"running": {"startedAt": "2024-05-05T09:56:00Z"}}})
    }

    #[test]
    fn statuses_are_derived_like_kubectl() {
        let cases = [
            ("unscheduled", json!({}), "Pending"),
            (
                "pending",
                json!({"status": {"phase": "Pending"}}),
                "Pending",
            ),
            (
                "creating",
                json!({"status": {"phase": "Pending", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}),
                "ContainerCreating",
            ),
            (
                "running",
                json!({"status": {"phase": "Running", "containerStatuses": [running(true, 0)]}}),
                "Running",
            ),
            (
                "crashloop",
                json!({"status": {"phase": "Running", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
                "CrashLoopBackOff",
            ),
            (
                "completed",
                json!({"status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}),
                "Completed",
            ),
            (
                "error",
                json!({"status": {"phase": "Failed", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}),
                "Error",
            ),
            (
                "signal",
                json!({"status": {"phase": "Failed", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}}),
                "Signal:9",
            ),
            (
                "exitcode",
                json!({"status": {"phase": "Failed", "containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]}}),
                "ExitCode:2",
            ),
            (
                "terminating",
                json!({"metadata": {"deletionTimestamp": "2024-05-05T09:59:00Z"}, "status": {"phase": "Running", "containerStatuses": [running(true, 0)]}}),
                "Terminating",
            ),
            (
                "finished pods are not terminating",
                json!({"metadata": {"deletionTimestamp": "2024-05-05T09:59:00Z"}, "status": {"phase": "Succeeded"}}),
                "Succeeded",
            ),
            (
                "node lost",
                json!({"metadata": {"deletionTimestamp": "2024-05-05T09:59:00Z"}, "status": {"phase": "Running", "reason": "NodeLost"}}),
                "Unknown",
            ),
            (
                "pod reason",
                json!({"status": {"phase": "Failed", "reason": "DeadlineExceeded"}}),
                "DeadlineExceeded",
            ),
        ];
        for (what, patch, want) in cases {
            assert_eq!(status(&pod(patch)), want, "{what}");
        }
    }

    #[test]
    fn completed_with_a_running_sidecar_is_running_or_not_ready() {
        let mut p = pod(
            json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                running(true, 0)]}}),
        );
        assert_eq!(status(&p), "NotReady");
        p.status
            .conditions
            .push(crate::meta::Condition::new("Ready", true, "", ""));
        assert_eq!(status(&p), "Running");
    }

    #[test]
    fn rows_show_ready_counts_restarts_with_their_age_and_wide_columns() {
        let last = (clock().now - TimeDelta::seconds(25)).to_rfc3339();
        let p = pod(
            json!({"spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
            "status": {"phase": "Running", "podIP": "127.42.0.3", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": last}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"running": {}}}]}}),
        );
        assert_eq!(
            row(&p, true, &clock()),
            [
                "p",
                "1/2",
                "Running",
                "2 (25s ago)",
                "5m",
                "127.42.0.3",
                "node-1"
            ]
        );
        let fresh = pod(json!({}));
        assert_eq!(
            row(&fresh, true, &clock()),
            ["p", "0/1", "Pending", "0", "5m", "<none>", "<none>"]
        );
    }
}
