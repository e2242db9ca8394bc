//! The pure decision of the CronJob controller at a given time: which scheduled run to start (if any), what the concurrency policy and deadline say, which finished Jobs to prune, and the status.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use skiff_api::cron::Schedule;
use skiff_api::meta::{condition_is_true, Time};
use skiff_api::types::{
    controller_reference, object_reference, CronJob, CronJobStatus, Job, Resource,
};

/// Kubernetes' limit: with more missed start times than this the controller warns and
/// considers only the most recent one.
pub const MAX_MISSED_START_TIMES: usize = 100;

/// The annotation that records which scheduled time a Job was created for.
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// What the controller sees of one CronJob.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The Jobs it controls (from the cache, plus active ones read afresh).
    pub jobs: &'a [Arc<Job>],
    /// Uids of `status.active` entries a fresh read showed gone.
    pub missing: &'a HashSet<String>,
    pub now: DateTime<Utc>,
    /// The last skipped run already reported with a MissSchedule event.
    pub last_reported_miss: Option<DateTime<Utc>>,
}

/// Why a Job is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// concurrencyPolicy Replace: a new run replaces the running one.
    Replace,
    /// Beyond successfulJobsHistoryLimit / failedJobsHistoryLimit.
    History,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    DeleteJob {
        name: String,
        uid: String,
        why: Deletion,
    },
    /// Create the Job for this scheduled time; its reference then joins `status.active`.
    CreateJob {
        name: String,
        scheduled: DateTime<Utc>,
    },
    /// Write this status (always present after a CreateJob).
    UpdateStatus(CronJobStatus),
    Event {
        warning: bool,
        reason: &'static str,
        message: String,
    },
    /// A skipped run was reported; remember it so it is reported once.
    ReportedMiss(DateTime<Utc>),
    RequeueAfter(Duration),
}

/// `<cronjob>-<scheduled time in minutes since the epoch>`: the same scheduled time always
/// gives the same name, so it can never run twice, even across a leader change.
pub fn job_name(cron_job: &str, scheduled: DateTime<Utc>) -> String {
    format!("{cron_job}-{}", scheduled.timestamp().div_euclid(60))
}

/// The Job for `scheduled`: the job template with its labels and annotations, owned by the
/// CronJob.
pub fn build_job(cj: &CronJob, scheduled: DateTime<Utc>) -> Job {
    let mut job = Job::named(
        &cj.metadata.namespace,
        &job_name(&cj.metadata.name, scheduled),
    );
    let template = &cj.spec.job_template;
    job.metadata.labels = template.metadata.labels.clone();
    job.metadata.annotations = template.metadata.annotations.clone();
    job.metadata.annotations.insert(
        SCHEDULED_TIMESTAMP_ANNOTATION.to_string(),
        Time::from(scheduled).to_string(),
    );
    job.metadata.owner_references = vec![controller_reference(cj)];
    job.spec = template.spec.clone();
    job
}

/// `Some("Complete")` or `Some("Failed")` for a finished Job.
fn finished_as(job: &Job) -> Option<&'static str> {
    if condition_is_true(&job.status.conditions, "Complete") {
        Some("Complete")
    } else if condition_is_true(&job.status.conditions, "Failed") {
        Some("Failed")
    } else {
        None
    }
}

fn rfc1123(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// Decides one sync of `cj`.
pub fn reconcile(cj: &CronJob, observed: &Observed) -> Vec<Action> {
    let now = observed.now;
    let mut actions = Vec::new();
    let mut status = cj.status.clone();
    let by_uid: HashMap<&str, &Arc<Job>> = observed
        .jobs
        .iter()
        .map(|j| (j.metadata.uid.as_str(), j))
        .collect();

    // The active list follows the Jobs: finished and vanished ones leave it, running ones
    // (created just before a crash, say) join it.
    status.active.retain(|r| {
        if observed.missing.contains(&r.uid) {
            actions.push(Action::Event {
                warning: true,
                reason: "MissingJob",
                message: format!("Active job went missing: {}", r.name),
            });
            return false;
        }
        match by_uid.get(r.uid.as_str()).and_then(|j| finished_as(j)) {
            Some(how) => {
                actions.push(Action::Event {
                    warning: false,
                    reason: "SawCompletedJob",
                    message: format!("Saw completed job: {}, status: {how}", r.name),
                });
                false
            }
            None => true,
        }
    });
    let mut running: Vec<&Arc<Job>> = observed
        .jobs
        .iter()
        .filter(|j| finished_as(j).is_none())
        .collect();
    running.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for job in running {
        if !status.active.iter().any(|r| r.uid == job.metadata.uid) {
            status.active.push(object_reference(job.as_ref()));
        }
    }
    for job in observed.jobs {
        if let (Some("Complete"), Some(done)) = (finished_as(job), job.status.completion_time) {
            if status.last_successful_time.is_none_or(|t| done > t) {
                status.last_successful_time = Some(done);
            }
        }
    }
    prune_history(cj, observed.jobs, &mut actions);

    let next = schedule_step(cj, observed, &mut status, &mut actions);
    let creating = actions
        .iter()
        .any(|a| matches!(a, Action::CreateJob { .. }));
    if creating || status != cj.status {
        actions.push(Action::UpdateStatus(status));
    }
    if let Some(next) = next {
        actions.push(Action::RequeueAfter(
            (next - now).to_std().unwrap_or(Duration::ZERO),
        ));
    }
    actions
}

/// Deletes the oldest finished Jobs beyond the history limits.
fn prune_history(cj: &CronJob, jobs: &[Arc<Job>], actions: &mut Vec<Action>) {
    let limits = [
        (
            "Complete",
            cj.spec.successful_jobs_history_limit.unwrap_or(3),
        ),
        ("Failed", cj.spec.failed_jobs_history_limit.unwrap_or(1)),
    ];
    for (how, limit) in limits {
        let mut finished: Vec<&Arc<Job>> = jobs
            .iter()
            .filter(|j| finished_as(j) == Some(how))
            .collect();
        let keep = usize::try_from(limit.max(0)).unwrap_or(0);
        if finished.len() <= keep {
            continue;
        }
        finished.sort_by(|a, b| {
            let started = |j: &Job| j.status.start_time.or(j.metadata.creation_timestamp);
            started(a)
                .cmp(&started(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let excess = finished.len() - keep;
        for job in finished.into_iter().take(excess) {
            actions.push(Action::DeleteJob {
                name: job.metadata.name.clone(),
                uid: job.metadata.uid.clone(),
                why: Deletion::History,
            });
        }
    }
}

/// The scheduling part: decides whether a run starts now. Returns the next scheduled time to
/// look again at, if any.
fn schedule_step(
    cj: &CronJob,
    observed: &Observed,
    status: &mut CronJobStatus,
    actions: &mut Vec<Action>,
) -> Option<DateTime<Utc>> {
    let now = observed.now;
    if cj.metadata.deletion_timestamp.is_some() || cj.spec.suspend == Some(true) {
        return None;
    }
    let schedule = match Schedule::parse(&cj.spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            actions.push(Action::Event {
                warning: true,
                reason: "UnparseableSchedule",
                message: format!("unparseable schedule: {:?}: {e}", cj.spec.schedule),
            });
            return None;
        }
    };
    let next = schedule.next_after(now);
    let earliest = status
        .last_schedule_time
        .or(cj.metadata.creation_timestamp)
        .map_or(now, |t| t.0);
    let deadline = cj
        .spec
        .starting_deadline_seconds
        .map(chrono::Duration::seconds);
    // Runs older than the starting deadline cannot start any more: they are not even counted.
    let window_start = match deadline {
        Some(d) => earliest.max(now - d),
        None => earliest,
    };
    let missed = schedule.missed_between(window_start, now, MAX_MISSED_START_TIMES);
    if missed.more_than_cap {
        actions.push(Action::Event {
            warning: true,
            reason: "TooManyMissedTimes",
            message: format!(
                "too many missed start times: > {MAX_MISSED_START_TIMES}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
            ),
        });
    }
    let Some(scheduled) = missed.most_recent else {
        // A run that fell out of the starting window without starting is reported, once.
        if deadline.is_some() {
            if let Some(skipped) = schedule.last_at_or_before(now).filter(|t| *t > earliest) {
                if observed.last_reported_miss.is_none_or(|r| skipped > r) {
                    actions.push(Action::Event {
                        warning: true,
                        reason: "MissSchedule",
                        message: format!(
                            "Missed scheduled time to start a job: {}",
                            rfc1123(skipped)
                        ),
                    });
                    actions.push(Action::ReportedMiss(skipped));
                }
            }
        }
        return next;
    };
    // The Job for this time exists already (created just before a crash or a lost status
    // write): the run has happened.
    let name = job_name(&cj.metadata.name, scheduled);
    if observed.jobs.iter().any(|j| j.metadata.name == name) {
        status.last_schedule_time = Some(Time::from(scheduled));
        return next;
    }
    match cj.spec.concurrency_policy.as_str() {
        "Forbid" if !status.active.is_empty() => {
            actions.push(Action::Event {
                warning: false,
                reason: "JobAlreadyActive",
                message: "Not starting job because prior execution is running and concurrency policy is Forbid".to_string(),
            });
            return next;
        }
        "Replace" => {
            for r in std::mem::take(&mut status.active) {
                actions.push(Action::DeleteJob {
                    name: r.name,
                    uid: r.uid,
                    why: Deletion::Replace,
                });
            }
        }
        _ => {}
    }
    actions.push(Action::CreateJob { name, scheduled });
    status.last_schedule_time = Some(Time::from(scheduled));
    next
}
