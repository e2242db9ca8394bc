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
    /// The client's write fence passed before the write could enter the log.
    #[error("skiff-store: the write's fence passed before it was proposed")]
    FencePassed,
    #[error("etcdserver: server stopped")]
    Stopped,
    #[error("etcdserver: mvcc: database space exceeded")]
    NoSpace,
    #[error("etcdserver: corrupt cluster")]
    CorruptCluster,
    #[error("etcdserver: member not found")]
    MemberNotFound,
    #[error("etcdserver: Peer URLs already exists")]
    PeerUrlExists,
    #[error("etcdserver: invalid peer URL {0:?}: not http(s)://host:port")]
    BadPeerUrl(String),
    #[error("etcdserver: can only promote a learner member")]
    NotLearner,
    #[error("etcdserver: can only promote a learner member which is in sync with leader")]
    LearnerNotReady,
    #[error("etcdserver: too many learner members in cluster")]
    TooManyLearners,
    #[error("etcdserver: unhealthy cluster")]
    Unhealthy,
    #[error("etcdserver: not leader")]
    NotLeader,
    #[error("etcdserver: bad leader transferee")]
    BadTransferee,
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
            StoreError::FencePassed => Code::DeadlineExceeded,
            StoreError::NoSpace => Code::ResourceExhausted,
            StoreError::CorruptCluster => Code::DataLoss,
            StoreError::MemberNotFound => Code::NotFound,
            StoreError::BadPeerUrl(_) => Code::InvalidArgument,
            StoreError::PeerUrlExists
            | StoreError::NotLearner
            | StoreError::LearnerNotReady
            | StoreError::TooManyLearners
            | StoreError::BadTransferee => Code::FailedPrecondition,
            StoreError::Unhealthy | StoreError::NotLeader => Code::Unavailable,
            StoreError::Storage(_) | StoreError::Corrupt(_) => Code::Internal,
        };
        Status::new(code, err.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
