//! The raft peer service: raft messages from the other members, lease calls and
//! member changes they forward to this member while it leads, joins of new members,
//! and this member's hash for the leader's corruption check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use protobuf::Message as PbMessage;
use raft::eraftpb::Message;
use skiff_proto::etcdserverpb::{
    HashKvRequest, HashKvResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use skiff_proto::skiffstore::raft_peer_server::RaftPeer;
use skiff_proto::skiffstore::{
    JoinRequest, JoinResponse, MemberChangeRequest, MemberChangeResponse, RaftEnvelope, SendAck,
};
use tonic::{Request, Response, Status, Streaming};

use super::{lease, maintenance, membership, Member};
use crate::raft::Command;

/// What a removed member's raft messages are answered with (etcd's words).
pub const REMOVED: &str = "etcdserver: the member has been permanently removed from the cluster";

pub struct PeerService {
    member: Arc<Member>,
    newest_stream: NewestStreams,
    next_stream: AtomicU64,
}

/// The newest inbound stream of each peer. Only the end of a peer's newest stream says
/// something about the peer: an older one may end after the peer has reconnected.
type NewestStreams = Arc<Mutex<HashMap<u64, u64>>>;

impl PeerService {
    pub fn new(member: Arc<Member>) -> PeerService {
        PeerService {
            member,
            newest_stream: NewestStreams::default(),
            next_stream: AtomicU64::new(0),
        }
    }

    /// Steps every message of the stream; `watch` learns who sent it.
    async fn receive(
        &self,
        inbound: &mut Streaming<RaftEnvelope>,
        watch: &mut StreamWatch,
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
            if self.member.state.was_removed(envelope.from) {
                return Err(Status::failed_precondition(REMOVED));
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
                watch.sent_by(envelope.from);
            }
        }
        Ok(())
    }
}

/// One inbound stream. When it goes (ended, failed, or dropped with its connection), raft
/// hears of it if it was the newest stream of a member of this cluster: a leader whose
/// stream ends has most likely died.
struct StreamWatch {
    member: Arc<Member>,
    newest: NewestStreams,
    stream: u64,
    sender: Option<u64>,
}

impl StreamWatch {
    /// The stream carried raft messages from `from`; only another member of the cluster
    /// counts, so a stranger closing a stream that claims to be the leader changes nothing.
    fn sent_by(&mut self, from: u64) {
        if self.sender.is_some() || from == self.member.id {
            return;
        }
        let cluster = self.member.state.cluster();
        if !cluster.members.iter().any(|m| m.id == from) {
            return;
        }
        self.sender = Some(from);
        let mut streams = self.newest.lock();
        let newest = streams.entry(from).or_insert(self.stream);
        *newest = (*newest).max(self.stream);
    }
}

impl Drop for StreamWatch {
    fn drop(&mut self) {
        let Some(from) = self.sender else {
            return;
        };
        let was_newest = {
            let mut streams = self.newest.lock();
            let newest = streams.get(&from) == Some(&self.stream);
            if newest {
                streams.remove(&from);
            }
            newest
        };
        if was_newest {
            let _ = self.member.node.send(Command::PeerGone(from));
        }
    }
}

#[tonic::async_trait]
impl RaftPeer for PeerService {
    async fn send(
        &self,
        request: Request<Streaming<RaftEnvelope>>,
    ) -> Result<Response<SendAck>, Status> {
        let mut inbound = request.into_inner();
        let mut watch = StreamWatch {
            member: self.member.clone(),
            newest: self.newest_stream.clone(),
            stream: self.next_stream.fetch_add(1, Ordering::Relaxed),
            sender: None,
        };
        self.receive(&mut inbound, &mut watch).await?;
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

    async fn member_change(
        &self,
        request: Request<MemberChangeRequest>,
    ) -> Result<Response<MemberChangeResponse>, Status> {
        if !self.member.node.is_leader() {
            return Err(Status::unavailable("etcdserver: not leader"));
        }
        Ok(Response::new(
            membership::change(&self.member, request.into_inner()).await?,
        ))
    }

    async fn join(&self, request: Request<JoinRequest>) -> Result<Response<JoinResponse>, Status> {
        let url = request.into_inner().peer_url;
        let cluster = self.member.state.cluster();
        let me = cluster
            .members
            .iter()
            .find(|m| {
                m.peer_urls
                    .iter()
                    .any(|u| u.trim_end_matches('/') == url.trim_end_matches('/'))
            })
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no member of cluster {:x} has peer URL {url}",
                    self.member.cluster_id
                ))
            })?;
        Ok(Response::new(JoinResponse {
            cluster_id: self.member.cluster_id,
            member_id: me.id,
            members: cluster.members.clone(),
        }))
    }

    async fn hash_kv(
        &self,
        request: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        Ok(Response::new(maintenance::hash_kv(
            &self.member,
            request.into_inner().revision,
        )?))
    }
}
