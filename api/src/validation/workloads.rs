//! Validation of controllers: ReplicationController, ReplicaSet, DaemonSet, Job and CronJob.

use std::collections::BTreeMap;

use super::pod::validate_pod_spec;
use super::{at, non_negative, one_of, selector_causes, validate_labels, validate_object_meta};
use crate::cron::Schedule;
use crate::defaults::JOB_CONTROLLER_UID_LABEL;
use crate::error::Cause;
use crate::labels::validate_dns1123_subdomain;
use crate::selector::{LabelSelector, Selector};
use crate::types::{
    CronJob, DaemonSet, Job, JobSpec, PodTemplateSpec, ReplicaSet, ReplicaStatus,
    ReplicationController, CONCURRENCY_POLICIES,
};

/// A CronJob's name is used as the prefix of its Jobs' names (plus an 11-character suffix),
/// which must stay within 63 characters.
const CRONJOB_NAME_MAX_LEN: usize = 52;
const DAEMONSET_UPDATE_STRATEGIES: [&str; 2] = ["RollingUpdate", "OnDelete"];

pub fn validate_replication_controller(rc: &ReplicationController) -> Vec<Cause> {
    let mut errs = validate_object_meta(&rc.metadata, true, validate_dns1123_subdomain);
    let spec = &rc.spec;
    non_negative(&mut errs, "spec.replicas", spec.replicas.map(i64::from));
    non_negative(
        &mut errs,
        "spec.minReadySeconds",
        Some(i64::from(spec.min_ready_seconds)),
    );
    if spec.selector.is_empty() {
        errs.push(Cause::required("spec.selector", ""));
    }
    errs.extend(validate_labels(&spec.selector, "spec.selector"));
    let selector = (!spec.selector.is_empty()).then(|| Selector::from_map(&spec.selector));
    errs.extend(validate_controller_template(
        &spec.template,
        selector.as_ref(),
        "ReplicationController",
    ));
    errs
}

pub fn validate_replica_set(rs: &ReplicaSet) -> Vec<Cause> {
    let mut errs = validate_object_meta(&rs.metadata, true, validate_dns1123_subdomain);
    let spec = &rs.spec;
    non_negative(&mut errs, "spec.replicas", spec.replicas.map(i64::from));
    non_negative(
        &mut errs,
        "spec.minReadySeconds",
        Some(i64::from(spec.min_ready_seconds)),
    );
    let selector = required_selector(&mut errs, spec.selector.as_ref(), "ReplicaSet");
    errs.extend(validate_controller_template(
        &spec.template,
        selector.as_ref(),
        "ReplicaSet",
    ));
    errs
}

pub fn validate_daemon_set(ds: &DaemonSet) -> Vec<Cause> {
    let mut errs = validate_object_meta(&ds.metadata, true, validate_dns1123_subdomain);
    let spec = &ds.spec;
    non_negative(
        &mut errs,
        "spec.minReadySeconds",
        Some(i64::from(spec.min_ready_seconds)),
    );
    non_negative(
        &mut errs,
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
    );
    if let Some(strategy) = &spec.update_strategy {
        if !strategy.type_.is_empty() {
            one_of(
                &mut errs,
                "spec.updateStrategy.type",
                &strategy.type_,
                &DAEMONSET_UPDATE_STRATEGIES,
            );
        }
    }
    let selector = required_selector(&mut errs, spec.selector.as_ref(), "DaemonSet");
    errs.extend(validate_controller_template(
        &spec.template,
        selector.as_ref(),
        "DaemonSet",
    ));
    errs
}

/// The counters a replication controller or replica set reports.
pub fn validate_replica_status(status: &ReplicaStatus) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (field, v) in [
        ("status.replicas", status.replicas),
        ("status.fullyLabeledReplicas", status.fully_labeled_replicas),
        ("status.readyReplicas", status.ready_replicas),
        ("status.availableReplicas", status.available_replicas),
    ] {
        non_negative(&mut errs, field, Some(i64::from(v)));
    }
    non_negative(
        &mut errs,
        "status.observedGeneration",
        Some(status.observed_generation),
    );
    super::validate_conditions(&mut errs, &status.conditions, "status.conditions");
    errs
}

/// ReplicaSet and DaemonSet selectors are required, non-empty and well formed. Returns the
/// parsed selector when it is usable for the template check.
fn required_selector(
    errs: &mut Vec<Cause>,
    selector: Option<&LabelSelector>,
    kind: &str,
) -> Option<Selector> {
    let Some(ls) = selector else {
        errs.push(Cause::required("spec.selector", ""));
        return None;
    };
    if ls.match_labels.is_empty() && ls.match_expressions.is_empty() {
        errs.push(Cause::invalid(
            "spec.selector",
            ls,
            &format!("empty selector is invalid for {kind}"),
        ));
        return None;
    }
    checked_selector(errs, ls, "spec.selector")
}

/// Validates a label selector at `path`, returning it parsed when it has no problems.
fn checked_selector(errs: &mut Vec<Cause>, ls: &LabelSelector, path: &str) -> Option<Selector> {
    match Selector::from_label_selector(ls) {
        Ok(s) => Some(s),
        Err(problems) => {
            errs.extend(selector_causes(problems, path));
            None
        }
    }
}

/// The pod template of a long-running controller: valid labels matched by the selector, a
/// valid pod spec, restartPolicy Always, and no activeDeadlineSeconds.
fn validate_controller_template(
    t: &PodTemplateSpec,
    selector: Option<&Selector>,
    kind: &str,
) -> Vec<Cause> {
    let mut errs = validate_template(t, selector, "spec.template");
    let policy_path = "spec.template.spec.restartPolicy";
    if !t.spec.restart_policy.is_empty() {
        one_of(&mut errs, policy_path, &t.spec.restart_policy, &["Always"]);
    }
    if t.spec.active_deadline_seconds.is_some() {
        errs.push(Cause::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            &format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errs
}

/// Template labels and annotations, the selector-matches-labels rule, and the pod spec.
fn validate_template(t: &PodTemplateSpec, selector: Option<&Selector>, path: &str) -> Vec<Cause> {
    let mut errs = validate_labels(&t.metadata.labels, &at(path, "metadata.labels"));
    errs.extend(super::validate_annotations(
        &t.metadata.annotations,
        &at(path, "metadata.annotations"),
    ));
    if let Some(sel) = selector {
        if !sel.is_empty() && !sel.matches(&t.metadata.labels) {
            errs.push(selector_mismatch(
                &t.metadata.labels,
                &at(path, "metadata.labels"),
            ));
        }
    }
    errs.extend(validate_pod_spec(&t.spec, &at(path, "spec")));
    errs
}

fn selector_mismatch(labels: &BTreeMap<String, String>, path: &str) -> Cause {
    Cause::invalid(path, labels, "`selector` does not match template `labels`")
}

pub fn validate_job(job: &Job) -> Vec<Cause> {
    let mut errs = validate_object_meta(&job.metadata, true, validate_dns1123_subdomain);
    errs.extend(validate_job_spec(&job.spec, "spec"));
    if job.spec.manual_selector != Some(true) {
        // Without manualSelector the server generated the selector from the uid; a user who
        // wrote their own selector must also set manualSelector, as in Kubernetes.
        let generated = BTreeMap::from([(
            JOB_CONTROLLER_UID_LABEL.to_string(),
            job.metadata.uid.clone(),
        )]);
        let selects_uid = job
            .spec
            .selector
            .as_ref()
            .and_then(|ls| Selector::from_label_selector(ls).ok())
            .is_some_and(|s| s.matches(&generated));
        if !selects_uid {
            errs.push(Cause::invalid(
                "spec.selector",
                &job.spec.selector,
                "`selector` not auto-generated (set `manualSelector: true` to choose your own selector)",
            ));
        }
    }
    errs
}

/// A Job spec at `path` (`spec`, or `spec.jobTemplate.spec` in a CronJob).
fn validate_job_spec(spec: &JobSpec, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    non_negative(
        &mut errs,
        &at(path, "parallelism"),
        spec.parallelism.map(i64::from),
    );
    non_negative(
        &mut errs,
        &at(path, "completions"),
        spec.completions.map(i64::from),
    );
    non_negative(
        &mut errs,
        &at(path, "activeDeadlineSeconds"),
        spec.active_deadline_seconds,
    );
    non_negative(
        &mut errs,
        &at(path, "backoffLimit"),
        spec.backoff_limit.map(i64::from),
    );
    non_negative(
        &mut errs,
        &at(path, "ttlSecondsAfterFinished"),
        spec.ttl_seconds_after_finished.map(i64::from),
    );
    let selector = match &spec.selector {
        Some(ls) => checked_selector(&mut errs, ls, &at(path, "selector")),
        None if spec.manual_selector == Some(true) => {
            errs.push(Cause::required(&at(path, "selector"), ""));
            None
        }
        None => None,
    };
    let template = at(path, "template");
    errs.extend(validate_template(
        &spec.template,
        selector.as_ref(),
        &template,
    ));
    let policy = &spec.template.spec.restart_policy;
    if !policy.is_empty() {
        one_of(
            &mut errs,
            &at(&template, "spec.restartPolicy"),
            policy,
            &["OnFailure", "Never"],
        );
    }
    errs
}

pub fn validate_cron_job(cj: &CronJob) -> Vec<Cause> {
    let mut errs = validate_object_meta(&cj.metadata, true, validate_dns1123_subdomain);
    if cj.metadata.name.len() > CRONJOB_NAME_MAX_LEN {
        errs.push(Cause::invalid(
            "metadata.name",
            &cj.metadata.name,
            &format!("must be no more than {CRONJOB_NAME_MAX_LEN} characters"),
        ));
    }
    let spec = &cj.spec;
    if spec.schedule.is_empty() {
        errs.push(Cause::required("spec.schedule", ""));
    } else if let Err(msg) = Schedule::parse(&spec.schedule) {
        errs.push(Cause::invalid("spec.schedule", &spec.schedule, &msg));
    }
    non_negative(
        &mut errs,
        "spec.startingDeadlineSeconds",
        spec.starting_deadline_seconds,
    );
    one_of(
        &mut errs,
        "spec.concurrencyPolicy",
        &spec.concurrency_policy,
        &CONCURRENCY_POLICIES,
    );
    non_negative(
        &mut errs,
        "spec.successfulJobsHistoryLimit",
        spec.successful_jobs_history_limit.map(i64::from),
    );
    non_negative(
        &mut errs,
        "spec.failedJobsHistoryLimit",
        spec.failed_jobs_history_limit.map(i64::from),
    );
    let template = &spec.job_template;
    errs.extend(validate_labels(
        &template.metadata.labels,
        "spec.jobTemplate.metadata.labels",
    ));
    errs.extend(super::validate_annotations(
        &template.metadata.annotations,
        "spec.jobTemplate.metadata.annotations",
    ));
    // Each Job the CronJob creates gets its own generated selector.
    if let Some(selector) = &template.spec.selector {
        errs.push(Cause::invalid(
            "spec.jobTemplate.spec.selector",
            selector,
            "`selector` will be auto-generated",
        ));
    }
    if template.spec.manual_selector == Some(true) {
        errs.push(Cause::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            true,
            &["nil", "false"],
        ));
    }
    errs.extend(validate_job_spec(&template.spec, "spec.jobTemplate.spec"));
    errs
}
