//! The Job controller: runs a Job's pods to completion, within its parallelism, deadline and backoff limit.

pub mod reconcile;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use skiff_api::selector::Selector;
use skiff_api::types::{controller_reference, object_reference, Job, JobStatus, Pod, Resource};
use skiff_client::{Client, DeleteOptions, Propagation};
use skiff_runtime::events::EventRecorder;
use skiff_runtime::informer::{key_of, Event, Store};
use skiff_runtime::workqueue::WorkQueue;
use tracing::warn;

use crate::claim::{self, claim_pods};
use crate::clock::Clock;
use crate::context::Context;
use crate::error::SyncError;
use crate::expectations::Expectations;
use crate::informers::Informers;
use crate::owners;
use crate::podcontrol::PodControl;
use crate::pods;
use crate::runner::{Reconciler, Requeue};
use reconcile::{reconcile, Action, Observed, PodBackoff};

const CONTROLLER: &str = "job";
const COMPONENT: &str = "job-controller";

fn selector(job: &Job) -> Option<Selector> {
    Selector::from_label_selector(job.spec.selector.as_ref()?).ok()
}

pub struct JobController {
    client: Client,
    jobs: Store<Job>,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    control: PodControl,
    recorder: EventRecorder,
    clock: Arc<dyn Clock>,
    backoff: PodBackoff,
}

impl JobController {
    pub fn new(ctx: &Context, informers: &mut Informers) -> (Arc<Self>, WorkQueue<String>) {
        let queue = WorkQueue::new(CONTROLLER);
        let expectations = Arc::new(Expectations::default());
        let jobs = ctx.stores.jobs.clone();
        {
            let (queue, expectations) = (queue.clone(), expectations.clone());
            informers.jobs.on_event(move |event| {
                let key = key_of(event.object().as_ref());
                if let Event::Deleted(_) = event {
                    expectations.forget(&key);
                }
                queue.add(key);
            });
        }
        {
            let (queue, expectations, store) = (queue.clone(), expectations.clone(), jobs.clone());
            informers.pods.on_event(move |event| {
                owners::on_pod_event(&store, &queue, &expectations, selector, event)
            });
        }
        let recorder = ctx.recorder(COMPONENT);
        let control = PodControl {
            client: ctx.client.clone(),
            recorder: recorder.clone(),
            expectations: expectations.clone(),
            metrics: ctx.metrics.clone(),
            controller: CONTROLLER,
        };
        let controller = Arc::new(JobController {
            client: ctx.client.clone(),
            jobs,
            pods: ctx.stores.pods.clone(),
            expectations,
            control,
            recorder,
            clock: ctx.clock.clone(),
            backoff: PodBackoff {
                base: ctx.config.job_backoff_base,
                max: ctx.config.job_backoff_max,
            },
        });
        (controller, queue)
    }

    async fn write_status(&self, job: &Job, status: JobStatus) -> Result<(), SyncError> {
        let what = || format!("update status of Job {}", job.name());
        let mut object = job.clone();
        object.status = status;
        // No retry on conflict: the status is derived from a view of the Job that is now stale
        // (its parallelism or suspension may have changed); the next sync recomputes it.
        match self.client.update_status(&object).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(SyncError::api(what(), e)),
        }
    }
}

impl Reconciler<String> for JobController {
    fn name(&self) -> &'static str {
        CONTROLLER
    }

    async fn sync(&self, key: &String) -> Result<Requeue, SyncError> {
        let Some(job) = self.jobs.get_by_key(key) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let Some(selector) = selector(&job).filter(|s| !s.is_empty()) else {
            warn!(key, "Job has no usable selector; ignoring it");
            return Ok(None);
        };
        let namespace = job.namespace().to_string();
        let deleting = job.metadata.deletion_timestamp.is_some();
        let candidates = self.pods.list_namespace(&namespace);
        let mut claims = claim_pods(&job.metadata.uid, deleting, true, &selector, &candidates);
        if !claims.adopt.is_empty()
            && !owners::can_adopt(&self.client, job.as_ref())
                .await
                .map_err(|e| SyncError::api(format!("read Job {}", job.name()), e))?
        {
            claims = claim_pods(&job.metadata.uid, deleting, false, &selector, &candidates);
        }
        for pod in &claims.adopt {
            claim::adopt(
                &self.client,
                pod,
                controller_reference(job.as_ref()),
                &selector,
            )
            .await
            .map_err(|e| SyncError::api(format!("adopt pod {}", pod.metadata.name), e))?;
        }
        for pod in &claims.release {
            claim::release(&self.client, pod.as_ref(), &job.metadata.uid)
                .await
                .map_err(|e| SyncError::api(format!("release pod {}", pod.metadata.name), e))?;
        }
        let observed = Observed {
            pods: &claims.claimed,
            expectations_met: self.expectations.satisfied(key),
            now: self.clock.now(),
        };
        let reference = object_reference(job.as_ref());
        let mut failure = None;
        let mut requeue: Option<Duration> = None;
        let mut events = Vec::new();
        for action in reconcile(&job, &observed, &self.backoff) {
            match action {
                Action::CreatePods(n) => {
                    self.expectations.expect(key, n, []);
                    let template = pods::from_template(
                        &job.spec.template,
                        &namespace,
                        job.name(),
                        controller_reference(job.as_ref()),
                    );
                    if let Err(e) = self
                        .control
                        .create(key, &reference, vec![template; n])
                        .await
                    {
                        failure = Some(SyncError::api("create pods", e));
                    }
                }
                Action::DeletePods(victims) => {
                    self.expectations.expect(
                        key,
                        0,
                        victims.iter().map(|p| p.metadata.uid.clone()),
                    );
                    if let Err(e) = self.control.delete(key, &reference, &victims).await {
                        failure.get_or_insert(SyncError::api("delete pods", e));
                    }
                }
                Action::Event {
                    warning,
                    reason,
                    message,
                } => events.push((warning, reason, message)),
                Action::UpdateStatus(status) => self.write_status(&job, status).await?,
                Action::DeleteJob => {
                    let options = DeleteOptions {
                        propagation: Some(Propagation::Foreground),
                        precondition_uid: Some(job.metadata.uid.clone()),
                        ..DeleteOptions::default()
                    };
                    match self
                        .client
                        .delete::<Job>(&namespace, job.name(), &options)
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if e.is_not_found() || e.is_conflict() => {}
                        Err(e) => {
                            return Err(SyncError::api(
                                format!("delete finished Job {}", job.name()),
                                e,
                            ))
                        }
                    }
                }
                Action::RequeueAfter(d) => requeue = Some(requeue.map_or(d, |r| r.min(d))),
            }
        }
        // Events only once the status that goes with them is written, so a retried sync does
        // not report the same transition twice.
        for (warning, reason, message) in events {
            if warning {
                self.recorder.warning(&reference, reason, message);
            } else {
                self.recorder.normal(&reference, reason, message);
            }
        }
        match failure {
            Some(e) => Err(e),
            // A little past the due time, so the clock has certainly passed it.
            None => Ok(requeue.map(|d| d + Duration::from_millis(100))),
        }
    }
}
