//! The member's raft node: one OS thread owns raft-rs's `RawNode`; everyone
//! else talks to it through a [`NodeHandle`].
//!
//! # Layout
//! - [`storage`]: the raft log, hard state and snapshots in sled
//!   (`log_batches`: entries stored as one record per appended run).
//! - `node`: the raft thread: ticks, steps messages, handles each Ready in
//!   raft-rs's order, applies committed entries, snapshots and compacts.
//! - `pending`: proposals and reads waiting for their answer.
//! - `membership`: conf changes (adds, removals, promotions), the transport following
//!   the membership, the leader's view of who is caught up, checks on incoming messages.
//! - `early_election`: when a follower whose leader's stream closed campaigns.
//! - [`fence`]: a client's limit on how late its write may enter the log.
//! - [`transport`]: raft messages to the other members over gRPC.

mod durable;
mod early_election;
pub mod fence;
mod log_batches;
mod membership;
mod node;
mod pending;
mod snap_files;
pub mod storage;
pub mod transport;
mod wal;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use raft::eraftpb::Message;
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::InternalRequest;
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::mvcc::Outcome;

pub use node::{spawn, NodeConfig};

/// How long a client request may wait for the cluster before it fails with
/// `etcdserver: request timed out` (etcd: 5 s plus two election timeouts).
pub(crate) fn request_timeout(election_timeout: Duration) -> Duration {
    Duration::from_secs(5) + election_timeout * 2
}

/// Work for the raft thread.
pub(crate) enum Command {
    Propose {
        request: Request,
        /// The client's write fence (Unix ms), if it sent one.
        fence: Option<u64>,
        reply: oneshot::Sender<Result<Outcome>>,
    },
    /// Resolves once this member has applied everything committed when the
    /// read arrived (raft's ReadIndex), so a local read is linearizable.
    ReadIndex {
        reply: oneshot::Sender<Result<()>>,
    },
    /// Messages from one peer, in the order it sent them.
    Step(Vec<Message>),
    Unreachable(u64),
    /// The newest message stream from this peer ended: its process has most likely died
    /// (a killed process's connections close at once).
    PeerGone(u64),
    SnapshotSent {
        to: u64,
        ok: bool,
    },
    /// The leader's view of every member's replication (`None` on a follower).
    Progress {
        reply: oneshot::Sender<Option<Progress>>,
    },
    /// Hands leadership to another voter (etcd's MoveLeader).
    TransferLeader(u64),
    /// A peer answered that this member was removed from the cluster.
    Removed,
    /// Snapshot now and drop the log behind it (defragmentation); answered once done.
    CompactLog {
        reply: oneshot::Sender<Result<()>>,
    },
}

/// How far each member has replicated, as the leader sees it.
#[derive(Debug, Clone)]
pub struct Progress {
    pub commit: u64,
    pub members: Vec<PeerProgress>,
}

#[derive(Debug, Clone)]
pub struct PeerProgress {
    pub id: u64,
    /// The highest log index known to be replicated on the member.
    pub matched: u64,
    /// Heard from within the last election timeout (the leader itself always is).
    pub active: bool,
    pub learner: bool,
}

/// What the rest of the member may know about raft without asking the thread.
#[derive(Default)]
pub struct RaftStatus {
    leader: AtomicU64,
    term: AtomicU64,
    commit: AtomicU64,
    applied: AtomicU64,
    snapshots_applied: AtomicU64,
    snapshots_sent: AtomicU64,
    proposals_failed: AtomicU64,
}

impl RaftStatus {
    pub fn leader(&self) -> u64 {
        self.leader.load(Ordering::Acquire)
    }
    pub fn term(&self) -> u64 {
        self.term.load(Ordering::Acquire)
    }
    pub fn commit(&self) -> u64 {
        self.commit.load(Ordering::Acquire)
    }
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }
    pub fn snapshots_applied(&self) -> u64 {
        self.snapshots_applied.load(Ordering::Relaxed)
    }
    pub fn snapshots_sent(&self) -> u64 {
        self.snapshots_sent.load(Ordering::Relaxed)
    }
    pub fn proposals_failed(&self) -> u64 {
        self.proposals_failed.load(Ordering::Relaxed)
    }
}

/// A cheap, cloneable handle to the raft thread.
#[derive(Clone)]
pub struct NodeHandle {
    id: u64,
    commands: crossbeam_channel::Sender<Command>,
    status: Arc<RaftStatus>,
    timeout: Duration,
}

impl NodeHandle {
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn status(&self) -> &RaftStatus {
        &self.status
    }

    pub fn is_leader(&self) -> bool {
        self.status.leader() == self.id
    }

    /// Replicates a write through the raft log and returns its result once
    /// this member has applied it (so it is durable on a majority).
    pub async fn propose(&self, request: Request) -> Result<Outcome> {
        self.propose_fenced(request, None).await
    }

    /// [`NodeHandle::propose`], refused instead of entering the log once `fence` (Unix ms)
    /// has passed; see [`fence`].
    pub async fn propose_fenced(&self, request: Request, fence: Option<u64>) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Propose {
            request,
            fence,
            reply,
        })?;
        self.await_answer(answer).await?
    }

    /// Waits until a read on this member would be linearizable.
    pub async fn read_index(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::ReadIndex { reply })?;
        self.await_answer(answer).await?
    }

    /// The leader's view of every member's replication; `None` when this member does
    /// not lead.
    pub async fn progress(&self) -> Result<Option<Progress>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Progress { reply })?;
        self.await_answer(answer).await
    }

    /// Takes a snapshot and drops the raft log behind it.
    pub async fn compact_log(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::CompactLog { reply })?;
        self.await_answer(answer).await?
    }

    /// Asks raft to hand leadership to `to` and waits until `to` leads (within the
    /// request timeout).
    pub async fn transfer_leader(&self, to: u64) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut asked = None;
        while self.status.leader() != to {
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Timeout);
            }
            // Asked again each election round: a transfer raft gave up on is dropped.
            if asked.is_none_or(|at: tokio::time::Instant| at.elapsed() > Duration::from_secs(1)) {
                if !self.is_leader() {
                    return Err(StoreError::NotLeader);
                }
                self.send(Command::TransferLeader(to))?;
                asked = Some(tokio::time::Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    pub(crate) fn send(&self, command: Command) -> Result<()> {
        self.commands.send(command).map_err(|_| StoreError::Stopped)
    }

    async fn await_answer<T>(&self, answer: oneshot::Receiver<T>) -> Result<T> {
        // The raft thread times requests out itself; this outer bound only
        // protects the caller if that thread is gone.
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), answer).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(StoreError::Stopped),
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

/// Encodes a request for the raft log, stamped with its proposer.
pub(crate) fn encode_request(proposer: u64, id: u64, request: Request) -> Vec<u8> {
    use prost::Message as _;
    InternalRequest {
        proposer,
        id,
        request: Some(request),
    }
    .encode_to_vec()
}
