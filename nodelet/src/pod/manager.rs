//! One worker per pod bound to this node: started from the informer's events, handed every
//! new version of its pod, told when the pod is gone. At start-up, containers found on disk
//! are handed to the workers of their pods; those of pods that no longer exist are stopped
//! and their state removed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use skiff_api::types::Pod;
use skiff_runtime::informer::{Event, Store};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::worker::PodWorker;
use super::{NodeContext, PodUpdate};
use crate::runtime::ContainerInfo;

/// How long an orphan's containers get between SIGTERM and SIGKILL.
const ORPHAN_GRACE: Duration = Duration::from_secs(2);
/// How long shutdown waits for workers to notice it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// A change the informer reported.
#[derive(Debug)]
pub enum Change {
    Upsert(Arc<Pod>),
    Gone(Arc<Pod>),
}

/// The informer handler: turns events into changes for the manager (cheap, never blocks).
pub fn forward_events(
    tx: mpsc::UnboundedSender<Change>,
) -> impl Fn(&Event<Pod>) + Send + Sync + 'static {
    move |event| {
        let change = match event {
            Event::Added(pod) => Change::Upsert(pod.clone()),
            Event::Updated { new, .. } => Change::Upsert(new.clone()),
            Event::Deleted(pod) => Change::Gone(pod.clone()),
        };
        let _ = tx.send(change);
    }
}

/// Runs the pod workers.
pub struct PodManager {
    ctx: Arc<NodeContext>,
    store: Store<Pod>,
    changes: mpsc::UnboundedReceiver<Change>,
    workers: HashMap<String, watch::Sender<PodUpdate>>,
    /// Pods whose worker finished (deletion confirmed) while the informer still shows them:
    /// later updates must not start a new worker.
    finished: HashSet<String>,
    done_tx: mpsc::UnboundedSender<String>,
    done_rx: mpsc::UnboundedReceiver<String>,
    tasks: TaskTracker,
}

impl PodManager {
    pub fn new(
        ctx: Arc<NodeContext>,
        store: Store<Pod>,
        changes: mpsc::UnboundedReceiver<Change>,
    ) -> PodManager {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        PodManager {
            ctx,
            store,
            changes,
            workers: HashMap::new(),
            finished: HashSet::new(),
            done_tx,
            done_rx,
            tasks: TaskTracker::new(),
        }
    }

    /// Waits for the informer's first list, adopts `recovered` containers, cleans up after
    /// pods that are gone, then follows the informer until `cancel`.
    pub async fn run(mut self, recovered: Vec<ContainerInfo>, cancel: CancellationToken) {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = self.store.wait_synced() => {}
        }
        let mut by_pod: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
        for info in recovered {
            by_pod
                .entry(info.id.pod_uid.clone())
                .or_default()
                .push(info);
        }
        for pod in self.store.list() {
            let adopted = by_pod.remove(&pod.metadata.uid).unwrap_or_default();
            self.spawn_worker(pod, adopted, &cancel);
        }
        let orphans: HashSet<String> = by_pod.keys().cloned().collect();
        for (uid, infos) in by_pod {
            tracing::info!(pod = %uid, "found containers of a pod that no longer exists; removing them");
            self.tasks
                .spawn(clean_up_orphan(self.ctx.clone(), uid, infos));
        }
        let keep = |uid: &str| self.workers.contains_key(uid) || orphans.contains(uid);
        // Sandboxes of pods that left no containers (deleted while the nodelet was down).
        if let Some(sandboxes) = &self.ctx.sandboxes {
            for uid in sandboxes.pods() {
                if !keep(&uid) {
                    self.tasks
                        .spawn(clean_up_orphan(self.ctx.clone(), uid, Vec::new()));
                }
            }
        }
        match self.ctx.ipam.retain(keep).await {
            Ok(freed) if !freed.is_empty() => tracing::info!(
                count = freed.len(),
                "released IPs of pods that no longer exist"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "releasing IPs of pods that no longer exist failed")
            }
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(change) = self.changes.recv() => self.handle(change, &cancel),
                Some(uid) = self.done_rx.recv() => {
                    self.workers.remove(&uid);
                    let still_listed = self.store.list_filtered(|p| p.metadata.uid == uid).len() == 1;
                    if still_listed {
                        self.finished.insert(uid);
                    }
                }
            }
        }
        self.tasks.close();
        let _ = tokio::time::timeout(SHUTDOWN_WAIT, self.tasks.wait()).await;
    }

    fn handle(&mut self, change: Change, cancel: &CancellationToken) {
        match change {
            Change::Upsert(pod) => {
                let uid = &pod.metadata.uid;
                if self.finished.contains(uid) || pod.spec.node_name != self.ctx.node_name {
                    return;
                }
                match self.workers.get(uid) {
                    Some(tx) => {
                        tx.send_replace(PodUpdate::Present(pod));
                    }
                    None => self.spawn_worker(pod, Vec::new(), cancel),
                }
            }
            Change::Gone(pod) => {
                let uid = &pod.metadata.uid;
                self.finished.remove(uid);
                if let Some(tx) = self.workers.get(uid) {
                    tx.send_replace(PodUpdate::Gone(pod));
                }
            }
        }
    }

    fn spawn_worker(
        &mut self,
        pod: Arc<Pod>,
        adopted: Vec<ContainerInfo>,
        cancel: &CancellationToken,
    ) {
        let uid = pod.metadata.uid.clone();
        if uid.is_empty() || self.workers.contains_key(&uid) {
            return;
        }
        let (tx, rx) = watch::channel(PodUpdate::Present(pod));
        let worker = PodWorker::new(self.ctx.clone(), rx, adopted);
        self.tasks
            .spawn(worker.run(cancel.child_token(), self.done_tx.clone()));
        self.workers.insert(uid, tx);
    }
}

/// Stops the containers of a pod that no longer exists and removes its state and IP.
async fn clean_up_orphan(ctx: Arc<NodeContext>, uid: String, infos: Vec<ContainerInfo>) {
    let stops = infos.iter().filter(|i| i.status.is_running()).map(|info| {
        let backend = ctx.backend.clone();
        async move {
            if let Err(e) = backend.stop(&info.id, ORPHAN_GRACE).await {
                tracing::warn!(container = %info.id, error = %e, "stopping an orphaned container failed");
            }
        }
    });
    futures::future::join_all(stops).await;
    if let Err(e) = ctx.backend.remove_pod(&uid) {
        tracing::warn!(pod = %uid, error = %e, "removing an orphaned pod's state failed");
    }
    if let Some(sandboxes) = &ctx.sandboxes {
        if let Err(e) = sandboxes.remove(&uid).await {
            tracing::warn!(pod = %uid, error = %e, "removing an orphaned pod's sandbox failed");
        }
    }
    if let Err(e) = ctx.ipam.release(&uid).await {
        tracing::warn!(pod = %uid, error = %e, "releasing an orphaned pod's IP failed");
    }
}
