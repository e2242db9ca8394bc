//! A container inside its pod's sandbox: what the supervisor does before the container's
//! program runs.
//!
//! The supervisor joins the pod's network, UTS and IPC namespaces (held by the pod's
//! pause process), creates the container's cgroup and makes a new PID namespace for its
//! children. Its child, PID 1 of that namespace, joins the cgroup, makes a private mount
//! namespace (its own `/proc`, an empty tmpfs on `/tmp`, the pod's `/etc/hostname` and
//! `/etc/hosts`; the rest of the host's filesystem is seen as it is) and execs the
//! container's program, which so is PID 1 of the container.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{mount, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use serde::{Deserialize, Serialize};

use super::cgroup::{Cgroup, Limits, Version};
use super::procfs::identity_of;

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
/// namespace its next child (the container's process) is born into.
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

/// The container's process: the supervisor's next child, so PID 1 of the PID namespace
/// [`prepare`] made. Between fork and exec (no second program, so no second exec and
/// dynamic loading per container) it joins the container's cgroup, makes its private mount
/// namespace and changes to the working dir. The command's program is the container's;
/// the caller adds its environment, stdio and process group.
///
/// The work after fork runs in a copy of a process with two threads, so it only makes
/// system calls on what is prepared here (open files, paths); nothing it does allocates.
/// A step that fails writes its name to a pipe and ends the child: [`FailedStep::message`]
/// turns the error `spawn` returns into the message a container runtime would give.
pub(crate) fn container_command(
    isolation: &Isolation,
    cgroup: Option<&Cgroup>,
    argv: &[String],
    working_dir: &Path,
) -> Result<(Command, FailedStep), String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command line".into());
    };
    let procs = match cgroup {
        Some(cgroup) => cgroup
            .procs_files()
            .map_err(|e| format!("joining the cgroup: {e}"))?,
        None => Vec::new(),
    };
    // A program under the host's /tmp (a build's own binaries, e.g. the image stand-ins
    // of a checkout there) is hidden by the container's /tmp: open it first and run it
    // through its descriptor.
    let hidden = Path::new(program)
        .starts_with("/tmp")
        .then(|| File::open(program))
        .transpose()
        .map_err(|e| super::supervisor::start_error_message(program, &e))?;
    let path = match &hidden {
        Some(file) => PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd())),
        None => PathBuf::from(program),
    };
    // A host without the file gets none in the container either (a bind mount needs an
    // existing target).
    let binds: Vec<(PathBuf, PathBuf)> = [
        (&isolation.etc_hostname, "/etc/hostname"),
        (&isolation.etc_hosts, "/etc/hosts"),
    ]
    .into_iter()
    .filter(|(_, target)| Path::new(target).exists())
    .map(|(source, target)| (source.clone(), PathBuf::from(target)))
    .collect();
    let (report, failed_step) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let failed_step = File::from(std::os::fd::OwnedFd::from(failed_step));
    let working_dir = working_dir.to_path_buf();

    let mut command = Command::new(path);
    command.arg0(program).args(args);
    let setup = move || -> std::io::Result<()> {
        // Kept open until exec, which closes it (close-on-exec).
        let _program = &hidden;
        // Names the failed step for the supervisor; nix's `Errno` becomes an `io::Error`
        // without allocating.
        let fail = |step: &'static str, e: std::io::Error| {
            let _ = (&failed_step).write_all(step.as_bytes());
            e
        };
        for mut file in procs.iter() {
            // `0` names the writer itself.
            file.write_all(b"0")
                .map_err(|e| fail("joining the cgroup", e))?;
        }
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| fail("unshare(mount)", e.into()))?;
        // Nothing mounted here reaches the host, and nothing the host mounts later
        // reaches here.
        let none = None::<&Path>;
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
            .map_err(|e| fail("making / private", e.into()))?;
        let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
        mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            nosuid | MsFlags::MS_NOEXEC,
            none,
        )
        .map_err(|e| fail("mounting /proc", e.into()))?;
        for (source, target) in &binds {
            mount(
                Some(source.as_path()),
                target.as_path(),
                none,
                MsFlags::MS_BIND,
                none,
            )
            .map_err(|e| {
                fail(
                    "bind-mounting the pod's /etc/hostname or /etc/hosts",
                    e.into(),
                )
            })?;
        }
        // After the binds: their sources may be under the host's /tmp.
        mount(
            Some("tmpfs"),
            "/tmp",
            Some("tmpfs"),
            nosuid,
            Some("mode=1777"),
        )
        .map_err(|e| fail("mounting /tmp", e.into()))?;
        nix::unistd::chdir(working_dir.as_path())
            .map_err(|e| fail("changing to the working dir", e.into()))?;
        Ok(())
    };
    // SAFETY: `setup` runs in the child between fork and exec, where only async-signal-safe
    // work is sound: it makes only system calls (write, unshare, mount, chdir) on values
    // prepared above, takes no lock and allocates nothing (nix passes these short paths
    // on the stack; errors are `Errno`s turned into `io::Error`s without allocating).
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(setup);
    }
    Ok((command, FailedStep(report)))
}

/// The pipe a container's setup names its failed step on.
pub(crate) struct FailedStep(std::io::PipeReader);

impl FailedStep {
    /// The message for a `spawn` that failed: the setup step that failed, or the exec.
    /// Call once the command (and with it this side's copy of the write end) is dropped.
    pub fn message(mut self, program: &str, e: &std::io::Error) -> String {
        let mut step = String::new();
        let _ = std::io::Read::read_to_string(&mut self.0, &mut step);
        if step.is_empty() {
            super::supervisor::start_error_message(program, e)
        } else {
            format!("{step}: {e}")
        }
    }
}
