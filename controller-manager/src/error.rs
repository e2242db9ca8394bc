//! Errors: fatal ones that stop the process, and the per-sync ones that re-queue a key.

use skiff_api::error::ApiError;

/// Why the controller-manager cannot start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Client(#[from] skiff_client::ConfigError),
    #[error(transparent)]
    Leader(#[from] skiff_runtime::leader::LeaderError),
    #[error("cannot listen on {addr} for metrics: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Why one sync of one key failed; the key is re-queued with back-off.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The apiserver refused or could not answer a request.
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: ApiError,
    },
    /// Some of several writes failed; the rest were done.
    #[error("{failed} of {total} {what} failed, first error: {first}")]
    Partial {
        what: &'static str,
        failed: usize,
        total: usize,
        first: ApiError,
    },
}

impl SyncError {
    pub fn api(action: impl Into<String>, source: ApiError) -> SyncError {
        SyncError::Api {
            action: action.into(),
            source,
        }
    }

    /// True for a lost compare-and-swap: an expected, quickly retried condition.
    pub fn is_conflict(&self) -> bool {
        match self {
            SyncError::Api { source, .. } => source.is_conflict(),
            SyncError::Partial { first, .. } => first.is_conflict(),
        }
    }
}

/// True when a failed write may nevertheless have been applied (the connection broke or the
/// request timed out after it was sent): a controller must then wait to observe the outcome
/// rather than assume nothing happened.
pub fn may_have_been_applied(error: &ApiError) -> bool {
    use skiff_api::error::Reason;
    match error.reason {
        Reason::Timeout => true,
        // The client's own "no apiserver answered" means no connection was ever made.
        Reason::ServiceUnavailable => !error.message.starts_with("no apiserver answered"),
        _ => false,
    }
}
