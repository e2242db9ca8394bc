//! What controllers ask of pods: active or finished, ready, which to delete first, and new pods from a template.

use std::cmp::Ordering;

use skiff_api::meta::{find_condition, ObjectMeta, OwnerReference, Time};
use skiff_api::types::{Pod, PodTemplateSpec};

pub const PHASE_PENDING: &str = "Pending";
pub const PHASE_RUNNING: &str = "Running";
pub const PHASE_SUCCEEDED: &str = "Succeeded";
pub const PHASE_FAILED: &str = "Failed";

/// Neither finished nor being deleted: the pods controllers count (Kubernetes'
/// `IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    !is_finished(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// Succeeded or Failed: its containers will not run again.
pub fn is_finished(pod: &Pod) -> bool {
    pod.status.phase == PHASE_SUCCEEDED || pod.status.phase == PHASE_FAILED
}

/// The pod's `Ready` condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    find_condition(&pod.status.conditions, "Ready").is_some_and(|c| c.is_true())
}

/// When the pod last became ready, if it is.
fn ready_since(pod: &Pod) -> Option<Time> {
    find_condition(&pod.status.conditions, "Ready")
        .filter(|c| c.is_true())
        .and_then(|c| c.last_transition_time)
}

/// Container restarts, summed over the pod's containers.
pub fn restart_count(pod: &Pod) -> i64 {
    pod.status
        .container_statuses
        .iter()
        .map(|c| i64::from(c.restart_count))
        .sum()
}

/// True when `meta`'s controller reference names the object with uid `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.controller_ref().is_some_and(|r| r.uid == uid)
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.phase.as_str() {
        PHASE_PENDING | "" => 0,
        "Unknown" => 1,
        PHASE_RUNNING => 2,
        _ => 3,
    }
}

/// The order in which surplus pods are deleted, first to go first (Kubernetes' `ActivePods`
/// ranking): unscheduled before scheduled, Pending before Unknown before Running, not ready
/// before ready, ready for a shorter time before longer, more restarts before fewer, newer
/// before older.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let scheduled = |p: &Pod| !p.spec.node_name.is_empty();
    scheduled(a)
        .cmp(&scheduled(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        // Both ready (or both not): the one that became ready later goes first.
        .then_with(|| ready_since(b).cmp(&ready_since(a)))
        .then_with(|| restart_count(b).cmp(&restart_count(a)))
        // A missing creation time sorts as newest.
        .then_with(
            || match (a.metadata.creation_timestamp, b.metadata.creation_timestamp) {
                (Some(x), Some(y)) => y.cmp(&x),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
        )
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// A new pod from `template`, owned by `owner`, named `<prefix>-<5 random characters>` by the
/// server (`generateName`).
pub fn from_template(
    template: &PodTemplateSpec,
    namespace: &str,
    prefix: &str,
    owner: OwnerReference,
) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.generate_name = format!("{prefix}-");
    pod.metadata.namespace = namespace.to_string();
    pod.metadata.labels = template.metadata.labels.clone();
    pod.metadata.annotations = template.metadata.annotations.clone();
    pod.metadata.owner_references = vec![owner];
    pod.spec = template.spec.clone();
    pod
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use skiff_api::meta::Condition;
    use skiff_api::types::{ContainerStatus, Resource};

    fn t(secs: i64) -> Time {
        Time(Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap())
    }

    fn pod(
        name: &str,
        node: &str,
        phase: &str,
        ready_at: Option<i64>,
        restarts: i32,
        created: i64,
    ) -> Pod {
        let mut p = Pod::named("default", name);
        p.spec.node_name = node.to_string();
        p.status.phase = phase.to_string();
        if let Some(at) = ready_at {
            p.status.conditions.push(Condition {
                last_transition_time: Some(t(at)),
                ..Condition::new("Ready", true, "", "")
            });
        }
        p.status.container_statuses.push(ContainerStatus {
            restart_count: restarts,
            ..ContainerStatus::default()
        });
        p.metadata.creation_timestamp = Some(t(created));
        p
    }

    #[test]
    fn surplus_pods_go_in_kubernetes_order() {
        let mut pods = [
            pod("ready-long", "n1", "Running", Some(10), 0, 0),
            pod("ready-short", "n1", "Running", Some(50), 0, 0),
            pod("running-not-ready", "n1", "Running", None, 0, 0),
            pod("pending-bound", "n1", "Pending", None, 0, 0),
            pod("unscheduled", "", "Pending", None, 0, 0),
            pod("ready-short-restarted", "n1", "Running", Some(50), 3, 0),
            pod("ready-short-newer", "n1", "Running", Some(50), 0, 5),
        ];
        pods.sort_by(deletion_order);
        let names: Vec<&str> = pods.iter().map(|p| p.metadata.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "unscheduled",
                "pending-bound",
                "running-not-ready",
                "ready-short-restarted",
                "ready-short-newer",
                "ready-short",
                "ready-long",
            ]
        );
    }

    #[test]
    fn activity_and_readiness() {
        let running = pod("a", "n1", "Running", Some(1), 0, 0);
        assert!(is_active(&running) && is_ready(&running));
        let done = pod("b", "n1", "Succeeded", None, 0, 0);
        assert!(!is_active(&done) && is_finished(&done));
        let mut deleting = running.clone();
        deleting.metadata.deletion_timestamp = Some(t(5));
        assert!(!is_active(&deleting));
    }

    #[test]
    fn template_pods_carry_labels_spec_and_owner() {
        let mut template = PodTemplateSpec::default();
        template
            .metadata
            .labels
            .insert("app".into(), "crane".into());
        template.spec.restart_policy = "Always".into();
        let owner = OwnerReference {
            uid: "u1".into(),
            controller: Some(true),
            ..OwnerReference::default()
        };
        let p = from_template(&template, "default", "crane", owner);
        assert_eq!(p.metadata.generate_name, "crane-");
        assert!(p.metadata.name.is_empty());
        assert_eq!(p.metadata.labels["app"], "crane");
        assert_eq!(p.spec.restart_policy, "Always");
        assert!(is_controlled_by(&p.metadata, "u1"));
        assert!(!is_controlled_by(&p.metadata, "u2"));
    }
}
