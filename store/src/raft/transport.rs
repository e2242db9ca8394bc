//! Raft messages to the other members: one task and one gRPC stream per peer.
//!
//! Messages to a peer that cannot be reached are dropped (raft retransmits)
//! and raft is told the peer is unreachable so it probes instead of
//! pipelining. The stream is re-established with back-off after a peer
//! restarts.

use std::collections::HashMap;
use std::time::Duration;

use protobuf::Message as PbMessage;
use raft::eraftpb::{Message, MessageType};
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use skiff_proto::skiffstore::RaftEnvelope;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{ClientTlsConfig, Endpoint};

use super::Command;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Most raft messages sent to a peer in one envelope.
const MAX_BATCH: usize = 512;
/// Enough for a large snapshot in one message.
pub const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// The raft thread's side: hands each message to its peer's task. It follows the
/// membership: a member added gets a task, a member removed loses it.
pub struct Transport {
    me: u64,
    cluster_id: u64,
    runtime: tokio::runtime::Handle,
    commands: crossbeam_channel::Sender<Command>,
    shutdown: CancellationToken,
    /// TLS towards https:// peer URLs.
    tls: Option<ClientTlsConfig>,
    /// Every other member: its peer URL and its task's queue.
    peers: HashMap<u64, (String, mpsc::UnboundedSender<Message>)>,
}

impl Transport {
    /// Starts one sender task per peer on `runtime`.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        me: u64,
        cluster_id: u64,
        peers: &[(u64, String)],
        tls: Option<ClientTlsConfig>,
        commands: crossbeam_channel::Sender<Command>,
        shutdown: CancellationToken,
    ) -> Transport {
        let mut transport = Transport {
            me,
            cluster_id,
            runtime: runtime.clone(),
            commands,
            shutdown,
            tls,
            peers: HashMap::new(),
        };
        transport.sync(peers);
        transport
    }

    /// Makes the peers exactly `members` (this member ignored): new members and
    /// changed URLs get a fresh task; removed members' tasks end.
    pub fn sync(&mut self, members: &[(u64, String)]) {
        self.peers
            .retain(|id, (url, _)| members.iter().any(|(m, u)| m == id && u == url));
        for (id, url) in members.iter().filter(|(id, _)| *id != self.me) {
            if self.peers.contains_key(id) {
                continue;
            }
            let (tx, rx) = mpsc::unbounded_channel();
            self.peers.insert(*id, (url.clone(), tx));
            let peer = PeerSender {
                to: *id,
                url: url.clone(),
                tls: self.tls.clone(),
                header: (self.cluster_id, self.me),
                commands: self.commands.clone(),
            };
            self.runtime.spawn(peer.run(rx, self.shutdown.clone()));
        }
    }

    /// Whether `id` is another member this member sends to.
    pub fn knows(&self, id: u64) -> bool {
        self.peers.contains_key(&id)
    }

    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.peers.keys().copied()
    }

    pub fn send(&self, messages: Vec<Message>) {
        for msg in messages {
            match self.peers.get(&msg.to) {
                Some((_, tx)) => {
                    let _ = tx.send(msg);
                }
                None => tracing::warn!(to = msg.to, "raft message for an unknown member dropped"),
            }
        }
    }
}

struct PeerSender {
    to: u64,
    url: String,
    tls: Option<ClientTlsConfig>,
    header: (u64, u64),
    commands: crossbeam_channel::Sender<Command>,
}

impl PeerSender {
    async fn run(self, mut queue: mpsc::UnboundedReceiver<Message>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let connected = tokio::select! {
                _ = shutdown.cancelled() => return,
                c = self.connect() => c,
            };
            match connected {
                Ok(client) => {
                    backoff = Duration::from_millis(50);
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        reason = self.stream(client, &mut queue) => {
                            tracing::debug!(peer = self.to, %reason, "raft stream ended");
                        }
                    }
                }
                Err(err) => {
                    tracing::debug!(peer = self.to, err = %error_chain(&err), "cannot reach member")
                }
            }
            self.drop_queued(&mut queue);
            if queue.is_closed() {
                return; // the member was removed
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn connect(
        &self,
    ) -> Result<RaftPeerClient<tonic::transport::Channel>, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(self.url.clone())?;
        let channel = skiff_common::tls::with_tls(endpoint, self.tls.as_ref())?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(1))
            .keep_alive_timeout(Duration::from_secs(3))
            .connect()
            .await?;
        Ok(RaftPeerClient::new(channel)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
            .max_decoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// Feeds queued messages into one long-lived stream until it breaks.
    async fn stream(
        &self,
        mut client: RaftPeerClient<tonic::transport::Channel>,
        queue: &mut mpsc::UnboundedReceiver<Message>,
    ) -> String {
        let (body, body_rx) = mpsc::channel::<RaftEnvelope>(256);
        let mut call = Box::pin(async move { client.send(ReceiverStream::new(body_rx)).await });
        loop {
            tokio::select! {
                ended = &mut call => {
                    return match ended {
                        Ok(_) => "closed by peer".to_string(),
                        Err(status) => {
                            if status.message().contains("permanently removed") {
                                let _ = self.commands.send(Command::Removed);
                            }
                            status.to_string()
                        }
                    };
                }
                msg = queue.recv() => {
                    let Some(first) = msg else { return "member stopping".to_string() };
                    // Batch what queued up meanwhile: one gRPC message, one write.
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(msg) => batch.push(msg),
                            Err(_) => break,
                        }
                    }
                    let snapshots = batch.iter().filter(|m| m.get_msg_type() == MessageType::MsgSnapshot).count();
                    let mut messages = Vec::with_capacity(batch.len());
                    for msg in &batch {
                        match msg.write_to_bytes() {
                            Ok(bytes) => messages.push(bytes),
                            Err(err) => tracing::error!(%err, "cannot encode raft message"),
                        }
                    }
                    let envelope = RaftEnvelope { cluster_id: self.header.0, from: self.header.1, messages };
                    let sent = body.send(envelope).await.is_ok();
                    for _ in 0..snapshots {
                        let _ = self.commands.send(Command::SnapshotSent { to: self.to, ok: sent });
                    }
                    if !sent {
                        let _ = self.commands.send(Command::Unreachable(self.to));
                        return "stream closed".to_string();
                    }
                }
            }
        }
    }

    fn drop_queued(&self, queue: &mut mpsc::UnboundedReceiver<Message>) {
        let mut dropped = false;
        while let Ok(msg) = queue.try_recv() {
            dropped = true;
            if msg.get_msg_type() == MessageType::MsgSnapshot {
                let _ = self.commands.send(Command::SnapshotSent {
                    to: self.to,
                    ok: false,
                });
            }
        }
        if dropped {
            let _ = self.commands.send(Command::Unreachable(self.to));
        }
    }
}

/// An error with its causes (a TLS failure is a cause of tonic's "transport error").
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
