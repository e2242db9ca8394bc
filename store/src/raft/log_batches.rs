//! The raft log's former layout in sled, one record per appended batch, read once to
//! move it to the write-ahead log ([`super::wal`]) and then removed.
//!
//! Key: `b` + first index + last index (big-endian), so the batch boundaries are known
//! from the keys alone; value: the entries, each as a 4-byte big-endian length and its
//! protobuf bytes.

use std::collections::BTreeMap;

use protobuf::Message as PbMessage;
use raft::eraftpb::{Entry, HardState};

use super::wal::Wal;
use crate::error::{Result, StoreError};

const BATCH_PREFIX: u8 = b'b';
/// The hard state's key in the former layout.
pub(super) const KEY_HARD_STATE: &[u8] = b"hs";

pub(super) fn batch_key(first: u64, last: u64) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = BATCH_PREFIX;
    key[1..9].copy_from_slice(&first.to_be_bytes());
    key[9..].copy_from_slice(&last.to_be_bytes());
    key
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("raft log: {what}"))
}

#[cfg(test)]
pub(super) fn encode(entries: &[Entry]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.compute_size() as usize + 4).sum());
    for entry in entries {
        let bytes = entry
            .write_to_bytes()
            .map_err(|e| corrupt(&format!("cannot encode entry: {e}")))?;
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

fn decode(first: u64, last: u64, mut bytes: &[u8]) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity((last + 1 - first) as usize);
    while !bytes.is_empty() {
        if bytes.len() < 4 {
            return Err(corrupt("truncated batch record"));
        }
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let body = bytes
            .get(4..4 + len)
            .ok_or_else(|| corrupt("truncated batch record"))?;
        out.push(
            Entry::parse_from_bytes(body)
                .map_err(|e| corrupt(&format!("undecodable entry: {e}")))?,
        );
        bytes = &bytes[4 + len..];
    }
    let expected: Vec<u64> = (first..=last).collect();
    if out.iter().map(|e| e.index).ne(expected.iter().copied()) {
        return Err(corrupt(&format!(
            "batch {first}..={last} does not hold exactly those entries"
        )));
    }
    Ok(out)
}

/// Batch boundaries in memory; entries on disk.
pub struct LogBatches {
    tree: sled::Tree,
    /// first index -> last index of every batch record.
    bounds: BTreeMap<u64, u64>,
}

impl LogBatches {
    pub fn open(tree: sled::Tree) -> Result<LogBatches> {
        let mut bounds = BTreeMap::new();
        for key in tree.scan_prefix([BATCH_PREFIX]).keys() {
            let key = key?;
            if key.len() != 17 {
                return Err(corrupt("batch key of the wrong length"));
            }
            let first = u64::from_be_bytes(key[1..9].try_into().map_err(|_| corrupt("batch key"))?);
            let last = u64::from_be_bytes(key[9..].try_into().map_err(|_| corrupt("batch key"))?);
            if last < first {
                return Err(corrupt("batch key with last before first"));
            }
            bounds.insert(first, last);
        }
        let mut expected = None;
        for (&first, &last) in &bounds {
            if expected.is_some_and(|next| next != first) {
                return Err(corrupt(&format!("gap or overlap before entry {first}")));
            }
            expected = Some(last + 1);
        }
        Ok(LogBatches { tree, bounds })
    }

    /// Index of the last entry on disk, if any.
    pub fn last_index(&self) -> Option<u64> {
        self.bounds.values().next_back().copied()
    }

    pub fn clear(&mut self, batch: &mut sled::Batch) {
        for (first, last) in std::mem::take(&mut self.bounds) {
            batch.remove(&batch_key(first, last));
        }
    }

    fn read_batch(&self, first: u64, last: u64) -> Result<Vec<Entry>> {
        let bytes = self
            .tree
            .get(batch_key(first, last))?
            .ok_or_else(|| corrupt(&format!("batch {first}..={last} missing")))?;
        decode(first, last, &bytes)
    }

    /// Entries `[low, high)` in order, decoding each batch record once.
    pub fn read(&self, low: u64, high: u64) -> Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(high.saturating_sub(low) as usize);
        let start = self
            .bounds
            .range(..=low)
            .next_back()
            .map_or(low, |(f, _)| *f);
        for (&first, &last) in self.bounds.range(start..high) {
            if last < low {
                continue;
            }
            out.extend(
                self.read_batch(first, last)?
                    .into_iter()
                    .filter(|e| e.index >= low && e.index < high),
            );
        }
        Ok(out)
    }
}

/// Moves a log kept in sled (the layout before the write-ahead log) to `wal_dir`: written
/// whole to a temporary directory, synced, then renamed, so a crash leaves either no
/// write-ahead log (and the move starts again) or all of it.
pub fn move_log_out_of_sled(
    tree: &sled::Tree,
    wal_dir: &std::path::Path,
    truncated: u64,
) -> Result<()> {
    let tmp = wal_dir.with_extension("tmp");
    let io = |path: &std::path::Path, e: std::io::Error| {
        StoreError::Corrupt(format!("raft log {}: {e}", path.display()))
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    let mut wal = Wal::open(&tmp)?;
    if let Some(bytes) = tree.get(KEY_HARD_STATE)? {
        let hs = HardState::parse_from_bytes(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("raft hard state: {e}")))?;
        wal.set_hard_state(&hs)?;
    }
    let old = LogBatches::open(tree.clone())?;
    if let Some(last) = old.last_index() {
        let mut low = truncated + 1;
        while low <= last {
            let high = (low + 1024).min(last + 1);
            wal.append(&old.read(low, high)?)?;
            low = high;
        }
        tracing::info!(
            entries = last.saturating_sub(truncated),
            "raft log moved out of sled"
        );
    }
    wal.sync()?;
    drop(wal);
    std::fs::rename(&tmp, wal_dir).map_err(|e| io(wal_dir, e))?;
    if let Some(parent) = wal_dir.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(parent, e))?;
    }
    Ok(())
}

/// Removes what the write-ahead log now holds from sled (after a move, or a crash
/// right after one).
pub fn forget_sled_log(tree: &sled::Tree) -> Result<()> {
    let mut old = LogBatches::open(tree.clone())?;
    if old.last_index().is_none() && !tree.contains_key(KEY_HARD_STATE)? {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    old.clear(&mut batch);
    batch.remove(KEY_HARD_STATE);
    tree.apply_batch(batch)?;
    tree.flush()?;
    Ok(())
}
