//! The raft log's former layout in sled, one record per appended batch, read once to
//! move it to the write-ahead log ([`super::wal`]) and then removed.
//!
//! Key: `b` + first index + last index (big-endian), so the batch boundaries are known
//! from the keys alone; value: the entries, each as a 4-byte big-endian length and its
//! protobuf bytes.

use std::collections::BTreeMap;

use protobuf::Message as PbMessage;
use raft::eraftpb::Entry;

use crate::error::{Result, StoreError};

const BATCH_PREFIX: u8 = b'b';

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
