//! Reads a watcher's events from history (through the history blocks), in bounded
//! chunks that never split a revision.

use skiff_proto::mvccpb::{event::EventType, Event};

use super::hub::Filter;
use crate::error::StoreError;
use crate::mvcc::codec::{self, Rev};
use crate::mvcc::span::KeySpan;
use crate::mvcc::view::load_rev;
use crate::mvcc::Core;

/// A chunk ends at the first revision boundary past any of these.
const MAX_EVENTS: usize = 1000;
const MAX_BYTES: usize = 4 << 20;
/// History records examined per chunk, matching or not, so a narrow range watcher
/// over a long history yields to the runtime between chunks.
const MAX_SCAN: usize = 10_000;

#[derive(Debug)]
pub(crate) enum HistoryError {
    Compacted(i64),
    Store(StoreError),
}

impl From<StoreError> for HistoryError {
    fn from(e: StoreError) -> Self {
        HistoryError::Store(e)
    }
}

pub(crate) struct Chunk {
    pub events: Vec<Event>,
    /// The first revision not covered by this chunk.
    pub next: i64,
}

/// The matching events of revisions `from..=until` (a prefix of them when large).
pub(crate) fn read(
    core: &Core,
    filter: &Filter,
    prev_kv: bool,
    from: i64,
    until: i64,
) -> Result<Chunk, HistoryError> {
    check_compacted(core, from)?;
    let (mut events, next) = match &filter.span {
        KeySpan::Single(key) => read_key(core, key, filter, from, until)?,
        KeySpan::Range { .. } => scan(core, filter, from, until)?,
    };
    if prev_kv {
        fill_prev(core, &mut events)?;
    }
    // A compaction that ran meanwhile may have removed records this read needed.
    check_compacted(core, from)?;
    Ok(Chunk {
        events: events.into_iter().map(|(_, ev)| ev).collect(),
        next,
    })
}

fn check_compacted(core: &Core, from: i64) -> Result<(), HistoryError> {
    let compact = core.state.read().compact;
    if from < compact {
        return Err(HistoryError::Compacted(compact));
    }
    Ok(())
}

fn wanted(filter: &Filter, tombstone: bool) -> bool {
    if tombstone {
        !filter.no_delete
    } else {
        !filter.no_put
    }
}

fn event(rev: Rev, rec: &[u8]) -> Result<Event, StoreError> {
    let (tombstone, kv) = codec::record_to_kv(rev, rec)?;
    let kind = if tombstone {
        EventType::Delete
    } else {
        EventType::Put
    };
    Ok(Event {
        r#type: kind as i32,
        kv: Some(kv),
        prev_kv: None,
    })
}

/// A single key: its revisions come straight from the index.
fn read_key(
    core: &Core,
    key: &[u8],
    filter: &Filter,
    from: i64,
    until: i64,
) -> Result<(Vec<(Rev, Event)>, i64), HistoryError> {
    let mut entries = Vec::new();
    let mut next = until + 1;
    if let Some(hist) = core.state.read().index.get(key) {
        if let Some(cut) = hist.entries_between(from, until, MAX_EVENTS, &mut entries) {
            next = cut;
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut reader = core.blocks.reader();
    for e in entries.into_iter().filter(|e| wanted(filter, e.tombstone)) {
        let Some(rec) = reader.get(e.rev)? else {
            check_compacted(core, from)?;
            return Err(codec::corrupt(format!("history record {:?} missing", e.rev)).into());
        };
        out.push((e.rev, event(e.rev, &rec)?));
    }
    Ok((out, next))
}

/// A key range: one ordered scan of the history records.
fn scan(
    core: &Core,
    filter: &Filter,
    from: i64,
    until: i64,
) -> Result<(Vec<(Rev, Event)>, i64), HistoryError> {
    let mut out = Vec::new();
    let (mut bytes, mut scanned) = (0usize, 0usize);
    let mut current = None;
    for rec in core.blocks.scan(from, until) {
        let (rev, v) = rec?;
        if current != Some(rev.main) {
            if scanned >= MAX_SCAN || out.len() >= MAX_EVENTS || bytes >= MAX_BYTES {
                return Ok((out, rev.main));
            }
            current = Some(rev.main);
        }
        scanned += 1;
        let (h, value) = codec::decode_record(&v)?;
        if !filter.span.contains(h.key) || !wanted(filter, h.tombstone) {
            continue;
        }
        bytes += h.key.len() + value.len();
        out.push((rev, event(rev, &v)?));
    }
    Ok((out, until + 1))
}

/// Sets prev_kv on each event to the key's version before it, when that still exists.
pub(crate) fn fill_prev(core: &Core, events: &mut [(Rev, Event)]) -> Result<(), StoreError> {
    let prevs: Vec<Option<Rev>> = {
        let st = core.state.read();
        events
            .iter()
            .map(|(rev, ev)| {
                let key = ev
                    .kv
                    .as_ref()
                    .map(|kv| kv.key.as_slice())
                    .unwrap_or_default();
                st.index
                    .get(key)
                    .and_then(|h| h.prev_put(*rev))
                    .map(|f| f.rev)
            })
            .collect()
    };
    let mut reader = core.blocks.reader();
    for ((_, ev), prev) in events.iter_mut().zip(prevs) {
        if let Some(prev) = prev {
            ev.prev_kv = load_rev(&mut reader, prev)?;
        }
    }
    Ok(())
}
