//! The raft peer service: raft messages from the other members, and lease
//! calls they forward to this member while it leads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

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
    /// The newest inbound stream of each peer. Only the end of a peer's newest stream says
    /// something about the peer: an older one may end after the peer has reconnected.
    newest_stream: Mutex<HashMap<u64, u64>>,
    next_stream: AtomicU64,
}

impl PeerService {
    pub fn new(member: Arc<Member>) -> PeerService {
        PeerService {
            member,
            newest_stream: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(0),
        }
    }

    /// Steps every message of the stream; `sender` learns who sent it.
    async fn receive(
        &self,
        inbound: &mut Streaming<RaftEnvelope>,
        stream: u64,
        sender: &mut Option<u64>,
    ) -> Result<(), Status> {
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
            if sender.is_none() {
                *sender = Some(envelope.from);
                self.newest_stream.lock().insert(envelope.from, stream);
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
        Ok(())
    }
}

#[tonic::async_trait]
impl RaftPeer for PeerService {
    async fn send(
        &self,
        request: Request<Streaming<RaftEnvelope>>,
    ) -> Result<Response<SendAck>, Status> {
        let mut inbound = request.into_inner();
        let stream = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let mut sender = None;
        let received = self.receive(&mut inbound, stream, &mut sender).await;
        // The peer's newest stream ended, cleanly or not: raft may want to know (a leader
        // whose stream breaks has most likely died).
        if let Some(from) = sender {
            let newest = {
                let mut streams = self.newest_stream.lock();
                let newest = streams.get(&from) == Some(&stream);
                if newest {
                    streams.remove(&from);
                }
                newest
            };
            if newest {
                let _ = self.member.node.send(Command::PeerGone(from));
            }
        }
        received.map(|()| Response::new(SendAck {}))
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
