//! Rows of `get` for the controllers: ReplicationController, ReplicaSet, DaemonSet, Job and CronJob, with kubectl's columns.

use std::collections::BTreeMap;

use crate::selector::{LabelSelector, Selector};
use crate::types::{CronJob, DaemonSet, Job, PodTemplateSpec, ReplicaSet, ReplicationController};

use crate::table::age::{human_duration, Clock};

pub const RC_HEADERS: [&str; 5] = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"];
pub const DS_HEADERS: [&str; 8] = [
    "NAME",
    "DESIRED",
    "CURRENT",
    "READY",
    "UP-TO-DATE",
    "AVAILABLE",
    "NODE SELECTOR",
    "AGE",
];
pub const JOB_HEADERS: [&str; 4] = ["NAME", "COMPLETIONS", "DURATION", "AGE"];
pub const CRONJOB_HEADERS: [&str; 6] = [
    "NAME",
    "SCHEDULE",
    "SUSPEND",
    "ACTIVE",
    "LAST SCHEDULE",
    "AGE",
];
/// What `-o wide` adds to every controller.
pub const WIDE_HEADERS: [&str; 3] = ["CONTAINERS", "IMAGES", "SELECTOR"];

/// `k=v,k2=v2`, or `<none>`: kubectl's `labels.FormatLabels`.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".to_string();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// kubectl's `metav1.FormatLabelSelector`: `<none>` for an empty selector.
pub fn format_label_selector(selector: Option<&LabelSelector>) -> String {
    match selector {
        None => "<none>".to_string(),
        Some(ls) if ls.is_empty() => "<none>".to_string(),
        Some(ls) => match Selector::from_label_selector(ls) {
            Ok(s) => s.to_string(),
            Err(_) => "<error>".to_string(),
        },
    }
}

/// The wide columns: container names, images, selector.
fn wide(template: &PodTemplateSpec, selector: String) -> [String; 3] {
    let names: Vec<&str> = template
        .spec
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let images: Vec<&str> = template
        .spec
        .containers
        .iter()
        .map(|c| c.image.as_str())
        .collect();
    [names.join(","), images.join(","), selector]
}

pub fn rc_row(rc: &ReplicationController, wide_columns: bool, clock: &Clock) -> Vec<String> {
    let mut cells = vec![
        rc.metadata.name.clone(),
        rc.spec.replicas.unwrap_or(1).to_string(),
        rc.status.replicas.to_string(),
        rc.status.ready_replicas.to_string(),
        clock.since(rc.metadata.creation_timestamp.as_ref()),
    ];
    if wide_columns {
        let selector = if rc.spec.selector.is_empty() {
            "<none>".to_string()
        } else {
            format_labels(&rc.spec.selector)
        };
        cells.extend(wide(&rc.spec.template, selector));
    }
    cells
}

pub fn rs_row(rs: &ReplicaSet, wide_columns: bool, clock: &Clock) -> Vec<String> {
    let mut cells = vec![
        rs.metadata.name.clone(),
        rs.spec.replicas.unwrap_or(1).to_string(),
        rs.status.replicas.to_string(),
        rs.status.ready_replicas.to_string(),
        clock.since(rs.metadata.creation_timestamp.as_ref()),
    ];
    if wide_columns {
        let selector = format_label_selector(rs.spec.selector.as_ref());
        cells.extend(wide(&rs.spec.template, selector));
    }
    cells
}

pub fn ds_row(ds: &DaemonSet, wide_columns: bool, clock: &Clock) -> Vec<String> {
    let s = &ds.status;
    let mut cells = vec![
        ds.metadata.name.clone(),
        s.desired_number_scheduled.to_string(),
        s.current_number_scheduled.to_string(),
        s.number_ready.to_string(),
        s.updated_number_scheduled.to_string(),
        s.number_available.to_string(),
        format_labels(&ds.spec.template.spec.node_selector),
        clock.since(ds.metadata.creation_timestamp.as_ref()),
    ];
    if wide_columns {
        let selector = format_label_selector(ds.spec.selector.as_ref());
        cells.extend(wide(&ds.spec.template, selector));
    }
    cells
}

/// `2/3`, or for a work queue job (no completions) `1/1 of 3` when it runs several pods at once.
pub fn job_completions(job: &Job) -> String {
    match job.spec.completions {
        Some(c) => format!("{}/{c}", job.status.succeeded),
        None => {
            let parallelism = job.spec.parallelism.unwrap_or(0);
            if parallelism > 1 {
                format!("{}/1 of {parallelism}", job.status.succeeded)
            } else {
                format!("{}/1", job.status.succeeded)
            }
        }
    }
}

pub fn job_row(job: &Job, wide_columns: bool, clock: &Clock) -> Vec<String> {
    let duration = match (&job.status.start_time, &job.status.completion_time) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(clock.now.signed_duration_since(start.0)),
        (Some(start), Some(done)) => human_duration(done.0.signed_duration_since(start.0)),
    };
    let mut cells = vec![
        job.metadata.name.clone(),
        job_completions(job),
        duration,
        clock.since(job.metadata.creation_timestamp.as_ref()),
    ];
    if wide_columns {
        let selector = format_label_selector(job.spec.selector.as_ref());
        cells.extend(wide(&job.spec.template, selector));
    }
    cells
}

/// kubectl's `printBoolPtr`.
pub fn bool_ptr(b: Option<bool>) -> String {
    match b {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}

pub fn cronjob_row(cj: &CronJob, wide_columns: bool, clock: &Clock) -> Vec<String> {
    let last = match &cj.status.last_schedule_time {
        Some(t) => clock.since(Some(t)),
        None => "<none>".to_string(),
    };
    let mut cells = vec![
        cj.metadata.name.clone(),
        cj.spec.schedule.clone(),
        bool_ptr(cj.spec.suspend),
        cj.status.active.len().to_string(),
        last,
        clock.since(cj.metadata.creation_timestamp.as_ref()),
    ];
    if wide_columns {
        let template = &cj.spec.job_template.spec;
        let selector = format_label_selector(template.selector.as_ref());
        cells.extend(wide(&template.template, selector));
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn clock() -> Clock {
        Clock::fixed(Utc.with_ymd_and_hms(2024, 5, 5, 10, 0, 0).unwrap())
    }

    #[test]
    fn controller_rows() {
        let rc: ReplicationController = serde_json::from_value(json!({
            "metadata": {"name": "crane", "creationTimestamp": "2024-05-05T09:00:00Z"},
            "spec": {"replicas": 3, "selector": {"app": "crane"}, "template": {"spec": {"containers": [{"name": "crane", "image": "heejeong/crane"}]}}},
            "status": {"replicas": 3, "readyReplicas": 2}})).unwrap();
        assert_eq!(
            rc_row(&rc, true, &clock()),
            [
                "crane",
                "3",
                "3",
                "2",
                "60m",
                "crane",
                "heejeong/crane",
                "app=crane"
            ]
        );
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "crane", "creationTimestamp": "2024-05-05T09:59:00Z"},
            "spec": {"replicas": 3, "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["crane", "kubia"]}], "matchLabels": {"tier": "web"}},
                     "template": {"spec": {"containers": [{"name": "crane", "image": "heejeong/crane"}]}}}})).unwrap();
        assert_eq!(
            rs_row(&rs, true, &clock()),
            [
                "crane",
                "3",
                "0",
                "0",
                "60s",
                "crane",
                "heejeong/crane",
                "app in (crane,kubia),tier=web"
            ]
        );
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "ssd-monitor", "creationTimestamp": "2024-05-03T07:00:00Z"},
            "spec": {"selector": {"matchLabels": {"app": "ssd-monitor"}}, "template": {"spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "main", "image": "luksa/ssd-monitor"}]}}},
            "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1, "numberMisscheduled": 0, "updatedNumberScheduled": 1, "numberAvailable": 1}})).unwrap();
        assert_eq!(
            ds_row(&ds, false, &clock()),
            ["ssd-monitor", "1", "1", "1", "1", "1", "disk=ssd", "2d3h"]
        );
    }

    #[test]
    fn job_and_cronjob_rows() {
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": "batch-job", "creationTimestamp": "2024-05-05T09:57:00Z"},
            "spec": {"completions": 5, "parallelism": 2, "template": {"spec": {"containers": [{"name": "main", "image": "luksa/batch-job"}]}}},
            "status": {"succeeded": 2, "startTime": "2024-05-05T09:57:00Z"}})).unwrap();
        assert_eq!(
            job_row(&job, false, &clock()),
            ["batch-job", "2/5", "3m", "3m"]
        );
        let done: Job = serde_json::from_value(json!({
            "metadata": {"name": "q", "creationTimestamp": "2024-05-05T09:57:00Z"},
            "spec": {"parallelism": 3, "template": {"spec": {"containers": []}}},
            "status": {"succeeded": 1, "startTime": "2024-05-05T09:57:00Z", "completionTime": "2024-05-05T09:59:02Z"}})).unwrap();
        assert_eq!(
            job_row(&done, false, &clock()),
            ["q", "1/1 of 3", "2m2s", "3m"]
        );
        let cj: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "batch-job-every-fifteen-minutes", "creationTimestamp": "2024-05-05T09:00:00Z"},
            "spec": {"schedule": "0,15,30,45 * * * *", "suspend": false, "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
            "status": {"lastScheduleTime": "2024-05-05T09:45:00Z"}})).unwrap();
        assert_eq!(
            cronjob_row(&cj, false, &clock()),
            [
                "batch-job-every-fifteen-minutes",
                "0,15,30,45 * * * *",
                "False",
                "0",
                "15m",
                "60m"
            ]
        );
    }
}
