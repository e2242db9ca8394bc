//! Command-line flags and the configuration they produce.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use skiff_common::duration::parse_duration;

use crate::error::Error;

/// The flags of `skiff-controller-manager`, named as Kubernetes' kube-controller-manager names
/// them where it has the same knob.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "skiff-controller-manager",
    version,
    about = "Runs skiff's controllers: ReplicationController, ReplicaSet, DaemonSet, Job, CronJob, node lifecycle, garbage collector"
)]
pub struct Args {
    /// The apiservers, `host:port[,host:port...]`; requests fail over between them.
    #[arg(long, value_delimiter = ',', required = true)]
    pub apiserver: Vec<String>,
    /// Bearer token of an admin user.
    #[arg(long, env = "SKIFF_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Elect a leader among controller-managers through the Lease
    /// `kube-system/skiff-controller-manager`; only the leader acts.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long a standby waits after the lease last changed before taking it over.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps acting without a successful renewal.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    /// A node whose Lease has not been renewed for this long is marked Ready=Unknown.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// How long a node stays unreachable before its pods are deleted.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub pod_eviction_timeout: Duration,
    /// Workers per controller.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrent_syncs: u16,
    /// The first delay before a Job replaces a failed pod; it doubles with each further failure.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub job_backoff_base: Duration,
    /// The longest delay before a Job replaces a failed pod.
    #[arg(long, default_value = "6m", value_parser = parse_duration)]
    pub job_backoff_max: Duration,
    /// How often every controlled object is looked at again even without a change.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub resync_period: Duration,
    /// The name this process campaigns under (default: host name plus a random suffix).
    #[arg(long)]
    pub identity: Option<String>,
    /// Serve /metrics and /health on this address.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// `text` or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// Leader election settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderElection {
    pub enabled: bool,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// Everything the controllers need to know, independent of how it was given.
#[derive(Clone, Debug)]
pub struct Config {
    pub apiservers: Vec<String>,
    pub token: String,
    pub leader: LeaderElection,
    pub node_monitor_grace_period: Duration,
    pub pod_eviction_timeout: Duration,
    pub concurrent_syncs: usize,
    pub job_backoff_base: Duration,
    pub job_backoff_max: Duration,
    pub resync_period: Duration,
    pub metrics_listen: Option<SocketAddr>,
}

impl Config {
    /// Checks the flags and fills in the identity.
    pub fn from_args(args: Args) -> Result<Config, Error> {
        if args.apiserver.iter().all(|a| a.trim().is_empty()) {
            return Err(Error::Config(
                "--apiserver needs at least one address".into(),
            ));
        }
        if args.token.trim().is_empty() {
            return Err(Error::Config("--token must not be empty".into()));
        }
        if args.node_monitor_grace_period.is_zero() {
            return Err(Error::Config(
                "--node-monitor-grace-period must be greater than zero".into(),
            ));
        }
        if args.job_backoff_base.is_zero() || args.job_backoff_max < args.job_backoff_base {
            return Err(Error::Config(
                "--job-backoff-base must be greater than zero and at most --job-backoff-max".into(),
            ));
        }
        let identity = args.identity.unwrap_or_else(default_identity);
        Ok(Config {
            apiservers: args
                .apiserver
                .into_iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            token: args.token,
            leader: LeaderElection {
                enabled: args.leader_elect,
                identity,
                lease_duration: args.leader_elect_lease_duration,
                renew_deadline: args.leader_elect_renew_deadline,
                retry_period: args.leader_elect_retry_period,
            },
            node_monitor_grace_period: args.node_monitor_grace_period,
            pod_eviction_timeout: args.pod_eviction_timeout,
            concurrent_syncs: usize::from(args.concurrent_syncs),
            job_backoff_base: args.job_backoff_base,
            job_backoff_max: args.job_backoff_max,
            resync_period: args.resync_period,
            metrics_listen: args.metrics_listen,
        })
    }
}

/// `<host name>_<random>`, like client-go's default identity: two processes on one host must
/// never share an identity, or both would believe they hold the lease.
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "skiff-controller-manager".to_string());
    let suffix: u32 = rand::random();
    format!("{host}_{suffix:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Config, String> {
        let mut argv = vec![
            "skiff-controller-manager",
            "--apiserver",
            "127.0.0.1:6443,127.0.0.1:6444",
            "--token",
            "t",
        ];
        argv.extend_from_slice(extra);
        let args = Args::try_parse_from(argv).map_err(|e| e.to_string())?;
        Config::from_args(args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.apiservers, ["127.0.0.1:6443", "127.0.0.1:6444"]);
        assert!(c.leader.enabled);
        assert_eq!(c.leader.lease_duration, Duration::from_secs(15));
        assert_eq!(c.leader.renew_deadline, Duration::from_secs(10));
        assert_eq!(c.leader.retry_period, Duration::from_secs(2));
        assert_eq!(c.node_monitor_grace_period, Duration::from_secs(10));
        assert_eq!(c.pod_eviction_timeout, Duration::from_secs(5));
        assert_eq!(c.concurrent_syncs, 5);
        assert!(!c.leader.identity.is_empty());
    }

    #[test]
    fn flags_are_read() {
        let c = parse(&[
            "--leader-elect=false",
            "--leader-elect-lease-duration",
            "3s",
            "--node-monitor-grace-period=4s",
            "--pod-eviction-timeout",
            "500ms",
            "--concurrent-syncs",
            "2",
            "--identity",
            "cm-1",
            "--job-backoff-base",
            "1s",
        ])
        .unwrap();
        assert!(!c.leader.enabled);
        assert_eq!(c.leader.lease_duration, Duration::from_secs(3));
        assert_eq!(c.node_monitor_grace_period, Duration::from_secs(4));
        assert_eq!(c.pod_eviction_timeout, Duration::from_millis(500));
        assert_eq!(c.concurrent_syncs, 2);
        assert_eq!(c.leader.identity, "cm-1");
        assert_eq!(c.job_backoff_base, Duration::from_secs(1));
        assert!(parse(&["--leader-elect"]).unwrap().leader.enabled);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--concurrent-syncs", "0"]).is_err());
        assert!(parse(&["--node-monitor-grace-period", "10x"]).is_err());
        assert!(parse(&["--node-monitor-grace-period", "0s"]).is_err());
        assert!(parse(&["--job-backoff-base", "10m"]).is_err());
    }
}
