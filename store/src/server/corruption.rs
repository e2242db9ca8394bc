//! The corruption check (etcd's `--experimental-corrupt-check-time`): periodically
//! the leader hashes its MVCC keyspace at its current revision and asks every other
//! member for its hash at that revision; a member that answers for the same
//! compaction with a different hash holds different data, and the CORRUPT alarm is
//! raised for it through raft. While it is raised every member refuses writes.

use std::sync::Arc;
use std::time::Duration;

use skiff_proto::etcdserverpb::alarm_request::AlarmAction;
use skiff_proto::etcdserverpb::{AlarmRequest, AlarmType};
use skiff_proto::skiffstore::internal_request::Request as Internal;
use tokio_util::sync::CancellationToken;

use super::Member;

pub async fn run(member: Arc<Member>, every: Duration, shutdown: CancellationToken) {
    if every.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if member.node.is_leader() && !member.state.alarm_raised(AlarmType::Corrupt) {
            check(&member).await;
        }
    }
}

/// One round: the members whose hash differs from the leader's get the alarm.
async fn check(member: &Member) {
    let state = member.state.clone();
    let Ok(Ok(mine)) = tokio::task::spawn_blocking(move || state.hash_kv(0)).await else {
        return;
    };
    let others: Vec<u64> = member
        .state
        .cluster()
        .members
        .iter()
        .map(|m| m.id)
        .filter(|id| *id != member.id)
        .collect();
    for id in others {
        // A member not there yet answers FutureRevision; it is checked next round.
        let Ok(theirs) = member.forward.hash_kv(id, mine.revision).await else {
            continue;
        };
        if theirs.compact_revision != mine.compact_revision || theirs.hash == mine.hash {
            continue;
        }
        tracing::error!(
            member = %format!("{id:x}"),
            revision = mine.revision,
            leader_hash = mine.hash,
            member_hash = theirs.hash,
            "the member's data differs from the leader's; raising the CORRUPT alarm"
        );
        let alarm = AlarmRequest {
            action: AlarmAction::Activate as i32,
            member_id: id,
            alarm: AlarmType::Corrupt as i32,
        };
        if let Err(err) = member.node.propose(Internal::Alarm(alarm)).await {
            tracing::warn!(%err, "the CORRUPT alarm was not raised");
        }
    }
}
