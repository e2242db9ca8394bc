//! Compaction: drops history before a revision from the index and, in the same apply
//! step, those history records from the tree (rewriting or removing their blocks).

use skiff_proto::etcdserverpb::{CompactionRequest, CompactionResponse};

use super::codec;
use super::range::header;
use super::Core;
use crate::error::{Result, StoreError};

/// Applies a compaction entry at raft index `index`. Runs outside any batch (the
/// caller commits the batch before), holding the state's write lock throughout so no
/// reader sees the index and the tree disagree.
pub(crate) fn compact(
    core: &Core,
    req: &CompactionRequest,
    index: u64,
) -> Result<Result<CompactionResponse>> {
    let mut st = core.state.write();
    let at = req.revision;
    let verdict = if at <= st.compact {
        Err(StoreError::Compacted)
    } else if at > st.revision {
        Err(StoreError::FutureRevision)
    } else {
        Ok(())
    };
    let mut b = sled::Batch::default();
    b.insert(codec::META_APPLIED, &index.to_be_bytes()[..]);
    let mut bounds = None;
    if verdict.is_ok() {
        let mut dropped = Vec::new();
        let mut emptied = Vec::new();
        for (key, hist) in st.index.iter_mut() {
            if hist.compact(at, &mut dropped) {
                emptied.push(key.clone());
            }
        }
        for key in &emptied {
            st.index.remove(key);
        }
        let records = dropped.len();
        let change = core.blocks.compact(dropped, &mut b)?;
        b.insert(codec::META_COMPACT, &codec::encode_i64(at)[..]);
        st.compact = at;
        tracing::debug!(
            revision = at,
            dropped = records,
            keys_removed = emptied.len(),
            blocks_rewritten = change.rewritten,
            blocks_removed = change.removed(),
            "compacted"
        );
        bounds = Some(change);
    }
    core.tree.apply_batch(b)?;
    if let Some(change) = bounds {
        core.blocks.apply(change);
    }
    st.applied = index;
    let revision = st.revision;
    Ok(verdict.map(|()| CompactionResponse {
        header: header(revision),
    }))
}
