//! The raft thread: the one owner of raft-rs's `RawNode`.
//!
//! It runs on its own OS thread because every Ready ends in an fsync; blocking
//! a tokio worker for that would stall unrelated requests. The loop waits for
//! commands until the next tick, drains what queued up meanwhile (so many
//! client writes share one Ready and one fsync), then handles the Ready in
//! raft-rs's order.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use protobuf::Message as PbMessage;
use raft::eraftpb::{ConfChange, ConfChangeV2, Entry, EntryType, MessageType, Snapshot};
use raft::{RawNode, SnapshotStatus, Storage};
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::member_change::Kind;
use skiff_proto::skiffstore::{ClusterMember, InternalRequest, MemberChange};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::durable::{Durable, FlushWaker, Flusher};
use super::fence;
use super::membership::{carried_request, conf_change};
use super::pending::{Parked, Pending};
use super::storage::RaftLogStorage;
use super::transport::Transport;
use super::{encode_request, request_timeout, Command, NodeHandle, RaftStatus};
use crate::error::{Result, StoreError};
use crate::mvcc::{Committed, Outcome, StateMachine};

/// The longest the state machine goes unflushed; it is flushed sooner behind every
/// applied batch.
const STATE_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Most commands handled before the loop looks at ticks and Readies again.
const MAX_COMMANDS_PER_ROUND: usize = 4096;

pub struct NodeConfig {
    pub id: u64,
    pub cluster_id: u64,
    /// Every member (this one included) with its peer URL.
    pub peers: Vec<(u64, String)>,
    /// One raft tick; heartbeats go out every tick.
    pub tick: Duration,
    pub election_ticks: usize,
    /// Applied entries between two snapshots (after which the log is compacted).
    pub snapshot_count: u64,
    /// TLS towards the other members' peer ports (https:// peer URLs).
    pub peer_tls: Option<tonic::transport::ClientTlsConfig>,
    /// The membership a brand-new cluster starts with (empty when joining).
    pub initial: Vec<ClusterMember>,
}

impl NodeConfig {
    /// Entries kept behind a snapshot so slightly-behind followers catch up
    /// from the log instead of a full snapshot.
    fn catch_up_entries(&self) -> u64 {
        (self.snapshot_count / 2).min(5000)
    }
}

/// Starts the raft thread. `done` resolves when it stops; an error there is
/// fatal for the member (its storage failed).
pub fn spawn(
    config: NodeConfig,
    db: sled::Db,
    db_dir: std::path::PathBuf,
    state: Arc<StateMachine>,
    runtime: tokio::runtime::Handle,
    shutdown: CancellationToken,
) -> Result<(
    NodeHandle,
    watch::Receiver<u64>,
    oneshot::Receiver<Result<()>>,
)> {
    // Snapshot files and the write-ahead log sit beside the database: DATA/snap and
    // DATA/wal next to DATA/db.
    let snap_dir = db_dir.with_file_name("snap");
    let wal_dir = db_dir.with_file_name("wal");
    let mut storage = RaftLogStorage::open(db.open_tree("raft")?, &snap_dir, &wal_dir)?;
    if storage.is_fresh() && !config.initial.is_empty() {
        // The initial membership is applied as entry 1 of every member (the same on
        // all), before the log records it, so a crash in between only repeats this.
        let members = MemberChange {
            kind: Kind::Initial as i32,
            members: config.initial.clone(),
        };
        state.apply(vec![Committed {
            index: 1,
            request: Some(InternalRequest {
                proposer: 0,
                id: 0,
                request: Some(Request::MemberChange(members)),
            }),
        }])?;
        storage.bootstrap(config.initial.iter().map(|m| m.id).collect())?;
    }
    recover_state_machine(&mut storage, &state)?;

    let raft_config = raft::Config {
        id: config.id,
        election_tick: config.election_ticks,
        heartbeat_tick: 1,
        applied: state.applied_index(),
        max_size_per_msg: 1 << 20,
        max_inflight_msgs: 256,
        check_quorum: true,
        pre_vote: true,
        ..Default::default()
    };
    let logger = slog::Logger::root(tracing_slog::TracingSlogDrain, slog::o!());
    let raw = RawNode::new(&raft_config, storage, &logger)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;

    let (tx, rx) = crossbeam_channel::unbounded();
    let status = Arc::new(RaftStatus::default());
    status
        .applied
        .store(state.applied_index(), Ordering::Release);
    let (leader_tx, leader_rx) = watch::channel(0);
    let transport = Transport::start(
        &runtime,
        config.id,
        config.cluster_id,
        &config.peers,
        config.peer_tls.clone(),
        tx.clone(),
        shutdown.clone(),
    );
    let timeout = request_timeout(config.tick * config.election_ticks as u32);
    let handle = NodeHandle {
        id: config.id,
        commands: tx,
        status: status.clone(),
        timeout,
    };
    let durable = Arc::new(parking_lot::Mutex::new(Durable::new(db, db_dir)));
    let flusher = Flusher::spawn(durable.clone(), STATE_FLUSH_EVERY)
        .map_err(|e| StoreError::Corrupt(format!("cannot start the flush thread: {e}")))?;
    let (done_tx, done_rx) = oneshot::channel();
    let thread = RaftThread {
        raw,
        db: durable,
        flush: flusher.waker(),
        state,
        transport,
        pending: Pending::new(),
        status,
        leader: leader_tx,
        commands: rx,
        timeout,
        shutdown,
        config,
        removed_at: None,
    };
    std::thread::Builder::new()
        .name("raft".into())
        .spawn(move || {
            let result = thread.run();
            flusher.stop();
            if let Err(err) = &result {
                tracing::error!(%err, "raft thread stopped");
            }
            let _ = done_tx.send(result);
        })
        .map_err(|e| StoreError::Corrupt(format!("cannot start raft thread: {e}")))?;
    Ok((handle, leader_rx, done_rx))
}

/// Makes the state machine and the raft log agree after a restart.
fn recover_state_machine(storage: &mut RaftLogStorage, state: &StateMachine) -> Result<()> {
    if state.applied_index() < storage.stored_snapshot_index() {
        // The log before the snapshot is gone: the snapshot is the only way back.
        let snap =
            Storage::snapshot(storage, 0, 0).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        state.restore(&snap.data)?;
    }
    let applied = state.applied_index();
    if applied + 1 < storage.first_index() {
        return Err(StoreError::Corrupt(format!(
            "state machine applied index {applied} is behind the compacted raft log (first index {})",
            storage.first_index()
        )));
    }
    if storage.hard_state().commit < applied {
        // Everything applied was committed; the hard state write may just be older.
        storage.set_commit(applied)?;
    }
    Ok(())
}

pub(super) struct RaftThread {
    pub(super) raw: RawNode<RaftLogStorage>,
    db: Arc<parking_lot::Mutex<Durable>>,
    flush: FlushWaker,
    pub(super) state: Arc<StateMachine>,
    pub(super) transport: Transport,
    pending: Pending,
    status: Arc<RaftStatus>,
    leader: watch::Sender<u64>,
    commands: Receiver<Command>,
    timeout: Duration,
    shutdown: CancellationToken,
    pub(super) config: NodeConfig,
    /// When this member applied its own removal; it stops shortly after.
    pub(super) removed_at: Option<Instant>,
}

/// How long a removed member keeps running, so the others learn the removal committed.
const REMOVED_GRACE: Duration = Duration::from_secs(1);

impl RaftThread {
    fn run(mut self) -> Result<()> {
        let mut next_tick = Instant::now() + self.config.tick;
        while !self.shutdown.is_cancelled() {
            if self
                .removed_at
                .is_some_and(|at| at.elapsed() > REMOVED_GRACE)
            {
                break;
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(wait) {
                Ok(cmd) => {
                    self.handle(cmd);
                    for _ in 0..MAX_COMMANDS_PER_ROUND {
                        match self.commands.try_recv() {
                            Ok(cmd) => self.handle(cmd),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if now >= next_tick {
                self.raw.tick();
                next_tick = now + self.config.tick;
                self.pending.expire(now);
                if self.raw.raft.leader_id != 0 {
                    self.propose_parked(now);
                }
            }
            if self.raw.raft.leader_id != 0 {
                if let Some(ctx) = self.pending.start_read_round(now) {
                    self.raw.read_index(ctx);
                }
            }
            self.on_ready()?;
        }
        Ok(())
    }

    fn handle(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Propose {
                request,
                fence,
                reply,
            } => {
                let parked = Parked {
                    request,
                    fence,
                    reply,
                    deadline: now + self.timeout,
                };
                if self.raw.raft.leader_id == 0 {
                    self.pending.park(parked);
                } else {
                    self.propose(parked);
                }
            }
            Command::ReadIndex { reply } => self.pending.add_read(reply, now + self.timeout),
            Command::Step(messages) => {
                for mut msg in messages {
                    if msg.get_msg_type() == MessageType::MsgPropose
                        && fence::drop_passed(&mut msg, fence::now_unix_ms())
                    {
                        continue;
                    }
                    match self.plausible(&msg) {
                        Ok(()) => {
                            if let Err(err) = self.raw.step(msg) {
                                tracing::debug!(%err, "raft message not stepped");
                            }
                        }
                        Err(why) => {
                            tracing::warn!(from = msg.from, why, "implausible raft message dropped")
                        }
                    }
                }
            }
            Command::Unreachable(peer) => self.raw.report_unreachable(peer),
            Command::PeerGone(peer) => self.leader_maybe_gone(peer),
            Command::SnapshotSent { to, ok } => {
                let status = if ok {
                    SnapshotStatus::Finish
                } else {
                    SnapshotStatus::Failure
                };
                if ok {
                    self.status.snapshots_sent.fetch_add(1, Ordering::Relaxed);
                }
                self.raw.report_snapshot(to, status);
            }
            Command::Progress { reply } => {
                let _ = reply.send(self.progress());
            }
            Command::TransferLeader(to) => self.raw.transfer_leader(to),
            Command::Removed if self.removed_at.is_none() => {
                tracing::warn!("a member says this member was removed from the cluster; stopping");
                self.removed_at = Some(Instant::now());
            }
            Command::Removed => {}
            Command::CompactLog { reply } => {
                let _ = reply.send(self.snapshot_and_compact(true));
            }
        }
    }

    fn propose(&mut self, parked: Parked) {
        if parked.fence.is_some_and(|f| f <= fence::now_unix_ms()) {
            let _ = parked.reply.send(Err(StoreError::FencePassed));
            return;
        }
        let id = self.pending.next_id();
        let data = encode_request(self.config.id, id, parked.request.clone());
        let proposed = match conf_change(&parked.request, data.clone()) {
            Some(cc) => self.raw.propose_conf_change(vec![], cc),
            None => self.raw.propose(fence::context(parked.fence), data),
        };
        match proposed {
            Ok(()) => self.pending.add_proposal(id, parked.reply, parked.deadline),
            // Dropped (a leader transfer, too much uncommitted data): try again
            // on a later tick until the deadline.
            Err(_) => self.pending.park(parked),
        }
    }

    fn propose_parked(&mut self, now: Instant) {
        for parked in self.pending.take_parked() {
            if parked.deadline <= now {
                let _ = parked.reply.send(Err(StoreError::Timeout));
            } else {
                self.propose(parked);
            }
        }
    }

    /// Handles one Ready in the order raft-rs requires.
    fn on_ready(&mut self) -> Result<()> {
        if !self.raw.has_ready() {
            return Ok(());
        }
        let mut ready = self.raw.ready();
        // A leader may send before it persists: followers' fsyncs then overlap its own.
        self.transport.send(ready.take_messages());
        // Only new entries, a snapshot, or a new term/vote must be on disk
        // before we answer; a commit index alone is recovered by raft itself,
        // so followers do not fsync just to learn what was committed.
        let must_flush = ready.must_sync();
        if *ready.snapshot() != Snapshot::default() {
            let snapshot = ready.snapshot().clone();
            self.state.restore(&snapshot.data)?;
            self.raw.mut_store().apply_snapshot(snapshot)?;
            self.status
                .snapshots_applied
                .fetch_add(1, Ordering::Relaxed);
            self.status
                .applied
                .store(self.state.applied_index(), Ordering::Release);
            tracing::info!(
                index = self.raw.store().last_index(),
                "installed snapshot from leader"
            );
            self.membership_applied();
        }
        self.apply(ready.take_committed_entries())?;
        if !ready.entries().is_empty() {
            self.raw.mut_store().append(ready.entries())?;
        }
        if let Some(hs) = ready.hs() {
            self.raw.mut_store().set_hard_state(hs.clone())?;
        }
        if let Some(ss) = ready.ss() {
            if ss.leader_id != self.status.leader() {
                self.pending.leader_changed(Instant::now());
            }
            self.status.leader.store(ss.leader_id, Ordering::Release);
            let _ = self.leader.send(ss.leader_id);
            tracing::info!(leader = %format!("{:x}", ss.leader_id), term = self.raw.raft.term, "leader changed");
        }
        let applied = self.state.applied_index();
        for rs in ready.take_read_states() {
            self.pending.read_state(&rs.request_ctx, rs.index, applied);
        }
        if must_flush {
            self.raw.mut_store().sync()?;
        }
        self.transport.send(ready.take_persisted_messages());
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit)?;
        }
        self.transport.send(light.take_messages());
        self.apply(light.take_committed_entries())?;
        self.raw.advance_apply();
        self.status
            .term
            .store(self.raw.raft.term, Ordering::Release);
        self.status
            .commit
            .store(self.raw.raft.raft_log.committed, Ordering::Release);
        self.snapshot_and_compact(false)
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut batch = Vec::with_capacity(entries.len());
        let mut membership = false;
        for entry in entries {
            let request = match entry.get_entry_type() {
                EntryType::EntryNormal if entry.data.is_empty() => None,
                EntryType::EntryNormal => {
                    let req = <InternalRequest as prost::Message>::decode(entry.data.as_ref())
                        .map_err(|e| {
                            StoreError::Corrupt(format!("raft entry {}: {e}", entry.index))
                        })?;
                    Some(req)
                }
                EntryType::EntryConfChange => {
                    let cc = ConfChange::parse_from_bytes(&entry.data).map_err(|e| {
                        StoreError::Corrupt(format!("conf change {}: {e}", entry.index))
                    })?;
                    let cs = self
                        .raw
                        .apply_conf_change(&cc)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    self.raw.mut_store().set_conf_state(cs)?;
                    None
                }
                EntryType::EntryConfChangeV2 => {
                    let cc = ConfChangeV2::parse_from_bytes(&entry.data).map_err(|e| {
                        StoreError::Corrupt(format!("conf change {}: {e}", entry.index))
                    })?;
                    let cs = self
                        .raw
                        .apply_conf_change(&cc)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    self.raw.mut_store().set_conf_state(cs)?;
                    carried_request(&cc, entry.index)?
                }
            };
            membership |= request
                .as_ref()
                .is_some_and(|r| matches!(r.request, Some(Request::MemberChange(_))));
            batch.push(Committed {
                index: entry.index,
                request,
            });
        }
        for applied in self.state.apply(batch)? {
            if applied.proposer == self.config.id {
                let result = match applied.outcome {
                    Outcome::Error(err) => Err(err),
                    outcome => Ok(outcome),
                };
                self.pending.resolve_proposal(applied.id, result);
            }
        }
        self.flush.wake();
        let applied = self.state.applied_index();
        self.status.applied.store(applied, Ordering::Release);
        self.pending.applied(applied);
        if membership {
            self.membership_applied();
        }
        Ok(())
    }

    /// Every `snapshot_count` applied entries (or when a follower needs one, or `now`
    /// for defragmentation), snapshot the state machine and drop the log behind it
    /// (all of it when `now`).
    fn snapshot_and_compact(&mut self, now: bool) -> Result<()> {
        let applied = self.state.applied_index();
        let store = self.raw.store();
        let last_snapshot = store.stored_snapshot_index();
        let due = now || applied >= last_snapshot + self.config.snapshot_count;
        let compacted = store.first_index() > applied;
        if (applied <= last_snapshot && (!now || compacted)) || !(due || store.snapshot_wanted()) {
            return Ok(());
        }
        let term = store
            .term(applied)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut snapshot = Snapshot::default();
        snapshot.mut_metadata().index = applied;
        snapshot.mut_metadata().term = term;
        snapshot
            .mut_metadata()
            .set_conf_state(store.conf_state().clone());
        let state = &self.state;
        let size = self
            .raw
            .mut_store()
            .store_snapshot_with(snapshot, |out| state.snapshot_to(out))?;
        // The state machine must be durable up to `applied` before the log
        // that could rebuild it is dropped.
        self.db.lock().flush()?;
        if due {
            let keep = if now {
                0
            } else {
                self.config.catch_up_entries()
            };
            let keep_from = applied.saturating_sub(keep).max(1);
            self.raw.mut_store().compact(keep_from)?;
        }
        tracing::info!(index = applied, bytes = size, "snapshot taken");
        Ok(())
    }
}
