//! skiff's wire formats, generated from the .proto files in `proto/`.
//!
//! # Layout
//! - [`mvccpb`] and [`etcdserverpb`]: the etcd v3 API with etcd's package, message
//!   names and field numbers, so etcd clients work against skiff-store.
//! - [`skiffstore`]: the raft peer transport and the records skiff-store keeps in
//!   its raft log and snapshots.
//! - [`skiffapi`]: the skiff API (generic over kinds, objects as JSON) and the
//!   nodelet log service.

#![allow(clippy::all)]

/// gRPC request header of a write to skiff-store: the instant (Unix milliseconds) after which
/// the write must not enter the raft log, so a client may retry it on another member once
/// the instant has passed without the first attempt being applied late. etcd ignores it.
pub const WRITE_FENCE_HEADER: &str = "skiff-write-fence";

pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}

pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}

pub mod skiffstore {
    tonic::include_proto!("skiffstore");
}

pub mod skiffapi {
    tonic::include_proto!("skiffapi");
}
