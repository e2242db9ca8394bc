//! skiff-bench: parses flags and runs one subcommand; Ctrl-C (or SIGTERM/SIGHUP)
//! stops it and every process it started.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use skiff_bench::cli::Cli;
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    // Leaving the select drops the command, and with it every cluster guard, which
    // SIGKILLs its members and removes their temporary directory.
    let stopped_by = tokio::select! {
        result = skiff_bench::commands::run(cli.command) => {
            result?;
            return Ok(ExitCode::SUCCESS);
        }
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
        _ = hangup.recv() => "hung up",
    };
    eprintln!("{stopped_by}: every member started was killed");
    Ok(ExitCode::from(130))
}
