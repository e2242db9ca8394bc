//! The MVCC state machine: etcd's revisions, key index, history, txn, compaction and
//! leases over one sled tree.
//!
//! # Layout
//! - [`codec`]: the tree's records and the history record layout.
//! - `blocks`: history on disk, one block of records per applied batch; every read
//!   and write of history goes through it.
//! - `index`: the in-memory key index (generations of revisions per key).
//! - `state`: the in-memory state and its rebuild from the tree.
//! - `view`, `range`: reads over committed state plus a batch's pending writes.
//! - `write`, `txn`, `compact`: applying committed entries.
//! - `snapshot`: whole-state snapshots and restore.
//!
//! Apply is single-threaded (the raft thread); readers share a read lock on the index
//! and read values from sled by revision (through `blocks`). Every batch of entries is
//! written with one atomic sled batch that also records the applied raft index, so a
//! crash replays whole batches only.

pub(crate) mod blocks;
mod cluster;
pub(crate) mod codec;
mod compact;
mod hash;
mod index;
mod range;
mod snapshot;
pub(crate) mod span;
mod state;
mod txn;
pub(crate) mod view;
mod write;

#[cfg(test)]
pub(crate) mod tests;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use skiff_proto::etcdserverpb::{
    AlarmMember, AlarmType, CompactionResponse, DeleteRangeResponse, LeaseGrantResponse,
    LeaseRevokeResponse, PutResponse, RangeRequest, RangeResponse, TxnResponse,
};
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::{ClusterRecord, InternalRequest, LeaseRecord, MemberAttributes};

use crate::error::{Result, StoreError};
use crate::watch::hub::Hub;
use crate::watch::{WatchSpec, Watcher};
use blocks::Blocks;
use state::State;
use view::View;
use write::Batch;

pub use hash::KvHash;
pub(crate) use txn::has_put as txn_has_put;
pub use txn::{check_delete_range, check_put, check_range_request, check_txn, MAX_TXN_OPS};
pub use write::MAX_LEASE_TTL;

/// One committed raft entry handed to [`StateMachine::apply`].
#[derive(Clone, Debug)]
pub struct Committed {
    pub index: u64,
    /// `None` for raft no-ops and conf changes.
    pub request: Option<InternalRequest>,
}

/// The result of one applied entry, for the member that proposed it.
#[derive(Debug)]
pub struct Applied {
    pub index: u64,
    pub proposer: u64,
    pub id: u64,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub enum Outcome {
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    Compaction(CompactionResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    MemberAttributes,
    /// The membership after a member change.
    Cluster(ClusterRecord),
    /// The alarms an alarm request listed, raised or cleared.
    Alarms(Vec<AlarmMember>),
    /// A request-level failure, identical on every member.
    Error(StoreError),
}

/// What the state machine and its watchers share.
pub(crate) struct Core {
    pub tree: sled::Tree,
    /// The history records of `tree`.
    pub blocks: Blocks,
    pub state: RwLock<State>,
    pub hub: Hub,
    /// Serializes apply, snapshot and restore.
    pub apply_lock: Mutex<()>,
    /// Test-only fault (`--unsafe-test-corrupt-key`): puts of this key store a
    /// different value on this member only, as damaged data would.
    pub fault_key: Mutex<Option<Vec<u8>>>,
}

pub struct StateMachine {
    pub(crate) core: Arc<Core>,
}

/// Storage failures stop the member; everything else is the request's own failure.
fn is_fatal(err: &StoreError) -> bool {
    matches!(err, StoreError::Storage(_) | StoreError::Corrupt(_))
}

impl StateMachine {
    /// Opens over a tree that holds nothing but the state machine, rebuilding the
    /// in-memory index from it. Refuses (`Corrupt`) records it cannot decode.
    pub fn open(tree: sled::Tree) -> Result<StateMachine> {
        // Checked first so a tree of an older layout is refused for what it is.
        if let Some(format) = tree.get(codec::META_FORMAT)? {
            codec::check_format(Some(&format))?;
        }
        let loaded = State::load(tree.iter().map(|r| r.map_err(StoreError::from)))?;
        let state = loaded.state;
        if !loaded.any {
            let mut b = sled::Batch::default();
            for (k, v) in State::initial_records() {
                b.insert(k, v);
            }
            tree.apply_batch(b)?;
        }
        let hub = Hub::new(state.revision);
        let core = Core {
            blocks: Blocks::new(tree.clone(), loaded.bounds),
            tree,
            state: RwLock::new(state),
            hub,
            apply_lock: Mutex::new(()),
            fault_key: Mutex::new(None),
        };
        Ok(StateMachine {
            core: Arc::new(core),
        })
    }

    /// The raft index of the last applied entry.
    pub fn applied_index(&self) -> u64 {
        self.core.state.read().applied
    }

    /// The current store revision (1 on an empty store).
    pub fn revision(&self) -> i64 {
        self.core.state.read().revision
    }

    /// The last compaction's revision; -1 before the first (as etcd).
    pub fn compact_revision(&self) -> i64 {
        self.core.state.read().compact
    }

    /// Applies committed entries in order; see the module docs for atomicity.
    /// Entries at or below the applied index are skipped (replay after restart);
    /// entries without a request only advance the applied index and yield no
    /// [`Applied`]. `Err` only for storage failures, which are fatal for the member.
    pub fn apply(&self, entries: Vec<Committed>) -> Result<Vec<Applied>> {
        let core = &*self.core;
        let _apply = core.apply_lock.lock();
        let mut out = Vec::with_capacity(entries.len());
        let mut batch = Batch::new(core);
        for entry in entries {
            if entry.index <= batch.pending.applied {
                continue;
            }
            let Some(req) = entry.request else {
                batch.pending.applied = entry.index;
                continue;
            };
            let result = match req.request {
                Some(Request::Compaction(c)) => {
                    // Compaction rewrites the index, so it runs between batches.
                    batch.commit()?;
                    let result = compact::compact(core, &c, entry.index)?.map(Outcome::Compaction);
                    batch = Batch::new(core);
                    result
                }
                other => {
                    let result = execute(&mut batch, other);
                    batch.pending.applied = entry.index;
                    result
                }
            };
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => Outcome::Error(e),
            };
            out.push(Applied {
                index: entry.index,
                proposer: req.proposer,
                id: req.id,
                outcome,
            });
        }
        batch.commit()?;
        Ok(out)
    }

    /// Makes everything applied so far durable (sled flushes on its own timer too).
    pub fn flush(&self) -> Result<()> {
        self.core.tree.flush()?;
        Ok(())
    }

    /// A read at `req.revision` (<= 0: current). The header carries only the revision.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse> {
        check_range_request(req)?;
        let core = &*self.core;
        // A compaction or restore may delete records between choosing keys and reading
        // values; a retry then either succeeds or reports Compacted.
        for _ in 0..4 {
            let plan = {
                let st = core.state.read();
                let view = View {
                    state: &st,
                    pending: None,
                    blocks: &core.blocks,
                };
                range::plan(&view, req, st.revision, st.compact)?
            };
            let mut reader = core.blocks.reader();
            if let Some(resp) = range::finish(plan, |hit| view::load_rev(&mut reader, hit.rev))? {
                return Ok(resp);
            }
        }
        Err(codec::corrupt(
            "range: history records keep vanishing".to_string(),
        ))
    }

    pub fn lease(&self, id: i64) -> Option<LeaseRecord> {
        self.core.state.read().leases.get(&id).cloned()
    }

    /// Every lease, by id.
    pub fn leases(&self) -> Vec<LeaseRecord> {
        self.core.state.read().leases.values().cloned().collect()
    }

    /// The keys attached to a lease, in key order.
    pub fn lease_keys(&self, id: i64) -> Vec<Vec<u8>> {
        let st = self.core.state.read();
        st.lease_keys
            .get(&id)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// etcd's HashKV at `revision` (<= 0: the current one).
    pub fn hash_kv(&self, revision: i64) -> Result<KvHash> {
        hash::hash_kv(&self.core, revision)
    }

    /// Plants a fault for tests: from now on this member stores a wrong value for
    /// every put of `key` (see `--unsafe-test-corrupt-key`).
    pub fn plant_fault(&self, key: Vec<u8>) {
        *self.core.fault_key.lock() = Some(key);
    }

    /// The raft membership and the raised alarms.
    pub fn cluster(&self) -> ClusterRecord {
        self.core.state.read().cluster.clone()
    }

    /// Whether member `id` was removed from the cluster.
    pub fn was_removed(&self, id: u64) -> bool {
        self.core.state.read().cluster.removed.contains(&id)
    }

    /// Whether an alarm of `kind` is raised on any member.
    pub fn alarm_raised(&self, kind: AlarmType) -> bool {
        cluster::raised(&self.core.state.read().cluster, kind)
    }

    /// Every member's published attributes, by member id.
    pub fn members(&self) -> Vec<MemberAttributes> {
        self.core.state.read().members.values().cloned().collect()
    }

    /// Every record of the tree (a `SnapshotData` protobuf), consistent with
    /// [`StateMachine::applied_index`].
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        snapshot::snapshot(&self.core)
    }

    /// Like [`StateMachine::snapshot`], written to `out` as it is read.
    pub fn snapshot_to(&self, out: &mut dyn std::io::Write) -> Result<()> {
        snapshot::snapshot_to(&self.core, out)
    }

    /// Replaces the whole state with a snapshot. Watchers never miss events across a
    /// restore: each one replays the history it has not seen yet from the restored
    /// tree, or gets `Compacted` when the snapshot no longer holds it.
    pub fn restore(&self, data: &[u8]) -> Result<()> {
        snapshot::restore(&self.core, data)
    }

    /// See [`crate::backup::restore`]: the restored state of a new cluster.
    pub fn reset_for_new_cluster(&self) -> Result<()> {
        snapshot::reset_for_new_cluster(&self.core)
    }

    pub fn watch(&self, spec: WatchSpec) -> Watcher {
        Watcher::new(self.core.clone(), spec)
    }
}

/// etcd's appliers under an alarm: CORRUPT refuses every change, NOSPACE those that
/// can grow the database (puts, txns with puts, lease grants).
fn check_alarms(batch: &Batch<'_>, request: &Option<Request>) -> Result<()> {
    let cluster = batch.cluster_ref();
    if cluster.alarms.is_empty() {
        return Ok(());
    }
    let changes = !matches!(
        request,
        Some(Request::MemberAttributes(_) | Request::MemberChange(_) | Request::Alarm(_)) | None
    );
    if changes && cluster::raised(cluster, AlarmType::Corrupt) {
        return Err(StoreError::CorruptCluster);
    }
    let grows = match request {
        Some(Request::Put(_) | Request::LeaseGrant(_)) => true,
        Some(Request::Txn(t)) => txn::has_put(t),
        _ => false,
    };
    if grows && cluster::raised(cluster, AlarmType::Nospace) {
        return Err(StoreError::NoSpace);
    }
    Ok(())
}

fn execute(batch: &mut Batch<'_>, request: Option<Request>) -> Result<Outcome> {
    check_alarms(batch, &request)?;
    Ok(match request {
        Some(Request::Put(p)) => {
            check_put(&p)?;
            // etcd checks the lease before looking at the key.
            if p.lease != 0 && !batch.view().lease_exists(p.lease) {
                return Err(StoreError::LeaseNotFound);
            }
            let mut ctx = batch.begin();
            let resp = batch.put(&mut ctx, &p)?;
            batch.finish(ctx);
            Outcome::Put(resp)
        }
        Some(Request::DeleteRange(d)) => {
            check_delete_range(&d)?;
            let mut ctx = batch.begin();
            let resp = batch.delete_range(&mut ctx, &d)?;
            batch.finish(ctx);
            Outcome::DeleteRange(resp)
        }
        Some(Request::Txn(t)) => Outcome::Txn(txn::apply_txn(batch, &t)?),
        Some(Request::LeaseGrant(g)) => Outcome::LeaseGrant(batch.lease_grant(&g)?),
        Some(Request::LeaseRevoke(r)) => Outcome::LeaseRevoke(batch.lease_revoke(&r)?),
        Some(Request::MemberAttributes(m)) => {
            batch.member(m);
            Outcome::MemberAttributes
        }
        Some(Request::MemberChange(c)) => {
            let mut record = batch.cluster();
            cluster::change(&mut record, &c)?;
            batch.set_cluster(record.clone());
            Outcome::Cluster(record)
        }
        Some(Request::Alarm(a)) => {
            let mut record = batch.cluster();
            let alarms = cluster::alarm(&mut record, &a);
            batch.set_cluster(record);
            Outcome::Alarms(alarms)
        }
        // Handled by the caller; kept total so a mistake cannot panic.
        Some(Request::Compaction(_)) => {
            Outcome::Error(StoreError::Corrupt("compaction inside a batch".into()))
        }
        None => Outcome::Error(StoreError::Corrupt(
            "internal request without an operation".into(),
        )),
    })
}
