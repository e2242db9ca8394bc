//! The `skiff-controller-manager` binary: parses flags, sets up logging, runs the controllers until SIGTERM.

use anyhow::Context as _;
use clap::Parser;
use skiff_controller_manager::{manager, Args, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    skiff_common::logging::init(&args.log_format);
    let config = Config::from_args(args).context("skiff-controller-manager")?;
    let shutdown = skiff_common::shutdown::on_signals();
    manager::run(config, shutdown)
        .await
        .context("skiff-controller-manager")?;
    Ok(())
}
