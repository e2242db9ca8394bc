//! The history window (`--history-retention`): the apiserver compacts the store's history older than it.
//!
//! The store keeps revisions, not times, so the apiserver leaves time marks in the store: every
//! tick it writes the current time to one clock key, whose revisions map times to store
//! revisions. Compaction goes to the newest mark at least a retention old. Everything it
//! needs is in the store, so a restarted apiserver (or another one serving the same store)
//! goes on where the last one stopped; several apiservers marking the clock only add marks.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::store::{KeyHistory, Store, StoreError};

/// The clock key: its value is a time in Unix milliseconds, its revisions the store's
/// revision at that time.
pub const CLOCK_KEY: &str = "/skiff/history/clock";

/// How often the clock is marked: a tenth of the retention, between 100 ms and a minute, so
/// history is kept at most a tenth longer than asked.
pub fn tick(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// Marks the clock and compacts, every tick, until `shutdown`.
pub async fn run(store: Arc<Store>, retention: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(tick(retention));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match mark_and_compact(&store, retention).await {
            Ok(Some(revision)) => tracing::info!(
                revision,
                "compacted the store's history older than --history-retention"
            ),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "history retention: cannot mark or compact the store")
            }
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One tick: mark the clock, then compact to the newest mark a retention old (if that is
/// newer than the current compaction point). The revision compacted to, if any.
pub async fn mark_and_compact(
    store: &Store,
    retention: Duration,
) -> Result<Option<i64>, StoreError> {
    let now = now_millis();
    store.put(CLOCK_KEY, now.to_string().into_bytes()).await?;
    let marks = store.key_history(CLOCK_KEY).await?;
    let Some(target) = compaction_point(&marks, now - retention.as_millis() as i64) else {
        return Ok(None);
    };
    store.compact(target).await?;
    Ok(Some(target))
}

/// The revision of the newest mark made at or before `cutoff` (Unix ms), when it is past
/// the current compaction point.
pub fn compaction_point(marks: &KeyHistory, cutoff: i64) -> Option<i64> {
    let newest_old = marks
        .revisions
        .iter()
        .filter(|r| !r.deleted)
        .filter(|r| {
            std::str::from_utf8(&r.value)
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|t| t <= cutoff)
        })
        .map(|r| r.revision)
        .max()?;
    (newest_old > marks.compacted).then_some(newest_old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyRevision;

    fn mark(revision: i64, time: i64) -> KeyRevision {
        KeyRevision {
            revision,
            version: 1,
            deleted: false,
            value: time.to_string().into_bytes(),
        }
    }

    #[test]
    fn compacts_to_the_newest_mark_a_retention_old() {
        let marks = KeyHistory {
            revisions: vec![mark(10, 1_000), mark(20, 2_000), mark(30, 3_000)],
            compacted: 0,
            revision: 31,
        };
        assert_eq!(compaction_point(&marks, 500), None);
        assert_eq!(compaction_point(&marks, 2_500), Some(20));
        assert_eq!(compaction_point(&marks, 9_000), Some(30));
        // Already compacted there: nothing to do.
        let done = KeyHistory {
            compacted: 20,
            ..marks
        };
        assert_eq!(compaction_point(&done, 2_500), None);
    }

    #[test]
    fn ticks_are_a_tenth_of_the_retention_within_bounds() {
        assert_eq!(tick(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(tick(Duration::from_secs(5)), Duration::from_millis(500));
        assert_eq!(tick(Duration::from_millis(10)), Duration::from_millis(100));
    }
}
