//! A container inside its pod's sandbox: what the supervisor and the container's init
//! stage do before the container's program runs.
//!
//! The supervisor joins the pod's network, UTS and IPC namespaces (held by the pod's
//! pause process), creates the container's cgroup, makes a new PID namespace for its
//! children and starts `skiff-nodelet-shim init --state-dir DIR`. That init stage is PID 1
//! of the new namespace: it makes a private mount namespace (its own `/proc`, an empty
//! tmpfs on `/tmp`, the pod's `/etc/hostname` and `/etc/hosts`; the rest of the host's
//! filesystem is seen as it is), joins the cgroup and execs the container's program,
//! which so becomes PID 1 of the container.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nix::mount::{mount, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use serde::{Deserialize, Serialize};

use super::cgroup::{Cgroup, Limits, Version};
use super::layout::{read_json, InstanceDir};
use super::procfs::identity_of;
use super::types::StoredSpec;

/// How a container is isolated; absent from a spec, the container is a plain host process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    /// The pod's pause process (PID and start ticks, so a recycled PID is never joined).
    pub pause_pid: u32,
    pub pause_start_ticks: u64,
    /// Files bind-mounted over the container's `/etc/hostname` and `/etc/hosts`.
    pub etc_hostname: PathBuf,
    pub etc_hosts: PathBuf,
    /// The node's parent cgroup (e.g. `skiff-br1`); the container's cgroup is
    /// `<parent>/<pod uid>_<container>_<instance>`. `None` when the host has no cgroups.
    pub cgroup_parent: Option<String>,
    pub cgroup_v2: bool,
    pub limits: Limits,
}

impl Isolation {
    /// The container instance's cgroup, if cgroups are used.
    pub fn cgroup(&self, pod_uid: &str, container: &str, instance: u32) -> Option<Cgroup> {
        let parent = self.cgroup_parent.as_ref()?;
        let version = if self.cgroup_v2 {
            Version::V2
        } else {
            Version::V1
        };
        Some(Cgroup::new(
            version,
            Path::new(parent).join(format!("{pod_uid}_{container}_{instance}")),
        ))
    }
}

/// Supervisor side: joins the pod's namespaces, creates the cgroup and unshares the PID
/// namespace its next child (the init stage) is born into.
pub(crate) fn prepare(isolation: &Isolation, cgroup: Option<&Cgroup>) -> Result<(), String> {
    let pause = identity_of(isolation.pause_pid)
        .map_err(|e| format!("the pod's pause process {}: {e}", isolation.pause_pid))?;
    if pause.start_ticks != isolation.pause_start_ticks {
        return Err(format!(
            "the pod's pause process {} is gone (its PID was reused)",
            isolation.pause_pid
        ));
    }
    join_namespaces(
        isolation.pause_pid,
        &[
            ("net", CloneFlags::CLONE_NEWNET),
            ("uts", CloneFlags::CLONE_NEWUTS),
            ("ipc", CloneFlags::CLONE_NEWIPC),
        ],
    )?;
    if let Some(cgroup) = cgroup {
        cgroup
            .create(&isolation.limits)
            .map_err(|e| format!("creating the cgroup: {e}"))?;
    }
    unshare(CloneFlags::CLONE_NEWPID).map_err(|e| format!("unshare(pid): {e}"))
}

/// Joins namespaces of process `pid`, opening every file first (joining a mount or PID
/// namespace changes what `/proc` shows).
pub(crate) fn join_namespaces(pid: u32, kinds: &[(&str, CloneFlags)]) -> Result<(), String> {
    let mut files = Vec::new();
    for (name, flag) in kinds {
        let path = format!("/proc/{pid}/ns/{name}");
        let file = File::open(&path).map_err(|e| format!("opening {path}: {e}"))?;
        files.push((file, *flag, path));
    }
    for (file, flag, path) in files {
        setns(&file, flag).map_err(|e| format!("setns {path}: {e}"))?;
    }
    Ok(())
}

/// The file the init stage leaves when the container's program could not be started.
pub(crate) fn start_error_file(dir: &InstanceDir) -> PathBuf {
    dir.path.join("start-error")
}

/// Entry point of the hidden `init --state-dir DIR` subcommand (PID 1 of the container).
pub fn init(state_dir: &Path) -> ExitCode {
    let dir = InstanceDir::new(state_dir.to_path_buf());
    // The state dir is opened before the mounts (it may be under the /tmp about to be
    // hidden) and the report made in it only if the program cannot be started: creating a
    // file for every start was a cost on every container. Closed on exec.
    let state = File::open(&dir.path);
    let message = match init_and_exec(&dir) {
        Ok(message) | Err(message) => message,
    };
    eprintln!("{message}");
    if let Ok(state) = &state {
        let name = start_error_file(&dir);
        let name = name.file_name().unwrap_or_default();
        let flags =
            rustix::fs::OFlags::CREATE | rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC;
        if let Ok(fd) =
            rustix::fs::openat(state, name, flags, rustix::fs::Mode::from_raw_mode(0o644))
        {
            let _ = File::from(fd).write_all(message.as_bytes());
        }
    }
    ExitCode::from(128)
}

/// Returns only on failure, with the message to report.
fn init_and_exec(dir: &InstanceDir) -> Result<String, String> {
    let stored: StoredSpec = read_json(&dir.spec())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} is missing", dir.spec().display()))?;
    let isolation = stored
        .spec
        .isolation
        .as_ref()
        .ok_or("the container has no sandbox")?;
    let cgroup = isolation.cgroup(
        &stored.spec.pod_uid,
        &stored.spec.container_name,
        stored.spec.instance,
    );
    if let Some(cgroup) = &cgroup {
        cgroup
            .join_self()
            .map_err(|e| format!("joining the cgroup: {e}"))?;
    }
    let Some((program, args)) = stored.spec.argv.split_first() else {
        return Err("empty command line".into());
    };
    // A program under the host's /tmp (a build's own binaries, e.g. the image stand-ins
    // of a checkout there) is hidden by the container's /tmp: open it first and run it
    // through its descriptor.
    let hidden = Path::new(program)
        .starts_with("/tmp")
        .then(|| File::open(program))
        .transpose()
        .map_err(|e| super::supervisor::start_error_message(program, &e))?;
    private_mounts(isolation)?;
    let path = match &hidden {
        Some(file) => format!("/proc/self/fd/{}", file.as_raw_fd()),
        None => program.clone(),
    };
    // The environment is already the container's (the supervisor set it for this stage).
    let e = std::process::Command::new(path)
        .arg0(program)
        .args(args)
        .current_dir(&stored.working_dir)
        .exec();
    Ok(super::supervisor::start_error_message(program, &e))
}

fn private_mounts(isolation: &Isolation) -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(mount): {e}"))?;
    // Nothing mounted here reaches the host, and nothing the host mounts later reaches here.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("making / private: {e}"))?;
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        nosuid | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mounting /proc: {e}"))?;
    for (source, target) in [
        (&isolation.etc_hostname, "/etc/hostname"),
        (&isolation.etc_hosts, "/etc/hosts"),
    ] {
        // A host without the file gets none in the container either (a bind mount needs
        // an existing target).
        if !Path::new(target).exists() {
            continue;
        }
        mount(
            Some(source.as_path()),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| format!("bind-mounting {} on {target}: {e}", source.display()))?;
    }
    // After the binds: their sources may be under the host's /tmp.
    mount(
        Some("tmpfs"),
        "/tmp",
        Some("tmpfs"),
        nosuid,
        Some("mode=1777"),
    )
    .map_err(|e| format!("mounting /tmp: {e}"))?;
    Ok(())
}
