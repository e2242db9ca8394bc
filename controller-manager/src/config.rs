//! Command-line flags and the configuration they produce.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use skiff_common::duration::parse_duration;
use skiff_common::flags::{ApiserverFlags, LeaderElectionFlags};
use skiff_runtime::leader::LeaderConfig;

use crate::error::Error;

/// The flags of `skiff-controller-manager`, named as Kubernetes' kube-controller-manager names
/// them where it has the same knob.
/// A flag given twice takes its last value (as with Kubernetes' flags), so wrappers can
/// append overrides.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "skiff-controller-manager",
    version,
    args_override_self = true,
    about = "Runs skiff's controllers: ReplicationController, ReplicaSet, DaemonSet, Job, CronJob, node lifecycle, garbage collector"
)]
pub struct Args {
    #[command(flatten)]
    pub api: ApiserverFlags,
    #[command(flatten)]
    pub leader: LeaderElectionFlags,
    /// A node whose Lease has not been renewed for this long is marked Ready=Unknown.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// How long a node stays unreachable before its pods are deleted.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub pod_eviction_timeout: Duration,
    /// Workers per controller.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrent_syncs: u16,
    /// Workers of the garbage collector (Kubernetes' default too: each of its syncs is one
    /// or two API calls, so a mass deletion is bound by their latency, not by CPU).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrent_gc_syncs: u16,
    /// The first delay before a Job replaces a failed pod; it doubles with each further failure.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub job_backoff_base: Duration,
    /// The longest delay before a Job replaces a failed pod.
    #[arg(long, default_value = "6m", value_parser = parse_duration)]
    pub job_backoff_max: Duration,
    /// How often every controlled object is looked at again even without a change.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub resync_period: Duration,
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

impl LeaderElection {
    /// The Lease `kube-system/skiff-controller-manager` campaigned for with these settings.
    pub fn lease_config(&self) -> LeaderConfig {
        LeaderConfig {
            namespace: crate::manager::LEASE_NAMESPACE.to_string(),
            name: crate::manager::LEASE_NAME.to_string(),
            identity: self.identity.clone(),
            lease_duration: self.lease_duration,
            renew_deadline: self.renew_deadline,
            retry_period: self.retry_period,
            release_on_cancel: true,
        }
    }
}

/// Everything the controllers need to know, independent of how it was given.
#[derive(Clone, Debug)]
pub struct Config {
    pub apiservers: Vec<String>,
    pub token: String,
    /// The cluster CA (PEM) the apiservers' certificates are checked against; `None`: plain.
    pub ca_pem: Option<Vec<u8>>,
    pub leader: LeaderElection,
    pub node_monitor_grace_period: Duration,
    pub pod_eviction_timeout: Duration,
    pub concurrent_syncs: usize,
    pub concurrent_gc_syncs: usize,
    pub job_backoff_base: Duration,
    pub job_backoff_max: Duration,
    pub resync_period: Duration,
    pub metrics_listen: Option<SocketAddr>,
}

impl Config {
    /// Checks the flags and fills in the identity.
    pub fn from_args(args: Args) -> Result<Config, Error> {
        let apiservers = args
            .api
            .apiservers()
            .map_err(|e| Error::Config(e.to_string()))?;
        let token = args.api.token().map_err(|e| Error::Config(e.to_string()))?;
        let ca_pem = args
            .api
            .ca_pem()
            .map_err(|e| Error::Config(e.to_string()))?;
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
        let leader = LeaderElection {
            enabled: args.leader.leader_elect,
            identity: args.leader.identity("skiff-controller-manager"),
            lease_duration: args.leader.leader_elect_lease_duration,
            renew_deadline: args.leader.leader_elect_renew_deadline,
            retry_period: args.leader.leader_elect_retry_period,
        };
        if leader.enabled {
            leader
                .lease_config()
                .validate()
                .map_err(|e| Error::Config(e.to_string()))?;
        }
        Ok(Config {
            apiservers,
            token,
            ca_pem,
            leader,
            node_monitor_grace_period: args.node_monitor_grace_period,
            pod_eviction_timeout: args.pod_eviction_timeout,
            concurrent_syncs: usize::from(args.concurrent_syncs),
            concurrent_gc_syncs: usize::from(args.concurrent_gc_syncs),
            job_backoff_base: args.job_backoff_base,
            job_backoff_max: args.job_backoff_max,
            resync_period: args.resync_period,
            metrics_listen: args.metrics_listen,
        })
    }
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
        assert_eq!(c.concurrent_gc_syncs, 20);
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
            "--concurrent-gc-syncs=3",
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
        assert_eq!(c.concurrent_gc_syncs, 3);
        assert_eq!(c.leader.identity, "cm-1");
        assert_eq!(c.job_backoff_base, Duration::from_secs(1));
        assert!(parse(&["--leader-elect"]).unwrap().leader.enabled);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--concurrent-syncs", "0"]).is_err());
        assert!(parse(&["--concurrent-gc-syncs", "0"]).is_err());
        assert!(parse(&["--node-monitor-grace-period", "10x"]).is_err());
        assert!(parse(&["--node-monitor-grace-period", "0s"]).is_err());
        assert!(parse(&["--job-backoff-base", "10m"]).is_err());
        let err = parse(&["--leader-elect-renew-deadline", "20s"]).unwrap_err();
        assert!(err.contains("renew deadline"), "{err}");
        assert!(parse(&[
            "--leader-elect=false",
            "--leader-elect-renew-deadline",
            "20s"
        ])
        .is_ok());
        let err = parse(&["--token", " "]).unwrap_err();
        assert!(err.contains("--token is required"), "{err}");
    }
}
