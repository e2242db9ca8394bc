//! The store client: the etcd v3 API over several members, with per-request timeouts and failover to the next member.
//!
//! Every request goes to the member that answered last; when that member is unreachable, times
//! out or has no leader, the same request is tried on the next member (round after round,
//! within the request timeout), so the apiserver keeps working while any majority of the
//! store is up. A write retried on another member may have
//! been applied by the first one: callers get `retried = true` and resolve that themselves
//! (the registry compares what is stored with what it wrote). It is never applied after the
//! retry: each write attempt carries a fence ([`WriteFence`]) past which skiff-store will not
//! take it into its log, and the retry waits for that fence.
//!
//! This module is the apiserver's only door to the store: every etcd request is built here,
//! behind a small typed interface, and the rest of the apiserver sees keys, values and
//! revisions.
//!
//! # Layout
//! - this file: the [`Store`] with its members and the failover loop;
//! - `kv`: get, list, create-if-absent, update-if-revision, delete-if, leases, ping;
//! - `watch`: one store watch over a key prefix ([`StoreWatch`]);
//! - `history`: one key's revisions from the MVCC history, put, compaction.

mod history;
mod kv;
mod watch;

pub use history::{KeyHistory, KeyRevision};
pub use kv::{prefix_end, Cas, Event, EventType, KeyValue};
pub use watch::{StoreWatch, WatchItem, WatchMember};

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skiff_api::error::ApiError;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::Code;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No member answered within the timeout on any attempt.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A member answered with an error that is an answer, not a failure of the member.
    #[error("the store refused the request: {0}")]
    Rejected(String, Code),
    #[error("the store URL {0:?} is not valid: {1}")]
    BadEndpoint(String, String),
    /// The store answered a lease grant with an error in the response.
    #[error("the store refused a lease: {0}")]
    LeaseRefused(String),
}

impl StoreError {
    /// The request named a lease the store no longer has (expired or revoked).
    pub fn is_lease_not_found(&self) -> bool {
        matches!(self, StoreError::Rejected(m, _) if m.contains("lease not found"))
    }

    /// The request named a revision the store has compacted away.
    pub fn is_compacted(&self) -> bool {
        matches!(self, StoreError::Rejected(m, _) if m.contains("revision has been compacted"))
    }

    /// The request named a revision the store has not reached.
    pub fn is_future_revision(&self) -> bool {
        matches!(self, StoreError::Rejected(m, _) if m.contains("future revision"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::Unavailable(_) => ApiError::unavailable(e.to_string()),
            StoreError::Rejected(m, _) if m.contains("too large") => {
                ApiError::too_large(e.to_string())
            }
            _ => ApiError::internal(e),
        }
    }
}

struct Member {
    url: String,
    channel: Channel,
}

/// A client of every store member.
pub struct Store {
    members: Vec<Member>,
    /// The member that answered last; requests start there.
    preferred: AtomicUsize,
    timeout: Duration,
    healthy: AtomicBool,
}

impl Store {
    /// Connections are lazy: nothing is dialled until the first request.
    pub fn new(urls: &[String], timeout: Duration) -> Result<Store, StoreError> {
        Store::with_tls(urls, timeout, None)
    }

    /// [`Store::new`], over `tls` for `https://` members (the store's CA and the apiserver's
    /// client certificate).
    pub fn with_tls(
        urls: &[String],
        timeout: Duration,
        tls: Option<&ClientTlsConfig>,
    ) -> Result<Store, StoreError> {
        let mut members = Vec::new();
        for url in urls.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
            let bad = |e: String| StoreError::BadEndpoint(url.to_string(), e);
            let mut endpoint =
                Endpoint::from_shared(url.to_string()).map_err(|e| bad(e.to_string()))?;
            if url.starts_with("https://") {
                let tls = tls.ok_or_else(|| {
                    bad("an https:// store member needs --etcd-cafile (and --etcd-certfile, --etcd-keyfile for client-certificate authentication)".to_string())
                })?;
                endpoint = endpoint
                    .tls_config(tls.clone())
                    .map_err(|e| bad(e.to_string()))?;
            }
            let endpoint = endpoint
                .connect_timeout(Duration::from_secs(1))
                .tcp_nodelay(true)
                // Finds a member that vanished without closing its connections.
                .http2_keep_alive_interval(Duration::from_secs(3))
                .keep_alive_timeout(Duration::from_secs(3))
                .keep_alive_while_idle(true);
            members.push(Member {
                url: url.to_string(),
                channel: endpoint.connect_lazy(),
            });
        }
        if members.is_empty() {
            return Err(StoreError::BadEndpoint(
                String::new(),
                "no store endpoints".to_string(),
            ));
        }
        Ok(Store {
            members,
            preferred: AtomicUsize::new(0),
            timeout,
            healthy: AtomicBool::new(false),
        })
    }

    /// True when the last request reached a member.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Runs the read `f` on the member that answered last, then on the others in turn, round
    /// after round with a growing pause (a store electing a leader refuses everything for a
    /// moment), until the request timeout is used up. One attempt gets a third of it, so a
    /// member that hangs cannot use it all.
    async fn call<T, F, Fut>(&self, f: F) -> Result<(T, bool), StoreError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.attempts(false, |ch, _| f(ch)).await
    }

    /// [`Store::call`] for a write: `f` sends each attempt with its write fence (see
    /// [`WriteFence`]), and an attempt that failed without proof it never left is followed by
    /// the next only once its fence has passed, so it cannot be applied after the retry.
    async fn call_write<T, F, Fut>(&self, f: F) -> Result<(T, bool), StoreError>
    where
        F: Fn(Channel, Option<u64>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.attempts(true, f).await
    }

    async fn attempts<T, F, Fut>(&self, write: bool, f: F) -> Result<(T, bool), StoreError>
    where
        F: Fn(Channel, Option<u64>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let n = self.members.len();
        let deadline = Instant::now() + self.timeout;
        let attempt_timeout = (self.timeout / 3).max(Duration::from_millis(500));
        let mut last_error = String::new();
        let mut retried = false;
        let mut pause = Duration::from_millis(50);
        loop {
            let start = self.preferred.load(Ordering::Relaxed);
            for k in 0..n {
                let i = (start + k) % n;
                let member = &self.members[i];
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    self.healthy.store(false, Ordering::Relaxed);
                    return Err(StoreError::Unavailable(last_error));
                }
                let budget = attempt_timeout.min(remaining);
                let fence = write.then(|| WriteFence::within(budget));
                let sent = f(member.channel.clone(), fence.as_ref().map(|f| f.unix_ms));
                match tokio::time::timeout(budget, sent).await {
                    Ok(Ok(resp)) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        self.healthy.store(true, Ordering::Relaxed);
                        return Ok((resp.into_inner(), retried));
                    }
                    Ok(Err(status)) if member_failure(&status) => {
                        tracing::debug!(member = %member.url, error = %status.message(), "store member failed; trying the next");
                        last_error = format!("{}: {}", member.url, status.message());
                        if let Some(fence) = fence.filter(|_| !never_sent(&status)) {
                            tokio::time::sleep_until(fence.passed_at.min(deadline).into()).await;
                        }
                    }
                    Ok(Err(status)) => {
                        self.healthy.store(true, Ordering::Relaxed);
                        return Err(StoreError::Rejected(
                            status.message().to_string(),
                            status.code(),
                        ));
                    }
                    // The whole budget is spent: any fence of this attempt has passed.
                    Err(_) => {
                        tracing::debug!(member = %member.url, "store request timed out; trying the next member");
                        last_error =
                            format!("{}: no answer within {:?}", member.url, attempt_timeout);
                    }
                }
                retried = true;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(pause.min(remaining)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// The instant after which skiff-store refuses to put a write attempt into its raft log
/// (sent as [`skiff_proto::WRITE_FENCE_HEADER`]; etcd ignores it). Without it, a member that
/// holds an attempt while stopped would apply it when it resumes, after the retry on another
/// member and after whatever the caller wrote next: a create answered through the retry
/// would bring the object back after its delete.
///
/// The fence is half the attempt's budget, at most a second, after sending: a healthy
/// member proposes within milliseconds, and the rest of the budget is the margin for the
/// store's clock running behind this one's.
#[derive(Clone, Copy)]
struct WriteFence {
    unix_ms: u64,
    passed_at: Instant,
}

impl WriteFence {
    fn within(budget: Duration) -> WriteFence {
        let after = (budget / 2).min(Duration::from_secs(1));
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            + after;
        WriteFence {
            unix_ms: unix.as_millis() as u64,
            passed_at: Instant::now() + after,
        }
    }
}

/// The attempt failed before the request left: the member refused the connection.
fn never_sent(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// Asks etcd to refuse the request at once when the member has no leader (instead of
/// waiting for one), so the next member is tried; other stores ignore the header.
fn with_leader<T>(msg: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert(
        "hasleader",
        tonic::metadata::MetadataValue::from_static("true"),
    );
    req
}

/// [`with_leader`] for a write, carrying its fence.
fn with_fence<T>(msg: T, fence: Option<u64>) -> tonic::Request<T> {
    let mut req = with_leader(msg);
    if let Some(ms) = fence {
        req.metadata_mut().insert(
            skiff_proto::WRITE_FENCE_HEADER,
            tonic::metadata::MetadataValue::from(ms),
        );
    }
    req
}

/// Errors that say "this member cannot serve now" rather than "this request is wrong":
/// connection failures, no leader, leader changes, timeouts inside the member.
fn member_failure(status: &tonic::Status) -> bool {
    match status.code() {
        Code::Unavailable
        | Code::Cancelled
        | Code::Unknown
        | Code::DeadlineExceeded
        | Code::Aborted => true,
        Code::Internal => status.message().contains("transport") || status.message().contains("h2"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_proto::etcdserverpb::kv_client::KvClient;
    use skiff_proto::etcdserverpb::RangeRequest;

    #[tokio::test]
    async fn only_a_refused_connection_proves_a_write_never_left() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect_lazy();
        let status = KvClient::new(channel)
            .range(RangeRequest::default())
            .await
            .unwrap_err();
        assert!(never_sent(&status), "{status:?}");
        assert!(!never_sent(&tonic::Status::unavailable(
            "etcdserver: leader changed"
        )));
    }
}
