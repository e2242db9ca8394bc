//! `skiff-bench tls`: what TLS costs the store. Put throughput at 256 clients and
//! single-client put latency against four fresh 3-member clusters in one run: etcd and
//! skiff-store, each in plain text and with TLS on both ports and client-certificate
//! authentication (certificates made by the cluster PKI code; the load presents the
//! `etcd-client` certificate).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::cli::Kind;
use crate::cluster::Cluster;
use crate::compare::{KEY_SPACE, VAL_SIZE};
use crate::load::{self, LoadSpec, Op};
use crate::machine::Machine;
use crate::stats::{LoadReport, Summary};
use crate::BenchError;

/// skiff-store's TLS put throughput must be at least this times etcd's (the issue's target).
pub const TARGET_RATIO: f64 = 1.0;

/// Flags of `skiff-bench tls`.
#[derive(Args, Debug, Clone)]
pub struct TlsBenchArgs {
    /// The etcd binary.
    #[arg(long, default_value = "/usr/bin/etcd")]
    pub etcd: PathBuf,
    /// The skiff-store binary.
    #[arg(long, default_value = "target/release/skiff-store")]
    pub skiff: PathBuf,
    /// Puts for the single-client run.
    #[arg(long, default_value_t = 3_000)]
    pub put_total_1: u64,
    /// Puts for the 256-client run (16 connections).
    #[arg(long, default_value_t = 30_000)]
    pub put_total_256: u64,
}

/// One cluster's two runs.
#[derive(Debug)]
pub struct Column {
    pub kind: Kind,
    pub tls: bool,
    /// Put at 256 clients over 16 connections, then put with one client.
    pub runs: Result<(LoadReport, LoadReport), String>,
}

impl Column {
    pub fn label(&self) -> String {
        format!(
            "{} {}",
            self.kind.label(),
            if self.tls { "TLS" } else { "plain" }
        )
    }
}

/// The four clusters, one after the other: etcd TLS, skiff-store TLS, etcd plain, skiff-store
/// plain; `say` gets progress lines.
pub async fn measure(a: &TlsBenchArgs, say: &mut dyn FnMut(String)) -> Vec<Column> {
    let mut columns = Vec::new();
    for tls in [true, false] {
        for (kind, binary) in [(Kind::Etcd, &a.etcd), (Kind::Skiff, &a.skiff)] {
            let mut column = Column {
                kind,
                tls,
                runs: Err("not run".into()),
            };
            say(format!("=== {}: starting 3 members", column.label()));
            column.runs = runs(binary, kind, tls, a).await.map_err(|e| e.to_string());
            match &column.runs {
                Ok((many, one)) => say(format!("256 clients:\n{many}1 client:\n{one}")),
                Err(e) => say(format!("failed: {e}")),
            }
            columns.push(column);
        }
    }
    columns
}

async fn runs(
    binary: &Path,
    kind: Kind,
    tls: bool,
    a: &TlsBenchArgs,
) -> Result<(LoadReport, LoadReport), BenchError> {
    let cluster = Cluster::start_with(binary, kind, 3, tls, Duration::from_secs(30)).await?;
    let spec = |clients, conns, total| LoadSpec {
        endpoints: cluster.client_urls(),
        clients,
        conns,
        total,
        op: Op::Put {
            val_size: VAL_SIZE,
            key_space: KEY_SPACE,
        },
        tls: cluster.client_tls().cloned(),
    };
    let many = load::run(&spec(256, 16, a.put_total_256)).await?;
    let one = load::run(&spec(1, 1, a.put_total_1)).await?;
    Ok((many, one))
}

/// 256-client put throughput of the column of `kind` with or without TLS.
pub fn throughput(columns: &[Column], kind: Kind, tls: bool) -> Option<f64> {
    let c = columns.iter().find(|c| c.kind == kind && c.tls == tls)?;
    let (many, _) = c.runs.as_ref().ok()?;
    (many.errors == 0).then(|| many.throughput())
}

/// A latency of a run in milliseconds, or `n/a` when nothing succeeded.
fn latency(r: &LoadReport, pick: fn(&Summary) -> Duration) -> String {
    r.latency.as_ref().map_or("n/a".into(), |l| {
        format!("{:.2}", pick(l).as_secs_f64() * 1e3)
    })
}

/// The markdown report.
pub fn render(machine: &Machine, a: &TlsBenchArgs, columns: &[Column]) -> String {
    let mut out = format!("Machine: {machine}.\n\n| metric |");
    for c in columns {
        out.push_str(&format!(" {} |", c.label()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(columns.len()));
    out.push('\n');
    type Cell = fn(&(LoadReport, LoadReport)) -> String;
    let rows: [(&str, Cell); 7] = [
        (
            "put, 256 clients / 16 conns: throughput (req/s)",
            |(m, _)| format!("{:.0}", m.throughput()),
        ),
        ("put, 256 clients / 16 conns: p50 (ms)", |(m, _)| {
            latency(m, |l| l.p50)
        }),
        ("put, 256 clients / 16 conns: p99 (ms)", |(m, _)| {
            latency(m, |l| l.p99)
        }),
        ("put, 1 client: throughput (req/s)", |(_, o)| {
            format!("{:.0}", o.throughput())
        }),
        ("put, 1 client: p50 (ms)", |(_, o)| latency(o, |l| l.p50)),
        ("put, 1 client: p99 (ms)", |(_, o)| latency(o, |l| l.p99)),
        ("errors (both runs)", |(m, o)| {
            (m.errors + o.errors).to_string()
        }),
    ];
    for (metric, cell) in rows {
        out.push_str(&format!("| {metric} |"));
        for c in columns {
            let v = c.runs.as_ref().map_or("n/a".to_string(), cell);
            out.push_str(&format!(" {v} |"));
        }
        out.push('\n');
    }
    for c in columns {
        match &c.runs {
            Err(e) => out.push_str(&format!("\n{}: failed: {e}\n", c.label())),
            Ok((m, o)) => {
                if let Some(e) = m.first_error.as_ref().or(o.first_error.as_ref()) {
                    out.push_str(&format!("\n{}: first error: {e}\n", c.label()));
                }
            }
        }
    }
    match (
        throughput(columns, Kind::Etcd, true),
        throughput(columns, Kind::Skiff, true),
    ) {
        (Some(etcd), Some(skiff)) => {
            let ratio = skiff / etcd;
            out.push_str(&format!(
                "\nskiff-store TLS / etcd TLS put throughput at 256 clients = **{ratio:.2}x** (target at least {TARGET_RATIO}x: {}).\n",
                if ratio >= TARGET_RATIO { "met" } else { "missed" }
            ));
        }
        _ => out.push_str("\nTarget not judged: a TLS run failed or had errors.\n"),
    }
    out.push_str(&format!(
        "\n```sh\nskiff-bench tls --etcd {} --skiff {} --put-total-1 {} --put-total-256 {}\n```\n",
        a.etcd.display(),
        a.skiff.display(),
        a.put_total_1,
        a.put_total_256
    ));
    out
}

/// Measures and prints the report.
pub async fn run(a: TlsBenchArgs) -> Result<(), BenchError> {
    let machine = Machine::current();
    let mut say = |line: String| eprintln!("{line}");
    let columns = measure(&a, &mut say).await;
    println!("{}", render(&machine, &a, &columns));
    Ok(())
}
