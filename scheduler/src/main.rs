//! skiff-scheduler: assigns pending pods to nodes (its throughput benchmark is `skiff-bench scheduler`).

use clap::Parser;
use skiff_scheduler::Config;

#[derive(Parser)]
#[command(
    name = "skiff-scheduler",
    version,
    about = "The skiff scheduler",
    args_override_self = true
)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    skiff_common::logging::init(&cli.config.log_format);
    let shutdown = skiff_common::shutdown::on_signals();
    skiff_scheduler::run(cli.config, shutdown).await?;
    Ok(())
}
