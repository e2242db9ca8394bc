//! skiff-apiserver-bench: create p99 under concurrent clients and watch fan-out, against an apiserver or a local cluster.

use clap::Parser;
use skiff_apiserver::bench::{run, BenchArgs};

#[tokio::main]
async fn main() {
    if let Err(err) = run(BenchArgs::parse()).await {
        eprintln!("skiff-apiserver-bench: {err}");
        std::process::exit(1);
    }
}
