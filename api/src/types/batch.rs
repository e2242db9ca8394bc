//! Run-to-completion work: Job (`batch/v1`) and CronJob (`batch/v1`, also accepted as `batch/v1beta1`).
//!
//! Accepted but not acted on: nothing; every field here is implemented.

use serde::{Deserialize, Serialize};

use super::pod::PodTemplateSpec;
use super::resource;
use crate::meta::{is_default, Condition, ObjectMeta, ObjectReference, Time};
use crate::selector::LabelSelector;

resource! {
    /// Runs pods until `completions` of them succeed.
    pub struct Job("batch/v1", "Job", "jobs", namespaced: true) {
        pub spec: JobSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: JobStatus,
    }
}

/// The desired state of a Job: how many pods must succeed, how many run at once, and the template they are made from.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct JobSpec {
    /// How many pods may run at once (default 1); `skiff scale job` changes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// How many pods must succeed. Defaults to 1 when `parallelism` is also unset; left unset
    /// when only `parallelism` is given (a work queue: done when any pod succeeds and all
    /// have ended), as in Kubernetes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
    /// The job fails with reason `DeadlineExceeded` once it has been active this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// Failed pods tolerated before the job fails with `BackoffLimitExceeded` (default 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    /// Generated from the job's uid (`controller-uid=<uid>`) unless `manualSelector` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_selector: Option<bool>,
    pub template: PodTemplateSpec,
    /// A finished job is deleted this long after it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    /// While true no pods are started and running ones are stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// The observed state of a Job: its active, succeeded and failed pods, start and completion time, conditions.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct JobStatus {
    /// `Complete`, `Failed` (reason `DeadlineExceeded` or `BackoffLimitExceeded`), `Suspended`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    #[serde(skip_serializing_if = "is_default")]
    pub active: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub succeeded: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub failed: i32,
}

resource! {
    /// Creates a Job from `jobTemplate` at each time of a cron schedule.
    pub struct CronJob("batch/v1", "CronJob", "cronjobs", namespaced: true) {
        pub spec: CronJobSpec,
        #[serde(skip_serializing_if = "is_default")]
        pub status: CronJobStatus,
    }
}

/// The values of `concurrencyPolicy`.
pub const CONCURRENCY_POLICIES: [&str; 3] = ["Allow", "Forbid", "Replace"];

/// The desired state of a CronJob: its schedule and the Job it creates at each scheduled time.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CronJobSpec {
    /// Five-field cron format (`0,15,30,45 * * * *`), in UTC.
    pub schedule: String,
    /// A run that cannot start within this many seconds of its time is skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<i64>,
    /// `Allow` (default), `Forbid` or `Replace`: what to do when the previous run is still active.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub concurrency_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    pub job_template: JobTemplateSpec,
    /// Finished jobs kept (defaults 3 successful, 1 failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successful_jobs_history_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_jobs_history_limit: Option<i32>,
}

/// The Job a CronJob creates.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct JobTemplateSpec {
    #[serde(skip_serializing_if = "is_default")]
    pub metadata: ObjectMeta,
    pub spec: JobSpec,
}

/// The observed state of a CronJob: its running Jobs and when it last scheduled one.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CronJobStatus {
    /// The jobs currently running.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<ObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_successful_time: Option<Time>,
}
