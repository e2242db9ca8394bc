//! One container of a pod as its worker tracks it: the newest instance and how the one
//! before it ended, pending back-offs, probe verdicts, and the tasks watching it; and the
//! container's API status derived from all that.

use skiff_api::types::{ContainerState, ContainerStateTerminated, ContainerStatus};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::decide::Observed;
use super::status::{container_id_string, lost, observed_state, terminated, waiting};
use crate::probe::Prober;
use crate::runtime::{self, ContainerId};

/// The `Unknown` message of an instance whose supervisor has not started the process yet.
pub use crate::runtime::STARTING_MESSAGE;

/// A task aborted when dropped (exit watchers, stops in flight).
#[derive(Debug)]
pub struct TaskGuard(pub JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A started instance of the container.
#[derive(Debug)]
pub struct Instance {
    pub id: ContainerId,
    /// The image it was started from.
    pub image: String,
    pub status: runtime::ContainerStatus,
    /// Its end has been handled (probes stopped, events recorded).
    pub end_seen: bool,
    /// Its probes (or, without any, its readiness) have been set up.
    pub probed: bool,
}

impl Instance {
    pub fn observed(&self) -> Observed {
        match &self.status {
            runtime::ContainerStatus::Running { .. } => Observed::Running,
            runtime::ContainerStatus::Unknown { message } if message == STARTING_MESSAGE => {
                Observed::Starting
            }
            runtime::ContainerStatus::Exited(exit) => Observed::Exited {
                exit_code: exit.exit_code,
            },
            runtime::ContainerStatus::Unknown { .. } => Observed::Exited { exit_code: 137 },
        }
    }

    /// How it ended, if it did.
    pub fn termination(&self) -> Option<ContainerStateTerminated> {
        match &self.status {
            runtime::ContainerStatus::Exited(exit) => Some(terminated(&self.id, exit)),
            runtime::ContainerStatus::Unknown { message } if message != STARTING_MESSAGE => {
                Some(lost(&self.id, message))
            }
            _ => None,
        }
    }
}

/// Everything a worker knows about one container.
#[derive(Debug)]
pub struct ContainerTrack {
    pub name: String,
    pub current: Option<Instance>,
    /// How the instance before `current` ended: the API's `lastState`.
    pub previous: Option<ContainerStateTerminated>,
    /// Why the container waits (`CrashLoopBackOff`, `ErrImagePull`, ...), with a message.
    pub waiting: Option<(String, String)>,
    /// When the pending restart or retried start may happen.
    pub due: Option<Instant>,
    /// When a failed image resolution turns from `ErrImagePull` into `ImagePullBackOff`.
    pub pull_backoff_at: Option<Instant>,
    pub backoff: Backoff,
    pub image_backoff: Backoff,
    /// The image whose resolution failed last.
    pub failed_image: Option<String>,
    /// The readiness verdict for the running instance (true without a readiness probe).
    pub ready: bool,
    pub liveness_failed: bool,
    pub stopping: bool,
    pub restart_requested: bool,
    pub probers: Vec<Prober>,
    pub exit_watch: Option<TaskGuard>,
    pub stop_task: Option<TaskGuard>,
}

impl ContainerTrack {
    pub fn new(name: &str, backoff: Backoff) -> ContainerTrack {
        ContainerTrack {
            name: name.to_string(),
            current: None,
            previous: None,
            waiting: None,
            due: None,
            pull_backoff_at: None,
            image_backoff: backoff.clone(),
            backoff,
            failed_image: None,
            ready: false,
            liveness_failed: false,
            stopping: false,
            restart_requested: false,
            probers: Vec::new(),
            exit_watch: None,
            stop_task: None,
        }
    }

    pub fn observed(&self) -> Observed {
        self.current
            .as_ref()
            .map_or(Observed::NotStarted, Instance::observed)
    }

    pub fn is_running(&self) -> bool {
        matches!(self.observed(), Observed::Running | Observed::Starting)
    }

    /// The number of the next instance (= the restart count it will have).
    pub fn next_instance(&self) -> u32 {
        self.current.as_ref().map_or(0, |c| c.id.instance + 1)
    }

    /// Forgets everything about the running instance's health: it ended or is replaced.
    pub fn instance_gone(&mut self) {
        self.probers.clear();
        self.exit_watch = None;
        self.ready = false;
        self.liveness_failed = false;
    }

    /// The container's status as the API shows it; `spec_image` is the image the spec asks
    /// for now, and `has_readiness` whether readiness is probed.
    pub fn api_status(&self, spec_image: &str) -> ContainerStatus {
        let waiting_state = |default: (&str, &str)| {
            let (reason, message) = self
                .waiting
                .as_ref()
                .map_or(default, |(r, m)| (r.as_str(), m.as_str()));
            waiting(reason, message)
        };
        let mut status = ContainerStatus {
            name: self.name.clone(),
            image: spec_image.to_string(),
            ..ContainerStatus::default()
        };
        let Some(current) = &self.current else {
            status.state = waiting_state(("ContainerCreating", ""));
            status.last_state = self.previous.clone().map(as_state).unwrap_or_default();
            status.started = Some(false);
            return status;
        };
        status.restart_count = current.id.instance as i32;
        status.container_id = container_id_string(&current.id);
        let running = matches!(current.observed(), Observed::Running);
        match current.termination() {
            // Ended and waiting to run again: the ended instance is the last state.
            Some(ended) if self.waiting.is_some() => {
                status.state = waiting_state(("", ""));
                status.last_state = as_state(ended);
            }
            Some(_) => {
                status.state = observed_state(&current.id, &current.status);
                status.last_state = self.previous.clone().map(as_state).unwrap_or_default();
            }
            None if running => {
                status.state = observed_state(&current.id, &current.status);
                status.last_state = self.previous.clone().map(as_state).unwrap_or_default();
            }
            None => {
                status.state = waiting_state(("ContainerCreating", ""));
                status.last_state = self.previous.clone().map(as_state).unwrap_or_default();
            }
        }
        status.ready = running && self.ready;
        status.started = Some(running);
        status
    }
}

fn as_state(t: ContainerStateTerminated) -> ContainerState {
    ContainerState {
        terminated: Some(t),
        ..ContainerState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ExitRecord;
    use std::time::Duration;

    fn id(instance: u32) -> ContainerId {
        ContainerId {
            pod_uid: "u".into(),
            container: "main".into(),
            instance,
        }
    }

    fn exit(code: i32) -> runtime::ContainerStatus {
        let now = chrono::Utc::now();
        runtime::ContainerStatus::Exited(ExitRecord {
            exit_code: code,
            signal: None,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            message: None,
            started_at: Some(now),
            finished_at: now,
        })
    }

    fn track() -> ContainerTrack {
        ContainerTrack::new(
            "main",
            Backoff::new(Duration::from_secs(10), Duration::from_secs(300)),
        )
    }

    #[test]
    fn api_status_through_a_lifecycle() {
        let mut t = track();
        let s = t.api_status("busybox");
        assert_eq!(
            s.state.waiting.as_ref().unwrap().reason,
            "ContainerCreating"
        );
        assert_eq!(
            (s.restart_count, s.ready, s.started),
            (0, false, Some(false))
        );

        t.waiting = Some(("ErrImagePull".into(), "image \"x\" not found".into()));
        assert_eq!(
            t.api_status("x").state.waiting.unwrap().reason,
            "ErrImagePull"
        );
        t.waiting = None;

        t.current = Some(Instance {
            id: id(0),
            image: "busybox".into(),
            status: runtime::ContainerStatus::Running {
                pid: 7,
                started_at: chrono::Utc::now(),
            },
            end_seen: false,
            probed: false,
        });
        t.ready = true;
        let s = t.api_status("busybox");
        assert!(s.state.running.is_some());
        assert!(s.ready);
        assert_eq!(s.container_id, "skiff://u/main/0");

        // It crashed and waits in CrashLoopBackOff: lastState is the crash.
        t.current.as_mut().unwrap().status = exit(1);
        t.waiting = Some((
            "CrashLoopBackOff".into(),
            "back-off 10s restarting failed container=main pod=p_default(u)".into(),
        ));
        let s = t.api_status("busybox");
        assert_eq!(s.state.waiting.as_ref().unwrap().reason, "CrashLoopBackOff");
        assert_eq!(s.last_state.terminated.as_ref().unwrap().exit_code, 1);
        assert!(!s.ready, "a dead container is never ready");
        assert_eq!(s.restart_count, 0);

        // Restarted: instance 1 runs, lastState keeps the crash.
        t.previous = t.current.as_ref().unwrap().termination();
        t.waiting = None;
        t.current = Some(Instance {
            id: id(1),
            image: "busybox".into(),
            status: runtime::ContainerStatus::Running {
                pid: 8,
                started_at: chrono::Utc::now(),
            },
            end_seen: false,
            probed: false,
        });
        let s = t.api_status("busybox");
        assert_eq!(s.restart_count, 1);
        assert!(s.state.running.is_some());
        assert_eq!(
            s.last_state.terminated.unwrap().container_id,
            "skiff://u/main/0"
        );

        // It completed and is not restarted (restartPolicy OnFailure): state terminated.
        t.current.as_mut().unwrap().status = exit(0);
        let s = t.api_status("busybox");
        assert_eq!(s.state.terminated.unwrap().reason, "Completed");
        assert_eq!(s.last_state.terminated.unwrap().exit_code, 1);
        assert_eq!(t.next_instance(), 2);
    }

    #[test]
    fn a_starting_or_lost_instance() {
        let mut t = track();
        t.current = Some(Instance {
            id: id(0),
            image: "busybox".into(),
            status: runtime::ContainerStatus::Unknown {
                message: STARTING_MESSAGE.into(),
            },
            end_seen: false,
            probed: false,
        });
        assert_eq!(t.observed(), Observed::Starting);
        assert!(t.is_running());
        assert_eq!(
            t.api_status("busybox").state.waiting.unwrap().reason,
            "ContainerCreating"
        );
        t.current.as_mut().unwrap().status = runtime::ContainerStatus::Unknown {
            message: "supervisor died".into(),
        };
        assert_eq!(t.observed(), Observed::Exited { exit_code: 137 });
        assert_eq!(
            t.api_status("busybox").state.terminated.unwrap().reason,
            "ContainerStatusUnknown"
        );
    }
}
