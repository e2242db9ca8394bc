//! Maintenance.Defragment: gives back the space the member's database holds for
//! nothing. Most of it is the raft log behind the applied index (kept for followers
//! that fall slightly behind), so defragmenting takes a snapshot now, drops the log
//! behind it, and flushes, letting sled reclaim the segments that held it.

use super::Member;
use crate::error::StoreError;

pub async fn defragment(member: &Member) -> Result<(), StoreError> {
    member.node.compact_log().await?;
    let db = member.db.clone();
    tokio::task::spawn_blocking(move || db.flush())
        .await
        .map_err(|e| StoreError::Corrupt(format!("defragment: {e}")))??;
    member.usage.invalidate();
    Ok(())
}
