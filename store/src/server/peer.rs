//! The raft peer service: raft messages from the other members, and lease
//! calls they forward to this member while it leads.

use std::sync::Arc;

use protobuf::Message as PbMessage;
use raft::eraftpb::Message;
use skiff_proto::etcdserverpb::{
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use skiff_proto::skiffstore::raft_peer_server::RaftPeer;
use skiff_proto::skiffstore::{RaftEnvelope, SendAck};
use tonic::{Request, Response, Status, Streaming};

use super::{lease, Member};
use crate::raft::Command;

pub struct PeerService {
    member: Arc<Member>,
}

impl PeerService {
    pub fn new(member: Arc<Member>) -> PeerService {
        PeerService { member }
    }
}

#[tonic::async_trait]
impl RaftPeer for PeerService {
    async fn send(
        &self,
        request: Request<Streaming<RaftEnvelope>>,
    ) -> Result<Response<SendAck>, Status> {
        let mut inbound = request.into_inner();
        while let Some(envelope) = inbound.message().await? {
            if envelope.cluster_id != self.member.cluster_id {
                tracing::warn!(
                    from = envelope.from,
                    cluster = envelope.cluster_id,
                    "raft message from another cluster refused"
                );
                return Err(Status::permission_denied(format!(
                    "cluster id mismatch: this member belongs to cluster {:x}",
                    self.member.cluster_id
                )));
            }
            let mut batch = Vec::with_capacity(envelope.messages.len());
            for bytes in &envelope.messages {
                match Message::parse_from_bytes(bytes) {
                    Ok(msg) => batch.push(msg),
                    Err(err) => {
                        tracing::warn!(from = envelope.from, %err, "undecodable raft message dropped")
                    }
                }
            }
            if !batch.is_empty() {
                self.member.node.send(Command::Step(batch))?;
            }
        }
        Ok(Response::new(SendAck {}))
    }

    async fn lease_keep_alive(
        &self,
        request: Request<LeaseKeepAliveRequest>,
    ) -> Result<Response<LeaseKeepAliveResponse>, Status> {
        let id = request.into_inner().id;
        match self.member.lessor.renew(id) {
            Some(ttl) => Ok(Response::new(LeaseKeepAliveResponse {
                header: self.member.header(self.member.state.revision()),
                id,
                ttl,
            })),
            None => Err(Status::unavailable("etcdserver: not leader")),
        }
    }

    async fn lease_time_to_live(
        &self,
        request: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        if !self.member.node.is_leader() {
            return Err(Status::unavailable("etcdserver: not leader"));
        }
        Ok(Response::new(
            lease::time_to_live(&self.member, request.into_inner()).await?,
        ))
    }
}
