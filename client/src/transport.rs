//! Endpoint selection and failover: which apiserver a request goes to, and when a failed request may be sent again.
//!
//! The rules for repeating a request are in the [`client`](super) module doc.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use skiff_proto::skiffapi::api_client::ApiClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::Code;
use tracing::{debug, info, warn};

use super::ConfigError;
use skiff_api::error::ApiError;

/// Largest reply accepted: a list of thousands of pods is tens of MiB.
const MAX_REPLY_BYTES: usize = 256 * 1024 * 1024;

/// Whether a request that failed ambiguously may be sent again (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    Always,
    Guarded,
    BeforeSend,
}

/// One apiserver: its address and the channel to it, made on first use so that a client can
/// be built outside a Tokio runtime.
struct Target {
    address: String,
    endpoint: Endpoint,
    channel: OnceLock<Channel>,
}

impl Target {
    fn channel(&self) -> Channel {
        self.channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone()
    }
}

pub(crate) struct Transport {
    targets: Vec<Target>,
    /// The endpoint that answered last; requests start there.
    current: AtomicUsize,
    authorization: Option<MetadataValue<Ascii>>,
    timeout: Duration,
}

/// `host:port`, `http://host:port` or `https://host:port`: a bare address gets `https://`
/// when the client has the cluster CA (`tls`), else `http://`. With the CA, plain `http://` is
/// refused (the token would cross in clear); without it, `https://` is refused (nothing to
/// check the apiserver's certificate against).
fn normalize(address: &str, tls: bool) -> Result<String, ConfigError> {
    let address = address.trim().trim_end_matches('/');
    let bad = |why: &str| ConfigError::BadEndpoint {
        endpoint: address.to_string(),
        why: why.to_string(),
    };
    if address.is_empty() {
        return Err(bad("empty address"));
    }
    match (address.split_once("://"), tls) {
        (None, true) => Ok(format!("https://{address}")),
        (None, false) => Ok(format!("http://{address}")),
        (Some(("https", _)), true) | (Some(("http", _)), false) => Ok(address.to_string()),
        (Some(("https", _)), false) => Err(bad(
            "https:// needs the cluster CA to check the apiserver's certificate (--certificate-authority)",
        )),
        (Some(("http", _)), true) => Err(bad(
            "plain http:// while a cluster CA is configured; use host:port or https://",
        )),
        _ => Err(bad("only http:// and https:// are supported")),
    }
}

impl Transport {
    pub(crate) fn new(config: &super::ClientConfig) -> Result<Transport, ConfigError> {
        if config.endpoints.is_empty() {
            return Err(ConfigError::NoEndpoints);
        }
        let connect_timeout = config.timeout.min(Duration::from_secs(5));
        let tls = config
            .ca_pem
            .as_ref()
            .map(|pem| ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)));
        let mut targets = Vec::with_capacity(config.endpoints.len());
        for raw in &config.endpoints {
            let address = normalize(raw, tls.is_some())?;
            let bad = |e: tonic::transport::Error| ConfigError::BadEndpoint {
                endpoint: raw.clone(),
                why: e.to_string(),
            };
            let mut endpoint = Endpoint::from_shared(address.clone()).map_err(bad)?;
            if let Some(tls) = &tls {
                endpoint = endpoint.tls_config(tls.clone()).map_err(bad)?;
            }
            let endpoint = endpoint
                .user_agent(config.user_agent.clone())
                .map_err(bad)?
                .connect_timeout(connect_timeout)
                .tcp_nodelay(true)
                // Keep-alive pings notice a dead apiserver under an idle watch stream.
                .http2_keep_alive_interval(Duration::from_secs(10))
                .keep_alive_timeout(Duration::from_secs(5))
                .keep_alive_while_idle(true);
            targets.push(Target {
                address,
                endpoint,
                channel: OnceLock::new(),
            });
        }
        let authorization = match &config.token {
            None => None,
            Some(token) => Some(MetadataValue::try_from(format!("Bearer {token}")).map_err(
                |_| ConfigError::BadToken("it may hold only visible ASCII characters".to_string()),
            )?),
        };
        Ok(Transport {
            targets,
            current: AtomicUsize::new(0),
            authorization,
            timeout: config.timeout,
        })
    }

    /// The address of the apiserver requests go to first.
    pub(crate) fn current_endpoint(&self) -> &str {
        let index = self.current.load(Ordering::Relaxed) % self.targets.len();
        &self.targets[index].address
    }

    pub(crate) fn endpoints(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(|t| t.address.as_str())
    }

    /// A client of the endpoint in use, for calls that cannot be retried elsewhere (a
    /// stream of input, such as exec's stdin).
    pub(crate) fn current_client(&self) -> ApiClient<Channel> {
        let count = self.targets.len().max(1);
        let index = self.current.load(Ordering::Relaxed) % count;
        ApiClient::new(self.targets[index].channel()).max_decoding_message_size(MAX_REPLY_BYTES)
    }

    pub(crate) fn request<M>(&self, message: M) -> tonic::Request<M> {
        let mut request = tonic::Request::new(message);
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
    }

    /// Sends `message` with `call`, starting at the endpoint that answered last and moving on
    /// to the next one when the failure allows it (see the module doc). For a streaming call
    /// the timeout covers only the opening of the stream.
    pub(crate) async fn call<M, R, F, Fut>(
        &self,
        op: &'static str,
        retry: Retry,
        message: M,
        call: F,
    ) -> Result<R, ApiError>
    where
        M: Clone,
        F: Fn(ApiClient<Channel>, tonic::Request<M>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    {
        let count = self.targets.len();
        let start = self.current.load(Ordering::Relaxed) % count;
        let mut last_error = None;
        // An earlier attempt may have been applied (it failed after the request was sent).
        let mut maybe_applied = false;
        for attempt in 0..count {
            let index = (start + attempt) % count;
            let target = &self.targets[index];
            let client =
                ApiClient::new(target.channel()).max_decoding_message_size(MAX_REPLY_BYTES);
            let outcome =
                tokio::time::timeout(self.timeout, call(client, self.request(message.clone())))
                    .await;
            let sent = !matches!(&outcome, Ok(Err(status)) if is_connect_error(status));
            let failure = match outcome {
                Ok(Ok(reply)) => {
                    if index != start {
                        info!(endpoint = %target.address, op, "apiserver endpoint switched after a failure");
                        self.current.store(index, Ordering::Relaxed);
                    }
                    return Ok(reply.into_inner());
                }
                Ok(Err(status)) => Failure::classify(&status, retry),
                Err(_) => Failure::timeout(self.timeout, retry),
            };
            match failure {
                Failure::Final(error) => {
                    debug!(endpoint = %target.address, op, reason = %error.reason, "request failed: {error}");
                    return Err(settle(error, maybe_applied, retry));
                }
                Failure::TryNext(error) => {
                    maybe_applied |= sent;
                    warn!(endpoint = %target.address, op, "apiserver unreachable, trying the next endpoint: {error}");
                    last_error = Some(error);
                }
            }
        }
        let tried: Vec<&str> = self.endpoints().collect();
        let why = last_error.map(|e| e.message).unwrap_or_default();
        Err(ApiError::unavailable(format!(
            "no apiserver answered {op} (tried {}): {why}",
            tried.join(", ")
        )))
    }
}

/// What a failed attempt means for the request.
enum Failure {
    /// Give this error to the caller.
    Final(ApiError),
    /// Send the request to the next endpoint.
    TryNext(ApiError),
}

impl Failure {
    fn classify(status: &tonic::Status, retry: Retry) -> Failure {
        let error = ApiError::from_status(status);
        if is_connect_error(status) {
            return Failure::TryNext(error);
        }
        // No Kubernetes Status in the details: the failure came from the transport, not from
        // an apiserver's decision.
        let from_transport = status.details().is_empty()
            && matches!(
                status.code(),
                Code::Unavailable | Code::Cancelled | Code::Unknown | Code::Internal
            );
        let unavailable = from_transport || status.code() == Code::Unavailable;
        if !unavailable {
            return Failure::Final(error);
        }
        match retry {
            Retry::Always | Retry::Guarded => Failure::TryNext(error),
            Retry::BeforeSend => Failure::Final(ApiError::unavailable(format!(
                "{}; the request may or may not have been applied",
                error.message
            ))),
        }
    }

    fn timeout(after: Duration, retry: Retry) -> Failure {
        let error = ApiError::timeout(format!("no reply from the apiserver within {after:?}"));
        match retry {
            Retry::Always | Retry::Guarded => Failure::TryNext(error),
            Retry::BeforeSend => Failure::Final(ApiError::timeout(format!(
                "{}; the request may or may not have been applied",
                error.message
            ))),
        }
    }
}

/// The answer to a guarded write that was sent again after an earlier attempt failed
/// ambiguously. A Conflict then may be the earlier attempt's own change (it was applied, and
/// moved the resourceVersion the precondition names), so it is not reported as "not
/// applied": the caller gets a timeout saying the outcome is unknown and reads the object to
/// find out, as after any ambiguous failure.
fn settle(error: ApiError, maybe_applied: bool, retry: Retry) -> ApiError {
    if maybe_applied && retry == Retry::Guarded && error.is_conflict() {
        return ApiError::timeout(format!(
            "an earlier attempt timed out or lost its connection and may have been applied, \
             so this Conflict may be its own change: the request may or may not have been \
             applied ({})",
            error.message
        ));
    }
    error
}

/// True when the request failed while connecting, so it was never sent.
fn is_connect_error(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        source = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalized() {
        assert_eq!(
            normalize("127.0.0.1:6443", true).unwrap(),
            "https://127.0.0.1:6443"
        );
        assert!(normalize("http://h:1", true).is_err());
        assert_eq!(normalize("https://h:1", true).unwrap(), "https://h:1");
        assert_eq!(
            normalize("127.0.0.1:6443", false).unwrap(),
            "http://127.0.0.1:6443"
        );
        assert_eq!(normalize(" http://h:1/ ", false).unwrap(), "http://h:1");
        assert!(normalize("https://h:1", false).is_err());
        assert!(normalize("unix:///x", false).is_err());
        assert!(normalize("", false).is_err());
    }

    #[test]
    fn ambiguous_failures_of_unsafe_writes_are_final() {
        let dead = tonic::Status::unavailable("connection reset");
        assert!(matches!(
            Failure::classify(&dead, Retry::Always),
            Failure::TryNext(_)
        ));
        assert!(matches!(
            Failure::classify(&dead, Retry::Guarded),
            Failure::TryNext(_)
        ));
        match Failure::classify(&dead, Retry::BeforeSend) {
            Failure::Final(e) => assert!(e.message.contains("may or may not have been applied")),
            Failure::TryNext(_) => {
                panic!("an unsafe write was repeated after an ambiguous failure")
            }
        }
    }

    /// Regression: a guarded update retried on the next apiserver after the first attempt
    /// timed out was reported as Conflict when the first attempt had been applied (the
    /// Conflict was its own change), so a caller treated an applied update as failed.
    #[test]
    fn a_conflict_after_an_ambiguous_attempt_is_not_reported_as_not_applied() {
        let conflict = ApiError::conflict_modified("leases", "l");
        let settled = settle(conflict.clone(), true, Retry::Guarded);
        assert!(!settled.is_conflict(), "{settled:?}");
        assert!(settled.message.contains("may or may not have been applied"));
        // Without an ambiguous attempt before, a Conflict is a Conflict.
        assert!(settle(conflict.clone(), false, Retry::Guarded).is_conflict());
        // Reads and unguarded requests are unaffected.
        assert!(settle(conflict, true, Retry::Always).is_conflict());
    }

    #[test]
    fn api_errors_are_final() {
        let conflict = ApiError::conflict_modified("pods", "p").to_status();
        assert!(
            matches!(Failure::classify(&conflict, Retry::Always), Failure::Final(e) if e.is_conflict())
        );
        let invalid = tonic::Status::invalid_argument("bad");
        assert!(matches!(
            Failure::classify(&invalid, Retry::Always),
            Failure::Final(_)
        ));
    }
}
