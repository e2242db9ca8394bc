//! The `skiff-nodelet` binary: the node agent, plus the hidden subcommands it re-executes
//! itself with (a container's supervisor, the built-in image stand-ins).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use skiff_nodelet::agent::config::AgentArgs;

#[derive(Parser)]
// A flag given twice takes its last value, so wrappers can append overrides.
#[command(
    name = "skiff-nodelet",
    version,
    about = "The skiff node agent",
    args_override_self = true
)]
struct Cli {
    #[command(flatten)]
    agent: AgentArgs,
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

// The async runtime is started only for the agent: the supervisor and the stand-ins run
// once per container and must stay small.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.internal {
        Some(Internal::Supervise { state_dir }) => {
            skiff_nodelet::runtime::supervisor::run(&state_dir)
        }
        Some(Internal::Image { name, args }) => skiff_nodelet::images::standins::run(&name, &args),
        None => skiff_nodelet::agent::main(cli.agent),
    }
}
