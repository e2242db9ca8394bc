//! The store client: the etcd v3 API over several members, with per-request timeouts and failover to the next member.
//!
//! Every request goes to the member that answered last; when that member is unreachable, times
//! out or has no leader, the same request is tried on the next member (round after round,
//! within the request timeout), so the apiserver keeps working while any majority of the
//! store is up. A write retried on another member may have
//! been applied by the first one: callers get `retried = true` and resolve that themselves
//! (the registry compares what is stored with what it wrote).
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

    /// Runs `f` on the member that answered last, then on the others in turn, round after
    /// round with a growing pause (a store electing a leader refuses everything for a moment),
    /// until the request timeout is used up. One attempt gets a third of it, so a member that
    /// hangs cannot use it all.
    async fn call<T, F, Fut>(&self, f: F) -> Result<(T, bool), StoreError>
    where
        F: Fn(Channel) -> Fut,
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
                match tokio::time::timeout(
                    attempt_timeout.min(remaining),
                    f(member.channel.clone()),
                )
                .await
                {
                    Ok(Ok(resp)) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        self.healthy.store(true, Ordering::Relaxed);
                        return Ok((resp.into_inner(), retried));
                    }
                    Ok(Err(status)) if member_failure(&status) => {
                        tracing::debug!(member = %member.url, error = %status.message(), "store member failed; trying the next");
                        last_error = format!("{}: {}", member.url, status.message());
                    }
                    Ok(Err(status)) => {
                        self.healthy.store(true, Ordering::Relaxed);
                        return Err(StoreError::Rejected(
                            status.message().to_string(),
                            status.code(),
                        ));
                    }
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
