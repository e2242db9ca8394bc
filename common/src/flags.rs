//! The flags every client of the apiserver takes (skiff-controller-manager, skiff-scheduler,
//! skiff-nodelet), and the leader-election flags of the components that elect a leader, as
//! `clap` argument groups each binary flattens into its own (`#[command(flatten)]`), so
//! they are spelled, defaulted and checked the same way everywhere. Names follow Kubernetes'
//! (`--leader-elect-lease-duration` ...).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::duration::parse_duration;

/// A required flag that was not given (or given empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag} is required{hint}")]
pub struct MissingFlag {
    pub flag: &'static str,
    pub hint: &'static str,
}

/// How to reach the apiservers. Both flags are required, but checked by
/// [`ApiserverFlags::apiservers`] and [`ApiserverFlags::token`] rather than by clap, so that
/// a binary's other subcommands (the nodelet's internal ones) do not need them.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiserverFlags {
    /// The apiservers, `host:port` comma-separated (required); requests fail over between
    /// them.
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT,...")]
    pub apiserver: Vec<String>,
    /// Bearer token (required): an admin user's for the controller-manager and the
    /// scheduler, the node's own (`system:node:<name>`) for a nodelet. Read from the
    /// SKIFF_TOKEN environment variable when the flag is not given, which keeps it out of
    /// `ps`.
    #[arg(
        long,
        env = "SKIFF_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// The cluster CA (PEM): the apiservers are reached over TLS and must present a
    /// certificate it signed (Kubernetes' `--certificate-authority`). Without it, plain HTTP/2.
    #[arg(long, value_name = "FILE")]
    pub certificate_authority: Option<PathBuf>,
}

impl ApiserverFlags {
    pub fn new(apiservers: Vec<String>, token: &str) -> ApiserverFlags {
        ApiserverFlags {
            apiserver: apiservers,
            token: Some(token.to_string()),
            certificate_authority: None,
        }
    }

    /// The CA file's PEM, checked (readable, certificates valid now); `None` without the flag.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, crate::tls::TlsError> {
        match &self.certificate_authority {
            None => Ok(None),
            Some(path) => crate::tls::load_certificates(path).map(|(_, pem)| Some(pem)),
        }
    }

    /// The addresses given, trimmed, blanks dropped; at least one.
    pub fn apiservers(&self) -> Result<Vec<String>, MissingFlag> {
        let addresses: Vec<String> = self
            .apiserver
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if addresses.is_empty() {
            return Err(MissingFlag {
                flag: "apiserver",
                hint: " (host:port, comma-separated)",
            });
        }
        Ok(addresses)
    }

    pub fn token(&self) -> Result<String, MissingFlag> {
        self.token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or(MissingFlag {
                flag: "token",
                hint: " (or the SKIFF_TOKEN environment variable)",
            })
    }
}

/// Leader election through a `coordination.k8s.io/v1` Lease in `kube-system` named after the
/// component: of several instances only the holder acts.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionFlags {
    /// Run only while holding the component's Lease in kube-system (`skiff-controller-manager`,
    /// `skiff-scheduler`), so that of several instances exactly one acts. `--leader-elect`
    /// alone means true; false must be written `--leader-elect=false`.
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = ArgAction::Set
    )]
    pub leader_elect: bool,
    /// How long a standby waits after the lease last changed before taking it over.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps acting without a successful renewal; less than the lease
    /// duration.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// How often candidates try to take the lease and the leader renews it.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    /// The name this instance campaigns under; default: the host name plus a random suffix,
    /// so two instances on one host never share it.
    #[arg(long)]
    pub identity: Option<String>,
}

impl Default for LeaderElectionFlags {
    fn default() -> LeaderElectionFlags {
        LeaderElectionFlags {
            leader_elect: true,
            leader_elect_lease_duration: Duration::from_secs(15),
            leader_elect_renew_deadline: Duration::from_secs(10),
            leader_elect_retry_period: Duration::from_secs(2),
            identity: None,
        }
    }
}

impl LeaderElectionFlags {
    /// `--identity`, or `<host name>_<random>` like client-go's default: two processes on one
    /// host must never share an identity, or both would believe they hold the lease. Call
    /// once and keep the result.
    pub fn identity(&self, component: &str) -> String {
        if let Some(identity) = self.identity.as_ref().filter(|i| !i.trim().is_empty()) {
            return identity.trim().to_string();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| component.to_string());
        format!("{host}_{:08x}", rand::random::<u32>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        api: ApiserverFlags,
        #[command(flatten)]
        leader: LeaderElectionFlags,
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("component").chain(args.iter().copied()))
    }

    #[test]
    fn the_documented_flags_and_defaults() {
        let cli = parse(&["--apiserver", " a:1, ,b:2", "--token", "t"]).unwrap();
        assert_eq!(cli.api.apiservers().unwrap(), ["a:1", "b:2"]);
        assert_eq!(cli.api.token().unwrap(), "t");
        assert_eq!(cli.leader, LeaderElectionFlags::default());
        let cli = parse(&[
            "--apiserver=a:1",
            "--leader-elect=false",
            "--leader-elect-lease-duration",
            "4s",
            "--leader-elect-renew-deadline=3s",
            "--leader-elect-retry-period",
            "500ms",
            "--identity",
            "cm-1",
        ])
        .unwrap();
        assert!(!cli.leader.leader_elect);
        assert_eq!(
            cli.leader.leader_elect_lease_duration,
            Duration::from_secs(4)
        );
        assert_eq!(
            cli.leader.leader_elect_renew_deadline,
            Duration::from_secs(3)
        );
        assert_eq!(
            cli.leader.leader_elect_retry_period,
            Duration::from_millis(500)
        );
        assert_eq!(cli.leader.identity("x"), "cm-1");
        assert!(parse(&["--leader-elect"]).unwrap().leader.leader_elect);
        assert!(parse(&["--leader-elect=true"]).unwrap().leader.leader_elect);
    }

    /// `--leader-elect false` is the flag alone followed by a stray argument (pflag's reading),
    /// never a quiet "false".
    #[test]
    fn leader_elect_takes_its_value_only_after_an_equals_sign() {
        assert!(parse(&["--leader-elect", "false"]).is_err());
    }

    #[test]
    fn missing_flags_are_named() {
        let cli = parse(&[]).unwrap();
        let err = cli.api.apiservers().unwrap_err();
        assert_eq!(err.flag, "apiserver");
        assert_eq!(
            err.to_string(),
            "--apiserver is required (host:port, comma-separated)"
        );
        let err = ApiserverFlags::new(vec!["a:1".into()], "  ")
            .token()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--token is required (or the SKIFF_TOKEN environment variable)"
        );
        assert!(parse(&["--leader-elect-retry-period", "soon"]).is_err());
    }

    #[test]
    fn the_token_can_come_from_skiff_token() {
        use clap::CommandFactory;
        let command = Cli::command();
        let token = command
            .get_arguments()
            .find(|a| a.get_id() == "token")
            .unwrap();
        assert_eq!(token.get_env(), Some(std::ffi::OsStr::new("SKIFF_TOKEN")));
    }

    #[test]
    fn default_identities_differ() {
        let flags = LeaderElectionFlags::default();
        assert_ne!(flags.identity("c"), flags.identity("c"));
    }
}
