//! The membership and alarms as the state machine keeps them (one `ClusterRecord`),
//! changed only by applied entries so every member holds the same.

use skiff_proto::etcdserverpb::alarm_request::AlarmAction;
use skiff_proto::etcdserverpb::{AlarmMember, AlarmRequest, AlarmType};
use skiff_proto::skiffstore::member_change::Kind;
use skiff_proto::skiffstore::{ClusterRecord, MemberChange};

use crate::error::{Result, StoreError};

/// Applies a membership change. The leader checked it before proposing; what is
/// checked here again only keeps a replayed or raced change from doing harm.
pub(crate) fn change(cluster: &mut ClusterRecord, change: &MemberChange) -> Result<()> {
    let kind = Kind::try_from(change.kind).unwrap_or(Kind::Update);
    if kind == Kind::Initial {
        if cluster.members.is_empty() {
            cluster.members = change.members.clone();
        }
        return Ok(());
    }
    let Some(member) = change.members.first() else {
        return Err(StoreError::MemberNotFound);
    };
    let existing = cluster.members.iter().position(|m| m.id == member.id);
    match (kind, existing) {
        (Kind::Add, None) => cluster.members.push(member.clone()),
        (Kind::Add, Some(_)) => return Err(StoreError::PeerUrlExists),
        (Kind::Remove, Some(i)) => {
            cluster.members.remove(i);
            cluster.alarms.retain(|a| a.member_id != member.id);
            cluster.removed.push(member.id);
        }
        (Kind::Promote, Some(i)) => cluster.members[i].is_learner = false,
        (Kind::Update, Some(i)) => cluster.members[i].peer_urls = member.peer_urls.clone(),
        _ => return Err(StoreError::MemberNotFound),
    }
    Ok(())
}

/// Raises, clears or lists alarms (etcd's Maintenance.Alarm); returns the alarms the
/// request concerns: every alarm for GET, the changed one otherwise.
pub(crate) fn alarm(cluster: &mut ClusterRecord, req: &AlarmRequest) -> Vec<AlarmMember> {
    let wanted = AlarmMember {
        member_id: req.member_id,
        alarm: req.alarm,
    };
    match AlarmAction::try_from(req.action).unwrap_or(AlarmAction::Get) {
        AlarmAction::Get => cluster.alarms.clone(),
        AlarmAction::Activate => {
            if req.alarm != AlarmType::None as i32 && !cluster.alarms.contains(&wanted) {
                cluster.alarms.push(wanted);
            }
            vec![wanted]
        }
        AlarmAction::Deactivate => {
            // etcdctl disarms each alarm it listed; member 0 or alarm NONE match any.
            let matches = |a: &AlarmMember| {
                (req.member_id == 0 || a.member_id == req.member_id)
                    && (req.alarm == AlarmType::None as i32 || a.alarm == req.alarm)
            };
            let cleared: Vec<AlarmMember> = cluster
                .alarms
                .iter()
                .filter(|a| matches(a))
                .cloned()
                .collect();
            cluster.alarms.retain(|a| !matches(a));
            cleared
        }
    }
}

/// Whether `kind` is raised anywhere in the cluster.
pub(crate) fn raised(cluster: &ClusterRecord, kind: AlarmType) -> bool {
    cluster.alarms.iter().any(|a| a.alarm == kind as i32)
}
