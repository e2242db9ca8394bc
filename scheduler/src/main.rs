//! skiff-scheduler: assigns pending pods to nodes; `skiff-scheduler bench` measures throughput.

use clap::{Parser, Subcommand};
use skiff_scheduler::bench::BenchArgs;
use skiff_scheduler::Config;

#[derive(Parser)]
#[command(
    name = "skiff-scheduler",
    version,
    about = "The skiff scheduler",
    subcommand_negates_reqs = true,
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Measure scheduling throughput (pods/s) with hollow nodes.
    Bench(BenchArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bench(args)) => {
            skiff_common::logging::init("text");
            let report = skiff_scheduler::bench::run(args).await?;
            println!("{report}");
        }
        None => {
            skiff_common::logging::init(&cli.config.log_format);
            let shutdown = skiff_common::shutdown::on_signals();
            skiff_scheduler::run(cli.config, shutdown).await?;
        }
    }
    Ok(())
}
