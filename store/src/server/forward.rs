//! Calls to another member's peer service, for work only the leader can do
//! (lease keep-alives and remaining TTLs: the leader alone keeps lease time).

use std::collections::HashMap;
use std::time::Duration;

use skiff_proto::etcdserverpb::{
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::Status;

use crate::config::Peer;
use crate::error::StoreError;

const FORWARD_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Forwarder {
    clients: HashMap<u64, RaftPeerClient<Channel>>,
}

impl Forwarder {
    /// Lazily-connected clients for every other member.
    pub fn new(
        me: u64,
        peers: &[Peer],
        tls: Option<&ClientTlsConfig>,
    ) -> Result<Forwarder, tonic::transport::Error> {
        let mut clients = HashMap::new();
        for peer in peers.iter().filter(|p| p.id != me) {
            let endpoint = Endpoint::from_shared(peer.url.clone())?;
            let channel = skiff_common::tls::with_tls(endpoint, tls)?
                .connect_timeout(Duration::from_millis(500))
                .timeout(FORWARD_TIMEOUT)
                .tcp_nodelay(true)
                .connect_lazy();
            clients.insert(peer.id, RaftPeerClient::new(channel));
        }
        Ok(Forwarder { clients })
    }

    fn client(&self, leader: u64) -> Result<RaftPeerClient<Channel>, Status> {
        self.clients
            .get(&leader)
            .cloned()
            .ok_or_else(|| StoreError::NoLeader.into())
    }

    pub async fn keep_alive(&self, leader: u64, id: i64) -> Result<LeaseKeepAliveResponse, Status> {
        let mut client = self.client(leader)?;
        Ok(client
            .lease_keep_alive(LeaseKeepAliveRequest { id })
            .await?
            .into_inner())
    }

    pub async fn time_to_live(
        &self,
        leader: u64,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Status> {
        let mut client = self.client(leader)?;
        Ok(client.lease_time_to_live(req).await?.into_inner())
    }
}
