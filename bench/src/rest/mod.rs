//! `skiff-bench rest`: the Kubernetes REST API of skiff-apiserver against its gRPC API, side
//! by side in one run on one TLS cluster (as `skiff up` runs it): pod create latency at N
//! concurrent clients, watch fan-out lag to W REST watchers, and listing N pods as a Table
//! (`kubectl get pods`) against the gRPC list of `skiff get pods`.
//!
//! # Layout
//! - this file: flags, the run and its markdown report;
//! - `http`: the HTTPS client (CA, bearer token, JSON, watch lines);
//! - `drive`: N concurrent clients over a shared count of timed requests;
//! - `creates`, `watch`, `list`: the three measurements.

mod creates;
mod drive;
mod http;
mod list;
mod watch;

use std::path::PathBuf;

use clap::Args;

use crate::apiserver::{ApiTarget, ApiserverBenchError, Latency, LocalCluster, LOCAL_TOKEN};
use crate::machine::Machine;
pub use creates::CreateComparison;
pub use drive::Batch;
pub use http::Rest;
pub use list::ListComparison;
pub use watch::FanoutLag;

/// REST p99 may be at most this many times gRPC's (the issue's target).
pub const TARGET_RATIO: f64 = 1.5;

#[derive(Debug, thiserror::Error)]
pub enum RestBenchError {
    #[error("{0}")]
    Setup(String),
    #[error("gRPC request failed: {0}")]
    Request(#[from] tonic::Status),
    #[error(transparent)]
    Apiserver(#[from] ApiserverBenchError),
}

/// Flags of `skiff-bench rest`.
#[derive(Args, Debug, Clone)]
pub struct RestArgs {
    /// Store binary of the local cluster: skiff-store or etcd. The skiff-apiserver next to the
    /// skiff-bench binary serves both APIs.
    #[arg(long, default_value = "target/release/skiff-store")]
    pub store_bin: PathBuf,
    /// Concurrent clients creating pods, each on its own connection, per API.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Pods created through each API.
    #[arg(long, default_value_t = 4000)]
    pub creates: usize,
    /// Alternating rounds the creates are split into (gRPC, REST, REST, gRPC, ...).
    #[arg(long, default_value_t = 4)]
    pub rounds: usize,
    /// REST watchers, each on its own HTTPS connection.
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
    /// Changes written one at a time while they watch.
    #[arg(long, default_value_t = 200)]
    pub events: usize,
    /// Pods in the namespace listed as a Table.
    #[arg(long, default_value_t = 1000)]
    pub list_pods: usize,
    /// Lists through each API.
    #[arg(long, default_value_t = 20)]
    pub list_calls: usize,
}

/// Where both APIs of one apiserver are.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub grpc: ApiTarget,
    /// `https://host:port` of the REST API.
    pub rest_url: String,
    pub ca_pem: Vec<u8>,
}

impl Endpoints {
    /// The local TLS cluster's two APIs.
    pub fn of(local: &LocalCluster) -> Result<Endpoints, RestBenchError> {
        let (Some(rest_url), Some(ca_pem)) = (&local.https_url, &local.ca_pem) else {
            return Err(RestBenchError::Setup(
                "the cluster serves no REST API (it runs without TLS)".into(),
            ));
        };
        Ok(Endpoints {
            grpc: ApiTarget::new(&local.url, LOCAL_TOKEN, Some(ca_pem))?,
            rest_url: rest_url.clone(),
            ca_pem: ca_pem.clone(),
        })
    }

    /// A new REST client (its own connections).
    pub fn rest(&self) -> Result<Rest, RestBenchError> {
        Rest::new(&self.rest_url, &self.grpc.token, &self.ca_pem)
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct RestReport {
    pub creates: CreateComparison,
    pub fanout: FanoutLag,
    pub list: ListComparison,
}

impl RestReport {
    /// REST create p99 over gRPC's; `None` unless every create of both succeeded.
    pub fn p99_ratio(&self) -> Option<f64> {
        let (rest, grpc) = (&self.creates.rest, &self.creates.grpc);
        if rest.errors + grpc.errors > 0 || rest.samples.is_empty() || grpc.samples.is_empty() {
            return None;
        }
        let (rest, grpc) = (rest.latency(), grpc.latency());
        Some(rest.p99.as_secs_f64() / grpc.p99.as_secs_f64().max(1e-9))
    }
}

/// The three measurements against one cluster, each in its own namespace.
pub async fn measure(at: &Endpoints, a: &RestArgs) -> Result<RestReport, RestBenchError> {
    let say = |s: &str| eprintln!("=== {s}");
    say(&format!(
        "pod creates, {} clients, {} per API in {} alternating rounds",
        a.clients, a.creates, a.rounds
    ));
    let creates = creates::compare(at, "bench-create", a.clients, a.creates, a.rounds).await?;
    say(&format!(
        "watch fan-out: {} REST watchers, {} changes",
        a.watchers, a.events
    ));
    let fanout = watch::measure(at, "bench-watch", a.watchers, a.events).await?;
    say(&format!(
        "list {} pods: REST Table, gRPC list and REST JSON list, {} calls each",
        a.list_pods, a.list_calls
    ));
    let list = list::compare(at, "bench-list", a.list_pods, a.list_calls).await?;
    Ok(RestReport {
        creates,
        fanout,
        list,
    })
}

/// Starts a local TLS cluster, measures, and prints the markdown report.
pub async fn run(a: RestArgs) -> Result<(), RestBenchError> {
    let apiserver_bin = std::env::current_exe()
        .map_err(|e| RestBenchError::Setup(format!("cannot find this binary: {e}")))?
        .with_file_name("skiff-apiserver");
    let machine = Machine::current();
    let local = LocalCluster::start(&a.store_bin, &apiserver_bin, true).await?;
    let at = Endpoints::of(&local)?;
    let report = measure(&at, &a).await?;
    println!("{}", render(&machine, &a, &report));
    Ok(())
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn latency_cells(l: &Latency) -> String {
    format!("{} | {} | {}", ms(l.p50), ms(l.p99), ms(l.max))
}

/// The report: one table per measurement, the target's verdict and the command.
pub fn render(machine: &Machine, a: &RestArgs, r: &RestReport) -> String {
    let mut out = format!("Machine: {machine}.\n\n");
    let c = &r.creates;
    out.push_str(&format!(
        "Pod creates, {} concurrent clients, {} per API:\n\n\
         | API | p50 (ms) | p99 (ms) | max (ms) | creates/s | errors |\n|---|---:|---:|---:|---:|---:|\n",
        c.clients, a.creates
    ));
    for (name, b) in [
        ("REST (HTTPS/1.1, JSON, bearer token)", &c.rest),
        ("gRPC (TLS)", &c.grpc),
    ] {
        out.push_str(&format!(
            "| {name} | {} | {:.0} | {} |\n",
            latency_cells(&b.latency()),
            b.per_second(),
            b.errors
        ));
    }
    match r.p99_ratio() {
        Some(ratio) => out.push_str(&format!(
            "\nREST p99 / gRPC p99 = **{ratio:.2}x** (target at most {TARGET_RATIO}x: {}).\n",
            if ratio <= TARGET_RATIO {
                "met"
            } else {
                "missed"
            }
        )),
        None => out.push_str("\nREST p99 / gRPC p99: not judged, some creates failed.\n"),
    }
    for b in [&c.rest, &c.grpc] {
        if let Some(e) = &b.first_error {
            out.push_str(&format!("First error: {e}\n"));
        }
    }
    let f = &r.fanout;
    out.push_str(&format!(
        "\nWatch fan-out, {} REST watchers, {} changes one at a time ({} events delivered), lag from the write's start:\n\n\
         | event reached | p50 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|\n\
         | all {} watchers | {} |\n| the first watcher | {} |\n",
        f.watchers,
        f.events,
        f.delivered,
        f.watchers,
        latency_cells(&f.all),
        latency_cells(&f.first)
    ));
    let l = &r.list;
    out.push_str(&format!(
        "\nListing {} pods, {} calls each:\n\n\
         | | p50 (ms) | p99 (ms) | max (ms) | bytes per reply |\n|---|---:|---:|---:|---:|\n\
         | `kubectl get pods`: REST, server-side Table | {} | {} |\n\
         | `skiff get pods`: gRPC list, decoded, rows made client-side | {} | {} |\n\
         | client libraries, informers: REST JSON list, decoded | {} | {} |\n",
        l.pods,
        l.calls,
        latency_cells(&l.rest),
        l.rest_bytes,
        latency_cells(&l.grpc),
        l.grpc_bytes,
        latency_cells(&l.json),
        l.json_bytes
    ));
    out.push_str(&format!(
        "\n```sh\nskiff-bench rest --store-bin {} --clients {} --creates {} --rounds {} --watchers {} --events {} --list-pods {} --list-calls {}\n```\n",
        a.store_bin.display(),
        a.clients,
        a.creates,
        a.rounds,
        a.watchers,
        a.events,
        a.list_pods,
        a.list_calls
    ));
    out
}
