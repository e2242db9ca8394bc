//! The controller shell shared by ReplicationControllers and ReplicaSets: event handlers that enqueue owners, and the sync that carries out [`reconcile`]'s decisions.
//!
//! The two kinds differ only in how they spell their selector, so each implements
//! [`ReplicaKind`] (in `replication.rs` and `replicaset.rs`) and runs this same controller.

pub mod reconcile;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use skiff_api::selector::Selector;
use skiff_api::types::{
    controller_reference, object_reference, Pod, PodTemplateSpec, ReplicaStatus, Resource,
};
use skiff_client::Client;
use skiff_runtime::informer::{key_of, Event, Informer, Store};
use skiff_runtime::workqueue::WorkQueue;
use tracing::warn;

use crate::claim;
use crate::context::Context;
use crate::error::SyncError;
use crate::expectations::Expectations;
use crate::informers::{Informers, Stores};
use crate::owners;
use crate::podcontrol::PodControl;
use crate::pods;
use crate::runner::{Reconciler, Requeue};
use reconcile::{reconcile, with_failure, Action, Desired, Observed};

/// What the shared controller needs from a ReplicationController or a ReplicaSet.
pub trait ReplicaKind: Resource {
    /// The controller's name in metrics and logs (`replicaset`).
    const CONTROLLER: &'static str;
    /// The source of its events (`replicaset-controller`).
    const COMPONENT: &'static str;

    fn informer(informers: &mut Informers) -> &mut Informer<Self>;
    fn store(stores: &Stores) -> &Store<Self>;
    /// `spec.replicas` (default 1).
    fn replicas(&self) -> i32;
    /// The pod selector; `None` when it cannot be used (the controller then does nothing).
    fn selector(&self) -> Option<Selector>;
    fn template(&self) -> &PodTemplateSpec;
    fn replica_status(&self) -> &ReplicaStatus;
    fn replica_status_mut(&mut self) -> &mut ReplicaStatus;
}

/// Keeps `replicas` pods matching each owner's selector.
pub struct ReplicaController<K: ReplicaKind> {
    client: Client,
    owners: Store<K>,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    control: PodControl,
}

impl<K: ReplicaKind> ReplicaController<K> {
    /// Registers the handlers on the informers and returns the controller and its queue.
    pub fn new(ctx: &Context, informers: &mut Informers) -> (Arc<Self>, WorkQueue<String>) {
        let queue = WorkQueue::new(K::CONTROLLER);
        let expectations = Arc::new(Expectations::default());
        let owners = K::store(&ctx.stores).clone();
        {
            let queue = queue.clone();
            let expectations = expectations.clone();
            K::informer(informers).on_event(move |event| {
                let key = key_of(event.object().as_ref());
                if let Event::Deleted(_) = event {
                    expectations.forget(&key);
                }
                queue.add(key);
            });
        }
        {
            let (queue, expectations, owners) =
                (queue.clone(), expectations.clone(), owners.clone());
            informers.pods.on_event(move |event| {
                owners::on_pod_event(&owners, &queue, &expectations, K::selector, event)
            });
        }
        let control = PodControl {
            client: ctx.client.clone(),
            recorder: ctx.recorder(K::COMPONENT),
            expectations: expectations.clone(),
            metrics: ctx.metrics.clone(),
            controller: K::CONTROLLER,
        };
        let controller = Arc::new(ReplicaController {
            client: ctx.client.clone(),
            owners,
            pods: ctx.stores.pods.clone(),
            expectations,
            control,
        });
        (controller, queue)
    }

    async fn write_status(&self, owner: &K, status: ReplicaStatus) -> Result<(), SyncError> {
        let mut object = owner.clone();
        *object.replica_status_mut() = status.clone();
        let what = || format!("update status of {} {}", K::KIND, owner.name());
        match self.client.update_status(&object).await {
            Ok(_) => Ok(()),
            // The owner changed since the cache saw it: write the same status on top of the
            // fresh object once; the update event brings the next sync anyway.
            Err(e) if e.is_conflict() => {
                let fresh = self
                    .client
                    .get_opt::<K>(owner.namespace(), owner.name())
                    .await;
                match fresh.map_err(|e| SyncError::api(what(), e))? {
                    Some(mut fresh) if fresh.metadata().uid == owner.metadata().uid => {
                        *fresh.replica_status_mut() = status;
                        self.client
                            .update_status(&fresh)
                            .await
                            .map(drop)
                            .map_err(|e| SyncError::api(what(), e))
                    }
                    _ => Ok(()),
                }
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(SyncError::api(what(), e)),
        }
    }
}

impl<K: ReplicaKind> Reconciler<String> for ReplicaController<K> {
    fn name(&self) -> &'static str {
        K::CONTROLLER
    }

    async fn sync(&self, key: &String) -> Result<Requeue, SyncError> {
        let Some(owner) = self.owners.get_by_key(key) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let Some(selector) = owner.selector().filter(|s| !s.is_empty()) else {
            warn!(key, "{} has no usable selector; ignoring it", K::KIND);
            return Ok(None);
        };
        let namespace = owner.namespace().to_string();
        let pods = self
            .pods
            .list_filtered(|p| p.namespace() == namespace && pods::is_active(p));
        let desired = Desired {
            uid: &owner.metadata().uid,
            replicas: owner.replicas(),
            selector: &selector,
            template_labels: &owner.template().metadata.labels,
            generation: owner.metadata().generation,
            deleting: owner.metadata().deletion_timestamp.is_some(),
            status: owner.replica_status(),
        };
        let mut observed = Observed {
            pods: &pods,
            expectations_met: self.expectations.satisfied(key),
            can_adopt: true,
        };
        let mut actions = reconcile(&desired, &observed);
        if actions.iter().any(|a| matches!(a, Action::Adopt(_)))
            && !owners::can_adopt(&self.client, owner.as_ref())
                .await
                .map_err(|e| SyncError::api(format!("read {} {}", K::KIND, owner.name()), e))?
        {
            observed.can_adopt = false;
            actions = reconcile(&desired, &observed);
        }
        let reference = object_reference(owner.as_ref());
        let mut failure = None;
        let mut status = None;
        for action in actions {
            match action {
                Action::Adopt(pod) => claim::adopt(
                    &self.client,
                    &pod,
                    controller_reference(owner.as_ref()),
                    &selector,
                )
                .await
                .map_err(|e| SyncError::api(format!("adopt pod {}", pod.metadata.name), e))?,
                Action::Release(pod) => {
                    claim::release(&self.client, pod.as_ref(), &owner.metadata().uid)
                        .await
                        .map_err(|e| {
                            SyncError::api(format!("release pod {}", pod.metadata.name), e)
                        })?
                }
                Action::CreatePods(n) => {
                    self.expectations.expect(key, n, []);
                    let template = pods::from_template(
                        owner.template(),
                        &namespace,
                        owner.name(),
                        controller_reference(owner.as_ref()),
                    );
                    if let Err(e) = self
                        .control
                        .create(key, &reference, vec![template; n])
                        .await
                    {
                        failure = Some(("FailedCreate", SyncError::api("create pods", e)));
                    }
                }
                Action::DeletePods(victims) => {
                    self.expectations.expect(
                        key,
                        0,
                        victims.iter().map(|p| p.metadata.uid.clone()),
                    );
                    if let Err(e) = self.control.delete(key, &reference, &victims).await {
                        failure = Some(("FailedDelete", SyncError::api("delete pods", e)));
                    }
                }
                Action::UpdateStatus(s) => status = Some(s),
            }
        }
        let current = owner.replica_status();
        let status = match &failure {
            Some((reason, error)) => Some(with_failure(
                status.unwrap_or_else(|| current.clone()),
                current,
                reason,
                &error.to_string(),
            )),
            None => status,
        };
        if let Some(status) = status.filter(|s| s != current) {
            self.write_status(&owner, status).await?;
        }
        failure.map_or(Ok(None), |(_, e)| Err(e))
    }
}
