//! What a pod worker does to a container: observe it, start the next instance, stop it,
//! schedule its restart with back-off, handle image errors, and set up the probes and the
//! exit watch of a running instance.

use std::time::Duration;

use skiff_api::types::Container;
use tokio::time::Instant;

use super::backoff::{go_duration, MAX_BACKOFF};
use super::container::{Instance, TaskGuard};
use super::decide::{Observed, StopReason};
use super::probes::{probe_spec, with_timing, Unprobeable};
use super::spec::{container_spec, Placement};
use super::worker::PodWorker;
use super::{FAKE_EXIT_CODE_ANNOTATION, FAKE_RUN_SECONDS_ANNOTATION};
use crate::backend::FakeExit;
use crate::images::ImageError;
use crate::probe::prober::instant_of;
use crate::probe::{
    ExecAction, ExecContext, ProbeHandler, ProbeKind, ProbeOutcome, ProbeUpdate, Prober,
};
use crate::runtime::{self, ContainerStatus};

/// How long an `ErrImagePull` shows before it becomes `ImagePullBackOff`, at most.
const PULL_ERROR_SHOWN: Duration = Duration::from_secs(1);

impl PodWorker {
    /// Reads the current instance's state; handles an end seen for the first time.
    pub(super) fn refresh(&mut self, i: usize) {
        let backend = self.ctx.backend.clone();
        let track = &mut self.tracks[i];
        let Some(current) = track.current.as_mut() else {
            return;
        };
        current.status = backend
            .status(&current.id)
            .unwrap_or_else(|e| ContainerStatus::Unknown {
                message: e.to_string(),
            });
        let ended = current.termination().is_some();
        if ended && !current.end_seen {
            current.end_seen = true;
            let start_error = match &current.status {
                ContainerStatus::Exited(exit) if exit.reason == "StartError" => {
                    exit.message.clone()
                }
                _ => None,
            };
            track.instance_gone();
            track.stopping = false;
            track.stop_task = None;
            if let Some(message) = start_error {
                self.events.failed(&track.name, format!("Error: {message}"));
            }
        }
        // A stop that ended without stopping the instance (an error) may be tried again.
        if track.stopping && track.stop_task.as_ref().is_some_and(|t| t.0.is_finished()) && !ended {
            track.stopping = false;
            track.stop_task = None;
        }
    }

    /// Starts the container's next instance (or records why it cannot start).
    pub(super) async fn start(&mut self, i: usize, container: &Container) {
        let Some(pod_ip) = self.pod_ip else { return };
        let isolation = match (&self.ctx.sandboxes, &self.sandbox) {
            (None, _) => None,
            (Some(_), Some(base)) => Some(crate::runtime::Isolation {
                limits: crate::sandbox::limits_of(&container.resources),
                ..base.clone()
            }),
            (Some(_), None) => return,
        };
        let placement = Placement {
            pod_ip: pod_ip.into(),
            host_ip: self.ctx.host_ip.clone(),
        };
        let instance = self.tracks[i].next_instance();
        let spec = match container_spec(
            &self.ctx.catalog,
            &self.pod,
            container,
            instance,
            &placement,
        ) {
            Ok(spec) => crate::runtime::ContainerSpec { isolation, ..spec },
            Err(e) => return self.image_failure(i, container, e),
        };
        let name = container.name.clone();
        self.events.pulled(&name, &container.image);
        let track = &mut self.tracks[i];
        track.failed_image = None;
        track.pull_backoff_at = None;
        match self.ctx.backend.start(spec, fake_exit(&self.pod)).await {
            Ok(id) => {
                self.ctx.metrics.container_started();
                let status =
                    self.ctx
                        .backend
                        .status(&id)
                        .unwrap_or_else(|e| ContainerStatus::Unknown {
                            message: e.to_string(),
                        });
                self.events.created(&name);
                let failed =
                    matches!(&status, ContainerStatus::Exited(exit) if exit.reason == "StartError");
                if !failed {
                    self.events.started(&name);
                }
                let track = &mut self.tracks[i];
                if let Some(old) = track.current.take() {
                    track.previous = old.termination().or(track.previous.take());
                }
                track.instance_gone();
                track.current = Some(Instance {
                    id,
                    image: container.image.clone(),
                    status,
                    end_seen: false,
                    probed: false,
                });
                track.waiting = None;
                track.due = None;
                track.restart_requested = false;
                track.stopping = false;
                track.stop_task = None;
                track.image_backoff.reset();
                self.refresh(i);
            }
            Err(e) => {
                tracing::warn!(pod = %self.events.description(), container = %name, error = %e, "starting a container failed");
                self.events.failed(&name, format!("Error: {e}"));
                let track = &mut self.tracks[i];
                let delay = track
                    .image_backoff
                    .next_delay(Duration::ZERO)
                    .max(self.ctx.backoff_base);
                track.waiting = Some(("CreateContainerError".to_string(), e.to_string()));
                track.due = Some(Instant::now() + delay);
            }
        }
    }

    /// The image cannot be resolved: `ErrImagePull` (then `ImagePullBackOff`) for an unknown
    /// image, `InvalidImageName` for a malformed one; retried with back-off.
    fn image_failure(&mut self, i: usize, container: &Container, err: ImageError) {
        let image = &container.image;
        let name = &container.name;
        let (reason, retry) = match &err {
            ImageError::InvalidReference { .. } => ("InvalidImageName", false),
            ImageError::NoCommand { .. } => ("CreateContainerError", true),
            _ => ("ErrImagePull", true),
        };
        match reason {
            "ErrImagePull" => self
                .events
                .failed(name, format!("Failed to pull image \"{image}\": {err}")),
            "InvalidImageName" => self.events.failed(
                name,
                format!("Failed to apply default image tag \"{image}\": {err}"),
            ),
            _ => {}
        }
        self.events.failed(name, format!("Error: {reason}"));
        let now = Instant::now();
        let track = &mut self.tracks[i];
        // The first retry waits the base delay rather than coming at once.
        let mut delay = track.image_backoff.next_delay(Duration::ZERO);
        if delay.is_zero() {
            delay = track.image_backoff.next_delay(Duration::ZERO);
        }
        track.waiting = Some((reason.to_string(), err.to_string()));
        track.failed_image = Some(image.clone());
        track.due = Some(now + if retry { delay } else { MAX_BACKOFF });
        track.pull_backoff_at =
            (reason == "ErrImagePull").then(|| now + PULL_ERROR_SHOWN.min(delay / 2));
    }

    /// Turns a shown `ErrImagePull` into `ImagePullBackOff` when it is time; returns when to
    /// look again otherwise.
    pub(super) fn image_pull_back_off(&mut self, i: usize, image: &str) -> Option<Instant> {
        let track = &mut self.tracks[i];
        let at = track.pull_backoff_at?;
        if Instant::now() < at {
            return Some(at);
        }
        track.pull_backoff_at = None;
        if track
            .waiting
            .as_ref()
            .is_some_and(|(r, _)| r == "ErrImagePull")
        {
            track.waiting = Some((
                "ImagePullBackOff".to_string(),
                format!("Back-off pulling image \"{image}\""),
            ));
            let name = track.name.clone();
            self.events.pull_back_off(&name, image);
            self.events
                .failed(&name, "Error: ImagePullBackOff".to_string());
        }
        None
    }

    /// Stops the running instance in the background: SIGTERM, grace period, SIGKILL.
    pub(super) fn stop(&mut self, i: usize, reason: StopReason) {
        let grace = self.grace_period(reason == StopReason::PodDeleted);
        let track = &mut self.tracks[i];
        let Some(current) = &track.current else {
            return;
        };
        let id = current.id.clone();
        let name = track.name.clone();
        let message = match reason {
            StopReason::LivenessFailed => {
                format!("Container {name} failed liveness probe, will be restarted")
            }
            StopReason::DefinitionChanged => {
                format!("Container {name} definition changed, will be restarted")
            }
            StopReason::PodDeleted | StopReason::PodFinished => {
                format!("Stopping container {name}")
            }
        };
        track.stopping = true;
        track.probers.clear();
        track.ready = false;
        if reason == StopReason::DefinitionChanged {
            track.restart_requested = true;
            track.backoff.reset();
        }
        let backend = self.ctx.backend.clone();
        let wake = self.wake_tx.clone();
        track.stop_task = Some(TaskGuard(tokio::spawn(async move {
            if let Err(e) = backend.stop(&id, grace).await {
                tracing::warn!(container = %id, error = %e, "stopping a container failed");
            }
            let _ = wake.try_send(());
        })));
        self.events.killing(&name, message);
    }

    /// The exited instance restarts: after the back-off, or at once for a first crash.
    pub(super) fn schedule_restart(&mut self, i: usize) {
        let track = &mut self.tracks[i];
        let (ran_for, finished) = match track.current.as_ref().map(|c| &c.status) {
            Some(ContainerStatus::Exited(exit)) => {
                let ran = exit
                    .started_at
                    .and_then(|s| (exit.finished_at - s).to_std().ok())
                    .unwrap_or(Duration::ZERO);
                (ran, instant_of(exit.finished_at))
            }
            _ => (Duration::ZERO, Instant::now()),
        };
        let delay = track.backoff.next_delay(ran_for);
        let due = finished + delay;
        track.due = Some(due);
        if due > Instant::now() {
            let name = track.name.clone();
            track.waiting = Some((
                "CrashLoopBackOff".to_string(),
                format!(
                    "back-off {} restarting failed container={name} pod={}",
                    go_duration(delay),
                    self.events.description()
                ),
            ));
            self.events.back_off(&name);
        }
    }

    /// For a running instance: a task that wakes the worker when it exits, and its probes.
    pub(super) fn watch_running(&mut self, i: usize, container: &Container) {
        let track = &mut self.tracks[i];
        if track.observed() != Observed::Running || track.stopping {
            return;
        }
        let Some(current) = track.current.as_mut() else {
            return;
        };
        if track.exit_watch.is_none() {
            let backend = self.ctx.backend.clone();
            let wake = self.wake_tx.clone();
            let id = current.id.clone();
            track.exit_watch = Some(TaskGuard(tokio::spawn(async move {
                let _ = backend.wait(&id).await;
                let _ = wake.send(()).await;
            })));
        }
        if current.probed {
            return;
        }
        current.probed = true;
        let started = match &current.status {
            runtime::ContainerStatus::Running { started_at, .. } => instant_of(*started_at),
            _ => Instant::now(),
        };
        let id = current.id.clone();
        // A hollow node runs nothing to probe: its containers are ready at once.
        if self.ctx.backend.is_fake() || container.readiness_probe.is_none() {
            track.ready = true;
        }
        if self.ctx.backend.is_fake() {
            return;
        }
        let pod_ip = self.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let probes = [
            (ProbeKind::Liveness, &container.liveness_probe),
            (ProbeKind::Readiness, &container.readiness_probe),
        ];
        for (kind, probe) in probes {
            let Some(probe) = probe else { continue };
            let backend = self.ctx.backend.clone();
            let tx = self.probe_tx.clone();
            let prober = match probe_spec(probe, container, &pod_ip, || backend.exec_context(&id)) {
                Ok(spec) => Prober::spawn(id.clone(), kind, spec, started, tx),
                Err(Unprobeable(message)) => {
                    // Only the timing matters: every attempt fails with the message.
                    let placeholder = ProbeHandler::Exec(ExecAction {
                        command: Vec::new(),
                        context: ExecContext {
                            env: Vec::new(),
                            working_dir: "/".into(),
                            enter: None,
                        },
                    });
                    let spec = with_timing(probe, placeholder);
                    Prober::spawn_with(id.clone(), kind, &spec, started, tx, move || {
                        let message = message.clone();
                        async move { ProbeOutcome::Failure(message) }
                    })
                }
            };
            track.probers.push(prober);
        }
    }

    /// One probe attempt's result: events, readiness, and a failed liveness verdict.
    pub(super) fn on_probe(&mut self, update: ProbeUpdate) {
        let Some(i) = self
            .tracks
            .iter()
            .position(|t| t.name == update.container.container)
        else {
            return;
        };
        let track = &mut self.tracks[i];
        // A result for an instance that is gone or being stopped changes nothing.
        if track.current.as_ref().map(|c| &c.id) != Some(&update.container) || track.stopping {
            return;
        }
        self.ctx
            .metrics
            .probe_result(update.kind, update.outcome.is_success());
        match update.kind {
            ProbeKind::Liveness if update.changed && !update.healthy => {
                track.liveness_failed = true
            }
            ProbeKind::Readiness => track.ready = update.healthy,
            _ => {}
        }
        if let ProbeOutcome::Failure(output) = &update.outcome {
            let name = track.name.clone();
            self.events.unhealthy(&name, update.kind, output);
        }
    }
}

/// The planned exit of a hollow container, from the pod's annotations.
pub fn fake_exit(pod: &skiff_api::types::Pod) -> Option<FakeExit> {
    let annotations = &pod.metadata.annotations;
    let exit_code = annotations
        .get(FAKE_EXIT_CODE_ANNOTATION)?
        .trim()
        .parse::<i32>()
        .ok()?;
    let after = annotations
        .get(FAKE_RUN_SECONDS_ANNOTATION)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::ZERO);
    Some(FakeExit { exit_code, after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::types::Pod;

    #[test]
    fn fake_exits_come_from_annotations() {
        let mut pod = Pod::default();
        assert_eq!(fake_exit(&pod), None);
        pod.metadata
            .annotations
            .insert(FAKE_EXIT_CODE_ANNOTATION.into(), "0".into());
        assert_eq!(
            fake_exit(&pod),
            Some(FakeExit {
                exit_code: 0,
                after: Duration::ZERO
            })
        );
        pod.metadata
            .annotations
            .insert(FAKE_RUN_SECONDS_ANNOTATION.into(), "2.5".into());
        assert_eq!(
            fake_exit(&pod),
            Some(FakeExit {
                exit_code: 0,
                after: Duration::from_millis(2500)
            })
        );
        pod.metadata
            .annotations
            .insert(FAKE_EXIT_CODE_ANNOTATION.into(), "oops".into());
        assert_eq!(fake_exit(&pod), None);
    }
}
