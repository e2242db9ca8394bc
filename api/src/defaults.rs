//! Defaulting: the values the server fills in when a manifest leaves them out, as Kubernetes does.
//!
//! Defaults are applied to every pod spec, including the templates inside controllers, so a
//! stored ReplicaSet shows the same probe timings its pods will get. Status is never defaulted.

use crate::meta::ObjectMeta;
use crate::selector::LabelSelector;
use crate::types::{
    Container, CronJob, DaemonSet, Job, PodSpec, PodTemplateSpec, Probe, ReplicaSet,
    ReplicationController,
};

/// The label that ties a Job's pods to it: the Job's uid.
pub const JOB_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// The label naming a Job on its pods.
pub const JOB_NAME_LABEL: &str = "job-name";

/// Kubernetes' probe defaults.
pub const PROBE_TIMEOUT_SECONDS: i32 = 1;
pub const PROBE_PERIOD_SECONDS: i32 = 10;
pub const PROBE_SUCCESS_THRESHOLD: i32 = 1;
pub const PROBE_FAILURE_THRESHOLD: i32 = 3;
pub const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
pub const JOB_BACKOFF_LIMIT: i32 = 6;
pub const CRONJOB_SUCCESSFUL_JOBS_HISTORY_LIMIT: i32 = 3;
pub const CRONJOB_FAILED_JOBS_HISTORY_LIMIT: i32 = 1;

/// Namespaced objects without a namespace go to `default`; cluster-scoped objects never have
/// one (Kubernetes silently clears it).
pub fn default_namespace(meta: &mut ObjectMeta, namespaced: bool) {
    if !namespaced {
        meta.namespace.clear();
    } else if meta.namespace.is_empty() {
        meta.namespace = "default".to_string();
    }
}

/// restartPolicy `Always`, terminationGracePeriodSeconds 30, and each container's defaults.
pub fn default_pod_spec(spec: &mut PodSpec) {
    if spec.restart_policy.is_empty() {
        spec.restart_policy = "Always".to_string();
    }
    spec.termination_grace_period_seconds
        .get_or_insert(TERMINATION_GRACE_PERIOD_SECONDS);
    spec.containers.iter_mut().for_each(default_container);
}

fn default_container(c: &mut Container) {
    if c.image_pull_policy.is_empty() {
        c.image_pull_policy = default_pull_policy(&c.image).to_string();
    }
    for port in &mut c.ports {
        if port.protocol.is_empty() {
            port.protocol = "TCP".to_string();
        }
    }
    for env in &mut c.env {
        if let Some(field_ref) = env.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            if field_ref.api_version.is_empty() {
                field_ref.api_version = "v1".to_string();
            }
        }
    }
    // A limit without a request reserves what it limits, so the scheduler counts it.
    let limits = c.resources.limits.clone();
    for (name, limit) in limits {
        c.resources.requests.entry(name).or_insert(limit);
    }
    c.liveness_probe.iter_mut().for_each(default_probe);
    c.readiness_probe.iter_mut().for_each(default_probe);
}

/// `Always` for `:latest` or untagged images, `IfNotPresent` for any other tag or a digest.
fn default_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

/// timeout 1 s, period 10 s, success 1, failure 3 (0 means "not set", as in Kubernetes);
/// an HTTP probe gets path `/` and scheme `HTTP`.
pub fn default_probe(p: &mut Probe) {
    let set = |v: &mut i32, default: i32| {
        if *v == 0 {
            *v = default;
        }
    };
    set(&mut p.timeout_seconds, PROBE_TIMEOUT_SECONDS);
    set(&mut p.period_seconds, PROBE_PERIOD_SECONDS);
    set(&mut p.success_threshold, PROBE_SUCCESS_THRESHOLD);
    set(&mut p.failure_threshold, PROBE_FAILURE_THRESHOLD);
    if let Some(h) = &mut p.http_get {
        if h.path.is_empty() {
            h.path = "/".to_string();
        }
        if h.scheme.is_empty() {
            h.scheme = "HTTP".to_string();
        }
    }
}

fn default_template(t: &mut PodTemplateSpec) {
    default_pod_spec(&mut t.spec);
}

/// replicas 1; selector and the controller's own labels default to the template's labels.
pub fn default_replication_controller(rc: &mut ReplicationController) {
    let template_labels = &rc.spec.template.metadata.labels;
    if rc.spec.selector.is_empty() {
        rc.spec.selector = template_labels.clone();
    }
    if rc.metadata.labels.is_empty() {
        rc.metadata.labels = template_labels.clone();
    }
    rc.spec.replicas.get_or_insert(1);
    default_template(&mut rc.spec.template);
}

/// replicas 1 (apps/v1 does not default the selector: it is required).
pub fn default_replica_set(rs: &mut ReplicaSet) {
    rs.spec.replicas.get_or_insert(1);
    default_template(&mut rs.spec.template);
}

pub fn default_daemon_set(ds: &mut DaemonSet) {
    default_template(&mut ds.spec.template);
}

/// completions and parallelism 1 when both are unset (parallelism 1 when only it is unset),
/// backoffLimit 6, suspend false, and the Job's labels from its template's.
pub fn default_job(job: &mut Job) {
    let spec = &mut job.spec;
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    spec.backoff_limit.get_or_insert(JOB_BACKOFF_LIMIT);
    spec.suspend.get_or_insert(false);
    if job.metadata.labels.is_empty() {
        job.metadata.labels = spec.template.metadata.labels.clone();
    }
    default_template(&mut spec.template);
}

/// Unless `manualSelector` is true, a Job selects its pods by its own uid: the template gets
/// the labels `controller-uid=<uid>` and `job-name=<name>` (unless already present) and the
/// selector gets `controller-uid=<uid>`, so no other Job's pods can ever match. Done once, on
/// create, after the server has assigned the uid.
pub fn generate_job_selector(job: &mut Job) {
    if job.spec.manual_selector == Some(true) {
        return;
    }
    let uid = job.metadata.uid.clone();
    let labels = &mut job.spec.template.metadata.labels;
    labels
        .entry(JOB_CONTROLLER_UID_LABEL.to_string())
        .or_insert_with(|| uid.clone());
    labels
        .entry(JOB_NAME_LABEL.to_string())
        .or_insert_with(|| job.metadata.name.clone());
    let selector = job.spec.selector.get_or_insert_with(LabelSelector::default);
    selector
        .match_labels
        .entry(JOB_CONTROLLER_UID_LABEL.to_string())
        .or_insert(uid);
}

/// concurrencyPolicy Allow, suspend false, history limits 3 and 1; the job template's pod spec
/// gets pod defaults (the Job defaults apply when the CronJob creates the Job).
pub fn default_cron_job(cj: &mut CronJob) {
    let spec = &mut cj.spec;
    if spec.concurrency_policy.is_empty() {
        spec.concurrency_policy = "Allow".to_string();
    }
    spec.suspend.get_or_insert(false);
    spec.successful_jobs_history_limit
        .get_or_insert(CRONJOB_SUCCESSFUL_JOBS_HISTORY_LIMIT);
    spec.failed_jobs_history_limit
        .get_or_insert(CRONJOB_FAILED_JOBS_HISTORY_LIMIT);
    default_template(&mut spec.job_template.spec.template);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        for (image, want) in [
            ("busybox", "Always"),
            ("busybox:latest", "Always"),
            ("busybox:1.36", "IfNotPresent"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v2", "IfNotPresent"),
            ("app@sha256:abc", "IfNotPresent"),
        ] {
            assert_eq!(default_pull_policy(image), want, "{image}");
        }
    }
}
