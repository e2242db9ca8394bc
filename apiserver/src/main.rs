//! skiff-apiserver: serves the skiff API over an etcd-compatible store.

use clap::Parser;
use skiff_apiserver::config::Config;

#[tokio::main]
async fn main() {
    let config = Config::parse();
    skiff_common::logging::init(&config.log_format);
    let shutdown = skiff_common::shutdown::on_signals();
    if let Err(err) = skiff_apiserver::run(config, shutdown).await {
        eprintln!("skiff-apiserver: {err}");
        std::process::exit(1);
    }
}
