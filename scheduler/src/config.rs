//! Command-line flags of skiff-scheduler (kube-scheduler's names where it has one).

use std::net::SocketAddr;

use clap::Args;
use skiff_common::flags::{ApiserverFlags, LeaderElectionFlags, MissingFlag};
use skiff_runtime::leader::LeaderConfig;

/// Namespace of the scheduler's leader-election lease.
pub const LEASE_NAMESPACE: &str = "kube-system";
/// Name of the scheduler's leader-election lease, and the scheduler's user agent.
pub const COMPONENT: &str = "skiff-scheduler";

#[derive(Args, Debug, Clone)]
pub struct Config {
    #[command(flatten)]
    pub api: ApiserverFlags,
    #[command(flatten)]
    pub leader: LeaderElectionFlags,
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
    #[error(transparent)]
    Missing(#[from] MissingFlag),
    #[error("--certificate-authority: {0}")]
    Tls(String),
    #[error("{0}")]
    LeaderElection(String),
}

/// The flags checked, with the identity chosen once.
#[derive(Debug, Clone)]
pub struct Validated {
    pub apiservers: Vec<String>,
    pub token: String,
    /// The cluster CA (PEM) the apiservers' certificates are checked against; `None`: plain.
    pub ca_pem: Option<Vec<u8>>,
    /// The lease settings, when leader election is on.
    pub leader: Option<LeaderConfig>,
}

impl Config {
    /// A configuration with the defaults, for tests and embedding.
    pub fn new(apiserver: Vec<String>, token: &str) -> Config {
        Config {
            api: ApiserverFlags::new(apiserver, token),
            leader: LeaderElectionFlags::default(),
            metrics_listen: None,
            log_format: "text".to_string(),
        }
    }

    pub fn validate(&self) -> Result<Validated, ConfigError> {
        if self.log_format != "text" && self.log_format != "json" {
            return Err(ConfigError::LogFormat(self.log_format.clone()));
        }
        let apiservers = self.api.apiservers()?;
        let token = self.api.token()?;
        let ca_pem = self
            .api
            .ca_pem()
            .map_err(|e| ConfigError::Tls(e.to_string()))?;
        let leader = if self.leader.leader_elect {
            let config = self.leader_config();
            config
                .validate()
                .map_err(|e| ConfigError::LeaderElection(e.to_string()))?;
            Some(config)
        } else {
            None
        };
        Ok(Validated {
            apiservers,
            token,
            ca_pem,
            leader,
        })
    }

    /// The lease `kube-system/skiff-scheduler` with the flags' timings.
    pub fn leader_config(&self) -> LeaderConfig {
        let mut config =
            LeaderConfig::new(LEASE_NAMESPACE, COMPONENT, &self.leader.identity(COMPONENT));
        config.lease_duration = self.leader.leader_elect_lease_duration;
        config.renew_deadline = self.leader.leader_elect_renew_deadline;
        config.retry_period = self.leader.leader_elect_retry_period;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

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
        let checked = c.validate().unwrap();
        assert_eq!(checked.apiservers, vec!["127.0.0.1:6443", "127.0.0.1:6444"]);
        let lease = checked.leader.expect("leader election is on by default");
        assert_eq!(lease.lease_duration, Duration::from_secs(15));
        assert_eq!(
            (lease.namespace.as_str(), lease.name.as_str()),
            (LEASE_NAMESPACE, COMPONENT)
        );
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
        assert!(c.validate().unwrap().leader.is_none());
        assert_eq!(c.leader_config().retry_period, Duration::from_millis(500));
        assert_eq!(c.leader_config().identity, "s1");
        assert!(
            parse(&["--apiserver", "a:1", "--token", "t", "--leader-elect"])
                .unwrap()
                .leader
                .leader_elect
        );
        let err = parse(&["--token", "t"]).unwrap().validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "--apiserver is required (host:port, comma-separated)"
        );
    }

    #[test]
    fn validation() {
        let mut c = Config::new(vec!["a:1".into()], "t");
        c.validate().unwrap();
        c.leader.leader_elect_renew_deadline = Duration::from_secs(20);
        assert!(matches!(c.validate(), Err(ConfigError::LeaderElection(_))));
        c.leader.leader_elect = false;
        c.validate().unwrap();
        c.log_format = "xml".into();
        assert_eq!(
            c.validate().unwrap_err(),
            ConfigError::LogFormat("xml".into())
        );
        let c = Config::new(vec!["a:1".into()], " ");
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Missing(MissingFlag { flag: "token", .. }))
        ));
    }
}
