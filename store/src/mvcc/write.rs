//! One apply batch: computes the writes of committed entries over a pending overlay,
//! then commits them in one atomic sled batch, updates the index and publishes events.

use std::sync::Arc;

use parking_lot::RwLockReadGuard;
use prost::Message;
use skiff_proto::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, LeaseGrantRequest, LeaseGrantResponse,
    LeaseRevokeRequest, LeaseRevokeResponse, PutRequest, PutResponse,
};
use skiff_proto::mvccpb::{event::EventType, Event, KeyValue};
use skiff_proto::skiffstore::{ClusterRecord, LeaseRecord, MemberAttributes};

use super::blocks::Builder;
use super::codec::{self, corrupt, Rev};
use super::range::header;
use super::span::KeySpan;
use super::state::State;
use super::view::{Pending, PendingOp, View};
use super::Core;
use crate::error::{Result, StoreError};
use crate::watch::hub::RevEvents;

/// etcd's largest lease TTL (seconds).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// The writes of one request (a put, a delete, a txn, a lease revoke): they share
/// one main revision, each change taking the next sub revision.
pub(crate) struct WriteCtx {
    pub main: i64,
    sub: i64,
    events: Vec<Event>,
    touched: Vec<Vec<u8>>,
}

impl WriteCtx {
    pub(crate) fn changed(&self) -> bool {
        self.sub > 0
    }

    fn next_rev(&mut self) -> Rev {
        let rev = Rev::new(self.main, self.sub);
        self.sub += 1;
        rev
    }
}

pub(crate) struct Batch<'a> {
    core: &'a Core,
    state: RwLockReadGuard<'a, State>,
    pub pending: Pending,
    /// a watcher wants prev_kv: fill it on events now, while it is at hand.
    wants_prev: bool,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(core: &'a Core) -> Batch<'a> {
        let state = core.state.read();
        let pending = Pending {
            rev: state.revision,
            applied: state.applied,
            ..Default::default()
        };
        Batch {
            core,
            state,
            pending,
            wants_prev: core.hub.wants_prev_kv(),
        }
    }

    pub(crate) fn view(&self) -> View<'_> {
        View {
            state: &self.state,
            pending: Some(&self.pending),
            blocks: &self.core.blocks,
        }
    }

    pub(crate) fn compact_revision(&self) -> i64 {
        self.state.compact
    }

    pub(crate) fn begin(&self) -> WriteCtx {
        WriteCtx {
            main: self.pending.rev + 1,
            sub: 0,
            events: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// The store revision as seen inside `ctx` (bumped once it wrote something).
    pub(crate) fn revision_in(&self, ctx: &WriteCtx) -> i64 {
        if ctx.changed() {
            ctx.main
        } else {
            self.pending.rev
        }
    }

    /// Ends a request: a request that wrote anything takes its revision.
    pub(crate) fn finish(&mut self, ctx: WriteCtx) -> i64 {
        if ctx.changed() {
            self.pending.rev = ctx.main;
            self.pending.events.push(RevEvents {
                revision: ctx.main,
                events: ctx.events,
                has_prev: self.wants_prev,
            });
        }
        self.pending.rev
    }

    /// Drops every change of a request that failed halfway.
    pub(crate) fn rollback(&mut self, ctx: WriteCtx) {
        for key in ctx.touched {
            if let Some(ops) = self.pending.ops.get_mut(&key) {
                while ops.last().is_some_and(|op| op.rev.main == ctx.main) {
                    ops.pop();
                }
                if ops.is_empty() {
                    self.pending.ops.remove(&key);
                }
            }
        }
    }

    /// The request-level checks of a put against the state before it: etcd's
    /// `checkPut` (the key must exist for ignore_value/ignore_lease; the lease must exist).
    pub(crate) fn check_put_state(&self, req: &PutRequest) -> Result<()> {
        let view = self.view();
        if (req.ignore_value || req.ignore_lease) && view.get(&req.key, i64::MAX).is_none() {
            return Err(StoreError::KeyNotFound);
        }
        if req.lease != 0 && !view.lease_exists(req.lease) {
            return Err(StoreError::LeaseNotFound);
        }
        Ok(())
    }

    pub(crate) fn put(&mut self, ctx: &mut WriteCtx, req: &PutRequest) -> Result<PutResponse> {
        let view = self.view();
        let prev = view.get(&req.key, i64::MAX);
        if (req.ignore_value || req.ignore_lease) && prev.is_none() {
            return Err(StoreError::KeyNotFound);
        }
        let need_prev = req.prev_kv || req.ignore_value || self.wants_prev;
        let prev_kv = match (&prev, need_prev) {
            (Some(hit), true) => Some(view.load_existing(hit)?),
            _ => None,
        };
        let mut value = match (&prev_kv, req.ignore_value) {
            (Some(p), true) => p.value.clone(),
            _ => req.value.clone(),
        };
        if self.core.fault_key.lock().as_deref() == Some(req.key.as_slice()) {
            value.extend_from_slice(b"#corrupted");
        }
        let lease = match (&prev, req.ignore_lease) {
            (Some(hit), true) => match hit.lease {
                Some(l) => l,
                None => view.load_existing(hit)?.lease,
            },
            _ => req.lease,
        };
        let rev = ctx.next_rev();
        let kv = Arc::new(KeyValue {
            key: req.key.clone(),
            create_revision: prev.as_ref().map_or(rev.main, |p| p.create),
            mod_revision: rev.main,
            version: prev.as_ref().map_or(1, |p| p.version + 1),
            value,
            lease,
        });
        self.pending
            .ops
            .entry(req.key.clone())
            .or_default()
            .push(PendingOp {
                rev,
                kv: Some(kv.clone()),
            });
        ctx.touched.push(req.key.clone());
        let event_prev = if self.wants_prev {
            prev_kv.clone()
        } else {
            None
        };
        ctx.events.push(Event {
            r#type: EventType::Put as i32,
            kv: Some((*kv).clone()),
            prev_kv: event_prev,
        });
        Ok(PutResponse {
            header: header(rev.main),
            prev_kv: if req.prev_kv { prev_kv } else { None },
        })
    }

    pub(crate) fn delete_range(
        &mut self,
        ctx: &mut WriteCtx,
        req: &DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse> {
        let span = KeySpan::new(&req.key, &req.range_end);
        let need_prev = req.prev_kv || self.wants_prev;
        let mut doomed = Vec::new();
        {
            let view = self.view();
            for hit in view.range(&span, i64::MAX) {
                let prev = if need_prev {
                    Some(view.load_existing(&hit)?)
                } else {
                    None
                };
                doomed.push((hit.key, prev));
            }
        }
        let deleted = doomed.len() as i64;
        let mut prev_kvs = Vec::new();
        for (key, prev) in doomed {
            let rev = ctx.next_rev();
            self.pending
                .ops
                .entry(key.clone())
                .or_default()
                .push(PendingOp { rev, kv: None });
            let kv = KeyValue {
                key: key.clone(),
                mod_revision: rev.main,
                ..Default::default()
            };
            let event_prev = if self.wants_prev { prev.clone() } else { None };
            ctx.events.push(Event {
                r#type: EventType::Delete as i32,
                kv: Some(kv),
                prev_kv: event_prev,
            });
            ctx.touched.push(key);
            if req.prev_kv {
                prev_kvs.extend(prev);
            }
        }
        Ok(DeleteRangeResponse {
            header: header(self.revision_in(ctx)),
            deleted,
            prev_kvs,
        })
    }

    pub(crate) fn lease_grant(&mut self, req: &LeaseGrantRequest) -> Result<LeaseGrantResponse> {
        if req.id == 0 {
            return Err(StoreError::LeaseNotFound);
        }
        if req.ttl > MAX_LEASE_TTL {
            return Err(StoreError::LeaseTtlTooLarge);
        }
        if self.view().lease_exists(req.id) {
            return Err(StoreError::LeaseExists);
        }
        self.pending.leases.insert(
            req.id,
            Some(LeaseRecord {
                id: req.id,
                ttl: req.ttl,
            }),
        );
        Ok(LeaseGrantResponse {
            header: header(self.pending.rev),
            id: req.id,
            ttl: req.ttl,
            error: String::new(),
        })
    }

    /// Deletes the lease and every key attached to it, in key order, in one revision.
    pub(crate) fn lease_revoke(&mut self, req: &LeaseRevokeRequest) -> Result<LeaseRevokeResponse> {
        if !self.view().lease_exists(req.id) {
            return Err(StoreError::LeaseNotFound);
        }
        let keys = self.view().lease_keys(req.id);
        let mut ctx = self.begin();
        for key in keys {
            let del = DeleteRangeRequest {
                key,
                ..Default::default()
            };
            self.delete_range(&mut ctx, &del)?;
        }
        self.pending.leases.insert(req.id, None);
        let revision = self.finish(ctx);
        Ok(LeaseRevokeResponse {
            header: header(revision),
        })
    }

    pub(crate) fn member(&mut self, member: MemberAttributes) {
        self.pending.members.insert(member.member_id, member);
    }

    /// The membership and alarms as of this batch's writes so far.
    pub(crate) fn cluster(&self) -> ClusterRecord {
        self.pending
            .cluster
            .clone()
            .unwrap_or_else(|| self.state.cluster.clone())
    }

    pub(crate) fn cluster_ref(&self) -> &ClusterRecord {
        self.pending.cluster.as_ref().unwrap_or(&self.state.cluster)
    }

    pub(crate) fn set_cluster(&mut self, cluster: ClusterRecord) {
        self.pending.cluster = Some(cluster);
    }

    /// Writes the batch (state changes and applied index in one atomic sled batch),
    /// then updates the in-memory state and publishes the events.
    pub(crate) fn commit(self) -> Result<()> {
        let Batch {
            core,
            state,
            pending,
            ..
        } = self;
        if pending.applied == state.applied && pending.is_empty() {
            return Ok(());
        }
        drop(state);
        let mut b = sled::Batch::default();
        let mut history: Vec<(&[u8], &PendingOp)> = pending
            .ops
            .iter()
            .flat_map(|(key, ops)| ops.iter().map(move |op| (key.as_slice(), op)))
            .collect();
        history.sort_unstable_by_key(|(_, op)| op.rev);
        let mut blocks = Builder::default();
        for (key, op) in history {
            match &op.kv {
                Some(kv) => {
                    blocks.push(op.rev, codec::put_len(kv), |out| codec::write_put(out, kv))?
                }
                None => blocks.push(op.rev, codec::tombstone_len(key), |out| {
                    codec::write_tombstone(out, key)
                })?,
            }
        }
        let bounds = blocks.stage(&mut b);
        for (id, change) in &pending.leases {
            match change {
                Some(rec) => b.insert(&codec::lease_key(*id)[..], rec.encode_to_vec()),
                None => b.remove(&codec::lease_key(*id)[..]),
            }
        }
        for (id, m) in &pending.members {
            b.insert(&codec::member_key(*id)[..], m.encode_to_vec());
        }
        if let Some(cluster) = &pending.cluster {
            b.insert(codec::META_CLUSTER, cluster.encode_to_vec());
        }
        b.insert(codec::META_APPLIED, &pending.applied.to_be_bytes()[..]);
        b.insert(codec::META_REVISION, &codec::encode_i64(pending.rev)[..]);
        core.tree.apply_batch(b)?;
        core.blocks.apply(bounds);

        let Pending {
            rev,
            applied,
            ops,
            leases,
            members,
            cluster,
            events,
        } = pending;
        {
            let mut st = core.state.write();
            for (key, ops) in ops {
                let hist = st.index.entry(key.clone()).or_default();
                for op in &ops {
                    let res = match &op.kv {
                        Some(kv) => hist.put(op.rev, kv.create_revision, kv.version),
                        None => hist.tombstone(op.rev),
                    };
                    res.map_err(|e| corrupt(format!("applying {key:?}: {e}")))?;
                }
                let lease = ops
                    .last()
                    .and_then(|op| op.kv.as_ref())
                    .map_or(0, |kv| kv.lease);
                st.set_lease(&key, lease);
            }
            for (id, change) in leases {
                match change {
                    Some(rec) => {
                        st.leases.insert(id, rec);
                    }
                    None => {
                        st.leases.remove(&id);
                        st.lease_keys.remove(&id);
                    }
                }
            }
            st.members.extend(members);
            if let Some(cluster) = cluster {
                st.cluster = cluster;
            }
            st.applied = applied;
            st.revision = rev;
        }
        core.hub.publish(events);
        Ok(())
    }
}
