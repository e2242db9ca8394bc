//! Container probes: one attempt of an httpGet, tcpSocket or exec probe
//! ([`run_once`]), and the [`prober`] that schedules attempts and applies the
//! success/failure thresholds.
//!
//! Failure messages read like the kubelet's, because the node agent puts them in
//! `Unhealthy` events: `HTTP probe failed with statuscode: 500`,
//! `Get "http://127.42.0.3:8080/": dial tcp 127.42.0.3:8080: connect: connection refused`.

mod exec;
mod http;
pub mod prober;
mod tcp;

use std::time::Duration;

pub use crate::runtime::ExecContext;
pub use prober::{ProbeKind, ProbeUpdate, Prober, ThresholdTracker};

/// Kubernetes' `scheme` of an httpGet probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    #[default]
    Http,
    /// Not supported: attempts fail with a message saying so.
    Https,
}

/// An httpGet probe with every default already applied by the caller: `host` is the pod
/// IP unless the spec names one, a named port is resolved to its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGetAction {
    pub host: String,
    pub port: u16,
    /// Request path; `/` if empty.
    pub path: String,
    pub scheme: Scheme,
    /// Extra request headers (`httpHeaders`); a `Host` or `User-Agent` here replaces the
    /// default one.
    pub headers: Vec<(String, String)>,
}

/// A tcpSocket probe: success when a TCP connection opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSocketAction {
    pub host: String,
    pub port: u16,
}

/// An exec probe: the command runs with the container's environment and working
/// directory (see [`crate::runtime::Runtime::exec_context`]); exit 0 is success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecAction {
    pub command: Vec<String>,
    pub context: ExecContext,
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeHandler {
    HttpGet(HttpGetAction),
    TcpSocket(TcpSocketAction),
    Exec(ExecAction),
}

/// A probe with its timing and thresholds (Kubernetes field names, as durations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub handler: ProbeHandler,
    pub initial_delay: Duration,
    pub timeout: Duration,
    pub period: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl ProbeSpec {
    /// A probe with Kubernetes' defaults: no initial delay, 1 s timeout, 10 s period,
    /// success threshold 1, failure threshold 3.
    pub fn new(handler: ProbeHandler) -> Self {
        ProbeSpec {
            handler,
            initial_delay: Duration::ZERO,
            timeout: Duration::from_secs(1),
            period: Duration::from_secs(10),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }
}

/// The result of one probe attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Success,
    /// Failed, with a message for the `Unhealthy` event.
    Failure(String),
}

impl ProbeOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, ProbeOutcome::Success)
    }
}

/// Runs one attempt of `handler`, giving up after `timeout`.
pub async fn run_once(handler: &ProbeHandler, timeout: Duration) -> ProbeOutcome {
    match handler {
        ProbeHandler::HttpGet(action) => http::probe(action, timeout).await,
        ProbeHandler::TcpSocket(action) => tcp::probe(action, timeout).await,
        ProbeHandler::Exec(action) => exec::probe(action, timeout).await,
    }
}

/// `host:port` for messages and `Host` headers, with IPv6 literals bracketed.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// How Go's dialer words a failed connect, which is what kubelet messages contain.
fn dial_error(addr: &str, e: &std::io::Error) -> String {
    let why = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        std::io::ErrorKind::HostUnreachable => "connect: no route to host".to_string(),
        std::io::ErrorKind::NetworkUnreachable => "connect: network is unreachable".to_string(),
        _ => e.to_string(),
    };
    format!("dial tcp {addr}: {why}")
}
