//! The raft log and hard state (in the write-ahead log, [`super::wal`]), conf state and
//! latest snapshot (in a sled tree).
//!
//! raft-rs reads the log through the [`raft::Storage`] trait; the raft thread
//! writes it through the methods here. Entries and hard state are written to the
//! write-ahead log as they come; the raft loop calls [`RaftLogStorage::sync`] once per
//! Ready, which is what makes them durable (group commit), before any message that
//! acknowledges them leaves the member.
//!
//! The sled keys describe the applied state, which may lag the log (it is rebuilt from
//! the log after a crash): `cs` -> ConfState, `snap` -> the latest Snapshot's metadata
//! (its data is a file of its own, see [`super::snap_files`]), `trunc` -> (index, term)
//! of the last entry dropped by compaction. Before the write-ahead log, entries (see
//! [`super::log_batches`]) and `hs` -> HardState were sled records too; opening moves
//! them to the write-ahead log once.

use std::collections::VecDeque;
use std::io::Write;

use protobuf::Message as PbMessage;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};

use super::log_batches::{forget_sled_log, move_log_out_of_sled};
use super::snap_files::{self, SnapFiles};
use super::wal::Wal;
use crate::error::{Result, StoreError};

const KEY_CONF_STATE: &[u8] = b"cs";
const KEY_SNAPSHOT: &[u8] = b"snap";
const KEY_TRUNCATED: &[u8] = b"trunc";
/// Entries kept decoded in memory: followers that are close behind and the
/// leader's own appends are served without touching sled.
const CACHE_ENTRIES: usize = 4096;

fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("raft {what}: {err}"))
}

pub struct RaftLogStorage {
    tree: sled::Tree,
    log: Wal,
    conf_state: ConfState,
    /// Index and term of the entry just before the first one in the log.
    truncated: (u64, u64),
    last_index: u64,
    /// The tail of the log, `cache[0].index == last_index - cache.len() + 1`.
    cache: VecDeque<Entry>,
    /// The latest snapshot's metadata; its data stays in `files` until a follower needs it.
    snapshot: Option<Snapshot>,
    files: SnapFiles,
    /// Set when raft asked for a snapshot newer than the stored one; the raft
    /// loop builds one from the state machine and clears it.
    snapshot_wanted: std::cell::Cell<bool>,
}

impl RaftLogStorage {
    /// Opens the log in `wal_dir` and the records kept in `tree`; snapshot data lives in
    /// files under `snap_dir`.
    pub fn open(
        tree: sled::Tree,
        snap_dir: &std::path::Path,
        wal_dir: &std::path::Path,
    ) -> Result<RaftLogStorage> {
        let files = SnapFiles::open(snap_dir)?;
        let conf_state = match tree.get(KEY_CONF_STATE)? {
            Some(bytes) => {
                ConfState::parse_from_bytes(&bytes).map_err(|e| corrupt("conf state", e))?
            }
            None => ConfState::default(),
        };
        let snapshot = match tree.get(KEY_SNAPSHOT)? {
            Some(bytes) => Some(snapshot_metadata(
                &tree,
                &files,
                Snapshot::parse_from_bytes(&bytes).map_err(|e| corrupt("snapshot", e))?,
            )?),
            None => None,
        };
        let truncated = match tree.get(KEY_TRUNCATED)? {
            Some(bytes) if bytes.len() == 16 => {
                let index = u64::from_be_bytes(bytes[..8].try_into().unwrap_or_default());
                let term = u64::from_be_bytes(bytes[8..].try_into().unwrap_or_default());
                (index, term)
            }
            Some(_) => return Err(corrupt("truncation record", "wrong length")),
            None => (0, 0),
        };
        if !wal_dir.exists() {
            move_log_out_of_sled(&tree, wal_dir, truncated.0)?;
        }
        let mut log = Wal::open(wal_dir)?;
        forget_sled_log(&tree)?;
        // Entries the state machine has made durable may still be in the oldest segment.
        log.compact(truncated.0 + 1)?;
        let last_index = match log.last_index() {
            Some(last) if log.first_index() > truncated.0 + 1 => {
                return Err(corrupt(
                    "log",
                    format!(
                        "it holds entries {}..={last} but the state machine needs it from {}",
                        log.first_index(),
                        truncated.0 + 1
                    ),
                ))
            }
            Some(last) => last.max(truncated.0),
            None => truncated.0,
        };
        let mut storage = RaftLogStorage {
            tree,
            log,
            conf_state,
            truncated,
            last_index,
            cache: VecDeque::new(),
            snapshot,
            files,
            snapshot_wanted: std::cell::Cell::new(false),
        };
        storage.fill_cache()?;
        Ok(storage)
    }

    fn fill_cache(&mut self) -> Result<()> {
        let low = self
            .first_index()
            .max(self.last_index.saturating_sub(CACHE_ENTRIES as u64) + 1);
        self.cache.extend(self.log.read(low, self.last_index + 1)?);
        let expected = (self.last_index + 1).saturating_sub(low) as usize;
        if self.cache.len() != expected {
            return Err(corrupt(
                "log",
                format!("entries missing between {low} and {}", self.last_index),
            ));
        }
        Ok(())
    }

    /// True when the member has never been part of a cluster.
    pub fn is_fresh(&self) -> bool {
        self.conf_state.voters.is_empty() && self.last_index == 0 && self.snapshot.is_none()
    }

    /// Records the initial membership of a brand-new cluster as entry 1, committed and
    /// compacted (term 1): a member that joins later can then only be caught up with a
    /// snapshot, which carries the membership, never by replaying a log without it.
    pub fn bootstrap(&mut self, voters: Vec<u64>) -> Result<()> {
        self.tree
            .insert(KEY_TRUNCATED, truncation_record(1, 1).to_vec())?;
        self.truncated = (1, 1);
        self.last_index = 1;
        self.set_hard_state(HardState {
            term: 1,
            commit: 1,
            ..Default::default()
        })?;
        self.set_conf_state(ConfState {
            voters,
            ..Default::default()
        })?;
        self.tree.flush()?;
        self.log.sync()
    }

    pub fn hard_state(&self) -> &HardState {
        self.log.hard_state()
    }

    /// Makes every entry and hard state written so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.log.sync()
    }

    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    pub fn first_index(&self) -> u64 {
        self.truncated.0 + 1
    }

    pub fn last_index(&self) -> u64 {
        self.last_index
    }

    pub fn snapshot_wanted(&self) -> bool {
        self.snapshot_wanted.get()
    }

    pub fn stored_snapshot_index(&self) -> u64 {
        self.snapshot.as_ref().map_or(0, |s| s.get_metadata().index)
    }

    pub fn set_hard_state(&mut self, hs: HardState) -> Result<()> {
        self.log.set_hard_state(&hs)
    }

    pub fn set_commit(&mut self, commit: u64) -> Result<()> {
        let mut hs = self.hard_state().clone();
        hs.commit = commit;
        self.set_hard_state(hs)
    }

    pub fn set_conf_state(&mut self, cs: ConfState) -> Result<()> {
        let bytes = cs.write_to_bytes().map_err(|e| corrupt("conf state", e))?;
        self.tree.insert(KEY_CONF_STATE, bytes)?;
        self.conf_state = cs;
        Ok(())
    }

    /// Appends entries, replacing any conflicting suffix of the log.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.truncated.0 {
            return Err(corrupt(
                "append",
                format!("entry {} is before the compacted log", first.index),
            ));
        }
        if first.index > self.last_index + 1 {
            return Err(corrupt(
                "append",
                format!("gap: last {}, appending {}", self.last_index, first.index),
            ));
        }
        self.log.append(entries)?;
        while self.cache.back().is_some_and(|e| e.index >= first.index) {
            self.cache.pop_back();
        }
        self.cache.extend(entries.iter().cloned());
        self.last_index = entries[entries.len() - 1].index;
        while self.cache.len() > CACHE_ENTRIES {
            self.cache.pop_front();
        }
        Ok(())
    }

    /// Drops every entry before `index` (which must already be applied and
    /// covered by a durable snapshot or state machine).
    pub fn compact(&mut self, index: u64) -> Result<()> {
        if index <= self.first_index() {
            return Ok(());
        }
        let index = index.min(self.last_index + 1);
        let term = raft::Storage::term(self, index - 1).map_err(|e| corrupt("compact", e))?;
        // The new start must be durable before the segments behind it are deleted, or a
        // crash would leave a log that starts after where the state machine needs it.
        self.tree
            .insert(KEY_TRUNCATED, truncation_record(index - 1, term).to_vec())?;
        self.tree.flush()?;
        self.log.compact(index)?;
        self.truncated = (index - 1, term);
        while self.cache.front().is_some_and(|e| e.index < index) {
            self.cache.pop_front();
        }
        Ok(())
    }

    /// Keeps a snapshot built from this member's state machine, to send to
    /// followers that are behind the compacted log.
    /// The data goes to its file first, then the metadata to sled (flushed), then older
    /// files go: a crash anywhere leaves metadata whose file exists.
    pub fn store_snapshot(&mut self, mut snapshot: Snapshot) -> Result<()> {
        let data = std::mem::take(&mut snapshot.data);
        self.store_snapshot_with(snapshot, snap_files::write_data(&data))
            .map(|_| ())
    }

    /// Like [`RaftLogStorage::store_snapshot`] for a snapshot whose data `write` produces
    /// straight into its file (`snapshot` carries only the metadata). Returns the size.
    pub fn store_snapshot_with(
        &mut self,
        snapshot: Snapshot,
        write: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<u64> {
        let size = persist_snapshot(&self.tree, &self.files, &snapshot, write)?;
        let (term, index) = (snapshot.get_metadata().term, snapshot.get_metadata().index);
        self.files.keep_only(term, index)?;
        self.snapshot = Some(snapshot);
        self.snapshot_wanted.set(false);
        Ok(size)
    }

    /// Installs a snapshot received from the leader: the whole log is replaced
    /// by the snapshot's position. The caller restores the state machine.
    pub fn apply_snapshot(&mut self, snapshot: Snapshot) -> Result<()> {
        let meta: &SnapshotMetadata = snapshot.get_metadata();
        let (index, term) = (meta.index, meta.term);
        // sled first (flushed with the snapshot's metadata), the log's reset second: a
        // crash in between leaves old entries the start record says to skip, never a log
        // that starts after the state machine.
        self.tree
            .insert(KEY_TRUNCATED, truncation_record(index, term).to_vec())?;
        self.truncated = (index, term);
        self.last_index = index;
        self.cache.clear();
        self.set_conf_state(meta.get_conf_state().clone())?;
        let mut hs = self.hard_state().clone();
        hs.term = hs.term.max(term);
        hs.commit = index;
        self.store_snapshot(snapshot)?;
        self.log.reset(index)?;
        self.set_hard_state(hs)?;
        self.log.sync()
    }

    fn entry(&self, index: u64) -> raft::Result<Entry> {
        if let Some(front) = self.cache.front() {
            if index >= front.index {
                return self
                    .cache
                    .get((index - front.index) as usize)
                    .cloned()
                    .ok_or(raft::Error::Store(StorageError::Unavailable));
            }
        }
        self.read_disk(index, index + 1)?
            .pop()
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    /// Entries older than the in-memory tail, read from the write-ahead log.
    fn read_disk(&self, low: u64, high: u64) -> raft::Result<Vec<Entry>> {
        self.log
            .read(low, high)
            .map_err(|e| raft::Error::Store(StorageError::Other(Box::new(e))))
    }
}

fn truncation_record(index: u64, term: u64) -> [u8; 16] {
    let mut record = [0u8; 16];
    record[..8].copy_from_slice(&index.to_be_bytes());
    record[8..].copy_from_slice(&term.to_be_bytes());
    record
}

impl raft::Storage for RaftLogStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state().clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.truncated.0 {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let max_size = max_size.into().unwrap_or(u64::MAX);
        let cached_from = self.cache.front().map_or(u64::MAX, |e| e.index);
        let mut on_disk = if low < cached_from {
            self.read_disk(low, high.min(cached_from))?
        } else {
            Vec::new()
        };
        on_disk.reverse();
        let mut out = Vec::with_capacity((high - low) as usize);
        let mut size = 0u64;
        for index in low..high {
            let entry = match on_disk.pop() {
                Some(entry) => entry,
                None => self.entry(index)?,
            };
            if entry.index != index {
                return Err(raft::Error::Store(StorageError::Unavailable));
            }
            size += u64::from(entry.compute_size());
            // Always return at least one entry, as the trait requires.
            if !out.is_empty() && size > max_size {
                break;
            }
            out.push(entry);
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.truncated.0 {
            return Ok(self.truncated.1);
        }
        if idx < self.truncated.0 {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last_index {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.entry(idx)?.term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(RaftLogStorage::first_index(self))
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index)
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        // A snapshot taken before `to` joined would not name it, and `to` refuses it.
        let names = |snap: &Snapshot| {
            let cs = snap.get_metadata().get_conf_state();
            cs.voters.contains(&to) || cs.learners.contains(&to)
        };
        match &self.snapshot {
            Some(snap)
                if snap.get_metadata().index >= request_index
                    && snap.get_metadata().index >= self.truncated.0
                    && names(snap) =>
            {
                let meta = snap.get_metadata();
                match self.files.load(meta.term, meta.index) {
                    Ok(data) => {
                        let mut full = snap.clone();
                        full.data = data.into();
                        Ok(full)
                    }
                    Err(e) => {
                        // Unreadable: make a new one rather than never catching `to` up.
                        tracing::error!(error = %e, "the stored snapshot cannot be read");
                        self.snapshot_wanted.set(true);
                        Err(raft::Error::Store(
                            StorageError::SnapshotTemporarilyUnavailable,
                        ))
                    }
                }
            }
            _ => {
                self.snapshot_wanted.set(true);
                Err(raft::Error::Store(
                    StorageError::SnapshotTemporarilyUnavailable,
                ))
            }
        }
    }
}

/// Writes a snapshot's data (produced by `write`) to its file, then its metadata
/// (`snapshot` holds no data) to sled, flushed. Returns the data's size.
fn persist_snapshot(
    tree: &sled::Tree,
    files: &SnapFiles,
    snapshot: &Snapshot,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<u64> {
    let (term, index) = (snapshot.get_metadata().term, snapshot.get_metadata().index);
    let size = files.save_with(term, index, write)?;
    let bytes = snapshot
        .write_to_bytes()
        .map_err(|e| corrupt("snapshot", e))?;
    tree.insert(KEY_SNAPSHOT, bytes)?;
    tree.flush()?;
    Ok(size)
}

/// The stored snapshot's metadata, checked against its file. A snapshot stored with its
/// data in sled (before the data had files) is moved out to its file on the way.
fn snapshot_metadata(tree: &sled::Tree, files: &SnapFiles, mut snap: Snapshot) -> Result<Snapshot> {
    let (term, index) = (snap.get_metadata().term, snap.get_metadata().index);
    if !snap.data.is_empty() {
        let data = std::mem::take(&mut snap.data);
        persist_snapshot(tree, files, &snap, snap_files::write_data(&data))?;
    } else if !files.path(term, index).is_file() {
        return Err(corrupt(
            "snapshot",
            format!(
                "the snapshot at index {index} has no data file {}",
                files.path(term, index).display()
            ),
        ));
    }
    Ok(snap)
}

#[cfg(test)]
#[path = "storage_tests.rs"]
mod tests;
