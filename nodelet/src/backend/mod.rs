//! The container backend the node agent drives: the process runtime (`--runtime process`,
//! the default) or the hollow one (`--runtime fake`), behind one small interface.

pub mod fake;

use std::time::Duration;

use crate::logs::{LogFollower, LogOptions};
use crate::runtime::{
    ContainerId, ContainerInfo, ContainerSpec, ContainerStatus, ExecContext, Runtime, RuntimeError,
};

pub use fake::{FakeExit, FakeRuntime};

/// Where containers run. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Backend {
    Process(Runtime),
    Fake(FakeRuntime),
}

impl Backend {
    pub fn is_fake(&self) -> bool {
        matches!(self, Backend::Fake(_))
    }

    /// Starts an instance; `fake_exit` only matters to the hollow runtime.
    pub async fn start(
        &self,
        spec: ContainerSpec,
        fake_exit: Option<FakeExit>,
    ) -> Result<ContainerId, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.start(spec).await,
            Backend::Fake(rt) => rt.start(spec, fake_exit),
        }
    }

    pub fn status(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.status(id),
            Backend::Fake(rt) => rt.status(id),
        }
    }

    /// Returns once the instance no longer runs.
    pub async fn wait(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.wait(id).await,
            Backend::Fake(rt) => rt.wait(id).await,
        }
    }

    /// SIGTERM, `grace`, SIGKILL; returns the final status.
    pub async fn stop(
        &self,
        id: &ContainerId,
        grace: Duration,
    ) -> Result<ContainerStatus, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.stop(id, grace).await,
            Backend::Fake(rt) => rt.stop(id),
        }
    }

    /// What already exists at start-up (nothing, for the hollow runtime).
    pub fn recover(&self) -> Result<Vec<ContainerInfo>, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.recover(),
            Backend::Fake(rt) => Ok(rt.list()),
        }
    }

    pub fn remove_pod(&self, pod_uid: &str) -> Result<(), RuntimeError> {
        match self {
            Backend::Process(rt) => rt.remove_pod(pod_uid),
            Backend::Fake(rt) => {
                rt.remove_pod(pod_uid);
                Ok(())
            }
        }
    }

    /// The environment of a running instance, for exec probes.
    pub fn exec_context(&self, id: &ContainerId) -> Option<ExecContext> {
        match self {
            Backend::Process(rt) => rt.exec_context(id).ok(),
            Backend::Fake(_) => None,
        }
    }

    /// The container's newest instance if it is running.
    pub fn running_instance(&self, pod_uid: &str, container: &str) -> Option<ContainerId> {
        match self {
            Backend::Process(rt) => {
                let id = rt
                    .log_instance(pod_uid, container, &LogOptions::default())
                    .ok()?;
                rt.status(&id).ok()?.is_running().then_some(id)
            }
            Backend::Fake(_) => None,
        }
    }

    /// A container's log; hollow containers write none.
    pub fn read_log(
        &self,
        pod_uid: &str,
        container: &str,
        options: &LogOptions,
    ) -> Result<Vec<u8>, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.read_log(pod_uid, container, options),
            Backend::Fake(_) => Ok(Vec::new()),
        }
    }

    /// Follows a container's log; `None` for hollow containers, which write none.
    pub fn follow_log(
        &self,
        pod_uid: &str,
        container: &str,
        options: &LogOptions,
    ) -> Result<Option<LogFollower>, RuntimeError> {
        match self {
            Backend::Process(rt) => rt.follow_log(pod_uid, container, options).map(Some),
            Backend::Fake(_) => Ok(None),
        }
    }
}
