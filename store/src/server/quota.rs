//! --quota-backend-bytes: writes that would grow a database already over its quota
//! are refused with etcd's `database space exceeded`, and the NOSPACE alarm is
//! raised (through raft), until space is freed (compaction, defragmentation) and the
//! alarm disarmed.
//!
//! Space "in use" is what the member's trees hold (keys and values of the state
//! machine and the raft log), as etcd counts the pages bbolt uses rather than its
//! file: sled's files shrink only as it cleans segments. Counting walks every tree,
//! so it runs only when the files are over the quota (never otherwise: a tree holds
//! no more than its files) and is kept for a second.
//!
//! Even the files' size is not free: sled adds up its segment file and every blob file
//! (a directory walk and a stat per blob), which cost the leader a tenth of its CPU when
//! asked on every write of a 200 MB database. It is kept for 100 ms: a burst of writes
//! may overshoot the quota by what it writes in that time, as etcd's own check (the
//! backend's size before the write) lets one batch through.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use skiff_proto::etcdserverpb::alarm_request::AlarmAction;
use skiff_proto::etcdserverpb::{AlarmRequest, AlarmType};
use skiff_proto::skiffstore::internal_request::Request as Internal;

use super::Member;
use crate::error::StoreError;
use crate::mvcc::txn_has_put;

const USAGE_FRESH_FOR: Duration = Duration::from_secs(1);
const ON_DISK_FRESH_FOR: Duration = Duration::from_millis(100);

/// A measurement and when it was taken.
type Measured = Mutex<Option<(Instant, u64)>>;

/// The last count of bytes in use and the last size of the files.
#[derive(Default)]
pub struct Usage {
    counted: Measured,
    on_disk: Measured,
}

impl Usage {
    /// Forgets the last measurements (after a defragmentation).
    pub fn invalidate(&self) {
        *self.counted.lock() = None;
        *self.on_disk.lock() = None;
    }
}

/// The value in `slot` if younger than `fresh_for`, else `measure()` kept in it.
fn cached(slot: &Measured, fresh_for: Duration, measure: impl FnOnce() -> u64) -> u64 {
    let mut last = slot.lock();
    if let Some((at, value)) = *last {
        if at.elapsed() < fresh_for {
            return value;
        }
    }
    let value = measure();
    *last = Some((Instant::now(), value));
    value
}

/// Bytes the member's trees hold (a walk of every tree).
pub fn bytes_in_use(db: &sled::Db) -> u64 {
    let mut total = 0u64;
    for name in db.tree_names() {
        let Ok(tree) = db.open_tree(&name) else {
            continue;
        };
        for (key, value) in tree.iter().flatten() {
            total += (key.len() + value.len()) as u64;
        }
    }
    total
}

/// Bytes in use, counted only when the files are over `quota`.
fn in_use(member: &Member, quota: u64) -> u64 {
    let on_disk = cached(&member.usage.on_disk, ON_DISK_FRESH_FOR, || {
        member.db.size_on_disk().unwrap_or(0)
    });
    if on_disk <= quota {
        return on_disk;
    }
    counted(member)
}

/// Bytes in use as last counted, counted again when older than a second.
pub fn counted(member: &Member) -> u64 {
    cached(&member.usage.counted, USAGE_FRESH_FOR, || {
        bytes_in_use(&member.db)
    })
}

/// Refuses `request` if it may grow a database over its quota, raising NOSPACE.
pub async fn check(member: &Member, request: &Internal) -> Result<(), StoreError> {
    let grows = match request {
        Internal::Put(_) | Internal::LeaseGrant(_) => true,
        Internal::Txn(t) => txn_has_put(t),
        _ => false,
    };
    if !grows {
        return Ok(());
    }
    if member.state.alarm_raised(AlarmType::Nospace) {
        return Err(StoreError::NoSpace);
    }
    let quota = member.quota_bytes;
    let member_for_count = member;
    let used = tokio::task::block_in_place(|| in_use(member_for_count, quota));
    if used <= quota {
        return Ok(());
    }
    tracing::warn!(
        used,
        quota,
        "database space exceeded; raising the NOSPACE alarm"
    );
    let alarm = AlarmRequest {
        action: AlarmAction::Activate as i32,
        member_id: member.id,
        alarm: AlarmType::Nospace as i32,
    };
    if let Err(err) = member.node.propose(Internal::Alarm(alarm)).await {
        tracing::warn!(%err, "the NOSPACE alarm was not raised");
    }
    Err(StoreError::NoSpace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_is_reused_only_while_fresh() {
        let slot = Measured::default();
        let mut calls = 0;
        let mut measure = |v| {
            calls += 1;
            v
        };
        assert_eq!(cached(&slot, Duration::from_secs(60), || measure(1)), 1);
        assert_eq!(cached(&slot, Duration::from_secs(60), || measure(2)), 1);
        assert_eq!(cached(&slot, Duration::ZERO, || measure(3)), 3);
        assert_eq!(calls, 2);
    }
}
