//! The DaemonSet controller: one pod per matching node, placed by the controller itself (`nodeName` set at creation, so the scheduler skips it).

pub mod reconcile;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use skiff_api::selector::Selector;
use skiff_api::types::{controller_reference, object_reference, DaemonSet, Node, Pod, Resource};
use skiff_client::Client;
use skiff_runtime::events::EventRecorder;
use skiff_runtime::informer::{key_of, Event, Store};
use skiff_runtime::workqueue::WorkQueue;
use tracing::warn;

use crate::claim;
use crate::context::Context;
use crate::error::SyncError;
use crate::expectations::Expectations;
use crate::informers::Informers;
use crate::owners;
use crate::podcontrol::PodControl;
use crate::pods;
use crate::runner::{Reconciler, Requeue};
use reconcile::{reconcile, Action, Desired, Observed, Why, TEMPLATE_GENERATION_LABEL};

const CONTROLLER: &str = "daemonset";
const COMPONENT: &str = "daemonset-controller";

fn selector(ds: &DaemonSet) -> Option<Selector> {
    Selector::from_label_selector(ds.spec.selector.as_ref()?).ok()
}

pub struct DaemonSetController {
    client: Client,
    daemon_sets: Store<DaemonSet>,
    nodes: Store<Node>,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    control: PodControl,
    recorder: EventRecorder,
}

/// Enqueues every DaemonSet: a node change can concern any of them.
fn enqueue_all(daemon_sets: &Store<DaemonSet>, queue: &WorkQueue<String>) {
    for ds in daemon_sets.list() {
        queue.add(key_of(ds.as_ref()));
    }
}

impl DaemonSetController {
    pub fn new(ctx: &Context, informers: &mut Informers) -> (Arc<Self>, WorkQueue<String>) {
        let queue = WorkQueue::new(CONTROLLER);
        let expectations = Arc::new(Expectations::default());
        let daemon_sets = ctx.stores.daemon_sets.clone();
        {
            let (queue, expectations) = (queue.clone(), expectations.clone());
            informers.daemon_sets.on_event(move |event| {
                let key = key_of(event.object().as_ref());
                if let Event::Deleted(_) = event {
                    expectations.forget(&key);
                }
                queue.add(key);
            });
        }
        {
            let (queue, expectations, store) =
                (queue.clone(), expectations.clone(), daemon_sets.clone());
            informers.pods.on_event(move |event| {
                owners::on_pod_event(&store, &queue, &expectations, selector, event)
            });
        }
        {
            let (queue, store) = (queue.clone(), daemon_sets.clone());
            informers.nodes.on_event(move |event| match event {
                // Only what placement depends on: labels and deletion.
                Event::Updated { old, new }
                    if old.metadata.labels == new.metadata.labels
                        && old.metadata.deletion_timestamp == new.metadata.deletion_timestamp => {}
                _ => enqueue_all(&store, &queue),
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
        let controller = Arc::new(DaemonSetController {
            client: ctx.client.clone(),
            daemon_sets,
            nodes: ctx.stores.nodes.clone(),
            pods: ctx.stores.pods.clone(),
            expectations,
            control,
            recorder,
        });
        (controller, queue)
    }

    /// The pod for `node`: the template, bound to the node, labelled with the generation.
    fn daemon_pod(ds: &DaemonSet, node: &str) -> Pod {
        let mut pod = pods::from_template(
            &ds.spec.template,
            ds.namespace(),
            ds.name(),
            controller_reference(ds),
        );
        pod.spec.node_name = node.to_string();
        pod.metadata.labels.insert(
            TEMPLATE_GENERATION_LABEL.to_string(),
            ds.metadata.generation.to_string(),
        );
        pod
    }

    async fn write_status(
        &self,
        ds: &DaemonSet,
        status: skiff_api::types::DaemonSetStatus,
    ) -> Result<(), SyncError> {
        let what = || format!("update status of DaemonSet {}", ds.name());
        let mut object = ds.clone();
        object.status = status.clone();
        match self.client.update_status(&object).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_conflict() => match self
                .client
                .get_opt::<DaemonSet>(ds.namespace(), ds.name())
                .await
            {
                Ok(Some(mut fresh)) if fresh.metadata.uid == ds.metadata.uid => {
                    fresh.status = status;
                    self.client
                        .update_status(&fresh)
                        .await
                        .map(drop)
                        .map_err(|e| SyncError::api(what(), e))
                }
                Ok(_) => Ok(()),
                Err(e) => Err(SyncError::api(what(), e)),
            },
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(SyncError::api(what(), e)),
        }
    }
}

impl Reconciler<String> for DaemonSetController {
    fn name(&self) -> &'static str {
        CONTROLLER
    }

    async fn sync(&self, key: &String) -> Result<Requeue, SyncError> {
        let Some(ds) = self.daemon_sets.get_by_key(key) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let Some(selector) = selector(&ds).filter(|s| !s.is_empty()) else {
            warn!(key, "DaemonSet has no usable selector; ignoring it");
            return Ok(None);
        };
        let namespace = ds.namespace().to_string();
        let nodes = self.nodes.list();
        let pods = self.pods.list_namespace(&namespace);
        let desired = Desired {
            uid: &ds.metadata.uid,
            selector: &selector,
            node_selector: &ds.spec.template.spec.node_selector,
            generation: ds.metadata.generation,
            deleting: ds.metadata.deletion_timestamp.is_some(),
            status: &ds.status,
        };
        let mut observed = Observed {
            nodes: &nodes,
            pods: &pods,
            expectations_met: self.expectations.satisfied(key),
            can_adopt: true,
        };
        let mut actions = reconcile(&desired, &observed);
        if actions.iter().any(|a| matches!(a, Action::Adopt(_)))
            && !owners::can_adopt(&self.client, ds.as_ref())
                .await
                .map_err(|e| SyncError::api(format!("read DaemonSet {}", ds.name()), e))?
        {
            observed.can_adopt = false;
            actions = reconcile(&desired, &observed);
        }
        let reference = object_reference(ds.as_ref());
        let mut failure = None;
        for action in actions {
            match action {
                Action::Adopt(pod) => claim::adopt(
                    &self.client,
                    &pod,
                    controller_reference(ds.as_ref()),
                    &selector,
                )
                .await
                .map_err(|e| SyncError::api(format!("adopt pod {}", pod.metadata.name), e))?,
                Action::Release(pod) => {
                    claim::release(&self.client, pod.as_ref(), &ds.metadata.uid)
                        .await
                        .map_err(|e| {
                            SyncError::api(format!("release pod {}", pod.metadata.name), e)
                        })?
                }
                Action::CreateOn(nodes) => {
                    self.expectations.expect(key, nodes.len(), []);
                    let new_pods = nodes.iter().map(|n| Self::daemon_pod(&ds, n)).collect();
                    if let Err(e) = self.control.create(key, &reference, new_pods).await {
                        failure = Some(SyncError::api("create daemon pods", e));
                    }
                }
                Action::DeletePods(victims) => {
                    for (pod, why) in &victims {
                        if *why == Why::Failed {
                            let message = format!(
                                "Found failed daemon pod {}/{} on node {}, will try to kill it",
                                pod.metadata.namespace, pod.metadata.name, pod.spec.node_name
                            );
                            self.recorder
                                .warning(&reference, "FailedDaemonPod", message);
                        }
                    }
                    let victims: Vec<Arc<Pod>> = victims.into_iter().map(|(p, _)| p).collect();
                    self.expectations.expect(
                        key,
                        0,
                        victims.iter().map(|p| p.metadata.uid.clone()),
                    );
                    if let Err(e) = self.control.delete(key, &reference, &victims).await {
                        failure.get_or_insert(SyncError::api("delete daemon pods", e));
                    }
                }
                Action::UpdateStatus(status) => self.write_status(&ds, status).await?,
            }
        }
        failure.map_or(Ok(None), Err)
    }
}
