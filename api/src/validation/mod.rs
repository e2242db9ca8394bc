//! Validation: every rule an object must satisfy before it is stored, each with Kubernetes' wording and the full field path.
//!
//! Each `validate_*` function returns every problem it finds (not just the first) as a list of
//! [`Cause`]s; the caller turns a non-empty list into an `Invalid` [`crate::error::ApiError`].
//! Validation runs after defaulting, so it sees the object exactly as it would be stored.
//!
//! # Layout
//! - this file: metadata, labels, annotations and small shared checks;
//! - `pod`: pod specs (containers, ports, env, resources, probes) and pod status;
//! - `workloads`: ReplicationController, ReplicaSet, DaemonSet, Job, CronJob;
//! - `cluster`: Namespace, Node, Event, Lease;
//! - `update`: the rules that compare an update with the stored object (immutable fields).

mod cluster;
mod pod;
mod update;
mod workloads;

pub use cluster::{
    validate_event, validate_lease, validate_namespace, validate_node, validate_node_status,
};
pub use pod::{validate_pod, validate_pod_spec, validate_pod_status};
pub use update::{
    validate_daemon_set_update, validate_job_update, validate_meta_update, validate_node_update,
    validate_pod_update, validate_replica_set_update,
};
pub use workloads::{
    validate_cron_job, validate_daemon_set, validate_job, validate_replica_set,
    validate_replica_status, validate_replication_controller,
};

use std::collections::BTreeMap;

use crate::error::Cause;
use crate::labels::{
    validate_dns1123_label, validate_label_key, validate_label_value, validate_qualified_name,
};
use crate::meta::Condition;
use crate::meta::{ObjectMeta, CONDITION_STATUSES};
use crate::selector::{FieldProblem, ProblemKind};

/// Kubernetes' limit on the total size of an object's annotations.
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// `base.child`, or `child` at the top level.
pub(crate) fn at(base: &str, child: &str) -> String {
    if base.is_empty() {
        child.to_string()
    } else {
        format!("{base}.{child}")
    }
}

/// `base[i]`
pub(crate) fn idx(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// Checks `metadata`: name syntax (`name_rule` is the kind's rule, usually a DNS-1123
/// subdomain), namespace presence, labels, annotations, owner references and finalizers.
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    name_rule: fn(&str) -> Result<(), String>,
) -> Vec<Cause> {
    let mut errs = Vec::new();
    if meta.name.is_empty() {
        errs.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if let Err(msg) = name_rule(&meta.name) {
        errs.push(Cause::invalid("metadata.name", &meta.name, &msg));
    }
    if namespaced {
        if meta.namespace.is_empty() {
            errs.push(Cause::required("metadata.namespace", ""));
        } else if let Err(msg) = validate_dns1123_label(&meta.namespace) {
            errs.push(Cause::invalid("metadata.namespace", &meta.namespace, &msg));
        }
    } else if !meta.namespace.is_empty() {
        errs.push(Cause::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    errs.extend(validate_labels(&meta.labels, "metadata.labels"));
    errs.extend(validate_annotations(
        &meta.annotations,
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(meta));
    for (i, f) in meta.finalizers.iter().enumerate() {
        if let Err(msg) = validate_qualified_name(f) {
            errs.push(Cause::invalid(&idx("metadata.finalizers", i), f, &msg));
        }
    }
    errs
}

/// Label keys must be qualified names and values at most 63 characters of `[-._a-zA-Z0-9]`.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (key, value) in labels {
        if let Err(msg) = validate_label_key(key) {
            errs.push(Cause::invalid(path, key, &msg));
        }
        if let Err(msg) = validate_label_value(value) {
            errs.push(Cause::invalid(path, value, &msg));
        }
    }
    errs
}

/// Annotation keys must be qualified names; all annotations together at most 256 KiB.
pub fn validate_annotations(annotations: &BTreeMap<String, String>, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut total = 0;
    for (key, value) in annotations {
        if let Err(msg) = validate_qualified_name(&key.to_ascii_lowercase()) {
            errs.push(Cause::invalid(path, key, &msg));
        }
        total += key.len() + value.len();
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errs.push(Cause::too_long(path, ANNOTATIONS_MAX_BYTES));
    }
    errs
}

fn validate_owner_references(meta: &ObjectMeta) -> Vec<Cause> {
    let mut errs = Vec::new();
    let base = "metadata.ownerReferences";
    for (i, r) in meta.owner_references.iter().enumerate() {
        let p = idx(base, i);
        for (field, value) in [
            ("apiVersion", &r.api_version),
            ("kind", &r.kind),
            ("name", &r.name),
            ("uid", &r.uid),
        ] {
            if value.is_empty() {
                errs.push(Cause::required(&at(&p, field), ""));
            }
        }
    }
    let controllers: Vec<String> = meta
        .owner_references
        .iter()
        .filter(|r| r.controller == Some(true))
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    if controllers.len() > 1 {
        errs.push(Cause::invalid(
            base,
            &meta.owner_references,
            &format!("Only one reference can have Controller set to true. Found \"true\" in references for {}", controllers.join(" and ")),
        ));
    }
    errs
}

/// `must be greater than or equal to 0`
pub(crate) fn non_negative(errs: &mut Vec<Cause>, path: &str, value: Option<i64>) {
    if let Some(v) = value {
        if v < 0 {
            errs.push(Cause::invalid(
                path,
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
}

/// `must be between 1 and 65535, inclusive`
pub(crate) fn port_number(errs: &mut Vec<Cause>, path: &str, port: i32) {
    if !(1..=65535).contains(&port) {
        errs.push(Cause::invalid(
            path,
            port,
            "must be between 1 and 65535, inclusive",
        ));
    }
}

/// `Unsupported value` unless `value` is one of `supported`.
pub(crate) fn one_of(errs: &mut Vec<Cause>, path: &str, value: &str, supported: &[&str]) {
    if !supported.contains(&value) {
        errs.push(Cause::not_supported(path, value, supported));
    }
}

/// Each condition needs a type and a status of True, False or Unknown.
pub(crate) fn validate_conditions(errs: &mut Vec<Cause>, conditions: &[Condition], path: &str) {
    for (i, c) in conditions.iter().enumerate() {
        let p = idx(path, i);
        if c.type_.is_empty() {
            errs.push(Cause::required(&at(&p, "type"), ""));
        }
        one_of(errs, &at(&p, "status"), &c.status, &CONDITION_STATUSES);
    }
}

/// Converts the selector module's problems (paths relative to the selector) into causes.
pub(crate) fn selector_causes(problems: Vec<FieldProblem>, selector_path: &str) -> Vec<Cause> {
    use crate::error::CauseType;
    problems
        .into_iter()
        .map(|p| {
            let reason = match p.kind {
                ProblemKind::Invalid => CauseType::FieldValueInvalid,
                ProblemKind::Required => CauseType::FieldValueRequired,
                ProblemKind::Forbidden => CauseType::FieldValueForbidden,
                ProblemKind::NotSupported => CauseType::FieldValueNotSupported,
            };
            Cause {
                reason,
                field: at(selector_path, &p.path),
                message: format!("{}: {}", p.kind, p.message),
            }
        })
        .collect()
}
