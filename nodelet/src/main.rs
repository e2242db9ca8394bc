//! The `skiff-nodelet` binary: the node agent, plus the hidden subcommands it re-executes
//! itself with (a container's supervisor, the built-in image stand-ins).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "skiff-nodelet", version, about = "The skiff node agent")]
struct Cli {
    /// Internal subcommands; without one the binary runs the node agent.
    #[command(subcommand)]
    internal: Option<Internal>,
}

#[derive(Subcommand)]
enum Internal {
    /// Supervise one container instance (started by the nodelet's runtime).
    #[command(hide = true)]
    Supervise {
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Run a built-in image stand-in (`kubia`, `kubia-unhealthy`, `batch-job`, `ssd-monitor`).
    #[command(hide = true)]
    Image {
        name: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

// No async runtime is started here: the supervisor and the stand-ins run once per
// container and must stay small.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.internal {
        Some(Internal::Supervise { state_dir }) => {
            skiff_nodelet::runtime::supervisor::run(&state_dir)
        }
        Some(Internal::Image { name, args }) => skiff_nodelet::images::standins::run(&name, &args),
        None => {
            // The node agent (registration, pod workers) is wired in here.
            let mut cmd = Cli::command();
            let err = cmd.error(
                clap::error::ErrorKind::MissingSubcommand,
                "the node agent is not part of this build yet; only the internal `supervise` and `image` subcommands exist",
            );
            err.exit()
        }
    }
}
