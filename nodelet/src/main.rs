//! The `skiff-nodelet` binary: the node agent, plus the hidden subcommands it re-executes
//! itself with (see `skiff_nodelet::internal`).

use std::process::ExitCode;

use clap::Parser;
use skiff_nodelet::agent::config::AgentArgs;
use skiff_nodelet::internal::Internal;

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

// The async runtime is started only for the agent.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.internal {
        Some(internal) => internal.run(),
        None => skiff_nodelet::agent::main(cli.agent),
    }
}
