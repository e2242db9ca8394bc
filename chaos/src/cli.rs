//! The command line: `skiff-chaos run ...` and `skiff-chaos check --out DIR`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use std::time::Duration;

use crate::faults::plan::FaultKind;
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

fn duration(text: &str) -> Result<Duration, String> {
    skiff_common::duration::parse_duration(text)
}

/// `skiff-chaos run`'s flags.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The `skiff up` cluster's directory (its state.json names every process).
    #[arg(long, conflicts_with = "compose")]
    pub dir: Option<PathBuf>,
    /// A compose cluster instead: its docker-compose file.
    #[arg(long)]
    pub compose: Option<String>,
    /// Apiservers (compose; default: the published 127.0.0.1:16443,127.0.0.1:16444).
    #[arg(long, value_delimiter = ',')]
    pub apiserver: Vec<String>,
    /// Admin bearer token (compose).
    #[arg(long, env = "SKIFF_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The compose cluster's certificates (`skiff certs`' layout, compose/pki): the store
    /// members are reached over https with etcd-client, the apiservers trusting ca.crt.
    /// A `skiff up` cluster's come from its state.json.
    #[arg(long, value_name = "DIR", conflicts_with = "dir")]
    pub pki_dir: Option<PathBuf>,
    /// How long faults are injected (Go duration: 90s, 10m).
    #[arg(long, value_parser = duration, default_value = "60s")]
    pub duration: Duration,
    /// Seed of the fault schedule and the workloads (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Faults to inject, comma-separated: kill, pause, partition (compose), restart.
    #[arg(long, value_delimiter = ',', default_value = "kill,pause")]
    pub faults: Vec<FaultKind>,
    /// Where histories, the fault log and the report are saved.
    #[arg(long, default_value = "chaos-out")]
    pub out: PathBuf,
    /// Store keys the register clients use.
    #[arg(long, default_value_t = 5)]
    pub keys: usize,
    /// Register clients per store member.
    #[arg(long, default_value_t = 2)]
    pub clients_per_member: usize,
    /// Time between the starts of two faults.
    #[arg(long, value_parser = duration, default_value = "5s")]
    pub interval: Duration,
    /// Longest a fault is held before it is healed.
    #[arg(long, value_parser = duration, default_value = "2s")]
    pub max_hold: Duration,
    /// How long the cluster may take to converge after the last fault.
    #[arg(long, value_parser = duration, default_value = "120s")]
    pub converge_within: Duration,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Injects faults while workloads run, then checks their histories; exits 1 on any anomaly.
    Run(Box<RunArgs>),
    /// Checks the histories saved by a run again, without a cluster.
    Check {
        /// The directory a run saved its histories in.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs the command line `args`; returns the exit status (1: an anomaly, 2: an error).
pub fn main(args: Vec<OsString>) -> i32 {
    // Components restarted after a kill are started through `__spawn`, as `skiff up` does.
    if args.get(1).and_then(|a| a.to_str()) == Some("__spawn") {
        let command: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        eprintln!("{}", skiff_cli::up::procs::exec_detached(&command));
        return 1;
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Run(args) => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            match runtime.block_on(crate::setup::run(*args)) {
                Ok(report) => {
                    print!("{}", report.render());
                    i32::from(!report.valid())
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            }
        }
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
