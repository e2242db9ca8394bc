//! Snapshots of the whole state machine (every record of its tree, history blocks
//! included as they are) and restoring one.

use std::io::Write;

use prost::Message;
use skiff_proto::skiffstore::{SnapshotData, SnapshotPair};

use super::codec::{self, corrupt};
use super::state::State;
use super::Core;
use crate::error::{Result, StoreError};

/// Writes each record as it is read, encoded as one `SnapshotPair` of the `SnapshotData`
/// bytes (its repeated field 1): the whole state is never in memory, which for a large
/// history was hundreds of MB a member never gave back.
pub(crate) fn snapshot_to(core: &Core, out: &mut dyn Write) -> Result<()> {
    let _apply = core.apply_lock.lock();
    let mut buf = Vec::new();
    for rec in core.tree.iter() {
        let (key, value) = rec?;
        let pair = SnapshotPair {
            key: key.to_vec(),
            value: value.to_vec(),
        };
        buf.clear();
        prost::encoding::message::encode(1, &pair, &mut buf);
        out.write_all(&buf)
            .map_err(|e| corrupt(format!("writing a snapshot: {e}")))?;
    }
    Ok(())
}

/// The whole snapshot in memory (backups and tests).
pub(crate) fn snapshot(core: &Core) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    snapshot_to(core, &mut out)?;
    Ok(out)
}

/// Replaces every record with the snapshot's, after validating all of it, in one
/// atomic sled batch; then swaps the in-memory state and makes every watcher resync
/// from history (see `Hub::reset`).
pub(crate) fn restore(core: &Core, data: &[u8]) -> Result<()> {
    let snap = SnapshotData::decode(data).map_err(|e| corrupt(format!("snapshot: {e}")))?;
    let loaded = State::load(
        snap.pairs
            .iter()
            .map(|p| Ok::<_, StoreError>((&p.key, &p.value))),
    )?;
    if !loaded.any {
        return Err(corrupt("empty snapshot".to_string()));
    }
    let _apply = core.apply_lock.lock();
    let mut b = sled::Batch::default();
    for rec in core.tree.iter().keys() {
        b.remove(rec?);
    }
    for p in &snap.pairs {
        b.insert(p.key.as_slice(), p.value.as_slice());
    }
    let revision = loaded.state.revision;
    let applied = loaded.state.applied;
    {
        let mut st = core.state.write();
        core.tree.apply_batch(b)?;
        core.blocks.replace(loaded.bounds);
        *st = loaded.state;
    }
    core.tree.flush()?;
    core.hub.reset(revision);
    tracing::info!(applied, revision, "restored state machine from snapshot");
    Ok(())
}

/// Forgets the cluster a restored snapshot came from: its membership, alarms, members'
/// published attributes and raft position (applied index 0), keeping every key,
/// revision and lease.
pub(crate) fn reset_for_new_cluster(core: &Core) -> Result<()> {
    let _apply = core.apply_lock.lock();
    let mut b = sled::Batch::default();
    for key in core.tree.scan_prefix([codec::MEMBER]).keys() {
        b.remove(key?);
    }
    b.insert(codec::META_APPLIED, &0u64.to_be_bytes()[..]);
    b.remove(codec::META_CLUSTER);
    core.tree.apply_batch(b)?;
    {
        let mut st = core.state.write();
        st.applied = 0;
        st.cluster = Default::default();
        st.members.clear();
    }
    core.tree.flush()?;
    Ok(())
}
