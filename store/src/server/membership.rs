//! Member changes (etcd's Cluster.MemberAdd/Remove/Update/Promote): checked by the
//! leader against etcd's safety rules, then proposed through raft.
//!
//! The rules ([`plan`], a pure function) are etcd's with strict reconfiguration
//! checks on: a member is added only while every voter was heard from within the last
//! election timeout; a voter is promoted or removed only if the members heard from
//! still make a quorum of the new membership (a dead member may be removed); a
//! learner is promoted only once it has 90% of the leader's log; at most one learner;
//! peer URLs well formed and not already used; ids that exist.

use std::time::{SystemTime, UNIX_EPOCH};

use skiff_proto::etcdserverpb::Member as PbMember;
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::member_change::Kind;
use skiff_proto::skiffstore::member_change_request::Change;
use skiff_proto::skiffstore::{
    ClusterMember, ClusterRecord, MemberChange, MemberChangeRequest, MemberChangeResponse,
};
use tonic::Status;

use super::Member;
use crate::config::split_url;
use crate::error::StoreError;
use crate::mvcc::Outcome;
use crate::raft::Progress;

/// How long a member change waits for a leader.
const LEADER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs a member change: on the leader, checked and proposed one at a time (raft
/// takes one conf change at a time); elsewhere, forwarded to the leader.
pub async fn change(
    member: &Member,
    req: MemberChangeRequest,
) -> Result<MemberChangeResponse, Status> {
    // Forwarded to the leader; while there is none (or the one this member knew has
    // just died) it waits for the next, within the request timeout.
    let deadline = tokio::time::Instant::now() + LEADER_PATIENCE;
    loop {
        let leader = member.node.status().leader();
        let answer = match leader {
            0 => Err(Status::from(StoreError::NoLeader)),
            me if me == member.id => break,
            other => member.forward.member_change(other, req.clone()).await,
        };
        match answer {
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            answer => return answer,
        }
    }
    let change = req
        .change
        .ok_or_else(|| Status::invalid_argument("etcdserver: member change without a change"))?;
    let _one_at_a_time = member.membership.lock().await;
    let progress = member.node.progress().await?.ok_or(StoreError::NotLeader)?;
    let planned = plan(
        &member.state.cluster(),
        &progress,
        &change,
        new_member_id(member.cluster_id, &change),
    )?;
    let changed = planned.members.first().cloned();
    let removal = planned.kind == Kind::Remove as i32;
    match member.node.propose(Request::MemberChange(planned)).await? {
        Outcome::Cluster(record) => Ok(MemberChangeResponse {
            member: changed.filter(|_| !removal).map(|m| pb_member(member, &m)),
            members: list(member, &record),
        }),
        Outcome::Error(err) => Err(err.into()),
        _ => Err(Status::internal("unexpected result of a member change")),
    }
}

/// Every member as etcd lists it: names and client URLs are what each member
/// published through the log (empty for a member that has not started yet).
pub fn list(member: &Member, record: &ClusterRecord) -> Vec<PbMember> {
    record
        .members
        .iter()
        .map(|m| pb_member(member, m))
        .collect()
}

fn pb_member(member: &Member, m: &ClusterMember) -> PbMember {
    let published = member.state.members();
    let attrs = published.iter().find(|a| a.member_id == m.id);
    PbMember {
        id: m.id,
        name: attrs.map(|a| a.name.clone()).unwrap_or_default(),
        peer_ur_ls: m.peer_urls.clone(),
        client_ur_ls: attrs.map(|a| a.client_urls.clone()).unwrap_or_default(),
        is_learner: m.is_learner,
    }
}

/// A fresh member id (etcd: derived from the peer URLs, the cluster and the time).
fn new_member_id(cluster_id: u64, change: &Change) -> u64 {
    let Change::Add(add) = change else {
        return 0;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{}|{cluster_id:x}|{nanos}", add.peer_ur_ls.join(","));
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash.max(1)
}

fn quorum(voters: usize) -> usize {
    voters / 2 + 1
}

fn check_urls(urls: &[String]) -> Result<Vec<String>, StoreError> {
    if urls.is_empty() {
        return Err(StoreError::BadPeerUrl(String::new()));
    }
    urls.iter()
        .map(|url| {
            split_url("--peer-urls", url).map_err(|_| StoreError::BadPeerUrl(url.clone()))?;
            Ok(url.trim_end_matches('/').to_string())
        })
        .collect()
}

/// Voters heard from recently, by the leader's progress, leaving out `except`.
fn active_voters(record: &ClusterRecord, progress: &Progress, except: u64) -> usize {
    record
        .members
        .iter()
        .filter(|m| !m.is_learner && m.id != except)
        .filter(|m| progress.members.iter().any(|p| p.id == m.id && p.active))
        .count()
}

/// Checks a change against the membership and the leader's progress; the entry to
/// propose, or why not (etcd's error).
pub fn plan(
    record: &ClusterRecord,
    progress: &Progress,
    change: &Change,
    new_id: u64,
) -> Result<MemberChange, StoreError> {
    let voters = record.members.iter().filter(|m| !m.is_learner).count();
    let find = |id: u64| {
        record
            .members
            .iter()
            .find(|m| m.id == id)
            .ok_or(StoreError::MemberNotFound)
    };
    let used_by_other = |urls: &[String], me: u64| {
        record
            .members
            .iter()
            .filter(|m| m.id != me)
            .any(|m| m.peer_urls.iter().any(|u| urls.contains(u)))
    };
    let (kind, member) = match change {
        Change::Add(add) => {
            let urls = check_urls(&add.peer_ur_ls)?;
            if used_by_other(&urls, 0) {
                return Err(StoreError::PeerUrlExists);
            }
            if add.is_learner && record.members.iter().any(|m| m.is_learner) {
                return Err(StoreError::TooManyLearners);
            }
            // etcd adds a member (learner or voter) only while every voter is
            // connected; a voter also needs a quorum of the grown membership started,
            // except the 1 -> 2 step.
            let active = active_voters(record, progress, 0);
            if active < voters || (!add.is_learner && voters > 1 && active < quorum(voters + 1)) {
                return Err(StoreError::Unhealthy);
            }
            let member = ClusterMember {
                id: new_id,
                peer_urls: urls,
                is_learner: add.is_learner,
            };
            (Kind::Add, member)
        }
        Change::Remove(remove) => {
            let member = find(remove.id)?.clone();
            if !member.is_learner
                && (voters == 1 || active_voters(record, progress, member.id) < quorum(voters - 1))
            {
                return Err(StoreError::Unhealthy);
            }
            (Kind::Remove, member)
        }
        Change::Promote(promote) => {
            let member = find(promote.id)?.clone();
            if !member.is_learner {
                return Err(StoreError::NotLearner);
            }
            let learner = progress.members.iter().find(|p| p.id == member.id);
            let matched = learner.map_or(0, |p| p.matched);
            if matched.saturating_mul(10) < progress.commit.saturating_mul(9) {
                return Err(StoreError::LearnerNotReady);
            }
            let learner_active = usize::from(learner.is_some_and(|p| p.active));
            if active_voters(record, progress, 0) + learner_active < quorum(voters + 1) {
                return Err(StoreError::Unhealthy);
            }
            (Kind::Promote, member)
        }
        Change::Update(update) => {
            let mut member = find(update.id)?.clone();
            let urls = check_urls(&update.peer_ur_ls)?;
            if used_by_other(&urls, member.id) {
                return Err(StoreError::PeerUrlExists);
            }
            member.peer_urls = urls;
            (Kind::Update, member)
        }
    };
    Ok(MemberChange {
        kind: kind as i32,
        members: vec![member],
    })
}

#[cfg(test)]
#[path = "membership_tests.rs"]
mod tests;
