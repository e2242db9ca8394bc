//! The process container runtime: starts each container under its own supervisor
//! process, signals, waits for and inspects containers, and re-adopts them after a
//! nodelet restart.
//!
//! All state is on disk; a [`Runtime`] holds only configuration, so dropping it (or
//! SIGKILLing the nodelet) leaves every container running, and a new `Runtime` over the
//! same data dir sees them exactly as before.
//!
//! ```text
//! DATA/containers/<pod_uid>/<container>/<instance>/
//!     spec.json        what to run (written before the supervisor starts)
//!     supervisor.json  the supervisor's PID, start time and boot id
//!     child.json       the same for the container's main process, and its start time
//!     log, log.1       the container's stdout+stderr (log.1: the older half)
//!     exit.json        how the container ended (written last, atomically)
//!     supervisor.log   the supervisor's own errors
//! ```

pub mod cgroup;
mod cgroup_roots;
mod control;
pub mod enter;
mod inventory;
pub mod isolation;
pub(crate) mod layout;
pub(crate) mod procfs;
mod start;
pub mod supervisor;
mod types;
mod wait;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use control::STARTING_MESSAGE;
pub use isolation::Isolation;
pub use types::{
    ContainerId, ContainerInfo, ContainerSpec, ContainerStatus, ExecContext, ExitRecord,
};

/// The `PATH` a container gets unless its spec sets one (the usual image default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How a [`Runtime`] runs containers.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The nodelet's data dir; container state goes to `DATA/containers`.
    pub data_dir: PathBuf,
    /// The binary run as `BINARY supervise --state-dir DIR`: normally the small
    /// `skiff-nodelet-shim` next to `skiff-nodelet` (which also accepts the subcommand).
    pub nodelet_exe: PathBuf,
    /// Log bytes kept per container instance (the newest are kept). Default 10 MiB, as
    /// the kubelet's `containerLogMaxSize`.
    pub log_max_bytes: u64,
    /// `PATH` for containers whose spec sets none.
    pub default_path: String,
    /// How long `start` waits for a supervisor to report that the process runs.
    pub start_timeout: Duration,
    /// How long `stop` and `kill` wait for the exit record after SIGKILL.
    pub kill_timeout: Duration,
}

impl RuntimeConfig {
    pub fn new(data_dir: impl Into<PathBuf>, nodelet_exe: impl Into<PathBuf>) -> Self {
        RuntimeConfig {
            data_dir: data_dir.into(),
            nodelet_exe: nodelet_exe.into(),
            log_max_bytes: 10 * 1024 * 1024,
            default_path: DEFAULT_PATH.to_string(),
            start_timeout: Duration::from_secs(10),
            kill_timeout: Duration::from_secs(10),
        }
    }
}

/// Errors of the runtime; each names the container or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("container {0} has an empty command line")]
    EmptyCommand(ContainerId),
    #[error("container {0} already exists")]
    AlreadyExists(ContainerId),
    #[error("container {0} not found")]
    NotFound(ContainerId),
    #[error("pod {pod_uid} still has running containers: {running:?}")]
    StillRunning {
        pod_uid: String,
        running: Vec<ContainerId>,
    },
    #[error("the supervisor of container {id} failed: {message}")]
    Supervisor { id: ContainerId, message: String },
    #[error("container {0} did not exit after SIGKILL")]
    KillTimeout(ContainerId),
    #[error("{}", no_logs_message(.pod_uid, .container, *.previous))]
    NoLogs {
        pod_uid: String,
        container: String,
        previous: bool,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt state file {}: {source}", .path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn no_logs_message(pod_uid: &str, container: &str, previous: bool) -> String {
    if previous {
        format!("previous terminated container \"{container}\" in pod {pod_uid} not found")
    } else {
        format!("container \"{container}\" in pod {pod_uid} has not been started")
    }
}

impl RuntimeError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Runs containers as supervised processes. Cheap to clone; all state is on disk.
#[derive(Debug, Clone)]
pub struct Runtime {
    config: Arc<RuntimeConfig>,
    layout: layout::Layout,
}

impl Runtime {
    /// Opens (creating if needed) the runtime's state under `config.data_dir`. Call
    /// [`Runtime::recover`] next to learn what is already running.
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let layout = layout::Layout::new(&config.data_dir);
        std::fs::create_dir_all(&layout.root)
            .map_err(|e| RuntimeError::io(format!("creating {}", layout.root.display()), e))?;
        Ok(Runtime {
            config: Arc::new(config),
            layout,
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }
}
