//! Command-line flags of skiff-bench, and the pure parsing helpers behind them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::apiserver::ApiserverArgs;
use crate::scheduler::SchedulerArgs;
use crate::BenchError;

#[derive(Parser, Debug)]
#[command(
    name = "skiff-bench",
    version,
    about = "Load generator and side-by-side runner for etcd v3 clusters; skiff-apiserver and skiff-scheduler benchmarks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Put random keys as fast as N clients can.
    Put(PutArgs),
    /// Range one existing key (it is written first) as fast as N clients can.
    Range(RangeArgs),
    /// Start a 3-member cluster and print its endpoints until Ctrl-C.
    Cluster(ClusterArgs),
    /// SIGKILL the leader of a fresh cluster under a continuous writer, R times.
    Failover(FailoverArgs),
    /// Resident memory of each member of a fresh, idle cluster.
    Rss(RssArgs),
    /// Run every measurement against etcd and skiff-store and print a markdown report.
    Compare(CompareArgs),
    /// skiff-apiserver: create latency under concurrent clients, and watch fan-out.
    Apiserver(ApiserverArgs),
    /// skiff-apiserver's REST API against its gRPC API (creates, watch fan-out, Table lists).
    Rest(crate::rest::RestArgs),
    /// Store puts in plain text and with TLS + client certificates: etcd and skiff-store.
    Tls(crate::tls_bench::TlsBenchArgs),
    /// skiff-scheduler: scheduling throughput (pods/s) with hollow nodes.
    Scheduler(SchedulerArgs),
    /// A density run: N hollow nodes, pods through ReplicationControllers at a rate up to a
    /// count; pod startup, API latency, RSS/CPU per component, db size, GC time.
    Density(crate::density::DensityArgs),
    /// Draw density runs (`density --record FILE`) as an SVG: startup p99 and control-plane
    /// RSS against the pod count, per store.
    DensityPlot(crate::density::plot::PlotArgs),
    /// Learner add + promote with N keys, snapshot save/restore MB/s: etcd and skiff-store.
    Ops(crate::ops::OpsArgs),
}

/// Which member(s) the load clients talk to.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Spread connections over every endpoint, round-robin.
    All,
    /// Only the current leader (found with Maintenance.Status).
    Leader,
}

/// Which flavour of binary a cluster runs.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Etcd,
    Skiff,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Etcd => "etcd",
            Kind::Skiff => "skiff-store",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Linearizable (ReadIndex through the leader).
    L,
    /// Serializable (the member's local state).
    S,
}

#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// Client URLs, comma-separated (http:// is assumed when no scheme is given; https://
    /// needs --cacert).
    #[arg(long, value_delimiter = ',', required = true)]
    pub endpoints: Vec<String>,
    /// Concurrent client tasks.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// HTTP/2 connections shared by the clients (client i uses connection i % conns).
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Requests to issue in all.
    #[arg(long, default_value_t = 10_000)]
    pub total: u64,
    /// Which endpoints the connections go to.
    #[arg(long, value_enum, default_value_t = Target::All)]
    pub target: Target,
    #[command(flatten)]
    pub tls: crate::tls::StoreTlsArgs,
}

#[derive(Args, Debug, Clone)]
pub struct PutArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Size of each value in bytes.
    #[arg(long, default_value_t = 256)]
    pub val_size: usize,
    /// Keys are drawn uniformly from this many distinct 8-byte keys.
    #[arg(long, default_value_t = 100_000)]
    pub key_space: u64,
}

#[derive(Args, Debug, Clone)]
pub struct RangeArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// l = linearizable, s = serializable.
    #[arg(long, value_enum, default_value_t = Consistency::L)]
    pub consistency: Consistency,
    /// The key to read; it is put (with a --val-size value) before the run.
    #[arg(long, default_value = "skiff-bench-range")]
    pub key: String,
    /// Size of the value written to --key.
    #[arg(long, default_value_t = 256)]
    pub val_size: usize,
}

#[derive(Args, Debug, Clone)]
pub struct BinaryArgs {
    /// The member binary (etcd, or skiff-store).
    #[arg(long)]
    pub binary: PathBuf,
    /// Flavour of the binary.
    #[arg(long, value_enum)]
    pub kind: Kind,
}

#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub bin: BinaryArgs,
    /// TLS on both ports with client-certificate authentication (certificates in the
    /// cluster's pki/ directory).
    #[arg(long)]
    pub tls: bool,
}

#[derive(Args, Debug, Clone)]
pub struct FailoverArgs {
    #[command(flatten)]
    pub bin: BinaryArgs,
    /// How many times to kill the leader.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

#[derive(Args, Debug, Clone)]
pub struct RssArgs {
    #[command(flatten)]
    pub bin: BinaryArgs,
    /// Seconds to idle before reading VmRSS.
    #[arg(long, default_value_t = 10)]
    pub idle_secs: u64,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The etcd binary.
    #[arg(long, default_value = "/usr/bin/etcd")]
    pub etcd: PathBuf,
    /// The skiff-store binary.
    #[arg(long, default_value = "target/release/skiff-store")]
    pub skiff: PathBuf,
    /// Puts for the single-client run.
    #[arg(long, default_value_t = 5_000)]
    pub put_total_1: u64,
    /// Puts for the 256-client run.
    #[arg(long, default_value_t = 50_000)]
    pub put_total_256: u64,
    /// Linearizable gets for the single-client run.
    #[arg(long, default_value_t = 5_000)]
    pub get_total_1: u64,
    /// Linearizable gets for the 256-client run.
    #[arg(long, default_value_t = 50_000)]
    pub get_total_256: u64,
    /// Leader kills in the failover measurement.
    #[arg(long, default_value_t = 5)]
    pub failover_rounds: usize,
    /// Seconds to idle before reading VmRSS.
    #[arg(long, default_value_t = 10)]
    pub idle_secs: u64,
    /// Which members the load clients talk to.
    #[arg(long, value_enum, default_value_t = Target::All)]
    pub target: Target,
    /// Also write the markdown report to this file.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Turns `host:port` or `http(s)://host:port[/]` into a URL tonic can dial.
pub fn normalize_endpoint(raw: &str) -> Result<String, BenchError> {
    let raw = raw.trim();
    let bad = |reason: &str| BenchError::Endpoint {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    if raw.is_empty() {
        return Err(bad("empty"));
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => ("http", raw),
    };
    if scheme != "http" && scheme != "https" {
        return Err(bad("only http:// and https:// endpoints are supported"));
    }
    let authority = rest.trim_end_matches('/');
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    if host.is_empty() || authority.contains('/') {
        return Err(bad("expected host:port"));
    }
    port.parse::<u16>()
        .map_err(|_| bad("port is not a number in 1..65535"))?;
    Ok(format!("{scheme}://{authority}"))
}

/// Normalizes every endpoint of a list, refusing an empty list.
pub fn normalize_endpoints(raw: &[String]) -> Result<Vec<String>, BenchError> {
    if raw.is_empty() {
        return Err(BenchError::Invalid("--endpoints is empty".into()));
    }
    raw.iter().map(|e| normalize_endpoint(e)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("skiff-bench").chain(args.iter().copied()))
    }

    #[test]
    fn put_flags() {
        let cli = parse(&[
            "put",
            "--endpoints",
            "127.0.0.1:2379,http://127.0.0.1:22379",
            "--clients",
            "256",
            "--conns",
            "16",
            "--total",
            "20000",
            "--val-size",
            "512",
            "--key-space",
            "1000",
            "--target",
            "leader",
        ])
        .unwrap();
        let Command::Put(p) = cli.command else {
            panic!("not put: {:?}", cli.command)
        };
        assert_eq!(
            p.conn.endpoints,
            vec!["127.0.0.1:2379", "http://127.0.0.1:22379"]
        );
        assert_eq!(
            (p.conn.clients, p.conn.conns, p.conn.total),
            (256, 16, 20000)
        );
        assert_eq!((p.val_size, p.key_space), (512, 1000));
        assert_eq!(p.conn.target, Target::Leader);
    }

    #[test]
    fn put_takes_etcdctls_tls_flags() {
        let cli = parse(&[
            "put",
            "--endpoints",
            "https://127.0.0.1:2379",
            "--cacert",
            "pki/ca.crt",
            "--cert",
            "pki/etcd-client.crt",
            "--key-file",
            "pki/etcd-client.key",
        ])
        .unwrap();
        let Command::Put(p) = cli.command else {
            panic!("not put: {:?}", cli.command)
        };
        assert_eq!(p.conn.tls.cacert, Some(PathBuf::from("pki/ca.crt")));
        assert_eq!(p.conn.tls.cert, Some(PathBuf::from("pki/etcd-client.crt")));
        assert_eq!(
            p.conn.tls.key_file,
            Some(PathBuf::from("pki/etcd-client.key"))
        );
    }

    #[test]
    fn range_defaults_to_linearizable_and_all_endpoints() {
        let cli = parse(&["range", "--endpoints", "127.0.0.1:2379", "--key", "foo"]).unwrap();
        let Command::Range(r) = cli.command else {
            panic!("not range")
        };
        assert_eq!(r.consistency, Consistency::L);
        assert_eq!(r.conn.target, Target::All);
        assert_eq!(r.key, "foo");
        let cli = parse(&[
            "range",
            "--endpoints",
            "127.0.0.1:2379",
            "--consistency",
            "s",
        ])
        .unwrap();
        let Command::Range(r) = cli.command else {
            panic!("not range")
        };
        assert_eq!(r.consistency, Consistency::S);
    }

    #[test]
    fn endpoints_are_required_and_kinds_checked() {
        assert!(parse(&["put"]).is_err());
        assert!(parse(&[
            "failover",
            "--binary",
            "/usr/bin/etcd",
            "--kind",
            "zookeeper"
        ])
        .is_err());
        let cli = parse(&[
            "failover",
            "--binary",
            "/usr/bin/etcd",
            "--kind",
            "etcd",
            "--rounds",
            "3",
        ])
        .unwrap();
        let Command::Failover(f) = cli.command else {
            panic!("not failover")
        };
        assert_eq!((f.bin.kind, f.rounds), (Kind::Etcd, 3));
    }

    #[test]
    fn compare_defaults() {
        let cli = parse(&["compare", "--skiff", "/tmp/skiff-store"]).unwrap();
        let Command::Compare(c) = cli.command else {
            panic!("not compare")
        };
        assert_eq!(c.etcd, PathBuf::from("/usr/bin/etcd"));
        assert_eq!(c.skiff, PathBuf::from("/tmp/skiff-store"));
        assert_eq!(c.failover_rounds, 5);
    }

    #[test]
    fn endpoint_normalization() {
        assert_eq!(
            normalize_endpoint("127.0.0.1:2379").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(
            normalize_endpoint(" http://127.0.0.1:2379/ ").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(
            normalize_endpoint("localhost:1").unwrap(),
            "http://localhost:1"
        );
        assert_eq!(
            normalize_endpoint("https://127.0.0.1:2379/").unwrap(),
            "https://127.0.0.1:2379"
        );
        for bad in [
            "",
            "grpc://127.0.0.1:2379",
            "127.0.0.1",
            "127.0.0.1:99999",
            ":2379",
            "http://h:1/x",
        ] {
            assert!(normalize_endpoint(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_endpoints(&[]).is_err());
    }
}
