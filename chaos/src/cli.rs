//! The command line: `skiff-chaos run ...` and `skiff-chaos check --out DIR`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::replay;
use crate::report::render_verdicts;

#[derive(Parser, Debug)]
#[command(
    name = "skiff-chaos",
    version,
    about = "Fault injection against a skiff cluster, with checkers: linearizability, watches, lost updates, controller invariants"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Checks the histories saved by a run again, without a cluster.
    Check {
        /// The directory a run saved its histories in.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs the command line `args`; returns the exit status (1: an anomaly, 2: an error).
pub fn main(args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Check { out } => match replay::check_dir(&out) {
            Ok(verdicts) => {
                print!("{}", render_verdicts(&verdicts));
                i32::from(!verdicts.iter().all(|v| v.valid()))
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
    }
}
