//! `describe` for ReplicationController, ReplicaSet, DaemonSet, Job and CronJob in kubectl's layout.

use skiff_api::meta::Condition;
use skiff_api::types::{CronJob, DaemonSet, Job, ReplicaSet, ReplicationController};

use super::{
    annotations_multiline, controlled_by, describe_events, describe_pod_template, labels_multiline,
    pod_phase_counts, Related, Writer,
};
use crate::output::age::{human_duration, Clock};
use crate::table::workloads::{bool_ptr, format_label_selector, format_labels};

fn pods_status(w: &mut Writer, related: &Related) {
    let (running, waiting, succeeded, failed) = pod_phase_counts(&related.pods);
    w.write(
        0,
        &format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed\n"),
    );
}

fn replica_conditions(w: &mut Writer, conditions: &[Condition]) {
    if conditions.is_empty() {
        return;
    }
    w.write(0, "Conditions:\n  Type\tStatus\tReason\n");
    w.write(1, "----\t------\t------\n");
    for c in conditions {
        w.write(1, &format!("{} \t{}\t{}\n", c.type_, c.status, c.reason));
    }
}

pub fn describe_rc(rc: &ReplicationController, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &rc.metadata;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    w.write(0, &format!("Namespace:\t{}\n", meta.namespace));
    w.write(
        0,
        &format!("Selector:\t{}\n", format_labels(&rc.spec.selector)),
    );
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    w.write(
        0,
        &format!(
            "Replicas:\t{} current / {} desired\n",
            rc.status.replicas,
            rc.spec.replicas.unwrap_or(1)
        ),
    );
    pods_status(&mut w, related);
    describe_pod_template(&mut w, &rc.spec.template, clock);
    replica_conditions(&mut w, &rc.status.conditions);
    describe_events(&mut w, &related.events, clock);
    w.finish()
}

pub fn describe_rs(rs: &ReplicaSet, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &rs.metadata;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    w.write(0, &format!("Namespace:\t{}\n", meta.namespace));
    w.write(
        0,
        &format!(
            "Selector:\t{}\n",
            format_label_selector(rs.spec.selector.as_ref())
        ),
    );
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    if let Some(owner) = controlled_by(meta) {
        w.write(0, &format!("Controlled By:\t{owner}\n"));
    }
    w.write(
        0,
        &format!(
            "Replicas:\t{} current / {} desired\n",
            rs.status.replicas,
            rs.spec.replicas.unwrap_or(1)
        ),
    );
    pods_status(&mut w, related);
    describe_pod_template(&mut w, &rs.spec.template, clock);
    replica_conditions(&mut w, &rs.status.conditions);
    describe_events(&mut w, &related.events, clock);
    w.finish()
}

pub fn describe_daemonset(ds: &DaemonSet, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &ds.metadata;
    let s = &ds.status;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    w.write(
        0,
        &format!(
            "Selector:\t{}\n",
            format_label_selector(ds.spec.selector.as_ref())
        ),
    );
    w.write(
        0,
        &format!(
            "Node-Selector:\t{}\n",
            format_labels(&ds.spec.template.spec.node_selector)
        ),
    );
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    w.write(
        0,
        &format!(
            "Desired Number of Nodes Scheduled: {}\n",
            s.desired_number_scheduled
        ),
    );
    w.write(
        0,
        &format!(
            "Current Number of Nodes Scheduled: {}\n",
            s.current_number_scheduled
        ),
    );
    w.write(
        0,
        &format!(
            "Number of Nodes Scheduled with Up-to-date Pods: {}\n",
            s.updated_number_scheduled
        ),
    );
    w.write(
        0,
        &format!(
            "Number of Nodes Scheduled with Available Pods: {}\n",
            s.number_available
        ),
    );
    w.write(
        0,
        &format!("Number of Nodes Misscheduled: {}\n", s.number_misscheduled),
    );
    pods_status(&mut w, related);
    describe_pod_template(&mut w, &ds.spec.template, clock);
    describe_events(&mut w, &related.events, clock);
    w.finish()
}

pub fn describe_job(job: &Job, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &job.metadata;
    let spec = &job.spec;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    w.write(0, &format!("Namespace:\t{}\n", meta.namespace));
    w.write(
        0,
        &format!(
            "Selector:\t{}\n",
            format_label_selector(spec.selector.as_ref())
        ),
    );
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    if let Some(owner) = controlled_by(meta) {
        w.write(0, &format!("Controlled By:\t{owner}\n"));
    }
    if let Some(p) = spec.parallelism {
        w.write(0, &format!("Parallelism:\t{p}\n"));
    }
    match spec.completions {
        Some(c) => w.write(0, &format!("Completions:\t{c}\n")),
        None => w.write(0, "Completions:\t<unset>\n"),
    }
    if let Some(suspend) = spec.suspend {
        w.write(0, &format!("Suspend:\t{suspend}\n"));
    }
    if let Some(limit) = spec.backoff_limit {
        w.write(0, &format!("Backoff Limit:\t{limit}\n"));
    }
    if let Some(ttl) = spec.ttl_seconds_after_finished {
        w.write(0, &format!("TTL Seconds After Finished:\t{ttl}\n"));
    }
    let status = &job.status;
    if let Some(start) = &status.start_time {
        w.write(0, &format!("Start Time:\t{}\n", clock.rfc1123z(&start.0)));
    }
    if let Some(done) = &status.completion_time {
        w.write(0, &format!("Completed At:\t{}\n", clock.rfc1123z(&done.0)));
    }
    if let (Some(start), Some(done)) = (&status.start_time, &status.completion_time) {
        let took = human_duration(done.0.signed_duration_since(start.0));
        w.write(0, &format!("Duration:\t{took}\n"));
    }
    if let Some(deadline) = spec.active_deadline_seconds {
        w.write(0, &format!("Active Deadline Seconds:\t{deadline}s\n"));
    }
    w.write(
        0,
        &format!(
            "Pods Statuses:\t{} Active / {} Succeeded / {} Failed\n",
            status.active, status.succeeded, status.failed
        ),
    );
    describe_pod_template(&mut w, &spec.template, clock);
    describe_events(&mut w, &related.events, clock);
    w.finish()
}

fn optional(w: &mut Writer, title: &str, value: Option<String>) {
    let shown = value.unwrap_or_else(|| "<unset>".to_string());
    w.write(0, &format!("{title}:\t{shown}\n"));
}

pub fn describe_cronjob(cj: &CronJob, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &cj.metadata;
    let spec = &cj.spec;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    w.write(0, &format!("Namespace:\t{}\n", meta.namespace));
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    w.write(0, &format!("Schedule:\t{}\n", spec.schedule));
    w.write(
        0,
        &format!("Concurrency Policy:\t{}\n", spec.concurrency_policy),
    );
    w.write(0, &format!("Suspend:\t{}\n", bool_ptr(spec.suspend)));
    let limit = |v: Option<i32>| v.map(|n| n.to_string());
    optional(
        &mut w,
        "Successful Job History Limit",
        limit(spec.successful_jobs_history_limit),
    );
    optional(
        &mut w,
        "Failed Job History Limit",
        limit(spec.failed_jobs_history_limit),
    );
    optional(
        &mut w,
        "Starting Deadline Seconds",
        spec.starting_deadline_seconds.map(|s| format!("{s}s")),
    );
    let template = &spec.job_template.spec;
    match &template.selector {
        Some(selector) => w.write(
            0,
            &format!("Selector:\t{}\n", format_label_selector(Some(selector))),
        ),
        None => w.write(0, "Selector:\t<unset>\n"),
    }
    optional(&mut w, "Parallelism", limit(template.parallelism));
    optional(&mut w, "Completions", limit(template.completions));
    if let Some(deadline) = template.active_deadline_seconds {
        w.write(0, &format!("Active Deadline Seconds:\t{deadline}s\n"));
    }
    describe_pod_template(&mut w, &template.template, clock);
    optional(
        &mut w,
        "Last Schedule Time",
        cj.status.last_schedule_time.map(|t| clock.rfc1123z(&t.0)),
    );
    w.write(0, "Active Jobs:\t");
    if cj.status.active.is_empty() {
        w.raw("<none>\n");
    } else {
        let names: Vec<&str> = cj.status.active.iter().map(|j| j.name.as_str()).collect();
        w.raw(&format!("{}\n", names.join(", ")));
    }
    describe_events(&mut w, &related.events, clock);
    w.finish()
}
