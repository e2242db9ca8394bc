//! skiff-client: the typed async client every skiff component uses to talk to the apiservers
//! (kube-rs's `kube-client`). The model it speaks is `skiff-api`; errors travel in the gRPC
//! form `skiff-api` defines under its `grpc` feature.
//!
//! One [`Client`] holds a connection per apiserver endpoint and is cheap to clone (an `Arc`).
//! Requests start at the endpoint that answered last and fail over to the next one when the
//! failure allows it.
//!
//! # When a request is repeated on the next endpoint
//!
//! A request that failed because no TCP connection to the apiserver could be made (refused,
//! unreachable, connect timeout: tonic reports a `ConnectError` in the error chain) never left
//! this process: it is sent to the next endpoint whatever it is.
//!
//! Any other transport failure (the server died while the request was in flight, a reset
//! stream, a timeout, or the apiserver itself answering ServiceUnavailable) is ambiguous: the
//! request may have been applied. Whether it is repeated then depends on the request:
//!
//! - *Always*: reads (get, list, watch, scale reads, logs, who-am-i); repeating them
//!   changes nothing.
//! - *Guarded*: writes a repeat cannot apply twice: an update or status update that
//!   carries a resourceVersion (a repeat after success is a Conflict: see below), a delete pinned by a uid or resourceVersion precondition (a
//!   repeat is NotFound or a precondition Conflict), a binding (a pod is bound once; a repeat is
//!   a Conflict), a scale update with a current-replicas precondition.
//! - *Before send*: every other write (create, patch, unconditional update, unconditional
//!   scale update, unpinned delete): repeated only after a connect failure. An ambiguous failure is
//!   returned to the caller as ServiceUnavailable or Timeout, whose message says it may have
//!   been applied; level-triggered callers read the state again and decide.
//!
//! A Conflict answering a Guarded write that was repeated after an ambiguous failure may be
//! the first attempt's own change, so it is returned as a Timeout saying the outcome is
//! unknown, never as "not applied" (skiff-chaos's read-modify-write checker counts an update
//! reported as failed but present in the object as an anomaly).
//!
//! Tonic cannot tell "the connection broke before the request was written" from "after", so
//! those two cases are not distinguished; that is why only connect failures count as safe.
//!
//! # Layout
//! - [`options`]: list, watch, delete and log options; lists, scales, identities.
//! - `transport`: endpoint choice, failover and the bearer token.
//! - `raw`: one function per RPC, objects as JSON bytes.
//! - `typed`: the API generic over [`Resource`](skiff_api::types::Resource) kinds.
//! - [`history`]: an object's revisions from the store's history.
//! - `json`: the same API over `serde_json::Value`, for tools that handle any kind.
//! - [`watch`]: watch events and the decoding of watch and log streams.
//!
//! Its scenario tests against fake apiservers are in `skiff-runtime`'s `tests/client_scenarios`
//! (they share one fake server with the informer and leader election scenarios).

mod exec;
pub mod history;
mod json;
pub mod options;
mod raw;
mod transport;
mod typed;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

pub use options::{
    DeleteOptions, ListOptions, LogOptions, ObjectList, Propagation, Scale, UserInfo, WatchOptions,
};
pub use watch::{ByteStream, WatchEvent, WatchStream};

/// How to reach the apiservers.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `host:port` or `http://host:port`, one per apiserver; requests fail over between them.
    pub endpoints: Vec<String>,
    /// Sent as `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// How long one attempt of a request (or the opening of a stream) may take.
    pub timeout: Duration,
    pub user_agent: String,
    /// The cluster CA (PEM): the apiservers are reached over TLS and their certificates must
    /// be signed by it. `None`: plain HTTP/2.
    pub ca_pem: Option<Vec<u8>>,
}

// Written by hand so that the token never reaches a log.
impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoints", &self.endpoints)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("tls", &self.ca_pem.is_some())
            .finish()
    }
}

impl ClientConfig {
    /// A configuration with the default timeout (15 s) and user agent (`skiff`).
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> ClientConfig {
        ClientConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            token: None,
            timeout: Duration::from_secs(15),
            user_agent: "skiff".to_string(),
            ca_pem: None,
        }
    }

    /// Reach the apiservers over TLS, trusting only `ca_pem` (the cluster CA, PEM).
    pub fn with_ca_pem(mut self, ca_pem: Option<Vec<u8>>) -> ClientConfig {
        self.ca_pem = ca_pem;
        self
    }

    pub fn with_token(mut self, token: impl Into<String>) -> ClientConfig {
        self.token = Some(token.into());
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.timeout = timeout;
        self
    }

    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> ClientConfig {
        self.user_agent = user_agent.into();
        self
    }
}

/// A configuration the client cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("no apiserver endpoint given")]
    NoEndpoints,
    #[error("bad apiserver endpoint {endpoint:?}: {why}")]
    BadEndpoint { endpoint: String, why: String },
    #[error("bad token: {0}")]
    BadToken(String),
}

/// A handle on the apiservers; clone it freely.
///
/// Connections are made on first use, inside the Tokio runtime that sends the request.
#[derive(Clone)]
pub struct Client {
    transport: Arc<transport::Transport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.transport.endpoints().collect::<Vec<_>>())
            .field("current", &self.transport.current_endpoint())
            .finish()
    }
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ConfigError> {
        Ok(Client {
            transport: Arc::new(transport::Transport::new(&config)?),
        })
    }

    /// The apiserver the next request goes to first: the one that answered last.
    pub fn current_endpoint(&self) -> String {
        self.transport.current_endpoint().to_string()
    }
}

/// The namespace a request carries: cluster-scoped kinds have none.
fn scope(namespaced: bool, namespace: &str) -> &str {
    if namespaced {
        namespace
    } else {
        ""
    }
}
