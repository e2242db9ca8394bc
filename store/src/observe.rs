//! What a member reports on /metrics and /health.

use std::sync::Arc;

use skiff_common::http::Observe;
use skiff_common::metrics::MetricsText;

use crate::server::Member;

pub struct StoreObserver(pub Arc<Member>);

impl Observe for StoreObserver {
    fn metrics(&self) -> String {
        let m = &self.0;
        let raft = m.node.status();
        let mut text = MetricsText::new();
        text.gauge(
            "skiff_store_has_leader",
            "Whether this member knows a leader (1) or not (0).",
            f64::from(raft.leader() != 0),
        )
        .gauge(
            "skiff_store_is_leader",
            "Whether this member is the leader.",
            f64::from(m.node.is_leader()),
        )
        .gauge(
            "skiff_store_raft_term",
            "The current raft term.",
            raft.term() as f64,
        )
        .gauge(
            "skiff_store_raft_commit_index",
            "The highest committed raft index.",
            raft.commit() as f64,
        )
        .gauge(
            "skiff_store_raft_applied_index",
            "The highest applied raft index.",
            raft.applied() as f64,
        )
        .gauge(
            "skiff_store_mvcc_revision",
            "The current store revision.",
            m.state.revision() as f64,
        )
        .gauge(
            "skiff_store_mvcc_compact_revision",
            "The revision history is compacted to.",
            m.state.compact_revision() as f64,
        )
        .gauge(
            "skiff_store_db_size_bytes",
            "Size of the member's database on disk.",
            m.db.size_on_disk().unwrap_or(0) as f64,
        )
        .counter(
            "skiff_store_snapshots_applied_total",
            "Snapshots received from the leader and installed.",
            raft.snapshots_applied() as f64,
        )
        .counter(
            "skiff_store_snapshots_sent_total",
            "Snapshots sent to followers.",
            raft.snapshots_sent() as f64,
        );
        text.finish()
    }

    fn health(&self) -> Result<(), String> {
        if self.0.node.status().leader() == 0 {
            return Err("etcdserver: no leader".to_string());
        }
        Ok(())
    }
}
