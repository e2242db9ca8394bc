//! The node lifecycle controller: watches each node's heartbeat Lease (`kube-node-lease/<node>`), marks silent nodes Ready=Unknown, and after the eviction timeout deletes their pods so controllers replace them elsewhere. Pods bound to nodes that no longer exist are deleted too.

pub mod reconcile;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use parking_lot::Mutex;
use skiff_api::meta::{set_condition, Condition};
use skiff_api::types::{object_reference, Node, Pod};
use skiff_client::{Client, DeleteOptions};
use skiff_runtime::events::EventRecorder;
use skiff_runtime::informer::{Event, Store};
use skiff_runtime::workqueue::WorkQueue;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::context::Context;
use crate::error::SyncError;
use crate::informers::Informers;
use crate::metrics::Metrics;
use crate::runner::{Reconciler, Requeue};
use reconcile::{ready_status, reconcile, Action, Health, Timing};

const CONTROLLER: &str = "nodelifecycle";
const COMPONENT: &str = "node-controller";

/// What this process has seen of one node's liveness, on its own clock.
#[derive(Debug)]
struct Seen {
    /// The heartbeat Lease's resourceVersion when it last changed.
    lease_version: String,
    heartbeat_at: Instant,
    not_ready_since: Option<Instant>,
}

impl Seen {
    fn now() -> Seen {
        Seen {
            lease_version: String::new(),
            heartbeat_at: Instant::now(),
            not_ready_since: None,
        }
    }
}

type SeenMap = Arc<Mutex<HashMap<String, Seen>>>;

pub struct NodeLifecycleController {
    client: Client,
    nodes: Store<Node>,
    pods: Store<Pod>,
    seen: SeenMap,
    timing: Timing,
    recorder: EventRecorder,
    metrics: Arc<Metrics>,
}

impl NodeLifecycleController {
    pub fn new(ctx: &Context, informers: &mut Informers) -> (Arc<Self>, WorkQueue<String>) {
        let queue = WorkQueue::new(CONTROLLER);
        // A node first seen now counts as having just sent a heartbeat: a new leader gives
        // every node a full grace period before judging it.
        let seen: SeenMap = Arc::new(Mutex::new(HashMap::new()));
        {
            let (queue, seen) = (queue.clone(), seen.clone());
            informers.node_leases.on_event(move |event| {
                let lease = event.object();
                if matches!(event, Event::Deleted(_)) {
                    return;
                }
                let node = lease.metadata.name.clone();
                let version = &lease.metadata.resource_version;
                let mut seen = seen.lock();
                let entry = seen.entry(node.clone()).or_insert_with(Seen::now);
                if entry.lease_version != *version {
                    entry.lease_version = version.clone();
                    entry.heartbeat_at = Instant::now();
                    queue.add(node);
                }
            });
        }
        {
            let (queue, seen) = (queue.clone(), seen.clone());
            informers.nodes.on_event(move |event| {
                let name = event.object().metadata.name.clone();
                match event {
                    Event::Deleted(_) => {
                        seen.lock().remove(&name);
                    }
                    _ => {
                        seen.lock().entry(name.clone()).or_insert_with(Seen::now);
                    }
                }
                queue.add(name);
            });
        }
        {
            let (queue, nodes) = (queue.clone(), ctx.stores.nodes.clone());
            informers.pods.on_event(move |event| {
                let pod = event.object();
                let node = &pod.spec.node_name;
                if !matches!(event, Event::Deleted(_))
                    && !node.is_empty()
                    && nodes.has_synced()
                    && nodes.get("", node).is_none()
                {
                    queue.add(node.clone());
                }
            });
        }
        let controller = Arc::new(NodeLifecycleController {
            client: ctx.client.clone(),
            nodes: ctx.stores.nodes.clone(),
            pods: ctx.stores.pods.clone(),
            seen,
            timing: Timing {
                grace: ctx.config.node_monitor_grace_period,
                eviction: ctx.config.pod_eviction_timeout,
            },
            recorder: ctx.recorder(COMPONENT),
            metrics: ctx.metrics.clone(),
        });
        (controller, queue)
    }

    /// Updates what was seen of the node's readiness and returns its health now.
    fn health(&self, node: &Node) -> Health {
        let now = Instant::now();
        let mut seen = self.seen.lock();
        let entry = seen
            .entry(node.metadata.name.clone())
            .or_insert_with(Seen::now);
        if ready_status(node) == "True" {
            entry.not_ready_since = None;
        } else {
            entry.not_ready_since.get_or_insert(now);
        }
        Health {
            since_heartbeat: now - entry.heartbeat_at,
            not_ready_for: entry.not_ready_since.map(|t| now - t),
        }
    }

    async fn mark_unknown(&self, node: &Node) -> Result<(), SyncError> {
        let mut updated = node.clone();
        let mut condition = Condition::new(
            "Ready",
            false,
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        );
        condition.status = "Unknown".to_string();
        set_condition(&mut updated.status.conditions, condition);
        match self.client.update_status(&updated).await {
            Ok(_) => {
                info!(node = %node.metadata.name, "node stopped sending heartbeats; marked Ready=Unknown");
                self.seen
                    .lock()
                    .entry(node.metadata.name.clone())
                    .or_insert_with(Seen::now)
                    .not_ready_since
                    .get_or_insert(Instant::now());
                let message = format!("Node {} status is now: NodeNotReady", node.metadata.name);
                self.recorder
                    .normal(&object_reference(node), "NodeNotReady", message);
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(SyncError::api(
                format!("mark node {} Ready=Unknown", node.metadata.name),
                e,
            )),
        }
    }

    /// Ready=False on pods whose node is unreachable; a lost race only means the pod changed.
    async fn mark_pods_not_ready(&self, pods: &[Arc<Pod>]) {
        join_all(pods.iter().map(|pod| async move {
            let mut updated = (**pod).clone();
            set_condition(
                &mut updated.status.conditions,
                Condition::new("Ready", false, "NodeNotReady", ""),
            );
            if let Err(e) = self.client.update_status(&updated).await {
                if !e.is_conflict() && !e.is_not_found() {
                    warn!(pod = %pod.metadata.name, "cannot mark pod not ready: {e}");
                }
            }
        }))
        .await;
    }

    /// Deletes `pods` with no grace period, each guarded by its uid.
    async fn evict(
        &self,
        node: &str,
        node_ref: Option<&Node>,
        pods: &[Arc<Pod>],
    ) -> Result<(), SyncError> {
        if let Some(node_object) = node_ref {
            self.recorder.normal(
                &object_reference(node_object),
                "DeletingAllPods",
                format!("Deleting all Pods from Node {node}."),
            );
        }
        let results = join_all(pods.iter().map(|pod| async move {
            let options = DeleteOptions {
                grace_period_seconds: Some(0),
                precondition_uid: Some(pod.metadata.uid.clone()),
                ..DeleteOptions::default()
            };
            let result = self
                .client
                .delete::<Pod>(&pod.metadata.namespace, &pod.metadata.name, &options)
                .await;
            if result.is_ok() {
                let message = format!(
                    "Marking for deletion Pod {}/{} from Node {node}",
                    pod.metadata.namespace, pod.metadata.name
                );
                self.recorder.normal(
                    &object_reference(pod.as_ref()),
                    "NodeControllerEviction",
                    message,
                );
            }
            result
        }))
        .await;
        let mut deleted = 0;
        let mut first_error = None;
        for result in results {
            match result {
                Ok(_) => deleted += 1,
                Err(e) if e.is_not_found() || e.is_conflict() => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.metrics.deleted(CONTROLLER, "pods", deleted);
        info!(node, deleted, "evicted pods from an unreachable node");
        first_error.map_or(Ok(()), |e| {
            Err(SyncError::api(format!("evict pods from node {node}"), e))
        })
    }

    /// Pods bound to a node that does not exist (checked afresh) are deleted.
    async fn collect_orphans(&self, node: &str) -> Result<Requeue, SyncError> {
        let pods = self.pods.list_filtered(|p| p.spec.node_name == node);
        if pods.is_empty() {
            return Ok(None);
        }
        match self.client.get_opt::<Node>("", node).await {
            Ok(Some(_)) => Ok(None),
            Ok(None) => self.evict(node, None, &pods).await.map(|()| None),
            Err(e) => Err(SyncError::api(format!("read node {node}"), e)),
        }
    }
}

impl Reconciler<String> for NodeLifecycleController {
    fn name(&self) -> &'static str {
        CONTROLLER
    }

    async fn sync(&self, key: &String) -> Result<Requeue, SyncError> {
        let Some(node) = self.nodes.get("", key) else {
            return self.collect_orphans(key).await;
        };
        let health = self.health(&node);
        let pods = self.pods.list_filtered(|p| p.spec.node_name == *key);
        let mut requeue: Option<Duration> = None;
        for action in reconcile(&node, &health, &pods, &self.timing) {
            match action {
                Action::MarkUnknown => self.mark_unknown(&node).await?,
                Action::MarkPodsNotReady(pods) => self.mark_pods_not_ready(&pods).await,
                Action::EvictPods(pods) => self.evict(key, Some(&node), &pods).await?,
                Action::RequeueAfter(d) => requeue = Some(d),
            }
        }
        Ok(requeue)
    }
}
