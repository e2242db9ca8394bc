//! Command-line flags of skiff-scheduler (kube-scheduler's names where it has one).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args};
use skiff_common::duration::parse_duration;
use skiff_runtime::leader::LeaderConfig;

/// Namespace of the scheduler's leader-election lease.
pub const LEASE_NAMESPACE: &str = "kube-system";
/// Name of the scheduler's leader-election lease, and the scheduler's user agent.
pub const COMPONENT: &str = "skiff-scheduler";

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Apiserver addresses (`host:port`), comma-separated; requests fail over between them.
    #[arg(long, value_delimiter = ',', required = true)]
    pub apiserver: Vec<String>,
    /// Bearer token (an admin token).
    #[arg(long, required = true)]
    pub token: Option<String>,
    /// Run only while holding the `kube-system/skiff-scheduler` lease, so that of several
    /// schedulers exactly one acts.
    #[arg(long, default_value = "true", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,
    /// How long a standby waits after the lease last changed before taking it over.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps acting without renewing the lease.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// How often candidates try to take the lease and the leader renews it.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    /// Identity in the lease; defaults to the host name with a random suffix.
    #[arg(long)]
    pub identity: Option<String>,
    /// Address to serve plain-HTTP /metrics (Prometheus) and /health on; off when unset.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// text or json
    #[arg(long, default_value = "text")]
    pub log_format: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("--log-format must be text or json, not {0:?}")]
    LogFormat(String),
    #[error("--apiserver must name at least one apiserver")]
    NoApiserver,
    #[error("--token must not be empty")]
    NoToken,
    #[error("{0}")]
    LeaderElection(String),
}

impl Config {
    /// A configuration with the defaults, for tests and embedding.
    pub fn new(apiserver: Vec<String>, token: &str) -> Config {
        Config {
            apiserver,
            token: Some(token.to_string()),
            leader_elect: true,
            leader_elect_lease_duration: Duration::from_secs(15),
            leader_elect_renew_deadline: Duration::from_secs(10),
            leader_elect_retry_period: Duration::from_secs(2),
            identity: None,
            metrics_listen: None,
            log_format: "text".to_string(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.log_format != "text" && self.log_format != "json" {
            return Err(ConfigError::LogFormat(self.log_format.clone()));
        }
        if self.apiserver.iter().all(|a| a.trim().is_empty()) {
            return Err(ConfigError::NoApiserver);
        }
        if self.token.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(ConfigError::NoToken);
        }
        if self.leader_elect {
            self.leader_config()
                .validate()
                .map_err(|e| ConfigError::LeaderElection(e.to_string()))?;
        }
        Ok(())
    }

    /// The identity in the lease: `--identity`, or the host name plus a random suffix so two
    /// schedulers on one host differ.
    pub fn identity(&self) -> String {
        if let Some(identity) = self.identity.as_ref().filter(|i| !i.is_empty()) {
            return identity.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| COMPONENT.to_string());
        format!("{host}_{:08x}", rand::random::<u32>())
    }

    pub fn leader_config(&self) -> LeaderConfig {
        let mut config = LeaderConfig::new(LEASE_NAMESPACE, COMPONENT, &self.identity());
        config.lease_duration = self.leader_elect_lease_duration;
        config.renew_deadline = self.leader_elect_renew_deadline;
        config.retry_period = self.leader_elect_retry_period;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(std::iter::once("skiff-scheduler").chain(args.iter().copied()))
            .map(|c| c.config)
    }

    #[test]
    fn flags_as_documented() {
        let c = parse(&[
            "--apiserver",
            "127.0.0.1:6443,127.0.0.1:6444",
            "--token",
            "t",
        ])
        .unwrap();
        assert_eq!(c.apiserver, vec!["127.0.0.1:6443", "127.0.0.1:6444"]);
        assert!(c.leader_elect);
        assert_eq!(c.leader_elect_lease_duration, Duration::from_secs(15));
        c.validate().unwrap();
        let c = parse(&[
            "--apiserver",
            "a:1",
            "--token",
            "t",
            "--leader-elect=false",
            "--leader-elect-lease-duration",
            "4s",
            "--leader-elect-renew-deadline",
            "3s",
            "--leader-elect-retry-period",
            "500ms",
            "--identity",
            "s1",
        ])
        .unwrap();
        assert!(!c.leader_elect);
        assert_eq!(c.leader_elect_retry_period, Duration::from_millis(500));
        assert_eq!(c.identity(), "s1");
        assert!(
            parse(&["--apiserver", "a:1", "--token", "t", "--leader-elect"])
                .unwrap()
                .leader_elect
        );
        assert!(parse(&["--token", "t"]).is_err(), "--apiserver is required");
    }

    #[test]
    fn validation() {
        let mut c = Config::new(vec!["a:1".into()], "t");
        c.validate().unwrap();
        c.leader_elect_renew_deadline = Duration::from_secs(20);
        assert!(matches!(c.validate(), Err(ConfigError::LeaderElection(_))));
        c.leader_elect = false;
        c.validate().unwrap();
        c.log_format = "xml".into();
        assert_eq!(c.validate(), Err(ConfigError::LogFormat("xml".into())));
        let c = Config::new(vec!["a:1".into()], " ");
        assert_eq!(c.validate(), Err(ConfigError::NoToken));
        assert_ne!(
            Config::new(vec![], "t").identity(),
            Config::new(vec![], "t").identity()
        );
    }
}
