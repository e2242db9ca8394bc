//! The CronJob controller: creates one Job per scheduled time, applies the concurrency policy and starting deadline, prunes finished Jobs, and wakes up exactly at the next scheduled time.

pub mod reconcile;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use skiff_api::meta::ObjectReference;
use skiff_api::types::{object_reference, CronJob, CronJobStatus, Job, Resource};
use skiff_client::{Client, DeleteOptions, Propagation};
use skiff_runtime::events::EventRecorder;
use skiff_runtime::informer::{key_of, Store};
use skiff_runtime::workqueue::WorkQueue;
use tracing::warn;

use crate::clock::Clock;
use crate::context::Context;
use crate::error::SyncError;
use crate::informers::Informers;
use crate::owners;
use crate::pods::is_controlled_by;
use crate::runner::{Reconciler, Requeue};
use reconcile::{build_job, reconcile, Action, Deletion, Observed};

const CONTROLLER: &str = "cronjob";
const COMPONENT: &str = "cronjob-controller";

/// Kubernetes' `nextScheduleDelta`: wake up just after the scheduled time, never just before.
const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

pub struct CronJobController {
    client: Client,
    cron_jobs: Store<CronJob>,
    jobs: Store<Job>,
    recorder: EventRecorder,
    clock: Arc<dyn Clock>,
    metrics: Arc<crate::metrics::Metrics>,
    /// The last skipped run reported per CronJob uid, so a MissSchedule is reported once.
    reported_misses: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl CronJobController {
    pub fn new(ctx: &Context, informers: &mut Informers) -> (Arc<Self>, WorkQueue<String>) {
        let queue = WorkQueue::new(CONTROLLER);
        let cron_jobs = ctx.stores.cron_jobs.clone();
        {
            let queue = queue.clone();
            informers
                .cron_jobs
                .on_event(move |event| queue.add(key_of(event.object().as_ref())));
        }
        {
            let (queue, store) = (queue.clone(), cron_jobs.clone());
            informers.jobs.on_event(move |event| {
                let job = event.object();
                if let Some(key) = job
                    .metadata
                    .controller_ref()
                    .and_then(|r| owners::resolve(&store, job.namespace(), r))
                {
                    queue.add(key);
                }
            });
        }
        let controller = Arc::new(CronJobController {
            client: ctx.client.clone(),
            cron_jobs,
            jobs: ctx.stores.jobs.clone(),
            recorder: ctx.recorder(COMPONENT),
            clock: ctx.clock.clone(),
            metrics: ctx.metrics.clone(),
            reported_misses: Mutex::new(HashMap::new()),
        });
        (controller, queue)
    }

    /// The CronJob's Jobs from the cache, plus fresh reads of active ones the cache does not
    /// have yet (a Job just created); the active ones confirmed gone are returned apart.
    async fn observe_jobs(
        &self,
        cj: &CronJob,
    ) -> Result<(Vec<Arc<Job>>, HashSet<String>), SyncError> {
        let mut jobs = self.jobs.list_filtered(|j| {
            j.namespace() == cj.namespace() && is_controlled_by(&j.metadata, &cj.metadata.uid)
        });
        let mut missing = HashSet::new();
        for r in &cj.status.active {
            if jobs.iter().any(|j| j.metadata.uid == r.uid) {
                continue;
            }
            match self.client.get_opt::<Job>(cj.namespace(), &r.name).await {
                Ok(Some(job)) if job.metadata.uid == r.uid => jobs.push(Arc::new(job)),
                Ok(_) => {
                    missing.insert(r.uid.clone());
                }
                Err(e) => return Err(SyncError::api(format!("read Job {}", r.name), e)),
            }
        }
        Ok((jobs, missing))
    }

    async fn delete_job(
        &self,
        cj_ref: &ObjectReference,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> Result<(), SyncError> {
        let options = DeleteOptions {
            propagation: Some(Propagation::Background),
            precondition_uid: Some(uid.to_string()),
            ..DeleteOptions::default()
        };
        match self.client.delete::<Job>(namespace, name, &options).await {
            Ok(_) => {
                self.metrics.deleted(CONTROLLER, "jobs", 1);
                self.recorder
                    .normal(cj_ref, "SuccessfulDelete", format!("Deleted job {name}"));
                Ok(())
            }
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(e) => {
                self.recorder
                    .warning(cj_ref, "FailedDelete", format!("Deleted job {name}: {e}"));
                Err(SyncError::api(format!("delete Job {name}"), e))
            }
        }
    }

    /// Creates the Job for `scheduled`; returns the reference to add to `status.active`, if
    /// the Job (ours, new or existing) is running. AlreadyExists means the run happened.
    async fn create_job(
        &self,
        cj: &CronJob,
        cj_ref: &ObjectReference,
        scheduled: DateTime<Utc>,
    ) -> Result<Option<ObjectReference>, SyncError> {
        let job = build_job(cj, scheduled);
        match self.client.create(&job).await {
            Ok(created) => {
                self.metrics.created(CONTROLLER, "jobs", 1);
                self.recorder.normal(
                    cj_ref,
                    "SuccessfulCreate",
                    format!("Created job {}", created.metadata.name),
                );
                Ok(Some(object_reference(&created)))
            }
            Err(e) if e.is_already_exists() => {
                let existing = self
                    .client
                    .get_opt::<Job>(cj.namespace(), &job.metadata.name)
                    .await
                    .map_err(|e| SyncError::api(format!("read Job {}", job.metadata.name), e))?;
                Ok(existing
                    .filter(|j| {
                        is_controlled_by(&j.metadata, &cj.metadata.uid)
                            && !crate::job::reconcile::is_finished(j)
                    })
                    .map(|j| object_reference(&j)))
            }
            Err(e) => {
                self.recorder
                    .warning(cj_ref, "FailedCreate", format!("Error creating job: {e}"));
                Err(SyncError::api(
                    format!("create Job {}", job.metadata.name),
                    e,
                ))
            }
        }
    }

    async fn write_status(&self, cj: &CronJob, status: CronJobStatus) -> Result<(), SyncError> {
        let mut object = cj.clone();
        object.status = status;
        match self.client.update_status(&object).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(SyncError::api(
                format!("update status of CronJob {}", cj.name()),
                e,
            )),
        }
    }
}

impl Reconciler<String> for CronJobController {
    fn name(&self) -> &'static str {
        CONTROLLER
    }

    async fn sync(&self, key: &String) -> Result<Requeue, SyncError> {
        let Some(cj) = self.cron_jobs.get_by_key(key) else {
            return Ok(None);
        };
        let (jobs, missing) = self.observe_jobs(&cj).await?;
        let uid = cj.metadata.uid.clone();
        let last_reported_miss = self.reported_misses.lock().get(&uid).copied();
        let observed = Observed {
            jobs: &jobs,
            missing: &missing,
            now: self.clock.now(),
            last_reported_miss,
        };
        let cj_ref = object_reference(cj.as_ref());
        let mut new_active = None;
        let mut requeue = None;
        for action in reconcile(&cj, &observed) {
            match action {
                Action::DeleteJob { name, uid, why } => {
                    let result = self.delete_job(&cj_ref, cj.namespace(), &name, &uid).await;
                    // Pruning history may fail without holding up the schedule.
                    match (result, why) {
                        (Err(e), Deletion::Replace) => return Err(e),
                        (Err(e), Deletion::History) => warn!(key, "pruning finished Jobs: {e}"),
                        (Ok(()), _) => {}
                    }
                }
                Action::CreateJob { scheduled, .. } => {
                    new_active = self.create_job(&cj, &cj_ref, scheduled).await?
                }
                Action::UpdateStatus(mut status) => {
                    if let Some(r) = new_active.take() {
                        if !status.active.iter().any(|a| a.uid == r.uid) {
                            status.active.push(r);
                        }
                    }
                    if status != cj.status {
                        self.write_status(&cj, status).await?;
                    }
                }
                Action::Event {
                    warning,
                    reason,
                    message,
                } => {
                    if warning {
                        self.recorder.warning(&cj_ref, reason, message);
                    } else {
                        self.recorder.normal(&cj_ref, reason, message);
                    }
                }
                Action::ReportedMiss(at) => {
                    self.reported_misses.lock().insert(uid.clone(), at);
                }
                Action::RequeueAfter(d) => requeue = Some(d + NEXT_SCHEDULE_DELTA),
            }
        }
        Ok(requeue)
    }
}
