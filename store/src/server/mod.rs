//! The gRPC services of a member: the etcd v3 client API and the raft peer
//! transport. Each service holds an `Arc<Member>`, the member's shared context.
//!
//! # Layout
//! - `kv`, `watch`, `lease`, `cluster`, `maintenance`: the etcd v3 services.
//! - `corruption`, `compactor`: the leader's periodic corruption check and
//!   auto-compaction.
//! - `quota`: --quota-backend-bytes and the NOSPACE alarm.
//! - `membership`: member changes, checked by the leader against etcd's rules.
//! - `peer`: raft messages and lease calls forwarded from other members.
//! - `authority`: client connections read so a URL-form `:authority` (etcdctl's) is accepted.
//! - `forward`: this member's clients to the other members' peer service.

mod authority;
mod cluster;
pub mod compactor;
pub mod corruption;
mod defrag;
mod forward;
mod kv;
mod lease;
mod maintenance;
pub mod membership;
mod peer;
pub mod quota;
mod watch;

use std::sync::Arc;

use skiff_proto::etcdserverpb::ResponseHeader;

use crate::error::StoreError;
use crate::lessor::Lessor;
use crate::mvcc::StateMachine;
use crate::raft::NodeHandle;

pub use authority::AuthorityFix;
pub use cluster::ClusterService;
pub use forward::Forwarder;
pub use kv::KvService;
pub use lease::LeaseService;
pub use maintenance::MaintenanceService;
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
    pub node: NodeHandle,
    pub state: Arc<StateMachine>,
    pub lessor: Arc<Lessor>,
    pub forward: Forwarder,
    pub db: sled::Db,
    pub max_request_bytes: usize,
    /// Member changes run one at a time on the leader.
    pub membership: tokio::sync::Mutex<()>,
    /// --quota-backend-bytes.
    pub quota_bytes: u64,
    pub usage: quota::Usage,
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
