//! Command-line flags (etcd's names, so etcd habits carry over) and the
//! cluster identity derived from them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// etcd's default for --max-request-bytes.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1536 * 1024;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "skiff-store",
    version,
    about = "An etcd-compatible key-value store replicated with Raft"
)]
pub struct Config {
    /// Human-readable name of this member; must appear in --initial-cluster.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Where this member keeps its raft log, snapshots and data.
    #[arg(long, default_value = "default.skiff")]
    pub data_dir: PathBuf,
    /// URLs to serve the etcd v3 client API on (comma-separated).
    #[arg(long, default_value = "http://127.0.0.1:2379", value_delimiter = ',')]
    pub listen_client_urls: Vec<String>,
    /// Client URLs to tell the rest of the cluster about (default: the listen URLs).
    #[arg(long, value_delimiter = ',')]
    pub advertise_client_urls: Vec<String>,
    /// URL to serve the raft peer transport on.
    #[arg(long, default_value = "http://127.0.0.1:2380", value_delimiter = ',')]
    pub listen_peer_urls: Vec<String>,
    /// Every member as name=peer-url, comma-separated.
    #[arg(long)]
    pub initial_cluster: Option<String>,
    /// This member's peer URL as the others reach it (default: its entry in
    /// --initial-cluster); accepted for etcd compatibility and checked.
    #[arg(long, value_delimiter = ',')]
    pub initial_advertise_peer_urls: Vec<String>,
    /// "new" or "existing". Members are fixed when the cluster is created, so
    /// "existing" only restarts a member that already has its data dir.
    #[arg(long, default_value = "new")]
    pub initial_cluster_state: String,
    /// Distinguishes clusters built from the same member list.
    #[arg(long, default_value = "skiff-cluster")]
    pub initial_cluster_token: String,
    /// Time between heartbeats (ms); also the raft tick.
    #[arg(long, default_value_t = 100)]
    pub heartbeat_interval: u64,
    /// Time without a heartbeat before a follower campaigns (ms).
    #[arg(long, default_value_t = 1000)]
    pub election_timeout: u64,
    /// Applied entries between snapshots; the log behind a snapshot is dropped.
    #[arg(long, default_value_t = 100_000)]
    pub snapshot_count: u64,
    /// Largest client request accepted (bytes).
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// URLs serving Prometheus /metrics and /health over plain HTTP.
    #[arg(long, value_delimiter = ',')]
    pub listen_metrics_urls: Vec<String>,
    /// text or json
    #[arg(long, default_value = "text")]
    pub log_format: String,
    #[command(flatten)]
    pub tls: TlsFlags,
    /// Database size (bytes in use) above which writes that grow it are refused and
    /// the NOSPACE alarm is raised (etcd: 0 means its default, 2 GiB).
    #[arg(long, default_value_t = 0)]
    pub quota_backend_bytes: u64,
    /// periodic (keep --auto-compaction-retention of time) or revision (keep that
    /// many revisions).
    #[arg(long, default_value = "periodic")]
    pub auto_compaction_mode: String,
    /// periodic: a duration (`1h30m`; a bare number means hours, as etcd); revision:
    /// a count. 0 turns auto-compaction off.
    #[arg(long, default_value = "0")]
    pub auto_compaction_retention: String,
    /// How often the leader compares every member's HashKV (0: never).
    #[arg(long, default_value = "0s", value_parser = skiff_common::duration::parse_duration)]
    pub experimental_corrupt_check_time: Duration,
    /// Tests only: this member stores a wrong value for every put of this key, so the
    /// corruption check has something to catch.
    #[arg(long, hide = true)]
    pub unsafe_test_corrupt_key: Option<String>,
    /// TESTING ONLY, UNSAFE: answer linearizable reads from this member's own state without a
    /// ReadIndex round, so a member cut off from the leader serves stale values. It exists so
    /// that skiff-chaos can show its linearizability checker catches exactly that; never use
    /// it otherwise.
    #[arg(long, hide = true)]
    pub unsafe_test_local_reads: bool,
}

/// etcd's default --quota-backend-bytes.
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// What --auto-compaction-mode and --auto-compaction-retention ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoCompaction {
    Off,
    /// Keep this much history by time.
    Periodic(Duration),
    /// Keep this many revisions.
    Revision(i64),
}

/// `skiff-store restore --snapshot FILE` and the flags of the member whose data dir
/// it creates (etcdutl's snapshot restore).
#[derive(Parser, Debug, Clone)]
#[command(
    name = "skiff-store restore",
    about = "Create a new cluster member's data dir from a snapshot file"
)]
pub struct RestoreCommand {
    /// The file `etcdctl snapshot save` wrote.
    #[arg(long)]
    pub snapshot: PathBuf,
    #[command(flatten)]
    pub config: Config,
}

/// etcd's TLS flags: the client port's and the peer port's certificates, and whether each
/// port demands a client certificate signed by its trusted CA. A port serves TLS when its
/// URLs are `https://`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsFlags {
    /// The client port's certificate (PEM).
    #[arg(long)]
    pub cert_file: Option<PathBuf>,
    /// The client port's private key (PEM).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// CA that signs the certificates clients must present (with --client-cert-auth).
    #[arg(long)]
    pub trusted_ca_file: Option<PathBuf>,
    /// Refuse clients without a certificate signed by --trusted-ca-file.
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub client_cert_auth: bool,
    /// The peer port's certificate (PEM), also presented to the other members as this
    /// member's client certificate; it needs both server and client use.
    #[arg(long)]
    pub peer_cert_file: Option<PathBuf>,
    /// The peer port's private key (PEM).
    #[arg(long)]
    pub peer_key_file: Option<PathBuf>,
    /// CA that signs every member's peer certificate: the other members' certificates are
    /// checked against it, and (with --peer-client-cert-auth) so are incoming peers'.
    #[arg(long)]
    pub peer_trusted_ca_file: Option<PathBuf>,
    /// Refuse peers without a certificate signed by --peer-trusted-ca-file.
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub peer_client_cert_auth: bool,
}

/// One member of the cluster as --initial-cluster names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub id: u64,
    pub name: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--initial-cluster: {0}")]
    InitialCluster(String),
    #[error("{flag}: {url:?} is not a valid http://host:port or https://host:port URL (or the host does not resolve)")]
    Url { flag: &'static str, url: String },
    #[error("--heartbeat-interval must be > 0 and --election-timeout at least 5 times it (got {heartbeat} ms and {election} ms)")]
    Timing { heartbeat: u64, election: u64 },
    #[error("--snapshot-count must be at least 1")]
    SnapshotCount,
    #[error("--initial-cluster-state must be new or existing, not {0:?}")]
    ClusterState(String),
    #[error("--initial-advertise-peer-urls {given} does not match this member's entry {listed} in --initial-cluster")]
    AdvertisePeer { given: String, listed: String },
    #[error("--log-format must be text or json, not {0:?}")]
    LogFormat(String),
    #[error("{0}")]
    Tls(String),
    #[error("--auto-compaction-{0}")]
    AutoCompaction(String),
}

impl Config {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_interval == 0 || self.election_timeout < 5 * self.heartbeat_interval {
            return Err(ConfigError::Timing {
                heartbeat: self.heartbeat_interval,
                election: self.election_timeout,
            });
        }
        if self.snapshot_count == 0 {
            return Err(ConfigError::SnapshotCount);
        }
        self.auto_compaction()?;
        if self.log_format != "text" && self.log_format != "json" {
            return Err(ConfigError::LogFormat(self.log_format.clone()));
        }
        for url in &self.listen_client_urls {
            socket_addr("--listen-client-urls", url)?;
        }
        for url in &self.listen_metrics_urls {
            socket_addr("--listen-metrics-urls", url)?;
        }
        if self.initial_cluster_state != "new" && self.initial_cluster_state != "existing" {
            return Err(ConfigError::ClusterState(
                self.initial_cluster_state.clone(),
            ));
        }
        let peers = self.peers()?;
        self.validate_tls(&peers)?;
        if let (Some(given), Some(me)) = (
            self.initial_advertise_peer_urls.first(),
            peers.iter().find(|p| p.name == self.name),
        ) {
            if given.trim_end_matches('/') != me.url.trim_end_matches('/') {
                return Err(ConfigError::AdvertisePeer {
                    given: given.clone(),
                    listed: me.url.clone(),
                });
            }
        }
        Ok(())
    }

    /// Every port's scheme matches its certificates: `https://` needs them, and client
    /// certificate authentication needs TLS and a CA (etcd would ignore it on plain http;
    /// a security setting silently ignored is refused here instead).
    fn validate_tls(&self, peers: &[Peer]) -> Result<(), ConfigError> {
        let tls = &self.tls;
        let client_https = self.listen_client_urls.iter().any(|u| is_https(u));
        if client_https && (tls.cert_file.is_none() || tls.key_file.is_none()) {
            return Err(ConfigError::Tls(
                "--listen-client-urls is https:// but --cert-file and --key-file are not both given".into(),
            ));
        }
        if tls.client_cert_auth && !client_https {
            return Err(ConfigError::Tls(
                "--client-cert-auth needs https:// --listen-client-urls".into(),
            ));
        }
        if tls.client_cert_auth && tls.trusted_ca_file.is_none() {
            return Err(ConfigError::Tls(
                "--client-cert-auth needs --trusted-ca-file".into(),
            ));
        }
        let listen_https = self.listen_peer_urls.iter().any(|u| is_https(u));
        let peers_https = peers.iter().filter(|p| is_https(&p.url)).count();
        if peers_https != 0 && peers_https != peers.len() {
            return Err(ConfigError::Tls(
                "--initial-cluster mixes http:// and https:// peer URLs".into(),
            ));
        }
        if (listen_https || peers_https != 0)
            && (tls.peer_cert_file.is_none() || tls.peer_key_file.is_none())
        {
            return Err(ConfigError::Tls(
                "https:// peer URLs need --peer-cert-file and --peer-key-file".into(),
            ));
        }
        if peers_https != 0 && tls.peer_trusted_ca_file.is_none() {
            return Err(ConfigError::Tls(
                "https:// peer URLs need --peer-trusted-ca-file to check the other members".into(),
            ));
        }
        if tls.peer_client_cert_auth && !listen_https {
            return Err(ConfigError::Tls(
                "--peer-client-cert-auth needs https:// --listen-peer-urls".into(),
            ));
        }
        Ok(())
    }

    pub fn quota_bytes(&self) -> u64 {
        if self.quota_backend_bytes == 0 {
            DEFAULT_QUOTA_BYTES
        } else {
            self.quota_backend_bytes
        }
    }

    pub fn auto_compaction(&self) -> Result<AutoCompaction, ConfigError> {
        let retention = self.auto_compaction_retention.trim();
        let bad = |why: &str| ConfigError::AutoCompaction(why.to_string());
        match self.auto_compaction_mode.as_str() {
            "periodic" => {
                let period = match retention.parse::<u64>() {
                    Ok(hours) => Duration::from_secs(hours * 3600),
                    Err(_) => skiff_common::duration::parse_duration(retention)
                        .map_err(|e| bad(&format!("retention {retention:?}: {e}")))?,
                };
                Ok(if period.is_zero() {
                    AutoCompaction::Off
                } else {
                    AutoCompaction::Periodic(period)
                })
            }
            "revision" => match retention.parse::<i64>() {
                Ok(0) => Ok(AutoCompaction::Off),
                Ok(n) if n > 0 => Ok(AutoCompaction::Revision(n)),
                _ => Err(bad(&format!(
                    "retention {retention:?}: revision mode keeps a positive number of revisions"
                ))),
            },
            other => Err(bad(&format!(
                "mode must be periodic or revision, not {other:?}"
            ))),
        }
    }

    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval)
    }

    pub fn election_ticks(&self) -> usize {
        (self.election_timeout / self.heartbeat_interval) as usize
    }

    pub fn election_timeout(&self) -> Duration {
        Duration::from_millis(self.election_timeout)
    }

    /// Every member with its id; ids are derived from the peer URL and the
    /// cluster token, so every member computes the same ids independently.
    pub fn peers(&self) -> Result<Vec<Peer>, ConfigError> {
        let spec = match &self.initial_cluster {
            Some(spec) => spec.clone(),
            None => format!(
                "{}={}",
                self.name,
                self.listen_peer_urls.first().map_or("", String::as_str)
            ),
        };
        let mut peers: Vec<Peer> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, url) = part
                .split_once('=')
                .ok_or_else(|| ConfigError::InitialCluster(format!("{part:?} is not name=url")))?;
            split_url("--initial-cluster", url)?;
            if peers.iter().any(|p| p.name == name) {
                return Err(ConfigError::InitialCluster(format!(
                    "member {name:?} is listed twice"
                )));
            }
            let id = member_id(url, &self.initial_cluster_token);
            peers.push(Peer {
                id,
                name: name.to_string(),
                url: url.to_string(),
            });
        }
        if !peers.iter().any(|p| p.name == self.name) {
            return Err(ConfigError::InitialCluster(format!(
                "this member's --name {:?} is not listed (members: {})",
                self.name,
                peers
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(peers)
    }

    pub fn client_urls(&self) -> Vec<String> {
        if self.advertise_client_urls.is_empty() {
            self.listen_client_urls.clone()
        } else {
            self.advertise_client_urls.clone()
        }
    }
}

/// The socket address of an `http://host:port` URL.
pub fn socket_addr(flag: &'static str, url: &str) -> Result<SocketAddr, ConfigError> {
    let (host, port) = split_url(flag, url)?;
    let bad = || ConfigError::Url {
        flag,
        url: url.to_string(),
    };
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host.as_str()
    };
    // A host name is resolved once, at start (listen addresses only).
    (host, port)
        .to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

/// `http://host:port` split into its host (an IP or a name) and port, without
/// resolving the name: peers named in --initial-cluster may not resolve yet.
pub fn split_url(flag: &'static str, url: &str) -> Result<(String, u16), ConfigError> {
    let bad = || ConfigError::Url {
        flag,
        url: url.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(bad)?
        .trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    let port: u16 = port.parse().map_err(|_| bad())?;
    if !valid_host || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

pub fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// FNV-1a: stable across builds and platforms, unlike std's hasher.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(b"\0") {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

pub fn member_id(peer_url: &str, token: &str) -> u64 {
    fnv1a(&[peer_url.as_bytes(), token.as_bytes()]).max(1)
}

pub fn cluster_id(peers: &[Peer], token: &str) -> u64 {
    let mut ids: Vec<u64> = peers.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    let bytes: Vec<[u8; 8]> = ids.iter().map(|id| id.to_be_bytes()).collect();
    let mut parts: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
    parts.push(token.as_bytes());
    fnv1a(&parts).max(1)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
