//! The pure decision of the Job controller: how many pods to run or stop, when the Job is complete or failed, and its status, at a given time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use skiff_api::meta::{condition_is_true, find_condition, Condition, Time};
use skiff_api::types::{Job, JobStatus, Pod};

use crate::pods::{
    deletion_order, is_active, PHASE_FAILED, PHASE_PENDING, PHASE_RUNNING, PHASE_SUCCEEDED,
};

/// Kubernetes' default `backoffLimit`.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// The delay before failed pods are replaced: `base * 2^(failures-1)`, capped at `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodBackoff {
    pub base: Duration,
    pub max: Duration,
}

impl PodBackoff {
    fn after(&self, failures: u32) -> Duration {
        let factor = 2u32
            .checked_pow(failures.saturating_sub(1).min(31))
            .unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// What the controller sees of one Job.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The Job's pods, in every phase (finished pods are kept and counted).
    pub pods: &'a [Arc<Pod>],
    pub expectations_met: bool,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    CreatePods(usize),
    DeletePods(Vec<Arc<Pod>>),
    UpdateStatus(JobStatus),
    Event {
        warning: bool,
        reason: &'static str,
        message: String,
    },
    /// `ttlSecondsAfterFinished` has passed: delete the Job (its pods follow it).
    DeleteJob,
    /// Look again after this long (a deadline, the end of a back-off, a TTL).
    RequeueAfter(Duration),
}

pub fn is_finished(job: &Job) -> bool {
    condition_is_true(&job.status.conditions, "Complete")
        || condition_is_true(&job.status.conditions, "Failed")
}

/// When the Job finished: its completion time, or when it was marked Failed.
fn finished_at(job: &Job) -> Option<DateTime<Utc>> {
    job.status
        .completion_time
        .or_else(|| {
            find_condition(&job.status.conditions, "Failed").and_then(|c| c.last_transition_time)
        })
        .map(|t| t.0)
}

/// When a finished pod ended: the latest container finish time, else its creation.
fn pod_finished_at(pod: &Pod) -> Option<DateTime<Utc>> {
    pod.status
        .container_statuses
        .iter()
        .filter_map(|c| c.state.terminated.as_ref().and_then(|t| t.finished_at))
        .max()
        .or(pod.metadata.creation_timestamp)
        .map(|t| t.0)
}

/// With restartPolicy OnFailure, failures are container restarts in place: Kubernetes counts
/// the restarts of the Job's running and pending pods against the backoff limit.
fn past_backoff_limit_on_failure(job: &Job, pods: &[Arc<Pod>], limit: i32) -> bool {
    if job.spec.template.spec.restart_policy != "OnFailure" {
        return false;
    }
    let restarts: i64 = pods
        .iter()
        .filter(|p| p.status.phase == PHASE_RUNNING || p.status.phase == PHASE_PENDING)
        .flat_map(|p| &p.status.container_statuses)
        .map(|c| i64::from(c.restart_count))
        .sum();
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= i64::from(limit)
    }
}

/// How long to wait before replacing failed pods: back-off counted over the failures since
/// the last success, from the last failure.
fn backoff_remaining(pods: &[Arc<Pod>], backoff: &PodBackoff, now: DateTime<Utc>) -> Duration {
    let last_success = pods
        .iter()
        .filter(|p| p.status.phase == PHASE_SUCCEEDED)
        .filter_map(|p| pod_finished_at(p))
        .max();
    let failures: Vec<DateTime<Utc>> = pods
        .iter()
        .filter(|p| p.status.phase == PHASE_FAILED)
        .filter_map(|p| pod_finished_at(p))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let Some(last_failure) = failures.iter().max() else {
        return Duration::ZERO;
    };
    let wait = backoff.after(u32::try_from(failures.len()).unwrap_or(u32::MAX));
    let due = *last_failure + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    (due - now).to_std().unwrap_or(Duration::ZERO)
}

fn condition(type_: &str, reason: &str, message: &str, now: DateTime<Utc>) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: "True".to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_probe_time: Some(Time::from(now)),
        last_transition_time: Some(Time::from(now)),
        ..Condition::default()
    }
}

/// Sets `new` unless a condition of its type already has its status (keeping its times).
fn set(conditions: &mut Vec<Condition>, new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) if old.status == new.status => {}
        Some(old) => *old = new,
        None => conditions.push(new),
    }
}

fn duration_until(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or(Duration::ZERO)
}

/// Decides one sync of `job` at `observed.now`.
pub fn reconcile(job: &Job, observed: &Observed, backoff: &PodBackoff) -> Vec<Action> {
    let now = observed.now;
    let mut actions = Vec::new();
    if is_finished(job) {
        if let (Some(ttl), Some(finished)) = (job.spec.ttl_seconds_after_finished, finished_at(job))
        {
            let expires = finished + chrono::Duration::seconds(i64::from(ttl.max(0)));
            if expires <= now {
                actions.push(Action::DeleteJob);
            } else {
                actions.push(Action::RequeueAfter(duration_until(now, expires)));
            }
        }
        return actions;
    }
    let pods = observed.pods;
    let mut active: Vec<Arc<Pod>> = pods.iter().filter(|p| is_active(p)).cloned().collect();
    active.sort_by(|a, b| deletion_order(a, b));
    let succeeded = pods
        .iter()
        .filter(|p| p.status.phase == PHASE_SUCCEEDED)
        .count() as i32;
    // Failed pods stay, so counting them is exact; the recorded count keeps failures whose
    // pods were deleted since (by a user, or when a deadline killed them).
    let mut failed = job.status.failed.max(
        pods.iter()
            .filter(|p| p.status.phase == PHASE_FAILED)
            .count() as i32,
    );
    let parallelism = job.spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = job.spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
    let suspended = job.spec.suspend == Some(true);

    let mut status = job.status.clone();
    if status.start_time.is_none() && !suspended {
        status.start_time = Some(Time::from(now));
    }
    let mut active_count = active.len() as i32;

    let deadline = match (job.spec.active_deadline_seconds, status.start_time) {
        (Some(seconds), Some(start)) if !suspended => {
            Some(start.0 + chrono::Duration::seconds(seconds))
        }
        _ => None,
    };
    let failure =
        if failed > backoff_limit || past_backoff_limit_on_failure(job, pods, backoff_limit) {
            Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ))
        } else if deadline.is_some_and(|d| d <= now) {
            Some((
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            ))
        } else {
            None
        };

    if let Some((reason, message)) = failure {
        if !active.is_empty() {
            actions.push(Action::DeletePods(active.clone()));
        }
        // Pods stopped by the failure count as failed, as in Kubernetes.
        failed += active_count;
        active_count = 0;
        set(
            &mut status.conditions,
            condition("Failed", reason, message, now),
        );
        actions.push(Action::Event {
            warning: true,
            reason,
            message: message.to_string(),
        });
    } else {
        let complete = match job.spec.completions {
            None => succeeded > 0 && active_count == 0,
            Some(completions) => succeeded >= completions,
        };
        if complete {
            if !active.is_empty() {
                actions.push(Action::DeletePods(active.clone()));
                active_count = 0;
            }
            set(&mut status.conditions, condition("Complete", "", "", now));
            status.completion_time = Some(Time::from(now));
            actions.push(Action::Event {
                warning: false,
                reason: "Completed",
                message: "Job completed".to_string(),
            });
            if let Some(ttl) = job.spec.ttl_seconds_after_finished {
                actions.push(Action::RequeueAfter(Duration::from_secs(
                    u64::try_from(ttl.max(0)).unwrap_or(0),
                )));
            }
        } else if suspended {
            if !active.is_empty() {
                actions.push(Action::DeletePods(active.clone()));
                active_count = 0;
            }
            if !condition_is_true(&status.conditions, "Suspended") {
                set(
                    &mut status.conditions,
                    condition("Suspended", "JobSuspended", "Job suspended", now),
                );
                actions.push(Action::Event {
                    warning: false,
                    reason: "Suspended",
                    message: "Job suspended".to_string(),
                });
            }
        } else {
            if condition_is_true(&status.conditions, "Suspended") {
                let mut resumed = condition("Suspended", "JobResumed", "Job resumed", now);
                resumed.status = "False".to_string();
                set(&mut status.conditions, resumed);
                status.start_time = Some(Time::from(now));
                actions.push(Action::Event {
                    warning: false,
                    reason: "Resumed",
                    message: "Job resumed".to_string(),
                });
            }
            // A Job being deleted starts no pods (its dependents are on their way out).
            if observed.expectations_met && job.metadata.deletion_timestamp.is_none() {
                let want = match job.spec.completions {
                    None if succeeded > 0 => active_count,
                    None => parallelism,
                    Some(completions) => (completions - succeeded).clamp(0, parallelism),
                };
                if active_count > want {
                    let surplus = usize::try_from(active_count - want).unwrap_or(0);
                    actions.push(Action::DeletePods(
                        active.iter().take(surplus).cloned().collect(),
                    ));
                    active_count = want;
                } else if active_count < want {
                    let wait = backoff_remaining(pods, backoff, now);
                    if wait.is_zero() {
                        actions.push(Action::CreatePods(
                            usize::try_from(want - active_count).unwrap_or(0),
                        ));
                        active_count = want;
                    } else {
                        actions.push(Action::RequeueAfter(wait));
                    }
                }
            }
            if let Some(deadline) = deadline {
                actions.push(Action::RequeueAfter(duration_until(now, deadline)));
            }
        }
    }
    status.active = active_count;
    status.succeeded = succeeded;
    status.failed = failed;
    if status != job.status {
        actions.push(Action::UpdateStatus(status));
    }
    actions
}
