//! Observing and ending a container instance: status, wait, stop, kill.

use std::time::Duration;

use rustix::process::{kill_process_group, Pid, Signal};

use super::layout::{read_json, InstanceDir};
use super::procfs::is_alive;
use super::types::{ChildRecord, ContainerId, ContainerStatus, ExitRecord, ProcessIdentity};
use super::wait::process_exit;
use super::{Runtime, RuntimeError};

/// The `Unknown` message while a supervisor runs but has not started the process yet.
pub const STARTING_MESSAGE: &str = "the container is starting";
const STARTING: &str = STARTING_MESSAGE;

impl Runtime {
    /// The container's state as its files and processes show it now. Never blocks.
    pub fn status(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        let dir = self.existing(id)?;
        if let Some(exit) = read_json::<ExitRecord>(&dir.exit())? {
            return Ok(ContainerStatus::Exited(exit));
        }
        let supervisor = read_json::<ProcessIdentity>(&dir.supervisor())?;
        let alive = supervisor.as_ref().is_some_and(is_alive);
        // The supervisor writes exit.json before it exits: look again now that we know
        // whether it is alive, or a container that just ended would look lost.
        if let Some(exit) = read_json::<ExitRecord>(&dir.exit())? {
            return Ok(ContainerStatus::Exited(exit));
        }
        if !alive {
            let message = if supervisor.is_none() {
                "the container's supervisor never started"
            } else {
                "the container's supervisor ended without recording the container's exit"
            };
            return Ok(ContainerStatus::Unknown {
                message: message.into(),
            });
        }
        Ok(match read_json::<ChildRecord>(&dir.child())? {
            Some(child) => ContainerStatus::Running {
                pid: child.process.pid,
                started_at: child.started_at,
            },
            None => ContainerStatus::Unknown {
                message: STARTING.into(),
            },
        })
    }

    /// Waits until the container is no longer running and returns its final status
    /// (`Exited`, or `Unknown` if its supervisor died without a record). Costs no CPU
    /// while waiting; cancel-safe (drop the future to stop waiting).
    pub async fn wait(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        loop {
            let status = self.status(id)?;
            let starting =
                matches!(&status, ContainerStatus::Unknown { message } if message == STARTING);
            if !status.is_running() && !starting {
                return Ok(status);
            }
            let dir = self.layout.instance(id);
            match read_json::<ProcessIdentity>(&dir.supervisor())? {
                Some(supervisor) => process_exit(&supervisor).await,
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Graceful stop: SIGTERM to every process of the container, SIGKILL after `grace`,
    /// and return once the exit is recorded (exit code 143 or 137 for a process the signal
    /// ended). A container that is not running is left alone and its status returned.
    pub async fn stop(
        &self,
        id: &ContainerId,
        grace: Duration,
    ) -> Result<ContainerStatus, RuntimeError> {
        let status = self.status(id)?;
        if !status.is_running() {
            self.kill_orphan(id)?;
            return Ok(status);
        }
        self.signal(id, Signal::TERM)?;
        if let Ok(done) = tokio::time::timeout(grace, self.wait(id)).await {
            return done;
        }
        tracing::debug!(container = %id, ?grace, "grace period over; sending SIGKILL");
        self.kill(id).await
    }

    /// Immediate SIGKILL to every process of the container; returns once the exit is
    /// recorded (exit code 137).
    pub async fn kill(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        let status = self.status(id)?;
        if !status.is_running() {
            self.kill_orphan(id)?;
            return Ok(status);
        }
        self.signal(id, Signal::KILL)?;
        match tokio::time::timeout(self.config.kill_timeout, self.wait(id)).await {
            Ok(done) => done,
            Err(_) => Err(RuntimeError::KillTimeout(id.clone())),
        }
    }

    /// Sends `signal` to the container's process group if its main process still runs.
    /// Returns whether a signal was sent.
    fn signal(&self, id: &ContainerId, signal: Signal) -> Result<bool, RuntimeError> {
        let dir = self.layout.instance(id);
        let Some(child) = read_json::<ChildRecord>(&dir.child())? else {
            return Ok(false);
        };
        // The identity check keeps a recycled PID from being signalled. Once the main
        // process is gone, its supervisor kills whatever is left of the group.
        if !is_alive(&child.process) {
            return Ok(false);
        }
        let Some(group) = Pid::from_raw(child.process.pid as i32) else {
            return Ok(false);
        };
        match kill_process_group(group, signal) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::SRCH) => Ok(false),
            Err(e) => Err(RuntimeError::io(
                format!("signalling container {id}"),
                e.into(),
            )),
        }
    }

    /// A container whose supervisor died without a record may still have processes:
    /// nothing watches them any more, so they are killed.
    pub(crate) fn kill_orphan(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        if let ContainerStatus::Unknown { .. } = self.status(id)? {
            let dir = self.layout.instance(id);
            if !super::start::supervisor_alive(&dir) && self.signal(id, Signal::KILL)? {
                tracing::warn!(container = %id, "killed processes of a container whose supervisor died");
            }
        }
        Ok(())
    }

    /// The instance's directory, or `NotFound`.
    pub(crate) fn existing(&self, id: &ContainerId) -> Result<InstanceDir, RuntimeError> {
        super::layout::validate_name("pod uid", &id.pod_uid)?;
        super::layout::validate_name("container name", &id.container)?;
        let dir = self.layout.instance(id);
        if dir.path.is_dir() {
            Ok(dir)
        } else {
            Err(RuntimeError::NotFound(id.clone()))
        }
    }
}
