//! Auto-compaction (etcd's `--auto-compaction-mode` and `--auto-compaction-retention`),
//! run by the leader through raft like a client's Compact.
//!
//! periodic: the revision is sampled every tenth of the retention (at least every
//! 100 ms, at most every hour), and history older than the retention is compacted
//! away: the compaction goes to the newest sample at least a retention old.
//! revision: every second, history is compacted to the current revision minus the
//! retention (etcd checks every 5 minutes; a second keeps the history bounded as
//! tightly as asked at the cost of one cheap check).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::CompactionRequest;
use skiff_proto::skiffstore::internal_request::Request as Internal;
use tokio_util::sync::CancellationToken;

use super::Member;
use crate::config::AutoCompaction;

pub async fn run(member: Arc<Member>, mode: AutoCompaction, shutdown: CancellationToken) {
    let every = match mode {
        AutoCompaction::Off => return,
        AutoCompaction::Periodic(keep) => {
            (keep / 10).clamp(Duration::from_millis(100), Duration::from_secs(3600))
        }
        AutoCompaction::Revision(_) => Duration::from_secs(1),
    };
    let mut samples: VecDeque<(Instant, i64)> = VecDeque::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = Instant::now();
        let current = member.state.revision();
        let target = match mode {
            AutoCompaction::Off => return,
            AutoCompaction::Periodic(keep) => {
                samples.push_back((now, current));
                let mut target = None;
                while let Some(&(at, rev)) = samples.front() {
                    if now.duration_since(at) < keep {
                        break;
                    }
                    target = Some(rev);
                    samples.pop_front();
                }
                target
            }
            AutoCompaction::Revision(keep) => Some(current - keep),
        };
        let Some(target) = target else { continue };
        if !member.node.is_leader() || target <= member.state.compact_revision().max(1) {
            continue;
        }
        let request = Internal::Compaction(CompactionRequest {
            revision: target,
            physical: false,
        });
        match member.node.propose(request).await {
            Ok(_) => tracing::info!(revision = target, "auto-compacted"),
            Err(err) => tracing::warn!(%err, revision = target, "auto-compaction failed"),
        }
    }
}
