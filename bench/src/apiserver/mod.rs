//! `skiff-bench apiserver`: create latency of skiff-apiserver under concurrent clients, and watch fan-out throughput.
//!
//! # Layout
//! - this file: options and the latency report (nearest-rank percentiles from [`crate::stats`]);
//! - `load`: the two measurements against any apiserver;
//! - `local`: a throw-away local cluster (3 store members and one apiserver, plain or with
//!   TLS as `skiff up` runs it) to measure against, so a run needs nothing but the binaries;
//! - `writers`: create throughput with the writer recorded in managedFields and without.

pub(crate) mod load;
mod local;
mod writers;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tonic::transport::ClientTlsConfig;

use crate::stats::percentile;

pub use load::{
    measure_creates, measure_store_baseline, measure_watch_fanout, CreateReport, FanoutReport,
};
pub use local::{LocalCluster, LOCAL_TOKEN};

#[derive(Debug, thiserror::Error)]
pub enum ApiserverBenchError {
    #[error("{0}")]
    Setup(String),
    #[error("request failed: {0}")]
    Request(#[from] tonic::Status),
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error(transparent)]
    Launch(#[from] skiff_testkit::LaunchError),
    #[error(transparent)]
    Tls(#[from] skiff_common::tls::TlsError),
}

/// An apiserver's gRPC API and how to reach it.
#[derive(Debug, Clone)]
pub struct ApiTarget {
    /// `http://` or `https://` URL.
    pub url: String,
    pub token: String,
    /// The cluster CA, for `https://`.
    pub tls: Option<ClientTlsConfig>,
}

impl ApiTarget {
    /// `address` (`host:port` or a URL) with `token`, trusting `ca_pem` when given; a bare
    /// address gets `https://` with a CA and `http://` without, as `skiff` dials it.
    pub fn new(
        address: &str,
        token: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<ApiTarget, ApiserverBenchError> {
        let tls = match ca_pem {
            Some(pem) => Some(skiff_common::tls::config_from_ca_pem(
                pem,
                std::path::Path::new("the cluster CA"),
            )?),
            None => None,
        };
        let url = if address.contains("://") {
            address.to_string()
        } else if tls.is_some() {
            format!("https://{address}")
        } else {
            format!("http://{address}")
        };
        Ok(ApiTarget {
            url,
            token: token.to_string(),
            tls,
        })
    }
}

/// Flags of `skiff-bench apiserver`.
#[derive(Args, Debug, Clone)]
pub struct ApiserverArgs {
    /// Apiserver to load (with --token); when unset, a local cluster (3 store members from
    /// --store-bin and the skiff-apiserver next to the skiff-bench binary) is started and
    /// removed after.
    #[arg(long)]
    pub apiserver: Option<String>,
    #[arg(long, default_value = "")]
    pub token: String,
    /// The cluster CA that signed --apiserver's certificate (a TLS apiserver, as `skiff up`
    /// runs it).
    #[arg(long)]
    pub certificate_authority: Option<PathBuf>,
    /// The local cluster runs with TLS on every port, as `skiff up` does (default: plain).
    #[arg(long)]
    pub tls: bool,
    /// Store binary of the local cluster: skiff-store or etcd.
    #[arg(long, default_value = "target/release/skiff-store")]
    pub store_bin: PathBuf,
    /// Concurrent clients creating pods, each on its own connection.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Pods created in total.
    #[arg(long, default_value_t = 5000)]
    pub creates: usize,
    /// Concurrent watchers.
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
    /// Changes written while the watchers watch (each reaches every watcher); keep it within
    /// the apiserver's --watch-cache-size for the replay measurement.
    #[arg(long, default_value_t = 2000)]
    pub changes: usize,
    /// Concurrent writers of those changes.
    #[arg(long, default_value_t = 50)]
    pub writers: usize,
    #[arg(long, default_value = "bench")]
    pub namespace: String,
    /// Instead: create throughput with writers recorded in managedFields and with
    /// `--record-managed-fields=false`, side by side (local clusters, alternating rounds).
    #[arg(long)]
    pub compare_managed_fields: bool,
    /// Rounds of each side for --compare-managed-fields.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// Runs both measurements and prints the figures.
pub async fn run(a: ApiserverArgs) -> Result<(), ApiserverBenchError> {
    let apiserver_bin = std::env::current_exe()
        .map_err(|e| ApiserverBenchError::Setup(format!("cannot find this binary: {e}")))?
        .with_file_name("skiff-apiserver");
    if a.compare_managed_fields {
        return writers::compare(&a, &apiserver_bin).await;
    }
    let local = match &a.apiserver {
        Some(_) => None,
        None => Some(LocalCluster::start(&a.store_bin, &apiserver_bin, a.tls).await?),
    };
    let api = match (&local, &a.apiserver) {
        (Some(l), _) => ApiTarget::new(&l.url, LOCAL_TOKEN, l.ca_pem.as_deref())?,
        (None, address) => {
            let ca = match &a.certificate_authority {
                Some(path) => Some(
                    crate::tls::read_ca(path)
                        .map_err(|e| ApiserverBenchError::Setup(e.to_string()))?,
                ),
                None => None,
            };
            ApiTarget::new(
                address.as_deref().unwrap_or_default(),
                &a.token,
                ca.as_deref(),
            )?
        }
    };
    let url = api.url.clone();
    let store = if local.is_some() {
        a.store_bin.display().to_string()
    } else {
        "remote".to_string()
    };
    println!("target: {url} (store: {store})");
    if let Some(l) = &local {
        let b =
            measure_store_baseline(&l.store, l.store_tls.as_ref(), a.clients, a.creates).await?;
        println!(
            "store alone (txn put): {} clients, {} errors, {:.0}/s, {}",
            b.clients,
            b.errors,
            b.per_second(),
            b.latency
        );
    }
    let c = measure_creates(&api, &a.namespace, a.clients, a.creates).await?;
    println!(
        "create: {} clients, {} errors, {:.0}/s, {}",
        c.clients,
        c.errors,
        c.per_second(),
        c.latency
    );
    let f = measure_watch_fanout(&api, &a.namespace, a.watchers, a.changes, a.writers).await?;
    println!(
        "watch: {} watchers x {} changes: live {:.0} events/s delivered (writes {:.0}/s); replay from the cache {:.0} events/s",
        f.watchers,
        f.changes,
        f.live_events_per_second(),
        f.writes_per_second,
        f.replay_events_per_second()
    );
    Ok(())
}

/// Latency distribution of successful requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latency {
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort_unstable();
        Latency {
            count: samples.len(),
            p50: percentile(&samples, 50.0).unwrap_or_default(),
            p90: percentile(&samples, 90.0).unwrap_or_default(),
            p99: percentile(&samples, 99.0).unwrap_or_default(),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "n={} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
            self.count,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_takes_nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let all = Latency::of(v);
        assert_eq!(
            (all.p50, all.p90, all.p99, all.max),
            (
                Duration::from_millis(50),
                Duration::from_millis(90),
                Duration::from_millis(99),
                Duration::from_millis(100)
            )
        );
        let none = Latency::of(Vec::new());
        assert_eq!(
            (none.count, none.p99, none.max),
            (0, Duration::ZERO, Duration::ZERO)
        );
        let l = Latency::of(vec![Duration::from_millis(3), Duration::from_millis(1)]);
        assert_eq!(
            (l.p50, l.max),
            (Duration::from_millis(1), Duration::from_millis(3))
        );
    }
}
