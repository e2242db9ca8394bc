//! Watches against the store's own history: every change of the watched kind (and namespace) after the watch's start revision arrives once, in revision order, with no gap; or the watch ends with Expired and the client lists again.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Verdict;

/// One change in the store, as its own watch reports it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StoreEvent {
    pub revision: i64,
    /// The kind's plural (`pods`).
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub deleted: bool,
}

/// What a watcher saw, in the order it saw it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "what")]
pub enum WatchMark {
    /// A watch started at `revision` (after a list at that revision, or resuming after a
    /// broken stream from the last revision received).
    Start { revision: i64 },
    /// An event; `kind` is ADDED, MODIFIED or DELETED.
    Event {
        #[serde(rename = "type")]
        kind: String,
        namespace: String,
        name: String,
        revision: i64,
    },
    /// A bookmark: nothing of the selection changed up to `revision`.
    Bookmark { revision: i64 },
    /// The watch ended with Expired (the client must list again).
    Expired,
    /// The stream broke (connection lost); the client resumes from its last revision.
    Broken { error: String },
    /// The run ended; the watcher had been given time to reach `revision`.
    End { revision: i64 },
}

/// One watcher's record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WatchRecord {
    pub watcher: u64,
    pub kind: String,
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub marks: Vec<WatchMark>,
}

/// Checks every watcher against `truth`, the store's events of the watched kinds.
pub fn check(truth: &[StoreEvent], watchers: &[WatchRecord]) -> Verdict {
    let checked = watchers.iter().map(|w| w.marks.len()).sum();
    let mut verdict = Verdict::new("watches (gaps, repeats, order)", checked);
    for w in watchers {
        check_one(truth, w, &mut verdict);
    }
    verdict
}

fn selected<'a>(truth: &'a [StoreEvent], w: &WatchRecord) -> BTreeMap<i64, &'a StoreEvent> {
    truth
        .iter()
        .filter(|e| e.kind == w.kind)
        .filter(|e| w.namespace.as_ref().is_none_or(|ns| *ns == e.namespace))
        .map(|e| (e.revision, e))
        .collect()
}

/// One stretch of a watch between its start and its end (expiry, break, end of run).
struct Segment {
    start: i64,
    /// Highest revision received (events and bookmarks).
    last: i64,
    seen: BTreeSet<i64>,
}

fn check_one(truth: &[StoreEvent], w: &WatchRecord, verdict: &mut Verdict) {
    let mine = selected(truth, w);
    let who = format!(
        "watcher {} on {}{}",
        w.watcher,
        w.kind,
        w.namespace
            .as_ref()
            .map(|ns| format!(" in {ns}"))
            .unwrap_or_default()
    );
    let mut segment: Option<Segment> = None;
    let close = |seg: &Segment, upto: i64, verdict: &mut Verdict| {
        if upto <= seg.start {
            return;
        }
        let missing: Vec<i64> = mine
            .range(seg.start + 1..=upto)
            .map(|(rev, _)| *rev)
            .filter(|rev| !seg.seen.contains(rev))
            .collect();
        if let Some(first) = missing.first() {
            let e = mine[first];
            verdict.anomaly(
                format!(
                    "{who}: gap: {} change(s) of the store between revision {} and {upto} never arrived",
                    missing.len(),
                    seg.start
                ),
                vec![format!(
                    "first missing: revision {first} {} {}/{}",
                    if e.deleted { "delete" } else { "put" },
                    e.namespace,
                    e.name
                )],
            );
        }
    };
    for mark in &w.marks {
        match mark {
            WatchMark::Start { revision } => {
                if let Some(seg) = segment.take() {
                    close(&seg, seg.last, verdict);
                }
                segment = Some(Segment {
                    start: *revision,
                    last: *revision,
                    seen: BTreeSet::new(),
                });
            }
            WatchMark::Event {
                kind,
                namespace,
                name,
                revision,
            } => {
                let Some(seg) = segment.as_mut() else {
                    verdict.anomaly(format!("{who}: an event before any start"), vec![]);
                    continue;
                };
                let shown = format!("{kind} {namespace}/{name} at revision {revision}");
                if *revision <= seg.last {
                    let what = if seg.seen.contains(revision) || *revision == seg.start {
                        "duplicate event"
                    } else {
                        "event out of order"
                    };
                    verdict.anomaly(
                        format!("{who}: {what}"),
                        vec![shown, format!("after revision {}", seg.last)],
                    );
                    continue;
                }
                match mine.get(revision) {
                    None => {
                        verdict.anomaly(format!("{who}: an event the store never had"), vec![shown])
                    }
                    Some(e) if e.name != *name || e.namespace != *namespace => verdict.anomaly(
                        format!("{who}: event names the wrong object"),
                        vec![
                            shown,
                            format!("the store changed {}/{}", e.namespace, e.name),
                        ],
                    ),
                    Some(e) if e.deleted != (kind == "DELETED") => verdict.anomaly(
                        format!("{who}: event of the wrong type"),
                        vec![
                            shown,
                            format!("the store {}", if e.deleted { "deleted" } else { "put" }),
                        ],
                    ),
                    Some(_) => {}
                }
                seg.seen.insert(*revision);
                seg.last = *revision;
            }
            WatchMark::Bookmark { revision } => {
                if let Some(seg) = segment.as_mut() {
                    if *revision < seg.last {
                        verdict.anomaly(
                            format!("{who}: bookmark goes back"),
                            vec![format!("bookmark {revision} after revision {}", seg.last)],
                        );
                    }
                    seg.last = seg.last.max(*revision);
                }
            }
            WatchMark::Expired | WatchMark::Broken { .. } => {
                if let Some(seg) = segment.take() {
                    close(&seg, seg.last, verdict);
                }
            }
            WatchMark::End { revision } => {
                if let Some(seg) = segment.take() {
                    let upto = (*revision).max(seg.last);
                    close(&seg, upto, verdict);
                }
            }
        }
    }
    if let Some(seg) = segment.take() {
        close(&seg, seg.last, verdict);
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
