//! The store's error type and its one mapping to gRPC statuses.
//!
//! Messages match etcd's wording (`etcdserver: ...`, `mvcc: ...`) because
//! etcdctl prints them verbatim and client libraries match on them.

use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("mvcc: required revision has been compacted")]
    Compacted,
    #[error("mvcc: required revision is a future revision")]
    FutureRevision,
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    #[error("etcdserver: lease already exists")]
    LeaseExists,
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    #[error("etcdserver: key not found")]
    KeyNotFound,
    #[error("etcdserver: value is provided")]
    ValueProvided,
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    #[error("etcdserver: request is too large")]
    RequestTooLarge,
    #[error("etcdserver: no leader")]
    NoLeader,
    #[error("etcdserver: request timed out")]
    Timeout,
    #[error("etcdserver: leader changed")]
    LeaderChanged,
    #[error("etcdserver: server stopped")]
    Stopped,
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

impl From<StoreError> for Status {
    fn from(err: StoreError) -> Status {
        let code = match err {
            StoreError::Compacted | StoreError::FutureRevision => Code::OutOfRange,
            StoreError::LeaseNotFound => Code::NotFound,
            StoreError::LeaseExists => Code::FailedPrecondition,
            StoreError::LeaseTtlTooLarge => Code::OutOfRange,
            StoreError::KeyNotFound | StoreError::ValueProvided | StoreError::LeaseProvided => {
                Code::InvalidArgument
            }
            StoreError::EmptyKey
            | StoreError::DuplicateKey
            | StoreError::TooManyOps
            | StoreError::RequestTooLarge => Code::InvalidArgument,
            StoreError::NoLeader
            | StoreError::Timeout
            | StoreError::LeaderChanged
            | StoreError::Stopped => Code::Unavailable,
            StoreError::Storage(_) | StoreError::Corrupt(_) => Code::Internal,
        };
        Status::new(code, err.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
