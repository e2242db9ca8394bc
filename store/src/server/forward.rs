//! Calls to another member's peer service, for work only the leader can do (lease
//! keep-alives and remaining TTLs: the leader alone keeps lease time; member changes:
//! the leader alone knows who is caught up) and for other members' hashes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use skiff_proto::etcdserverpb::{
    HashKvRequest, HashKvResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use skiff_proto::skiffstore::{MemberChangeRequest, MemberChangeResponse};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::Status;

use crate::error::StoreError;
use crate::mvcc::StateMachine;

const FORWARD_TIMEOUT: Duration = Duration::from_secs(3);
/// A member change waits for its conf change to commit and apply.
const MEMBER_CHANGE_TIMEOUT: Duration = Duration::from_secs(15);

/// Lazily-connected clients for the other members, by id, following the membership.
pub struct Forwarder {
    state: Arc<StateMachine>,
    /// TLS towards https:// peer URLs (the peer CA and this member's peer certificate).
    tls: Option<ClientTlsConfig>,
    clients: Mutex<HashMap<u64, (String, RaftPeerClient<Channel>)>>,
}

impl Forwarder {
    pub fn new(state: Arc<StateMachine>, tls: Option<ClientTlsConfig>) -> Forwarder {
        Forwarder {
            state,
            tls,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, member: u64) -> Result<RaftPeerClient<Channel>, Status> {
        let url = self
            .state
            .cluster()
            .members
            .iter()
            .find(|m| m.id == member)
            .and_then(|m| m.peer_urls.first().cloned())
            .ok_or_else(|| Status::from(StoreError::NoLeader))?;
        let mut clients = self.clients.lock();
        if let Some((known, client)) = clients.get(&member) {
            if *known == url {
                return Ok(client.clone());
            }
        }
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| Status::internal(format!("peer URL {url}: {e}")))?;
        let channel = skiff_common::tls::with_tls(endpoint, self.tls.as_ref())
            .map_err(|e| Status::internal(format!("peer URL {url}: {e}")))?
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .connect_lazy();
        let client = RaftPeerClient::new(channel);
        clients.insert(member, (url, client.clone()));
        Ok(client)
    }

    pub async fn keep_alive(&self, leader: u64, id: i64) -> Result<LeaseKeepAliveResponse, Status> {
        let mut client = self.client(leader)?;
        let mut req = tonic::Request::new(LeaseKeepAliveRequest { id });
        req.set_timeout(FORWARD_TIMEOUT);
        Ok(client.lease_keep_alive(req).await?.into_inner())
    }

    pub async fn time_to_live(
        &self,
        leader: u64,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Status> {
        let mut client = self.client(leader)?;
        let mut req = tonic::Request::new(req);
        req.set_timeout(FORWARD_TIMEOUT);
        Ok(client.lease_time_to_live(req).await?.into_inner())
    }

    pub async fn member_change(
        &self,
        leader: u64,
        req: MemberChangeRequest,
    ) -> Result<MemberChangeResponse, Status> {
        let mut client = self.client(leader)?;
        let mut req = tonic::Request::new(req);
        req.set_timeout(MEMBER_CHANGE_TIMEOUT);
        Ok(client.member_change(req).await?.into_inner())
    }

    pub async fn hash_kv(&self, member: u64, revision: i64) -> Result<HashKvResponse, Status> {
        let mut client = self.client(member)?;
        let mut req = tonic::Request::new(HashKvRequest { revision });
        req.set_timeout(FORWARD_TIMEOUT);
        Ok(client.hash_kv(req).await?.into_inner())
    }
}
