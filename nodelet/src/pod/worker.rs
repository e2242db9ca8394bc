//! The per-pod task: waits for something to happen (a pod change, a container exit, a probe
//! result, a due back-off, the periodic resync), then syncs: observes every container, takes
//! the step [`next_step`] decides, writes the status if it changed, and once a deleted pod's
//! containers are all stopped, confirms the deletion.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use skiff_api::types::{ContainerStatus, Pod, PodStatus};
use skiff_client::DeleteOptions;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::container::{ContainerTrack, Instance};
use super::decide::{next_step, ContainerFacts, PodMode, Step};
use super::events::PodEvents;
use super::status::{container_id_string, is_terminal, pod_status, PodFacts, RestartPolicy};
use super::writer::{StatusWriter, WriteOutcome};
use super::{NodeContext, PodUpdate};
use crate::metrics::PodCounts;
use crate::probe::ProbeUpdate;
use crate::runtime::ContainerInfo;
use crate::runtime::Isolation;

/// How soon a starting instance or a failed API call is looked at again.
const RECHECK: Duration = Duration::from_millis(100);
const RETRY: Duration = Duration::from_secs(1);
/// Steps taken for one container in one sync (a restart due at once is schedule + start).
const STEPS_PER_SYNC: usize = 3;
/// The shortest grace period a stop gets (the kubelet's `minimumGracePeriodInSeconds`).
const MIN_GRACE_SECONDS: i64 = 2;

/// One pod's worker. Fields are shared with [`super::actions`].
pub struct PodWorker {
    pub(super) ctx: Arc<NodeContext>,
    pub(super) uid: String,
    pub(super) pod: Arc<Pod>,
    updates: watch::Receiver<PodUpdate>,
    pub(super) events: PodEvents,
    /// One per spec container, in spec order (a pod's container list never changes).
    pub(super) tracks: Vec<ContainerTrack>,
    pub(super) pod_ip: Option<Ipv4Addr>,
    /// The pod's sandbox once made or re-adopted (sandboxed nodes only).
    pub(super) sandbox: Option<Isolation>,
    writer: StatusWriter,
    pub(super) wake_tx: mpsc::Sender<()>,
    wake_rx: mpsc::Receiver<()>,
    pub(super) probe_tx: mpsc::Sender<ProbeUpdate>,
    probe_rx: mpsc::Receiver<ProbeUpdate>,
    deadline_reported: bool,
    ip_error_reported: bool,
}

impl PodWorker {
    /// A worker for `pod`, taking over the container instances found on disk for it.
    pub fn new(
        ctx: Arc<NodeContext>,
        updates: watch::Receiver<PodUpdate>,
        recovered: Vec<ContainerInfo>,
    ) -> PodWorker {
        let pod = match &*updates.borrow() {
            PodUpdate::Present(p) | PodUpdate::Gone(p) => p.clone(),
        };
        let (wake_tx, wake_rx) = mpsc::channel(8);
        let (probe_tx, probe_rx) = mpsc::channel(64);
        let tracks = pod
            .spec
            .containers
            .iter()
            .map(|c| adopt(&ctx, &pod, c, &recovered))
            .collect();
        PodWorker {
            events: PodEvents::new(ctx.recorder.clone(), &pod),
            uid: pod.metadata.uid.clone(),
            pod_ip: ctx.ipam.get(&pod.metadata.uid),
            sandbox: None,
            ctx,
            pod,
            updates,
            tracks,
            writer: StatusWriter::default(),
            wake_tx,
            wake_rx,
            probe_tx,
            probe_rx,
            deadline_reported: false,
            ip_error_reported: false,
        }
    }

    /// Runs until the pod is gone and cleaned up (then sends its uid on `done`), or until
    /// `cancel` (the agent stops: containers keep running).
    pub async fn run(mut self, cancel: CancellationToken, done: mpsc::UnboundedSender<String>) {
        tracing::trace!(pod = %self.events.description(), "pod worker started");
        loop {
            let started = Instant::now();
            let wake = self.sync().await;
            self.ctx.metrics.sync_done(started.elapsed());
            let Some(wake) = wake else { break };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                changed = self.updates.changed() => {
                    // A closed channel means the manager stopped: the agent is shutting down.
                    if changed.is_err() {
                        return;
                    }
                    let update = self.updates.borrow_and_update().clone();
                    match update {
                        PodUpdate::Present(pod) => self.pod = pod,
                        PodUpdate::Gone(pod) => {
                            self.pod = pod;
                            self.removed().await;
                            break;
                        }
                    }
                }
                Some(update) = self.probe_rx.recv() => self.on_probe(update),
                Some(()) = self.wake_rx.recv() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
            // Everything else that piled up is handled by the same sync.
            while let Ok(update) = self.probe_rx.try_recv() {
                self.on_probe(update);
            }
            while self.wake_rx.try_recv().is_ok() {}
        }
        let _ = done.send(self.uid.clone());
    }

    fn resync_at(&self, now: Instant) -> Instant {
        // Spread workers' resyncs over a second so they do not all wake together.
        let mut h = DefaultHasher::new();
        self.uid.hash(&mut h);
        now + self.ctx.resync + Duration::from_millis(h.finish() % 1000)
    }

    /// One level-triggered pass; returns when to look again, or `None` once the pod is gone.
    async fn sync(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let pod = self.pod.clone();
        let mut wake = self.resync_at(now);
        // A sandboxed pod's IP is allocated with its sandbox (below): the pod has it once
        // the sandbox is up, as in Kubernetes.
        if self.pod_ip.is_none() && self.ctx.sandboxes.is_none() {
            match self.ctx.ipam.allocate(&self.uid).await {
                Ok(ip) => self.pod_ip = Some(ip),
                Err(e) => {
                    if !self.ip_error_reported {
                        self.ip_error_reported = true;
                        self.events.pod_warning(
                            "FailedCreatePodSandBox",
                            format!("Failed to create pod sandbox: {e}"),
                        );
                    }
                    wake = wake.min(now + RETRY * 5);
                }
            }
        }
        if let (Some(sandboxes), None) = (&self.ctx.sandboxes, &self.sandbox) {
            // The address's save to disk and the sandbox's pause process go on together.
            let made = match self.ctx.ipam.assign(&self.uid) {
                Ok(assigned) => sandboxes
                    .ensure(
                        &self.uid,
                        &pod.metadata.name,
                        assigned.ip,
                        self.ctx.ipam.saved(assigned),
                    )
                    .await
                    .map(|isolation| (assigned.ip, isolation))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match made {
                Ok((ip, isolation)) => {
                    self.pod_ip = Some(ip);
                    self.sandbox = Some(isolation);
                }
                Err(e) => {
                    tracing::warn!(pod = %self.events.description(), error = %e, "creating the pod's sandbox failed");
                    if !self.ip_error_reported {
                        self.ip_error_reported = true;
                        self.events.pod_warning(
                            "FailedCreatePodSandBox",
                            format!("Failed to create pod sandbox: {e}"),
                        );
                    }
                    wake = wake.min(now + RETRY * 5);
                }
            }
        }
        let base = self.writer.base(&pod).clone();
        let (deadline_exceeded, deadline_wake) = deadline(&pod, &base);
        if let Some(at) = deadline_wake {
            wake = wake.min(at);
        }
        if deadline_exceeded && !self.deadline_reported && !is_terminal(&base.phase) {
            self.deadline_reported = true;
            self.events.pod_warning(
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline".to_string(),
            );
        }
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let mode = if deleting {
            PodMode::Deleting
        } else if is_terminal(&base.phase) || deadline_exceeded {
            PodMode::Finished
        } else {
            PodMode::Active
        };
        let policy = RestartPolicy::parse(&pod.spec.restart_policy);

        for i in 0..self.tracks.len() {
            let Some(container) = pod.spec.containers.get(i) else {
                continue;
            };
            self.refresh(i);
            let track = &mut self.tracks[i];
            // A new image for a container that cannot start is tried at once.
            if track
                .failed_image
                .as_ref()
                .is_some_and(|img| *img != container.image)
                && !track.is_running()
            {
                track.failed_image = None;
                track.due = None;
                track.image_backoff.reset();
            }
            let placed =
                self.pod_ip.is_some() && (self.ctx.sandboxes.is_none() || self.sandbox.is_some());
            if !placed && !self.tracks[i].is_running() {
                continue;
            }
            for _ in 0..STEPS_PER_SYNC {
                let track = &self.tracks[i];
                let facts = ContainerFacts {
                    observed: track.observed(),
                    mode,
                    policy,
                    liveness_failed: track.liveness_failed,
                    definition_changed: track
                        .current
                        .as_ref()
                        .is_some_and(|c| c.image != container.image),
                    stopping: track.stopping,
                    restart_requested: track.restart_requested,
                    due: track.due,
                };
                match next_step(&facts, Instant::now()) {
                    Step::Nothing => break,
                    Step::Start => {
                        self.start(i, container).await;
                        break;
                    }
                    Step::Stop(reason) => {
                        self.stop(i, reason);
                        break;
                    }
                    Step::ScheduleRestart => self.schedule_restart(i),
                    Step::WaitUntil(at) => {
                        wake = wake.min(at);
                        break;
                    }
                    Step::Recheck => {
                        wake = wake.min(Instant::now() + RECHECK);
                        break;
                    }
                }
            }
            if let Some(at) = self.image_pull_back_off(i, &container.image) {
                wake = wake.min(at);
            }
            self.watch_running(i, container);
        }

        let facts = PodFacts {
            policy,
            container_names: pod
                .spec
                .containers
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
            pod_ip: self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            host_ip: self.ctx.host_ip.clone(),
            deadline_exceeded,
        };
        let statuses: Vec<ContainerStatus> = self.container_statuses(&pod, &base);
        let status = pod_status(&base, &facts, statuses);
        tracing::trace!(pod = %self.events.description(), phase = %status.phase, "pod status computed");
        if let WriteOutcome::Failed(e) = self
            .writer
            .write(&self.ctx.client, &self.ctx.metrics, &pod, status)
            .await
        {
            tracing::debug!(pod = %self.events.description(), error = %e, "writing the pod status failed; retrying");
            wake = wake.min(Instant::now() + RETRY);
        }
        self.ctx.metrics.set_pod(&self.uid, self.counts());

        if deleting && self.tracks.iter().all(|t| !t.is_running() && !t.stopping) {
            match self.confirm_deletion().await {
                true => return None,
                false => wake = wake.min(Instant::now() + RETRY),
            }
        }
        Some(wake)
    }

    /// Each container's API status. A finished pod's containers that never ran here (the
    /// node lost their state) keep what the API last showed.
    fn container_statuses(&self, pod: &Pod, base: &PodStatus) -> Vec<ContainerStatus> {
        self.tracks
            .iter()
            .zip(&pod.spec.containers)
            .map(|(track, container)| {
                let stored = base
                    .container_statuses
                    .iter()
                    .find(|s| s.name == track.name);
                match stored {
                    Some(stored) if track.current.is_none() && is_terminal(&base.phase) => {
                        stored.clone()
                    }
                    _ => track.api_status(&container.image),
                }
            })
            .collect()
    }

    fn counts(&self) -> PodCounts {
        PodCounts {
            running_containers: self.tracks.iter().filter(|t| t.is_running()).count() as u32,
            restarts: self
                .tracks
                .iter()
                .filter_map(|t| t.current.as_ref())
                .map(|c| c.id.instance)
                .sum(),
        }
    }

    /// Deletes the pod for good (grace 0, pinned to its uid) now that nothing of it runs.
    /// True when it is gone.
    async fn confirm_deletion(&mut self) -> bool {
        let options = DeleteOptions {
            grace_period_seconds: Some(0),
            precondition_uid: Some(self.uid.clone()),
            ..DeleteOptions::default()
        };
        let (ns, name) = (&self.pod.metadata.namespace, &self.pod.metadata.name);
        match self.ctx.client.delete::<Pod>(ns, name, &options).await {
            // A conflict means the uid no longer matches: this pod is gone, a new one took
            // its name.
            Ok(_) => {}
            Err(e) if e.is_not_found() || e.is_conflict() => {}
            Err(e) => {
                tracing::warn!(pod = %self.events.description(), error = %e, "confirming the pod's deletion failed; retrying");
                return false;
            }
        }
        tracing::info!(pod = %self.events.description(), "pod deleted");
        self.clean_up().await;
        true
    }

    /// The pod vanished from the API (force-deleted, or deleted while the agent was down):
    /// stop whatever still runs and forget it.
    async fn removed(&mut self) {
        // A pod that vanished without a deletion timestamp was force-deleted: it gets the
        // minimum grace period.
        let grace = if self.pod.metadata.deletion_timestamp.is_some() {
            self.grace_period(true)
        } else {
            Duration::from_secs(MIN_GRACE_SECONDS as u64)
        };
        let stops: Vec<_> = self
            .tracks
            .iter_mut()
            .filter(|t| t.is_running())
            .filter_map(|t| {
                t.probers.clear();
                t.current.as_ref().map(|c| c.id.clone())
            })
            .map(|id| {
                let backend = self.ctx.backend.clone();
                async move {
                    if let Err(e) = backend.stop(&id, grace).await {
                        tracing::warn!(container = %id, error = %e, "stopping a container of a removed pod failed");
                    }
                }
            })
            .collect();
        if !stops.is_empty() {
            tracing::info!(pod = %self.events.description(), "pod removed from the API; stopping its containers");
        }
        futures::future::join_all(stops).await;
        self.clean_up().await;
    }

    /// Drops the pod's probes, containers' state and logs, its sandbox and its IP.
    async fn clean_up(&mut self) {
        self.tracks.clear();
        if let Err(e) = self.ctx.backend.remove_pod(&self.uid) {
            tracing::warn!(pod = %self.uid, error = %e, "removing the pod's container state failed");
        }
        if let Some(sandboxes) = &self.ctx.sandboxes {
            self.sandbox = None;
            if let Err(e) = sandboxes.remove(&self.uid).await {
                tracing::warn!(pod = %self.uid, error = %e, "removing the pod's sandbox failed");
            }
        }
        if let Err(e) = self.ctx.ipam.release(&self.uid).await {
            tracing::warn!(pod = %self.uid, error = %e, "releasing the pod's IP failed");
        }
        self.ctx.metrics.remove_pod(&self.uid);
    }

    /// The grace period of a stop: the deletion's, else the pod's; at least 2 s, as the
    /// kubelet enforces.
    pub(super) fn grace_period(&self, deleting: bool) -> Duration {
        let spec = self.pod.spec.termination_grace_period_seconds;
        let seconds = if deleting {
            self.pod.metadata.deletion_grace_period_seconds.or(spec)
        } else {
            spec
        };
        Duration::from_secs(seconds.unwrap_or(30).max(MIN_GRACE_SECONDS) as u64)
    }
}

/// The track of `container`, taking over the instances found on disk: the newest is the
/// current one, the one before it gives `lastState`.
fn adopt(
    ctx: &NodeContext,
    pod: &Pod,
    container: &skiff_api::types::Container,
    recovered: &[ContainerInfo],
) -> ContainerTrack {
    let mut track = ContainerTrack::new(&container.name, ctx.backoff());
    let mut mine: Vec<&ContainerInfo> = recovered
        .iter()
        .filter(|i| i.id.container == container.name)
        .collect();
    mine.sort_by_key(|i| i.id.instance);
    let Some(newest) = mine.last() else {
        return track;
    };
    let before = mine.iter().rev().nth(1).map(|info| Instance {
        id: info.id.clone(),
        image: container.image.clone(),
        status: info.status.clone(),
        end_seen: true,
        probed: true,
    });
    track.previous = before.and_then(|b| b.termination());
    track.current = Some(Instance {
        id: newest.id.clone(),
        // Which image an adopted instance runs is not recorded; it is taken as the spec's.
        image: container.image.clone(),
        status: newest.status.clone(),
        end_seen: false,
        probed: false,
    });
    // Keep the readiness the API shows for this very instance until a probe says otherwise.
    let id = container_id_string(&newest.id);
    track.ready = pod
        .status
        .container_statuses
        .iter()
        .any(|s| s.name == container.name && s.container_id == id && s.ready);
    tracing::info!(container = %newest.id, "adopted an existing container");
    track
}

/// Whether the pod's `activeDeadlineSeconds` (counted from its start time) has passed, and
/// when to look again if it has not.
fn deadline(pod: &Pod, base: &PodStatus) -> (bool, Option<Instant>) {
    let (Some(seconds), Some(start)) = (pod.spec.active_deadline_seconds, base.start_time) else {
        return (false, None);
    };
    let at = start.0 + chrono::TimeDelta::seconds(seconds);
    let left = at - chrono::Utc::now();
    match left.to_std() {
        Ok(left) if !left.is_zero() => (false, Some(Instant::now() + left)),
        _ => (true, None),
    }
}
