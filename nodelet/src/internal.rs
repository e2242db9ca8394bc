//! The hidden subcommands `skiff-nodelet` re-executes itself with: a container's
//! supervisor and init, a pod's pause process, `enter` for exec, teardown for `skiff down`
//! and the built-in image stand-ins.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Internal {
    /// Supervise one container instance (started by the nodelet's runtime).
    #[command(hide = true)]
    Supervise {
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Hold a pod's network, UTS and IPC namespaces.
    #[command(hide = true)]
    Pause {
        #[arg(long)]
        hostname: String,
        /// The sandbox's directory (names the process as its node's).
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Run a command inside a running container's namespaces.
    #[command(hide = true)]
    Enter {
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        cwd: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, last = true)]
        command: Vec<String>,
    },
    /// Remove what a stopped node made for its pod sandboxes (for `skiff down`).
    #[command(hide = true)]
    Teardown {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Run a built-in image stand-in (`kubia`, `kubia-unhealthy`, `batch-job`, `ssd-monitor`).
    #[command(hide = true)]
    Image {
        name: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

impl Internal {
    /// Runs the subcommand in this process (no async runtime: these run once per
    /// container and must stay small).
    pub fn run(self) -> ExitCode {
        match self {
            Internal::Supervise { state_dir } => crate::runtime::supervisor::run(&state_dir),
            Internal::Pause { hostname, .. } => crate::sandbox::pause::run(&hostname),
            Internal::Enter { pid, cwd, command } => {
                crate::runtime::enter::run(pid, &cwd, &command)
            }
            Internal::Teardown { data_dir } => crate::agent::sandbox::teardown(&data_dir),
            Internal::Image { name, args } => crate::images::standins::run(&name, &args),
        }
    }
}
