//! The steps a pod's revisions and events tell, and their order.

use serde_json::{json, Value};
use skiff_client::history::{History, Revision};

use super::steps::{event_steps, object_steps, timeline};

fn written(revision: i64, manager: &str, time: &str, mut object: Value) -> Revision {
    object["metadata"]["managedFields"] =
        json!([{"manager": manager, "operation": "Update", "time": time}]);
    Revision {
        revision,
        deleted: false,
        object,
    }
}

fn history(revisions: Vec<Revision>) -> History {
    History {
        revisions,
        compacted_revision: 0,
        revision: 100,
    }
}

#[test]
fn a_pods_life_from_its_revisions_and_events() {
    let created = json!({"metadata": {"name": "p"}, "spec": {}, "status": {"phase": "Pending"}});
    let mut bound = created.clone();
    bound["spec"]["nodeName"] = json!("node-1");
    let mut running = bound.clone();
    running["status"] = json!({"phase": "Running", "containerStatuses": [
        {"name": "c", "ready": true, "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}]});
    let mut restarted = running.clone();
    restarted["status"]["containerStatuses"][0]["restartCount"] = json!(1);
    restarted["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] =
        json!("2026-01-01T00:00:09Z");
    let pod = history(vec![
        written(10, "admin", "2026-01-01T00:00:00.100Z", created),
        written(11, "skiff-scheduler", "2026-01-01T00:00:00.150Z", bound),
        written(
            13,
            "skiff-nodelet",
            "2026-01-01T00:00:01.000Z",
            running.clone(),
        ),
        written(
            20,
            "skiff-nodelet",
            "2026-01-01T00:00:09.000Z",
            restarted.clone(),
        ),
        Revision {
            revision: 25,
            deleted: true,
            object: restarted,
        },
    ]);
    let mut steps = object_steps("pod/p", &pod);
    let whats: Vec<&str> = steps.iter().map(|s| s.what.as_str()).collect();
    assert_eq!(whats[0], "created");
    assert_eq!(whats[1], "scheduled to node-1");
    assert!(
        whats[2].contains("container c started") && whats[2].contains("phase Running"),
        "{}",
        whats[2]
    );
    assert!(
        whats[3].contains("container c restarted (restart count 1)"),
        "{}",
        whats[3]
    );
    assert_eq!(whats[4], "deleted from the store");
    assert_eq!(steps[1].by, "skiff-scheduler");

    let unhealthy = json!({"reason": "Unhealthy", "message": "Liveness probe failed: HTTP probe failed with statuscode: 500",
        "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet"}, "count": 3});
    let occurrences = history(
        (1..=3)
            .map(|n| {
                let mut e = unhealthy.clone();
                e["count"] = json!(n);
                written(
                    13 + n * 2,
                    "skiff-nodelet",
                    &format!("2026-01-01T00:00:0{}.500Z", n + 4),
                    e,
                )
            })
            .collect(),
    );
    let probes = event_steps(&unhealthy, Some(&occurrences));
    assert_eq!(probes.len(), 3);
    steps.extend(probes);
    let text = timeline(steps);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].trim_start().starts_with("+0ms") && lines[0].contains("created"),
        "{text}"
    );
    assert!(lines[1].trim_start().starts_with("+50ms"), "{text}");
    let probe_lines = lines.iter().filter(|l| l.contains("Unhealthy")).count();
    assert_eq!(probe_lines, 3, "{text}");
    let restart = lines.iter().position(|l| l.contains("restarted")).unwrap();
    let last_probe = lines.iter().rposition(|l| l.contains("Unhealthy")).unwrap();
    assert!(last_probe < restart, "{text}");
    assert!(
        lines.last().unwrap().contains("deleted from the store"),
        "{text}"
    );
}
