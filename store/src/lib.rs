//! skiff-store: an etcd-compatible key-value store replicated with Raft.
//!
//! # Layout
//! - [`mvcc`]: the state machine: revisions, key index, history, txn, leases.
//! - [`watch`]: the watch hub that streams applied events to watchers.
//! - [`error`]: the store's error type and its mapping to gRPC statuses.

pub mod error;
pub mod mvcc;
pub mod watch;
