//! skiff-store: one member of an etcd-compatible, Raft-replicated store;
//! `skiff-store restore` makes a new cluster's data dirs from a snapshot file.

use clap::Parser;
use skiff_store::config::{Config, RestoreCommand};

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("restore") {
        let cmd = RestoreCommand::parse_from(std::env::args().skip(1));
        if let Err(err) = skiff_store::backup::restore(&cmd.snapshot, &cmd.config) {
            eprintln!("skiff-store restore: {err}");
            std::process::exit(1);
        }
        println!(
            "restored {} into {}",
            cmd.snapshot.display(),
            cmd.config.data_dir.display()
        );
        return;
    }
    let config = Config::parse();
    skiff_common::logging::init(&config.log_format);
    let shutdown = skiff_common::shutdown::on_signals();
    if let Err(err) = skiff_store::run(config, shutdown).await {
        eprintln!("skiff-store: {err:#}");
        std::process::exit(1);
    }
}
