//! Membership on the raft thread: member changes proposed as raft conf changes, the
//! transport kept to the applied membership, the leader's view of who is caught up,
//! and the checks every incoming message passes before raft-rs sees it.

use std::time::Instant;

use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2, Message, MessageType};
use raft::StateRole;
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::member_change::Kind;
use skiff_proto::skiffstore::InternalRequest;

use super::early_election::early_clock;
use super::node::RaftThread;
use super::{PeerProgress, Progress};
use crate::error::{Result, StoreError};

/// The raft conf change that carries `request` (encoded as `context`), for the member
/// changes that change who votes or learns; `None` for every other request.
pub(super) fn conf_change(request: &Request, context: Vec<u8>) -> Option<ConfChangeV2> {
    let Request::MemberChange(change) = request else {
        return None;
    };
    let member = change.members.first()?;
    let change_type = match Kind::try_from(change.kind).ok()? {
        Kind::Add if member.is_learner => ConfChangeType::AddLearnerNode,
        Kind::Add | Kind::Promote => ConfChangeType::AddNode,
        Kind::Remove => ConfChangeType::RemoveNode,
        Kind::Update | Kind::Initial => return None,
    };
    let mut single = ConfChangeSingle::default();
    single.set_change_type(change_type);
    single.node_id = member.id;
    let mut cc = ConfChangeV2::default();
    cc.set_changes(vec![single].into());
    cc.context = context.into();
    Some(cc)
}

/// The member change a conf change entry carries (none for raft's own empty ones).
pub(super) fn carried_request(cc: &ConfChangeV2, index: u64) -> Result<Option<InternalRequest>> {
    if cc.context.is_empty() {
        return Ok(None);
    }
    <InternalRequest as prost::Message>::decode(cc.context.as_ref())
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("conf change {index}: {e}")))
}

impl RaftThread {
    /// After the membership changed (a member change or a snapshot was applied): the
    /// transport follows it, and a member that was removed stops soon.
    pub(super) fn membership_applied(&mut self) {
        let cluster = self.state.cluster();
        let members: Vec<(u64, String)> = cluster
            .members
            .iter()
            .filter_map(|m| Some((m.id, m.peer_urls.first()?.clone())))
            .collect();
        if members.is_empty() {
            return;
        }
        self.transport.sync(&members);
        let me = self.config.id;
        if self.removed_at.is_none() && !members.iter().any(|(id, _)| *id == me) {
            tracing::warn!("this member was removed from the cluster; stopping");
            self.removed_at = Some(Instant::now());
            // Hand leadership to the most caught-up voter rather than leave the
            // others to notice the silence.
            if self.raw.raft.state == StateRole::Leader {
                let best = self
                    .raw
                    .raft
                    .prs()
                    .iter()
                    .filter(|(id, _)| {
                        **id != me && self.raw.raft.prs().conf().voters().contains(**id)
                    })
                    .max_by_key(|(_, pr)| pr.matched)
                    .map(|(id, _)| *id);
                if let Some(to) = best {
                    self.raw.transfer_leader(to);
                }
            }
        }
    }

    /// The leader's view of replication, for the member-change checks.
    pub(super) fn progress(&self) -> Option<Progress> {
        let raft = &self.raw.raft;
        if raft.state != StateRole::Leader {
            return None;
        }
        let conf = raft.prs().conf();
        Some(Progress {
            commit: raft.raft_log.committed,
            members: raft
                .prs()
                .iter()
                .map(|(id, pr)| PeerProgress {
                    id: *id,
                    matched: pr.matched,
                    active: pr.recent_active || *id == self.config.id,
                    learner: conf.learners().contains(id),
                })
                .collect(),
        })
    }

    /// The leader's stream to this follower closed, which is what a killed leader looks
    /// like: campaign soon (see [`super::early_election`]).
    pub(super) fn leader_maybe_gone(&mut self, peer: u64) {
        let rank = self
            .transport
            .ids()
            .filter(|id| *id != peer && *id < self.config.id)
            .count();
        let raft = &mut self.raw.raft;
        if raft.state != StateRole::Follower || raft.leader_id != peer {
            return;
        }
        let Some(clock) = early_clock(raft.election_timeout(), raft.election_elapsed, rank) else {
            return;
        };
        raft.election_elapsed = clock.elapsed;
        raft.set_randomized_election_timeout(clock.campaign_at);
        tracing::info!(
            leader = %format!("{peer:x}"),
            "the leader's stream closed; campaigning early unless it is heard from"
        );
    }

    /// Rejects messages raft-rs would mis-handle: raft-rs trusts its peers and
    /// panics on some impossible inputs, and a member must survive garbage.
    pub(super) fn plausible(&self, m: &Message) -> std::result::Result<(), &'static str> {
        use MessageType::*;
        if m.to != self.config.id {
            return Err("addressed to another member");
        }
        if !self.transport.knows(m.from) || m.from == self.config.id {
            return Err("from an unknown member");
        }
        if matches!(
            m.get_msg_type(),
            MsgHup | MsgBeat | MsgUnreachable | MsgSnapStatus | MsgCheckQuorum
        ) {
            return Err("local message type");
        }
        let last = self.raw.raft.raft_log.last_index();
        if m.get_msg_type() == MsgHeartbeat && m.commit > last && m.term >= self.raw.raft.term {
            return Err("heartbeat commits beyond this member's log");
        }
        if m.get_msg_type() == MsgAppend
            && m.entries
                .iter()
                .enumerate()
                .any(|(i, e)| e.index != m.index + 1 + i as u64)
        {
            return Err("append with non-contiguous entries");
        }
        if m.get_msg_type() == MsgSnapshot && m.get_snapshot().get_metadata().index == 0 {
            return Err("empty snapshot");
        }
        Ok(())
    }
}
