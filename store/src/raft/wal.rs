//! The raft log's entries and hard state in append-only segment files: `DATA/wal/<seq>.wal`
//! (16 hex digits), as etcd keeps its write-ahead log beside its database instead of in it.
//!
//! Kept in sled, every entry was written twice (sled's log, then its pages), and dropping
//! the log behind a snapshot paged the whole log tree back in just to delete it: in a
//! 10 000-pod run that was the largest share of a member's peak memory (heaptrack: 460 MB
//! of sled page pulls and I/O buffers under one compaction). Here an entry is written once,
//! a Ready costs one `fdatasync`, and compaction deletes whole files.
//!
//! A record is `[len: u32][crc32: u32][kind: u8][body]`, little-endian, `len` counting the
//! kind and body and the checksum covering both. Kinds:
//! - entries: the first entry's index (u64), then each entry as a u32 length and its
//!   protobuf bytes;
//! - hard state: its protobuf bytes;
//! - reset: an index (u64); every entry before is gone, the next one is that index + 1.
//!
//! Replaying the records in order rebuilds the log: entries starting at or before the
//! current last one replace the log from there (raft's conflict rule), as when they were
//! appended. Only the last segment may end in a torn record, the remains of a write cut off
//! before its `fdatasync` (so never acknowledged); it is cut off there. A bad record in any
//! earlier segment is corruption, and opening says which file and where.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use protobuf::Message as PbMessage;
use raft::eraftpb::{Entry, HardState};

use crate::error::{Result, StoreError};

/// A segment past this size is closed and the next write starts a new one.
const SEGMENT_BYTES: u64 = 64 << 20;
const HEADER: u64 = 8;
/// No record is larger: a Ready's entries are bounded by raft's message size (1 MiB) and
/// its uncommitted-entries budget; a length beyond this can only be a torn header.
const MAX_RECORD: u32 = 256 << 20;

const KIND_ENTRIES: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_RESET: u8 = 3;

struct Segment {
    seq: u64,
    path: PathBuf,
    file: File,
    /// The highest entry index ever written to it (0 for none): once the log's first
    /// index is past it, nothing in the file is needed.
    max_index: u64,
}

/// Where an entry's protobuf bytes are.
#[derive(Clone, Copy)]
struct Loc {
    seq: u64,
    offset: u64,
    len: u32,
}

pub struct Wal {
    dir: PathBuf,
    /// Oldest first; the last one is written to.
    segments: VecDeque<Segment>,
    /// Bytes in the last segment.
    size: u64,
    /// `locs[i]` is entry `first + i`.
    locs: VecDeque<Loc>,
    first: u64,
    hard_state: HardState,
    unsynced: bool,
    buf: Vec<u8>,
    /// [`SEGMENT_BYTES`], smaller in tests.
    pub(super) segment_bytes: u64,
}

fn io_error(path: &Path, doing: &str, e: std::io::Error) -> StoreError {
    StoreError::Corrupt(format!("raft log {}: {doing}: {e}", path.display()))
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.wal"))
}

impl Wal {
    /// Opens the log in `dir` (created if missing), replaying every segment.
    pub fn open(dir: &Path) -> Result<Wal> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, "creating", e))?;
        let mut seqs = Vec::new();
        for item in fs::read_dir(dir).map_err(|e| io_error(dir, "listing", e))? {
            let name = item.map_err(|e| io_error(dir, "listing", e))?.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else {
                continue;
            };
            let seq = u64::from_str_radix(stem, 16).map_err(|_| {
                StoreError::Corrupt(format!(
                    "raft log {}: {stem}.wal is not a segment name (16 hex digits)",
                    dir.display()
                ))
            })?;
            seqs.push(seq);
        }
        seqs.sort_unstable();
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            segments: VecDeque::new(),
            size: 0,
            locs: VecDeque::new(),
            first: 1,
            hard_state: HardState::default(),
            unsynced: false,
            buf: Vec::new(),
            segment_bytes: SEGMENT_BYTES,
        };
        if seqs.is_empty() {
            wal.start_segment(1)?;
            return Ok(wal);
        }
        for (i, &seq) in seqs.iter().enumerate() {
            wal.replay(seq, i + 1 == seqs.len())?;
        }
        Ok(wal)
    }

    fn open_segment(path: &Path) -> std::io::Result<File> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
    }

    /// Reads segment `seq` into the index. The last segment's torn tail is cut off.
    fn replay(&mut self, seq: u64, last: bool) -> Result<()> {
        let path = segment_path(&self.dir, seq);
        let file = Self::open_segment(&path).map_err(|e| io_error(&path, "opening", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_error(&path, "reading", e))?
            .len();
        let mut max_index = 0;
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut offset = 0u64;
        let mut body = Vec::new();
        let torn = loop {
            if offset == len {
                break None;
            }
            let mut header = [0u8; HEADER as usize];
            if offset + HEADER > len || reader.read_exact(&mut header).is_err() {
                break Some("a record header cut short");
            }
            let size = u32::from_le_bytes(header[..4].try_into().unwrap_or_default());
            let crc = u32::from_le_bytes(header[4..].try_into().unwrap_or_default());
            if size == 0 || size > MAX_RECORD || offset + HEADER + u64::from(size) > len {
                break Some("a record cut short");
            }
            body.resize(size as usize, 0);
            if reader.read_exact(&mut body).is_err() {
                break Some("a record cut short");
            }
            if crc32fast::hash(&body) != crc {
                break Some("a record whose checksum does not match");
            }
            // A whole record that makes no sense was written so: corruption, not a torn write.
            let placed = self
                .replay_record(seq, offset + HEADER, &body)
                .map_err(|why| {
                    StoreError::Corrupt(format!(
                        "raft log {}: {why} at byte {offset}",
                        path.display()
                    ))
                })?;
            max_index = max_index.max(placed);
            offset += HEADER + u64::from(size);
        };
        drop(reader);
        if let Some(why) = torn {
            if !last {
                return Err(StoreError::Corrupt(format!(
                    "raft log {}: {why} at byte {offset}, and later segments follow it",
                    path.display()
                )));
            }
            tracing::warn!(
                segment = %path.display(),
                offset,
                why,
                "cutting off the raft log's unfinished last write"
            );
            file.set_len(offset)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error(&path, "truncating", e))?;
        }
        self.size = offset;
        self.segments.push_back(Segment {
            seq,
            path,
            file,
            max_index,
        });
        Ok(())
    }

    /// Applies one record read back at `offset` (its kind byte) to the index. Returns the
    /// last entry index it wrote (0 for none).
    fn replay_record(
        &mut self,
        seq: u64,
        offset: u64,
        record: &[u8],
    ) -> std::result::Result<u64, String> {
        let (kind, body) = record.split_first().ok_or("an empty record")?;
        match *kind {
            KIND_ENTRIES => {
                let first = read_u64(body).ok_or("an entries record without its index")?;
                let mut at = 8usize;
                let mut locs = Vec::new();
                while at < body.len() {
                    let len = body
                        .get(at..at + 4)
                        .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
                        .ok_or("an entry length cut short")?;
                    let start = at + 4;
                    if start + len as usize > body.len() {
                        return Err("an entry cut short".into());
                    }
                    locs.push(Loc {
                        seq,
                        offset: offset + 1 + start as u64,
                        len,
                    });
                    at = start + len as usize;
                }
                self.place(first, locs).map_err(|e| e.to_string())?;
                Ok(self.last_index().unwrap_or(0))
            }
            KIND_HARD_STATE => {
                self.hard_state = HardState::parse_from_bytes(body)
                    .map_err(|e| format!("an undecodable hard state ({e})"))?;
                Ok(0)
            }
            KIND_RESET => {
                let index = read_u64(body).ok_or("a reset record without its index")?;
                self.locs.clear();
                self.first = index + 1;
                Ok(0)
            }
            other => Err(format!("a record of unknown kind {other}")),
        }
    }

    /// Puts entries `first..` at `locs`, replacing the log from `first` on.
    fn place(&mut self, first: u64, locs: Vec<Loc>) -> Result<()> {
        let next = self.first + self.locs.len() as u64;
        if first > next && !self.locs.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "raft log: entry {first} appended after {}",
                next - 1
            )));
        }
        if self.locs.is_empty() || first < self.first {
            self.locs.clear();
            self.first = first;
        } else {
            self.locs.truncate((first - self.first) as usize);
        }
        self.locs.extend(locs);
        Ok(())
    }

    fn start_segment(&mut self, seq: u64) -> Result<()> {
        let path = segment_path(&self.dir, seq);
        let file = Self::open_segment(&path).map_err(|e| io_error(&path, "creating", e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&self.dir, "syncing", e))?;
        self.segments.push_back(Segment {
            seq,
            path,
            file,
            max_index: 0,
        });
        self.size = 0;
        Ok(())
    }

    /// Closes a full segment (synced, so a later sync of the next one covers all) and
    /// starts the next with the current hard state, so older segments can go.
    fn rotate_if_full(&mut self) -> Result<()> {
        if self.size < self.segment_bytes {
            return Ok(());
        }
        self.sync()?;
        let seq = self.segments.back().map_or(1, |s| s.seq + 1);
        self.start_segment(seq)?;
        let hs = self.hard_state.clone();
        self.set_hard_state(&hs)
    }

    /// Writes one record, its body made by `body`, to the last segment (not synced). A body
    /// that cannot be made writes nothing.
    fn write_record(
        &mut self,
        kind: u8,
        body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.extend_from_slice(&[0u8; HEADER as usize]);
        buf.push(kind);
        let written = body(&mut buf).and_then(|()| {
            let size = (buf.len() as u64 - HEADER) as u32;
            let crc = crc32fast::hash(&buf[HEADER as usize..]);
            buf[..4].copy_from_slice(&size.to_le_bytes());
            buf[4..8].copy_from_slice(&crc.to_le_bytes());
            let segment = self.segments.back_mut().ok_or_else(|| {
                StoreError::Corrupt(format!("raft log {}: no segment", self.dir.display()))
            })?;
            segment
                .file
                .write_all(&buf)
                .map_err(|e| io_error(&segment.path, "writing", e))
        });
        if written.is_ok() {
            self.size += buf.len() as u64;
            self.unsynced = true;
        }
        // Keep a modest buffer between writes; a large Ready's would stay resident.
        if buf.capacity() <= 1 << 20 {
            self.buf = buf;
        }
        written
    }

    /// Appends contiguous entries, replacing any stored entry at or after the first.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(first) = entries.first().map(|e| e.index) else {
            return Ok(());
        };
        self.rotate_if_full()?;
        let (seq, record_at) = (self.segments.back().map_or(0, |s| s.seq), self.size);
        let mut locs = Vec::with_capacity(entries.len());
        self.write_record(KIND_ENTRIES, |buf| {
            buf.extend_from_slice(&first.to_le_bytes());
            for entry in entries {
                let len = entry.compute_size();
                buf.extend_from_slice(&len.to_le_bytes());
                locs.push(Loc {
                    seq,
                    offset: record_at + buf.len() as u64,
                    len,
                });
                entry.write_to_vec(buf).map_err(|e| {
                    StoreError::Corrupt(format!("raft log: cannot encode entry: {e}"))
                })?;
            }
            Ok(())
        })?;
        self.place(first, locs)?;
        let last = self.last_index().unwrap_or(0);
        if let Some(segment) = self.segments.back_mut() {
            segment.max_index = segment.max_index.max(last);
        }
        Ok(())
    }

    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<()> {
        self.write_record(KIND_HARD_STATE, |buf| {
            hs.write_to_vec(buf)
                .map_err(|e| StoreError::Corrupt(format!("raft log: hard state: {e}")))
        })?;
        self.hard_state = hs.clone();
        Ok(())
    }

    /// Everything written so far is on disk when this returns.
    pub fn sync(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        if let Some(segment) = self.segments.back() {
            segment
                .file
                .sync_data()
                .map_err(|e| io_error(&segment.path, "syncing", e))?;
        }
        self.unsynced = false;
        Ok(())
    }

    /// The index of the first entry held (meaningful when any is).
    pub fn first_index(&self) -> u64 {
        self.first
    }

    pub fn last_index(&self) -> Option<u64> {
        (!self.locs.is_empty()).then(|| self.first + self.locs.len() as u64 - 1)
    }

    /// Forgets entries before `index` and deletes the oldest segments that hold nothing
    /// at or after it. The caller has made that forgetting durable elsewhere first.
    pub fn compact(&mut self, index: u64) -> Result<()> {
        while self.first < index && !self.locs.is_empty() {
            self.locs.pop_front();
            self.first += 1;
        }
        if self.locs.is_empty() {
            self.first = self.first.max(index);
        }
        while self.segments.len() > 1 && self.segments[0].max_index < index {
            if let Some(segment) = self.segments.pop_front() {
                fs::remove_file(&segment.path)
                    .map_err(|e| io_error(&segment.path, "removing", e))?;
            }
        }
        Ok(())
    }

    /// Drops every entry: the log continues at `index + 1` (a snapshot installed at
    /// `index`). Durable when it returns; older segments are then deleted.
    pub fn reset(&mut self, index: u64) -> Result<()> {
        self.write_record(KIND_RESET, |buf| {
            buf.extend_from_slice(&index.to_le_bytes());
            Ok(())
        })?;
        self.sync()?;
        self.locs.clear();
        self.first = index + 1;
        while self.segments.len() > 1 {
            if let Some(segment) = self.segments.pop_front() {
                fs::remove_file(&segment.path)
                    .map_err(|e| io_error(&segment.path, "removing", e))?;
            }
        }
        Ok(())
    }

    /// Entries `[low, high)`, all of which the log holds.
    pub fn read(&self, low: u64, high: u64) -> Result<Vec<Entry>> {
        let missing = || {
            StoreError::Corrupt(format!(
                "raft log {}: entries {low}..{high} are not all held",
                self.dir.display()
            ))
        };
        if low < self.first || high > self.first + self.locs.len() as u64 {
            return Err(missing());
        }
        let mut out = Vec::with_capacity(high.saturating_sub(low) as usize);
        let mut bytes = Vec::new();
        for index in low..high {
            let loc = self.locs[(index - self.first) as usize];
            let segment = self
                .segments
                .iter()
                .find(|s| s.seq == loc.seq)
                .ok_or_else(missing)?;
            bytes.resize(loc.len as usize, 0);
            segment
                .file
                .read_exact_at(&mut bytes, loc.offset)
                .map_err(|e| io_error(&segment.path, "reading", e))?;
            let entry = Entry::parse_from_bytes(&bytes).map_err(|e| {
                StoreError::Corrupt(format!(
                    "raft log {}: entry {index} at byte {}: {e}",
                    segment.path.display(),
                    loc.offset
                ))
            })?;
            if entry.index != index {
                return Err(StoreError::Corrupt(format!(
                    "raft log {}: entry {index} at byte {} says it is {}",
                    segment.path.display(),
                    loc.offset,
                    entry.index
                )));
            }
            out.push(entry);
        }
        Ok(out)
    }
}

fn read_u64(body: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(body.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
#[path = "wal_tests.rs"]
mod tests;
