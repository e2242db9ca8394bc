//! skiff-store: one member of an etcd-compatible, Raft-replicated store.

use clap::Parser;
use skiff_store::config::Config;

#[tokio::main]
async fn main() {
    let config = Config::parse();
    skiff_common::logging::init(&config.log_format);
    let shutdown = skiff_common::shutdown::on_signals();
    if let Err(err) = skiff_store::run(config, shutdown).await {
        eprintln!("skiff-store: {err:#}");
        std::process::exit(1);
    }
}
