//! Update rules: fields that may not change once an object exists, worded `field is immutable` as in Kubernetes.

use serde::Serialize;
use serde_json::Value;

use super::{at, idx};
use crate::error::Cause;
use crate::meta::ObjectMeta;
use crate::types::{DaemonSet, Job, Node, Pod, ReplicaSet};

/// How many changed fields a Forbidden pod-update message lists before it stops.
const MAX_LISTED_CHANGES: usize = 5;

fn immutable<T: Serialize + PartialEq>(errs: &mut Vec<Cause>, path: &str, new: T, old: T) {
    if new != old {
        errs.push(Cause::invalid(path, new, "field is immutable"));
    }
}

/// Name, namespace and uid identify the object; they never change.
pub fn validate_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> Vec<Cause> {
    let mut errs = Vec::new();
    immutable(&mut errs, "metadata.name", &new.name, &old.name);
    immutable(
        &mut errs,
        "metadata.namespace",
        &new.namespace,
        &old.namespace,
    );
    immutable(&mut errs, "metadata.uid", &new.uid, &old.uid);
    errs
}

/// A running pod's spec is fixed except for container images, activeDeadlineSeconds (which
/// may only be set or shortened) and terminationGracePeriodSeconds.
pub fn validate_pod_update(new: &Pod, old: &Pod) -> Vec<Cause> {
    let mut errs = Vec::new();
    match (
        new.spec.active_deadline_seconds,
        old.spec.active_deadline_seconds,
    ) {
        (None, Some(_)) => errs.push(Cause::forbidden(
            "spec.activeDeadlineSeconds",
            "must not update from a positive integer to nil value",
        )),
        (Some(n), Some(o)) if n > o => errs.push(Cause::invalid(
            "spec.activeDeadlineSeconds",
            n,
            "must be less than or equal to previous value",
        )),
        _ => {}
    }
    // Undo the changes that are allowed; whatever still differs is forbidden.
    let mut spec = new.spec.clone();
    spec.active_deadline_seconds = old.spec.active_deadline_seconds;
    spec.termination_grace_period_seconds = old.spec.termination_grace_period_seconds;
    if spec.containers.len() == old.spec.containers.len() {
        for (c, o) in spec.containers.iter_mut().zip(&old.spec.containers) {
            c.image.clone_from(&o.image);
        }
    }
    if spec != old.spec {
        let mut changed = Vec::new();
        let (a, b) = (
            serde_json::to_value(&spec).unwrap_or_default(),
            serde_json::to_value(&old.spec).unwrap_or_default(),
        );
        changed_paths(&a, &b, "spec", &mut changed);
        let mut listed: Vec<String> = changed.iter().take(MAX_LISTED_CHANGES).cloned().collect();
        if changed.len() > MAX_LISTED_CHANGES {
            listed.push("...".to_string());
        }
        errs.push(Cause::forbidden(
            "spec",
            &format!(
                "pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds` or `spec.terminationGracePeriodSeconds` (changed: {})",
                listed.join(", ")
            ),
        ));
    }
    errs
}

/// Collects the paths at which two JSON values differ.
fn changed_paths(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let null = Value::Null;
                changed_paths(
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    &at(path, k),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                changed_paths(p, q, &idx(path, i), out);
            }
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

/// In apps/v1 the selector is fixed at creation: changing it would orphan every pod.
pub fn validate_replica_set_update(new: &ReplicaSet, old: &ReplicaSet) -> Vec<Cause> {
    let mut errs = Vec::new();
    immutable(
        &mut errs,
        "spec.selector",
        &new.spec.selector,
        &old.spec.selector,
    );
    errs
}

pub fn validate_daemon_set_update(new: &DaemonSet, old: &DaemonSet) -> Vec<Cause> {
    let mut errs = Vec::new();
    immutable(
        &mut errs,
        "spec.selector",
        &new.spec.selector,
        &old.spec.selector,
    );
    errs
}

/// A Job's selector, pod template and completions are fixed; parallelism may change.
pub fn validate_job_update(new: &Job, old: &Job) -> Vec<Cause> {
    let mut errs = Vec::new();
    immutable(
        &mut errs,
        "spec.selector",
        &new.spec.selector,
        &old.spec.selector,
    );
    immutable(
        &mut errs,
        "spec.template",
        &new.spec.template,
        &old.spec.template,
    );
    immutable(
        &mut errs,
        "spec.completions",
        new.spec.completions,
        old.spec.completions,
    );
    errs
}

/// A node's podCIDR may be set once, never changed.
pub fn validate_node_update(new: &Node, old: &Node) -> Vec<Cause> {
    let mut errs = Vec::new();
    if !old.spec.pod_cidr.is_empty() && new.spec.pod_cidr != old.spec.pod_cidr {
        errs.push(Cause::forbidden(
            "spec.podCIDR",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    errs
}
