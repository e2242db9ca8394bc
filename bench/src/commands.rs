//! Runs one parsed subcommand and prints its report on stdout (progress on stderr).

use std::time::Duration;

use crate::cli::{normalize_endpoints, Command, CompareArgs, ConnArgs, Consistency, Kind};
use crate::cluster::Cluster;
use crate::load::{self, LoadSpec, Op};
use crate::machine::Machine;
use crate::{apiserver, compare, failover, rss, scheduler, BenchError};

/// How long a fresh cluster may take to elect its first leader.
const START_LIMIT: Duration = Duration::from_secs(30);

async fn load_spec(conn: &ConnArgs, op: Op) -> Result<LoadSpec, BenchError> {
    let tls = conn.tls.config()?;
    let endpoints = load::resolve_target(
        &normalize_endpoints(&conn.endpoints)?,
        conn.target,
        tls.as_ref(),
    )
    .await?;
    Ok(LoadSpec {
        endpoints,
        clients: conn.clients,
        conns: conn.conns,
        total: conn.total,
        op,
        tls,
    })
}

pub async fn run(command: Command) -> Result<(), BenchError> {
    match command {
        Command::Put(a) => {
            let op = Op::Put {
                val_size: a.val_size,
                key_space: a.key_space,
            };
            print!("{}", load::run(&load_spec(&a.conn, op).await?).await?);
        }
        Command::Range(a) => {
            let serializable = a.consistency == Consistency::S;
            let op = Op::Range {
                key: a.key.into_bytes(),
                serializable,
                val_size: a.val_size,
            };
            print!("{}", load::run(&load_spec(&a.conn, op).await?).await?);
        }
        Command::Cluster(a) => {
            let cluster =
                Cluster::start_with(&a.bin.binary, a.bin.kind, 3, a.tls, START_LIMIT).await?;
            println!("endpoints: {}", cluster.client_urls().join(","));
            if let Some(pki) = cluster.pki() {
                let client = pki.etcd_client();
                println!(
                    "client TLS: --cacert {} --cert {} --key-file {}",
                    pki.ca_cert().display(),
                    client.cert.display(),
                    client.key.display()
                );
            }
            println!("data and logs: {}", cluster.dir().display());
            println!("Ctrl-C stops the cluster");
            // Runs until the caller drops this future (on Ctrl-C), which kills the members.
            std::future::pending::<()>().await;
        }
        Command::Failover(a) => {
            let mut cluster = Cluster::start(&a.bin.binary, a.bin.kind, 3, START_LIMIT).await?;
            let report = failover::run(&mut cluster, a.rounds, |i, r| {
                println!("round {}: {r}", i + 1)
            })
            .await?;
            if let (Some(med), Some(max)) = (report.median(), report.max()) {
                println!(
                    "failover: median {:.0} ms, max {:.0} ms",
                    med.as_secs_f64() * 1e3,
                    max.as_secs_f64() * 1e3
                );
            }
        }
        Command::Rss(a) => print!(
            "{}",
            rss::run(&a.bin.binary, a.bin.kind, Duration::from_secs(a.idle_secs)).await?
        ),
        Command::Compare(a) => run_compare(a).await?,
        Command::Apiserver(a) => apiserver::run(a).await?,
        Command::Rest(a) => crate::rest::run(a).await?,
        Command::Tls(a) => crate::tls_bench::run(a).await?,
        Command::Ops(a) => crate::ops::run(a).await?,
        Command::Density(a) => crate::density::run(a).await?,
        Command::DensityPlot(a) => crate::density::plot::run(a)?,
        Command::Scheduler(a) => {
            skiff_common::logging::init("text");
            println!("{}", scheduler::run(a).await?);
        }
    }
    Ok(())
}

async fn run_compare(a: CompareArgs) -> Result<(), BenchError> {
    let settings = compare::Settings {
        put_total_1: a.put_total_1,
        put_total_256: a.put_total_256,
        get_total_1: a.get_total_1,
        get_total_256: a.get_total_256,
        failover_rounds: a.failover_rounds,
        idle: Duration::from_secs(a.idle_secs),
        target: a.target,
    };
    // Taken before the runs, so its load average shows other work, not ours.
    let machine = Machine::current();
    let mut say = |line: String| eprintln!("{line}");
    let etcd = compare::measure(&a.etcd, Kind::Etcd, &settings, &mut say).await;
    let skiff = compare::measure(&a.skiff, Kind::Skiff, &settings, &mut say).await;
    let invocation = compare::invocation(&a.etcd, &a.skiff, &settings);
    let md = compare::render(&machine, &invocation, &settings, &etcd, &skiff);
    println!("{md}");
    if let Some(path) = a.output {
        std::fs::write(&path, &md)
            .map_err(|e| BenchError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}
