//! The gRPC services of a member: the etcd v3 client API and the raft peer
//! transport. Each service holds an `Arc<Member>`, the member's shared context.
//!
//! # Layout
//! - `kv`, `watch`, `lease`, `cluster`: the etcd v3 services.
//! - `peer`: raft messages and lease calls forwarded from other members.
//! - `forward`: this member's clients to the other members' peer service.

mod cluster;
mod forward;
mod kv;
mod lease;
mod peer;
mod watch;

use std::sync::Arc;

use skiff_proto::etcdserverpb::ResponseHeader;

use crate::config::Peer;
use crate::error::StoreError;
use crate::lessor::Lessor;
use crate::mvcc::StateMachine;
use crate::raft::NodeHandle;

pub use cluster::{ClusterService, MaintenanceService};
pub use forward::Forwarder;
pub use kv::KvService;
pub use lease::LeaseService;
pub use peer::PeerService;
pub use watch::{progress_interval as watch_progress_interval, WatchService};

/// The version reported by Maintenance.Status: the etcd API level skiff-store
/// implements, so clients' version checks behave as with etcd 3.4.
pub const API_VERSION: &str = "3.4.0";

/// Everything a request handler may need about this member.
pub struct Member {
    pub id: u64,
    pub cluster_id: u64,
    pub name: String,
    pub peers: Vec<Peer>,
    pub node: NodeHandle,
    pub state: Arc<StateMachine>,
    pub lessor: Arc<Lessor>,
    pub forward: Forwarder,
    pub db: sled::Db,
    pub max_request_bytes: usize,
    /// `--unsafe-test-local-reads`: skip ReadIndex for linearizable reads (tests only).
    pub unsafe_local_reads: bool,
}

impl Member {
    pub fn header(&self, revision: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id: self.cluster_id,
            member_id: self.id,
            revision,
            raft_term: self.node.status().term(),
        })
    }

    /// Fills in the member's part of a header the state machine started.
    pub fn stamp(&self, header: &mut Option<ResponseHeader>) {
        let revision = header
            .as_ref()
            .map_or_else(|| self.state.revision(), |h| h.revision);
        *header = self.header(revision);
    }

    /// etcd refuses requests larger than --max-request-bytes before proposing them.
    pub fn check_size(&self, request: &impl prost::Message) -> Result<(), StoreError> {
        if request.encoded_len() > self.max_request_bytes {
            return Err(StoreError::RequestTooLarge);
        }
        Ok(())
    }
}
