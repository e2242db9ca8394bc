//! The node agent's flags (`skiff-nodelet --apiserver ... --node-name n1 ...`) and their
//! validated form.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use skiff_api::labels::{validate_label_key, validate_label_value};
use skiff_api::quantity::Quantity;
use skiff_common::flags::{ApiserverFlags, MissingFlag};

use crate::ipam::Ipv4Cidr;
use crate::sandbox::SandboxMode;

/// The agent's command-line flags. Required ones are checked by [`AgentArgs::into_config`]
/// so that the hidden subcommands of the same binary do not need them.
#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// `--apiserver` and `--token`: this node's own token (user `system:node:<node-name>`,
    /// group `system:nodes`).
    #[command(flatten)]
    pub api: ApiserverFlags,
    /// The Node's name.
    #[arg(long)]
    pub node_name: Option<String>,
    /// Labels of the Node, `key=value` comma-separated (plus `kubernetes.io/hostname`).
    #[arg(long, default_value = "")]
    pub labels: String,
    /// Where containers' state, logs and pod IP allocations are kept.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address of the NodeLogs gRPC service (the apiserver's log proxy calls it); the port is
    /// published in `status.daemonEndpoints.kubeletEndpoint.Port`.
    #[arg(long, default_value = "127.0.0.1:10250")]
    pub listen: SocketAddr,
    /// The address the apiserver reaches this node's log service at, published as the Node's
    /// InternalIP and pods' hostIP: an IP, or a host name resolved once at start (e.g. a
    /// compose service's own name).
    #[arg(long, default_value = "127.0.0.1")]
    pub node_ip: String,
    /// The range pod IPs come from: the node's podCIDR. Default 10.42.0.0/24 with
    /// sandboxes, 127.42.0.0/16 without (loopback addresses need no setup).
    #[arg(long)]
    pub pod_cidr: Option<String>,
    /// `namespaces`: each pod gets Linux namespaces, a network on the node's bridge and
    /// cgroup limits; `none`: pods are plain host processes; `auto`: namespaces when
    /// running as root, else none (said once at start).
    #[arg(long, default_value = "auto")]
    pub sandbox: String,
    /// The node's pod bridge (unique per node on a host; at most 15 characters).
    #[arg(long, default_value = "skiff0")]
    pub pod_bridge: String,
    /// Another node's pod bridge on this same host to join at layer 2, so pods of both
    /// nodes reach each other (needs --cluster-cidr).
    #[arg(long)]
    pub pod_bridge_link: Option<String>,
    /// The whole cluster's pod range, reached on-link from pods (with --pod-bridge-link).
    #[arg(long)]
    pub cluster_cidr: Option<String>,
    /// How often the node's Lease in kube-node-lease is renewed.
    #[arg(long, default_value = "2s")]
    pub heartbeat_interval: String,
    /// The first CrashLoopBackOff delay; it doubles per crash up to 300 s.
    #[arg(long, default_value = "10s")]
    pub crashloop_backoff_base: String,
    /// A file of extra images: `IMAGE = COMMAND LINE` per line.
    #[arg(long)]
    pub image_catalog: Option<PathBuf>,
    /// `process` runs containers as supervised processes; `fake` only pretends (a hollow
    /// node for scale tests).
    #[arg(long, default_value = "process")]
    pub runtime: String,
    /// Runs this many hollow nodes in this one process (with `--runtime fake`), as
    /// Kubernetes' kubemark does: each a whole node agent with its own apiserver connection,
    /// Node, Lease, pod workers and log service, named `<--node-name-prefix><i>`; all share
    /// `--token` (kubemark's hollow nodes share one kubeconfig). Replaces `--node-name`.
    #[arg(long, default_value_t = 0)]
    pub hollow_nodes: usize,
    /// The hollow nodes' names: this prefix and the node's index from 0.
    #[arg(long, default_value = "hollow-")]
    pub node_name_prefix: String,
    /// CPU capacity; default: the machine's CPUs.
    #[arg(long)]
    pub cpu: Option<String>,
    /// Memory capacity (`8Gi`); default: the machine's memory.
    #[arg(long)]
    pub memory: Option<String>,
    /// Most pods this node runs.
    #[arg(long, default_value_t = 110)]
    pub max_pods: u32,
    /// Address to serve plain-HTTP /metrics and /health on; off when unset.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// text or json
    #[arg(long, default_value = "text")]
    pub log_format: String,
    #[command(flatten)]
    pub tls: super::tls::TlsFlags,
}

/// Which container backend runs pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Process,
    Fake,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub apiservers: Vec<String>,
    pub token: String,
    /// The cluster CA (PEM) the apiservers' certificates are checked against; `None`: plain.
    pub ca_pem: Option<Vec<u8>>,
    pub node_name: String,
    pub labels: BTreeMap<String, String>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub node_ip: IpAddr,
    /// `None`: the default of the sandbox mode in use ([`AgentConfig::pod_cidr`]).
    pub pod_cidr_flag: Option<Ipv4Cidr>,
    pub sandbox: SandboxMode,
    pub pod_bridge: String,
    pub pod_bridge_link: Option<String>,
    pub cluster_cidr: Option<Ipv4Cidr>,
    pub heartbeat_interval: Duration,
    pub crashloop_backoff_base: Duration,
    pub image_catalog: Option<PathBuf>,
    pub runtime: RuntimeKind,
    /// 0: one node, this one; more: that many hollow nodes ([`super::hollow`]).
    pub hollow_nodes: usize,
    pub node_name_prefix: String,
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    pub max_pods: u32,
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: String,
    pub tls: super::tls::TlsFlags,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(transparent)]
    MissingFlag(#[from] MissingFlag),
    #[error("--{0} is required")]
    Missing(&'static str),
    #[error("--{flag}: {message}")]
    Invalid { flag: &'static str, message: String },
}

impl AgentConfig {
    /// The node's pod range once the sandbox mode is known.
    pub fn pod_cidr(&self, sandboxed: bool) -> Ipv4Cidr {
        self.pod_cidr_flag.unwrap_or_else(|| {
            if sandboxed {
                Ipv4Cidr::masked(std::net::Ipv4Addr::new(10, 42, 0, 0), 24)
            } else {
                Ipv4Cidr::masked(std::net::Ipv4Addr::new(127, 42, 0, 0), 16)
            }
        })
    }
}

/// `--node-ip` as an address: taken as is, or a host name resolved now.
fn resolve_node_ip(value: &str) -> Result<IpAddr, ConfigError> {
    let value = value.trim();
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(ip);
    }
    let resolved = (value, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next());
    resolved.map(|addr| addr.ip()).ok_or_else(|| {
        invalid(
            "node-ip",
            format!("{value:?} is neither an IP address nor a host name that resolves"),
        )
    })
}

fn invalid(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        message: message.into(),
    }
}

/// `disk=ssd,zone=a` -> {disk: ssd, zone: a}, with Kubernetes' label syntax checked.
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (key, value) = term
            .split_once('=')
            .ok_or_else(|| format!("{term:?} is not key=value"))?;
        let (key, value) = (key.trim(), value.trim());
        validate_label_key(key).map_err(|e| format!("label key {key:?}: {e}"))?;
        validate_label_value(value).map_err(|e| format!("label value {value:?}: {e}"))?;
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

impl AgentArgs {
    pub fn into_config(self) -> Result<AgentConfig, ConfigError> {
        let duration = |flag: &'static str, text: &str| {
            skiff_common::duration::parse_duration(text)
                .map_err(|e| invalid(flag, e))
                .and_then(|d| {
                    if d.is_zero() {
                        Err(invalid(flag, "must be greater than zero"))
                    } else {
                        Ok(d)
                    }
                })
        };
        let quantity = |flag: &'static str,
                        text: Option<String>,
                        check: fn(&Quantity) -> Result<i64, String>| {
            text.map(|t| {
                let q = Quantity::parse(&t).map_err(|e| invalid(flag, e))?;
                match check(&q) {
                    Ok(v) if v > 0 => Ok(q),
                    Ok(_) => Err(invalid(flag, "must be greater than zero")),
                    Err(e) => Err(invalid(flag, e)),
                }
            })
            .transpose()
        };
        let apiservers = self.api.apiservers()?;
        let token = self.api.token()?;
        let ca_pem = self
            .api
            .ca_pem()
            .map_err(|e| invalid("certificate-authority", e.to_string()))?;
        let node_name = if self.hollow_nodes > 0 {
            // The first hollow node's name; each node's own is set by `hollow::node_configs`.
            let first = format!("{}0", self.node_name_prefix);
            skiff_api::labels::validate_dns1123_subdomain(&first)
                .map_err(|e| invalid("node-name-prefix", format!("{first:?}: {e}")))?;
            first
        } else {
            let name = self
                .node_name
                .filter(|n| !n.is_empty())
                .ok_or(ConfigError::Missing("node-name"))?;
            skiff_api::labels::validate_dns1123_subdomain(&name)
                .map_err(|e| invalid("node-name", e))?;
            name
        };
        let runtime = match self.runtime.as_str() {
            "process" => RuntimeKind::Process,
            "fake" => RuntimeKind::Fake,
            other => {
                return Err(invalid(
                    "runtime",
                    format!("must be process or fake, not {other:?}"),
                ))
            }
        };
        if self.hollow_nodes > 0 && runtime != RuntimeKind::Fake {
            return Err(invalid(
                "hollow-nodes",
                "hollow nodes run only on the fake runtime: add --runtime fake",
            ));
        }
        if self.hollow_nodes > super::hollow::MAX_HOLLOW_NODES {
            return Err(invalid(
                "hollow-nodes",
                format!("at most {}", super::hollow::MAX_HOLLOW_NODES),
            ));
        }
        if self.log_format != "text" && self.log_format != "json" {
            return Err(invalid(
                "log-format",
                format!("must be text or json, not {:?}", self.log_format),
            ));
        }
        if self.max_pods == 0 {
            return Err(invalid("max-pods", "must be greater than zero"));
        }
        Ok(AgentConfig {
            apiservers,
            token,
            ca_pem,
            labels: parse_labels(&self.labels).map_err(|e| invalid("labels", e))?,
            data_dir: self.data_dir.ok_or(ConfigError::Missing("data-dir"))?,
            listen: self.listen,
            node_ip: resolve_node_ip(&self.node_ip)?,
            pod_cidr_flag: self
                .pod_cidr
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: crate::ipam::IpamError| invalid("pod-cidr", e.to_string()))?,
            sandbox: self
                .sandbox
                .parse()
                .map_err(|e: String| invalid("sandbox", e))?,
            pod_bridge: self.pod_bridge,
            pod_bridge_link: self.pod_bridge_link,
            cluster_cidr: self
                .cluster_cidr
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: crate::ipam::IpamError| invalid("cluster-cidr", e.to_string()))?,
            heartbeat_interval: duration("heartbeat-interval", &self.heartbeat_interval)?,
            crashloop_backoff_base: duration(
                "crashloop-backoff-base",
                &self.crashloop_backoff_base,
            )?,
            image_catalog: self.image_catalog,
            runtime,
            hollow_nodes: self.hollow_nodes,
            node_name_prefix: self.node_name_prefix,
            cpu: quantity("cpu", self.cpu, Quantity::parse_cpu_millis)?,
            memory: quantity("memory", self.memory, Quantity::parse_bytes)?,
            max_pods: self.max_pods,
            metrics_listen: self.metrics_listen,
            tls: self.tls.clone(),
            log_format: self.log_format,
            node_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        agent: AgentArgs,
    }

    fn parse(args: &[&str]) -> Result<AgentConfig, ConfigError> {
        let mut all = vec!["skiff-nodelet"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().agent.into_config()
    }

    const BASE: [&str; 8] = [
        "--apiserver",
        "127.0.0.1:6443",
        "--token",
        "t",
        "--node-name",
        "n1",
        "--data-dir",
        "/tmp/n1",
    ];

    #[test]
    fn the_documented_form_parses_with_defaults() {
        let mut args = BASE.to_vec();
        args.extend(["--labels", "disk=ssd,zone=a"]);
        let c = parse(&args).unwrap();
        assert_eq!(c.node_name, "n1");
        assert_eq!(c.labels.get("disk").map(String::as_str), Some("ssd"));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(2));
        assert_eq!(c.crashloop_backoff_base, Duration::from_secs(10));
        assert_eq!(c.max_pods, 110);
        assert_eq!(c.runtime, RuntimeKind::Process);
        assert_eq!(c.pod_cidr(false).to_string(), "127.42.0.0/16");
        assert_eq!(c.pod_cidr(true).to_string(), "10.42.0.0/24");
        assert_eq!(c.sandbox, SandboxMode::Auto);
        assert!(c.cpu.is_none() && c.memory.is_none());
    }

    #[test]
    fn every_flag_and_its_errors() {
        let mut args = BASE.to_vec();
        args.extend([
            "--cpu",
            "4",
            "--memory",
            "8Gi",
            "--max-pods",
            "20",
            "--runtime",
            "fake",
            "--heartbeat-interval",
            "500ms",
            "--crashloop-backoff-base",
            "1s",
            "--apiserver",
            "a:1,b:2",
        ]);
        let c = parse(&args).unwrap();
        assert_eq!(c.cpu.unwrap().0, "4");
        assert_eq!(c.memory.unwrap().0, "8Gi");
        assert_eq!(c.runtime, RuntimeKind::Fake);
        assert_eq!(c.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(c.apiservers, ["127.0.0.1:6443", "a:1", "b:2"]);

        let bad: &[(&[&str], &str)] = &[
            (&["--runtime", "docker"], "--runtime"),
            (&["--memory", "lots"], "--memory"),
            (&["--cpu", "0"], "--cpu"),
            (&["--labels", "novalue"], "--labels"),
            (&["--labels", "bad key=x"], "--labels"),
            (&["--heartbeat-interval", "0s"], "--heartbeat-interval"),
            (&["--pod-cidr", "10.0.0.0"], "--pod-cidr"),
            (&["--max-pods", "0"], "--max-pods"),
            (&["--sandbox", "docker"], "--sandbox"),
            (&["--cluster-cidr", "10.0.0.0"], "--cluster-cidr"),
        ];
        for (extra, flag) in bad {
            let mut args = BASE.to_vec();
            args.extend_from_slice(extra);
            let err = parse(&args).unwrap_err().to_string();
            assert!(err.starts_with(flag), "{extra:?}: {err}");
        }
        let missing = |args: &[&str]| match parse(args) {
            Err(ConfigError::MissingFlag(m)) => m.flag,
            other => panic!("{args:?}: {other:?}"),
        };
        assert_eq!(missing(&["--token", "t"]), "apiserver");
        assert_eq!(
            missing(&["--apiserver", "a:1", "--node-name", "n", "--data-dir", "d"]),
            "token"
        );
    }

    #[test]
    fn hollow_nodes_need_the_fake_runtime_and_a_valid_prefix() {
        let base = ["--apiserver", "a:1", "--token", "t", "--data-dir", "/tmp/h"];
        let with = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            parse(&args)
        };
        let c = with(&["--runtime", "fake", "--hollow-nodes", "3"]).unwrap();
        assert_eq!((c.hollow_nodes, c.node_name.as_str()), (3, "hollow-0"));
        let err = with(&["--hollow-nodes", "3"]).unwrap_err().to_string();
        assert!(
            err.starts_with("--hollow-nodes") && err.contains("--runtime fake"),
            "{err}"
        );
        let err = with(&[
            "--runtime",
            "fake",
            "--hollow-nodes",
            "2",
            "--node-name-prefix",
            "Bad_",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("--node-name-prefix"), "{err}");
        let err = with(&["--runtime", "fake", "--hollow-nodes", "100000"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--hollow-nodes"), "{err}");
        assert_eq!(with(&[]).unwrap_err(), ConfigError::Missing("node-name"));
    }

    #[test]
    fn node_ip_is_an_address_or_a_resolvable_name() {
        assert_eq!(resolve_node_ip("10.1.2.3").unwrap().to_string(), "10.1.2.3");
        assert!(resolve_node_ip("localhost").unwrap().is_loopback());
        let err = resolve_node_ip("no-such-host.invalid")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--node-ip"), "{err}");
    }
}
