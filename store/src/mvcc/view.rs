//! A read view over the committed state plus, during apply, the batch's pending
//! writes, so later operations of a batch (and of a txn) see earlier ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use skiff_proto::mvccpb::KeyValue;
use skiff_proto::skiffstore::{ClusterRecord, LeaseRecord, MemberAttributes};

use super::blocks::{Blocks, Reader};
use super::codec::{self, corrupt, Rev};
use super::index::KeyHistory;
use super::span::KeySpan;
use super::state::State;
use crate::error::Result;
use crate::watch::hub::RevEvents;

/// One pending change of a key: a put (`kv`) or a tombstone (`None`).
#[derive(Clone, Debug)]
pub(crate) struct PendingOp {
    pub rev: Rev,
    pub kv: Option<Arc<KeyValue>>,
}

/// The writes of the batch being applied, not yet in the tree or the index.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// the store revision after the writes so far.
    pub rev: i64,
    /// the raft index of the last entry applied in this batch.
    pub applied: u64,
    pub ops: BTreeMap<Vec<u8>, Vec<PendingOp>>,
    /// lease id -> granted (Some) or revoked (None).
    pub leases: BTreeMap<i64, Option<LeaseRecord>>,
    pub members: BTreeMap<u64, MemberAttributes>,
    /// The membership and alarms, when the batch changed them.
    pub cluster: Option<ClusterRecord>,
    pub events: Vec<RevEvents>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.ops.is_empty()
            && self.leases.is_empty()
            && self.members.is_empty()
            && self.cluster.is_none()
    }
}

/// A visible version of a key, before its value is read.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub key: Vec<u8>,
    pub rev: Rev,
    pub create: i64,
    pub version: i64,
    /// known when the view is at the current revision; otherwise read with the value.
    pub lease: Option<i64>,
    /// the value of a pending write.
    pub kv: Option<Arc<KeyValue>>,
}

impl Hit {
    fn pending(key: &[u8], op: &PendingOp, kv: &Arc<KeyValue>) -> Hit {
        Hit {
            key: key.to_vec(),
            rev: op.rev,
            create: kv.create_revision,
            version: kv.version,
            lease: Some(kv.lease),
            kv: Some(kv.clone()),
        }
    }
}

/// The latest pending op of a key at main revision `at` (a put or a tombstone).
fn pending_at(ops: &[PendingOp], at: i64) -> Option<&PendingOp> {
    ops.iter().rev().find(|op| op.rev.main <= at)
}

pub(crate) struct View<'a> {
    pub state: &'a State,
    pub pending: Option<&'a Pending>,
    pub blocks: &'a Blocks,
}

impl View<'_> {
    fn base_hit(&self, key: &[u8], hist: &KeyHistory, at: i64) -> Option<Hit> {
        let f = hist.get(at)?;
        // The lease map describes the latest versions only.
        let lease = (at >= self.state.revision)
            .then(|| self.state.key_lease.get(key).copied().unwrap_or(0));
        Some(Hit {
            key: key.to_vec(),
            rev: f.rev,
            create: f.create,
            version: f.version,
            lease,
            kv: None,
        })
    }

    /// The version of `key` visible at main revision `at` (`i64::MAX`: the latest,
    /// including pending writes).
    pub(crate) fn get(&self, key: &[u8], at: i64) -> Option<Hit> {
        if let Some(op) = self
            .pending
            .and_then(|p| p.ops.get(key))
            .and_then(|ops| pending_at(ops, at))
        {
            return op.kv.as_ref().map(|kv| Hit::pending(key, op, kv));
        }
        self.state
            .index
            .get(key)
            .and_then(|h| self.base_hit(key, h, at))
    }

    /// Every key of `span` visible at `at`, in key order.
    pub(crate) fn range(&self, span: &KeySpan, at: i64) -> Vec<Hit> {
        let mut out = Vec::new();
        let mut base = span.iter(&self.state.index).peekable();
        let Some(pending) = self.pending.filter(|p| !p.ops.is_empty()) else {
            out.extend(base.filter_map(|(k, h)| self.base_hit(k, h, at)));
            return out;
        };
        let mut pend = span.iter(&pending.ops).peekable();
        loop {
            let take_base = match (base.peek(), pend.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((bk, _)), Some((pk, _))) => bk < pk,
            };
            if take_base {
                if let Some((k, h)) = base.next() {
                    out.extend(self.base_hit(k, h, at));
                }
                continue;
            }
            let Some((k, ops)) = pend.next() else { break };
            let shadowed = base.peek().is_some_and(|(bk, _)| *bk == k);
            let base_entry = if shadowed { base.next() } else { None };
            match pending_at(ops, at) {
                Some(op) => {
                    if let Some(kv) = &op.kv {
                        out.push(Hit::pending(k, op, kv));
                    }
                }
                None => {
                    if let Some((bk, h)) = base_entry {
                        out.extend(self.base_hit(bk, h, at));
                    }
                }
            }
        }
        out
    }

    /// The full KeyValue of a hit; `None` when its record has vanished (a concurrent
    /// compaction or restore).
    pub(crate) fn load(&self, hit: &Hit) -> Result<Option<KeyValue>> {
        match &hit.kv {
            Some(kv) => Ok(Some((**kv).clone())),
            None => load_rev(&mut self.blocks.reader(), hit.rev),
        }
    }

    /// Like [`View::load`] inside apply, where nothing can vanish.
    pub(crate) fn load_existing(&self, hit: &Hit) -> Result<KeyValue> {
        self.load(hit)?
            .ok_or_else(|| corrupt(format!("history record {:?} missing", hit.rev)))
    }

    pub(crate) fn lease_exists(&self, id: i64) -> bool {
        match self.pending.and_then(|p| p.leases.get(&id)) {
            Some(change) => change.is_some(),
            None => self.state.leases.contains_key(&id),
        }
    }

    /// The keys attached to lease `id`, in key order.
    pub(crate) fn lease_keys(&self, id: i64) -> Vec<Vec<u8>> {
        let mut keys = self.state.lease_keys.get(&id).cloned().unwrap_or_default();
        if let Some(p) = self.pending {
            for (key, ops) in &p.ops {
                let attached = ops
                    .last()
                    .and_then(|op| op.kv.as_ref())
                    .is_some_and(|kv| kv.lease == id);
                if attached {
                    keys.insert(key.clone());
                } else {
                    keys.remove(key);
                }
            }
        }
        keys.into_iter().collect()
    }
}

/// Reads the put recorded at `rev`; `None` if the record does not exist.
pub(crate) fn load_rev(reader: &mut Reader<'_>, rev: Rev) -> Result<Option<KeyValue>> {
    let Some(rec) = reader.get(rev)? else {
        return Ok(None);
    };
    let (tombstone, kv) = codec::record_to_kv(rev, &rec)?;
    if tombstone {
        return Err(corrupt(format!(
            "expected a put at {rev:?}, found a tombstone"
        )));
    }
    Ok(Some(kv))
}
