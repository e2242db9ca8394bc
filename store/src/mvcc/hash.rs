//! etcd's HashKV: one hash over the MVCC keyspace up to a revision (every history
//! record, its revision and bytes, in revision order). Records do not depend on how a
//! member batched its applies, so healthy members agree at every revision; a member
//! whose data went wrong does not.

use super::Core;
use crate::error::{Result, StoreError};

/// What [`hash_kv`] found.
pub struct KvHash {
    pub hash: u32,
    /// The revision hashed up to.
    pub revision: i64,
    pub compact_revision: i64,
    /// The member's current revision.
    pub current_revision: i64,
}

/// The hash at `revision` (<= 0: the current one). Compaction and apply wait
/// meanwhile, so the records hashed are exactly those at `revision`.
pub(crate) fn hash_kv(core: &Core, revision: i64) -> Result<KvHash> {
    let _apply = core.apply_lock.lock();
    let (current, compact) = {
        let st = core.state.read();
        (st.revision, st.compact)
    };
    let revision = if revision <= 0 { current } else { revision };
    if revision > current {
        return Err(StoreError::FutureRevision);
    }
    if revision < compact {
        return Err(StoreError::Compacted);
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(b"key");
    for record in core.blocks.scan(0, revision) {
        let (rev, bytes) = record?;
        hasher.update(&rev.main.to_be_bytes());
        hasher.update(&rev.sub.to_be_bytes());
        hasher.update(&bytes);
    }
    Ok(KvHash {
        hash: hasher.finalize(),
        revision,
        compact_revision: compact,
        current_revision: current,
    })
}
