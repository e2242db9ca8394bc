//! Watch tests: replay, live delivery, compaction, prev_kv, filters, lagging
//! watchers, fan-out and snapshot restore.

mod lagging;
mod replay;

use std::time::Duration;

use skiff_proto::mvccpb::{event::EventType, Event};
use tokio::time::timeout;

use super::{WatchItem, WatchSpec, Watcher};

pub(crate) use crate::mvcc::tests::{put_req, Fixture};

pub(crate) fn spec(key: &str, end: &str, start_revision: i64) -> WatchSpec {
    WatchSpec {
        key: key.into(),
        range_end: end.into(),
        start_revision,
        ..Default::default()
    }
}

/// Takes exactly `n` events, checking that revisions increase and that no revision
/// is split across items.
pub(crate) async fn take(w: &mut Watcher, n: usize) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    while out.len() < n {
        match timeout(Duration::from_secs(20), w.next())
            .await
            .expect("watch stalled")
        {
            WatchItem::Events { events, revision } => {
                assert!(!events.is_empty());
                let first = rev(&events[0]);
                if let Some(last) = out.last() {
                    assert!(
                        first > rev(last),
                        "revision {first} after {} (split or repeated)",
                        rev(last)
                    );
                }
                for pair in events.windows(2) {
                    assert!(rev(&pair[0]) <= rev(&pair[1]));
                }
                assert!(events.iter().all(|e| rev(e) <= revision));
                out.extend(events);
            }
            WatchItem::Compacted { compact_revision } => panic!("compacted at {compact_revision}"),
        }
    }
    assert_eq!(out.len(), n, "more events than expected");
    out
}

/// Nothing more arrives for a short while.
pub(crate) async fn assert_quiet(w: &mut Watcher) {
    if let Ok(item) = timeout(Duration::from_millis(50), w.next()).await {
        panic!("unexpected {item:?}");
    }
}

pub(crate) fn rev(e: &Event) -> i64 {
    e.kv.as_ref().map_or(0, |kv| kv.mod_revision)
}

/// (type, key, value, revision) of each event.
pub(crate) fn summary(events: &[Event]) -> Vec<(&'static str, String, String, i64)> {
    events
        .iter()
        .map(|e| {
            let kv = e.kv.clone().unwrap_or_default();
            let kind = if e.r#type == EventType::Delete as i32 {
                "del"
            } else {
                "put"
            };
            (
                kind,
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
                kv.mod_revision,
            )
        })
        .collect()
}
