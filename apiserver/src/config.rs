//! Command-line flags of skiff-apiserver (Kubernetes' names where Kubernetes has one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use skiff_common::duration::parse_duration;

/// Largest object accepted, in bytes: etcd's default request limit (1.5 MiB), so nothing the
/// store would refuse ever reaches it.
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 1536 * 1024;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "skiff-apiserver",
    version,
    about = "skiff's API server: validates, stores and watches objects in an etcd-compatible store"
)]
pub struct Config {
    /// Address to serve the skiff gRPC API on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Store members' client URLs, comma-separated (etcd v3 API; skiff-store or etcd).
    /// Requests fail over to the next member when one is unreachable.
    #[arg(long, default_value = "http://127.0.0.1:2379", value_delimiter = ',')]
    pub store_endpoints: Vec<String>,
    /// Static token file: one `token,user,uid,"group1,group2"` line per user (Kubernetes'
    /// format). Group `system:masters` is admin, `skiff:viewers` read-only, and
    /// `system:nodes` with user `system:node:<node>` a node agent.
    #[arg(long)]
    pub token_file: PathBuf,
    /// Address to serve the Kubernetes REST API on, over HTTPS (Kubernetes' secure port);
    /// needs --tls-cert-file and --tls-private-key-file. Off when unset.
    #[arg(long)]
    pub http_listen: Option<SocketAddr>,
    /// Address to serve plain-HTTP /metrics (Prometheus) and /health on; off when unset.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// How long events are kept (they are written with a store lease), e.g. 1h, 30m, 90s.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub event_ttl: Duration,
    /// text or json
    #[arg(long, default_value = "text")]
    pub log_format: String,
    /// Time limit of one store request, failover included: members are tried in turn (each
    /// for at most a third of it) until one answers.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub store_request_timeout: Duration,
    /// Recent events the watch cache keeps per kind; a watch resuming from an older
    /// resourceVersion gets Expired (410) and must list again.
    #[arg(long, default_value_t = 10_000)]
    pub watch_cache_size: usize,
    /// Events buffered per client watch; a client that falls this far behind has its watch
    /// ended with an error and resumes from its last resourceVersion.
    #[arg(long, default_value_t = 1_000)]
    pub watch_buffer: usize,
    /// How often watches that asked for bookmarks get one carrying the current revision.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub watch_bookmark_interval: Duration,
    /// How often a quiet store watch asks the store for its current revision, so the cache's
    /// revision (and bookmarks) keep moving while a kind does not change.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub watch_progress_interval: Duration,
    /// Answer lists from the watch cache (Kubernetes' ConsistentListFromCache): a list
    /// without resourceVersion waits until the cache has reached the store's current revision
    /// (at most --consistent-list-wait, else it reads the store). `false`: every list reads
    /// the store, as before.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub consistent_list_from_cache: bool,
    /// How long a list waits for the watch cache to reach the revision it needs before it
    /// reads the store instead.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub consistent_list_wait: Duration,
    /// Largest object accepted, in bytes; larger ones get RequestEntityTooLarge.
    #[arg(long, default_value_t = DEFAULT_MAX_OBJECT_BYTES)]
    pub max_object_bytes: usize,
    /// Record each write's writer (manager, operation, time) in `metadata.managedFields`.
    /// `--record-managed-fields=false` exists to measure what recording costs.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub record_managed_fields: bool,
    /// How long the store keeps old revisions of objects for `skiff history` and
    /// `skiff trace`; the apiserver compacts the store's history older than this (e.g. 1h,
    /// 10m, 30s).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub history_retention: Duration,
    #[command(flatten)]
    pub tls: crate::tls::TlsFlags,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--log-format must be text or json, not {0:?}")]
    LogFormat(String),
    #[error("--store-endpoints: {0:?} is not an http:// URL")]
    StoreEndpoint(String),
    #[error("--store-endpoints must name at least one store member")]
    NoStoreEndpoints,
    #[error("--http-listen needs --tls-cert-file and --tls-private-key-file (the REST API is served over HTTPS only)")]
    HttpWithoutTls,
    #[error("{flag} must be greater than zero")]
    Zero { flag: &'static str },
}

impl Config {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.log_format != "text" && self.log_format != "json" {
            return Err(ConfigError::LogFormat(self.log_format.clone()));
        }
        if self.store_endpoints.iter().all(|e| e.trim().is_empty()) {
            return Err(ConfigError::NoStoreEndpoints);
        }
        for e in &self.store_endpoints {
            if !e.starts_with("http://") && !e.starts_with("https://") {
                return Err(ConfigError::StoreEndpoint(e.clone()));
            }
        }
        if self.http_listen.is_some()
            && (self.tls.tls_cert_file.is_none() || self.tls.tls_private_key_file.is_none())
        {
            return Err(ConfigError::HttpWithoutTls);
        }
        let positive = [
            ("--watch-cache-size", self.watch_cache_size as u128),
            ("--watch-buffer", self.watch_buffer as u128),
            ("--max-object-bytes", self.max_object_bytes as u128),
            ("--event-ttl", self.event_ttl.as_millis()),
            ("--history-retention", self.history_retention.as_millis()),
            (
                "--store-request-timeout",
                self.store_request_timeout.as_millis(),
            ),
            (
                "--watch-bookmark-interval",
                self.watch_bookmark_interval.as_millis(),
            ),
            (
                "--watch-progress-interval",
                self.watch_progress_interval.as_millis(),
            ),
        ];
        for (flag, value) in positive {
            if value == 0 {
                return Err(ConfigError::Zero { flag });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_command_line_parses() {
        let c = Config::try_parse_from([
            "skiff-apiserver",
            "--listen",
            "127.0.0.1:6443",
            "--store-endpoints",
            "http://127.0.0.1:2379,http://127.0.0.1:2381",
            "--token-file",
            "tokens.csv",
        ])
        .unwrap();
        assert_eq!(c.store_endpoints.len(), 2);
        assert_eq!(c.event_ttl, Duration::from_secs(3600));
        c.validate().unwrap();
        let bad = Config::try_parse_from([
            "skiff-apiserver",
            "--token-file",
            "t",
            "--log-format",
            "xml",
        ])
        .unwrap();
        assert!(bad.validate().is_err());
    }
}
