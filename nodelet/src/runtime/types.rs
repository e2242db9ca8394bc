//! The plain data the runtime takes and reports: specs, ids, statuses and exit records.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything needed to start one instance of one container.
///
/// `argv` is the final command line (see [`crate::images::ImageCatalog::resolve`]); the
/// runtime adds `HOSTNAME`, `POD_NAME`, `POD_NAMESPACE`, `POD_IP` and a default `PATH` to
/// `env` (entries in `env` win over those).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub pod_uid: String,
    pub pod_namespace: String,
    pub pod_name: String,
    pub container_name: String,
    /// The restart count of the container: instance 0 is the first run, 1 the first restart.
    pub instance: u32,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Working directory of the process; `/` when unset (an image without WORKDIR).
    pub working_dir: Option<PathBuf>,
    pub pod_ip: IpAddr,
    /// The pod sandbox the container runs in; `None`: a plain host process.
    #[serde(default)]
    pub isolation: Option<super::isolation::Isolation>,
}

impl ContainerSpec {
    /// The id this spec's container instance gets once started.
    pub fn id(&self) -> ContainerId {
        ContainerId {
            pod_uid: self.pod_uid.clone(),
            container: self.container_name.clone(),
            instance: self.instance,
        }
    }
}

/// Names one instance of one container of one pod. Displayed as `pod_uid/container/instance`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContainerId {
    pub pod_uid: String,
    pub container: String,
    pub instance: u32,
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.pod_uid, self.container, self.instance)
    }
}

/// What the runtime knows about a container instance right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStatus {
    /// The main process runs (`pid` is the container's main process, not its supervisor).
    Running { pid: u32, started_at: DateTime<Utc> },
    /// The main process ended and its supervisor recorded how.
    Exited(ExitRecord),
    /// Neither running nor recorded: the supervisor is still starting, or it died without
    /// writing an exit record (it was SIGKILLed, or the machine rebooted).
    Unknown { message: String },
}

impl ContainerStatus {
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerStatus::Running { .. })
    }
}

/// How a container instance ended, as its supervisor recorded it in `exit.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// The exit status, or 128 + signal for a process killed by a signal (137 SIGKILL,
    /// 143 SIGTERM), or 128 when the command could not be started at all.
    pub exit_code: i32,
    /// The signal that killed the process, if one did.
    pub signal: Option<i32>,
    /// `Completed` for exit code 0, `Error` otherwise, `StartError` when exec failed.
    pub reason: String,
    /// Why a start failed (e.g. `exec: "foo": No such file or directory`).
    pub message: Option<String>,
    /// `None` only when the process never started.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
}

/// A container instance found on disk by [`crate::runtime::Runtime::list`] or
/// [`crate::runtime::Runtime::recover`].
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    pub id: ContainerId,
    pub spec: ContainerSpec,
    pub status: ContainerStatus,
}

/// The environment a command run "inside" a container gets (exec probes use it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecContext {
    pub env: Vec<(String, String)>,
    pub working_dir: PathBuf,
    /// For a sandboxed container: the helper binary and the container's main process,
    /// whose namespaces the command joins (`HELPER enter --pid PID ...`).
    #[serde(default)]
    pub enter: Option<(PathBuf, u32)>,
}

impl ExecContext {
    /// The command `argv` (non-empty) as run inside the container: with its environment
    /// and working directory, in its namespaces when it has them.
    pub fn command(&self, argv: &[String]) -> tokio::process::Command {
        let mut command = match &self.enter {
            Some((helper, pid)) => {
                let mut c = tokio::process::Command::new(helper);
                c.arg("enter")
                    .arg("--pid")
                    .arg(pid.to_string())
                    .arg("--cwd")
                    .arg(&self.working_dir)
                    .arg("--")
                    .args(argv);
                c
            }
            None => {
                let mut c = tokio::process::Command::new(argv.first().map_or("", String::as_str));
                c.args(argv.iter().skip(1)).current_dir(&self.working_dir);
                c
            }
        };
        command
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// `spec.json`: the spec as given plus what the runtime derived from it; the supervisor
/// starts the child from this file alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSpec {
    pub spec: ContainerSpec,
    /// The complete environment of the child process.
    pub env: Vec<(String, String)>,
    pub working_dir: PathBuf,
    pub log_max_bytes: u64,
    pub created_at: DateTime<Utc>,
}

/// A process named so that a recycled PID is never mistaken for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessIdentity {
    pub pid: u32,
    /// Field 22 of `/proc/PID/stat`: clock ticks since boot when the process started.
    pub start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id`: PIDs and start ticks restart with every boot.
    pub boot_id: String,
}

/// `child.json`: the container's main process, written by the supervisor once it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildRecord {
    pub process: ProcessIdentity,
    pub started_at: DateTime<Utc>,
}
