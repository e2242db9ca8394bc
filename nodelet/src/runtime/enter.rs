//! `skiff-nodelet-shim enter --pid PID --cwd DIR -- CMD...`: runs a command inside a
//! running container (exec probes, `skiff exec`), as `nsenter` would: it joins the
//! cgroups and the IPC, UTS, network, PID and mount namespaces of the container's main
//! process, starts the command there with the caller's stdin, stdout, stderr and
//! environment, and exits with the command's exit code (128 + signal if a signal ended it;
//! 126 when it could not be started, as a shell reports).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use nix::sched::CloneFlags;

use super::isolation::join_namespaces;

pub fn run(pid: u32, cwd: &Path, argv: &[String]) -> ExitCode {
    let Some((program, args)) = argv.split_first() else {
        eprintln!("enter: empty command line");
        return ExitCode::from(126);
    };
    // The container's cgroups first, while /sys/fs/cgroup is still the host's: its limits
    // then hold for the command as for the container.
    if let Err(e) = super::cgroup::join_cgroups_of(pid) {
        eprintln!("enter: joining the container's cgroup: {e}");
        return ExitCode::from(126);
    }
    // The mount namespace last: after it, /proc is the container's.
    let kinds = [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ];
    if let Err(message) = join_namespaces(pid, &kinds) {
        eprintln!("enter: {message}");
        return ExitCode::from(126);
    }
    // A new PID namespace applies to children only: the command is one.
    match Command::new(program).args(args).current_dir(cwd).status() {
        Ok(status) => {
            let code = status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(128);
            ExitCode::from(u8::try_from(code).unwrap_or(255))
        }
        Err(e) => {
            eprintln!("{}", super::supervisor::start_error_message(program, &e));
            ExitCode::from(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            })
        }
    }
}
