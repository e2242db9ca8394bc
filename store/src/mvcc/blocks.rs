//! History on disk as blocks: one sled record holds every history record of one apply.
//!
//! One sled record per history record cost a tree insert (and a page delta to flush)
//! per client write on every member; a block costs one per applied batch.
//! Key: `H` + first main revision + last main revision (u64 BE), so block bounds are
//! known from the keys alone and sled's key order is revision order. Value: the
//! records in revision order, each as `main(8) sub(8) len(4)` (BE) and the record
//! ([`super::codec`]'s layout). Blocks never overlap, and a block keeps its key for
//! life: compaction rewrites it without the dropped records (or removes it once
//! empty), so a surviving record is always in the block its bounds name.
//!
//! The bounds of every block live in memory (rebuilt at open and after a restore).
//! A point lookup finds its block there, fetches it without copying and walks record
//! headers only, handing out the record as an `IVec` subslice; a [`Reader`] keeps
//! the headers it walked, so a run of lookups in one block decodes each header once.
//!
//! The bounds change only after the sled batch that changes the blocks is applied.
//! Readers learn of revisions from the index, which is updated later still, so a
//! reader never looks for a block the bounds do not know yet; a reader racing a
//! compaction or restore may find a block gone, which reads as "record missing".

use std::collections::BTreeMap;
use std::ops::Range;

use parking_lot::RwLock;
use sled::IVec;

use super::codec::{corrupt, fixed8, Rev};
use crate::error::Result;

pub(crate) const PREFIX: u8 = b'H';
const KEY_LEN: usize = 17;
const ENTRY_HEADER: usize = 8 + 8 + 4;
/// Past this size a commit continues in a new block at the next main revision, so a
/// huge batch (a member catching up applies thousands of entries at once) does not
/// become one giant value that every lookup and compaction in it reads whole.
/// It stays under sled's blob threshold (a quarter of its 512 KiB segment): a larger
/// value is a file of its own, opened and read whole by every lookup that misses sled's
/// cache, and every write's previous value (the watch's prev_kv) is such a lookup once a
/// cluster's history outgrows the cache.
pub(crate) const MAX_BLOCK_BYTES: usize = 64 << 10;

/// first main revision -> last main revision of every block.
pub(crate) type Bounds = BTreeMap<i64, i64>;

pub(crate) fn key(first: i64, last: i64) -> [u8; KEY_LEN] {
    raw_key(first as u64, last as u64)
}

fn raw_key(first: u64, last: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[0] = PREFIX;
    k[1..9].copy_from_slice(&first.to_be_bytes());
    k[9..].copy_from_slice(&last.to_be_bytes());
    k
}

/// The bounds named by a block's key.
pub(crate) fn parse_key(key: &[u8]) -> Result<(i64, i64)> {
    if key.len() != KEY_LEN || key[0] != PREFIX {
        return Err(corrupt(format!("history block key of {} bytes", key.len())));
    }
    let first = i64::try_from(u64::from_be_bytes(fixed8(&key[1..9])));
    let last = i64::try_from(u64::from_be_bytes(fixed8(&key[9..])));
    match (first, last) {
        (Ok(first), Ok(last)) if first <= last => Ok((first, last)),
        _ => Err(corrupt(
            "history block key with impossible bounds".to_string(),
        )),
    }
}

/// Walks a block's records one header at a time, checking each against the block's
/// bounds and the one before it.
pub(crate) struct Cursor {
    first: i64,
    last: i64,
    pos: usize,
    prev: Option<Rev>,
}

impl Cursor {
    pub(crate) fn new(first: i64, last: i64) -> Cursor {
        Cursor {
            first,
            last,
            pos: 0,
            prev: None,
        }
    }

    /// The next record's revision and where its bytes are in `block`.
    pub(crate) fn next(&mut self, block: &[u8]) -> Result<Option<(Rev, Range<usize>)>> {
        let bad = |what: &str| {
            corrupt(format!(
                "history block {}..={}: {what}",
                self.first, self.last
            ))
        };
        if self.pos >= block.len() {
            if self.prev.is_none() {
                return Err(bad("empty"));
            }
            return Ok(None);
        }
        let header = block
            .get(self.pos..self.pos + ENTRY_HEADER)
            .ok_or_else(|| bad("truncated record header"))?;
        let (Ok(main), Ok(sub)) = (
            i64::try_from(u64::from_be_bytes(fixed8(&header[..8]))),
            i64::try_from(u64::from_be_bytes(fixed8(&header[8..16]))),
        ) else {
            return Err(bad("impossible revision"));
        };
        let rev = Rev::new(main, sub);
        if main < self.first || main > self.last {
            return Err(bad(&format!("holds revision {main}")));
        }
        if self.prev.is_some_and(|p| p >= rev) {
            return Err(bad(&format!("record {rev:?} out of order")));
        }
        let len = u32::from_be_bytes([header[16], header[17], header[18], header[19]]) as usize;
        let start = self.pos + ENTRY_HEADER;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= block.len())
            .ok_or_else(|| bad(&format!("record {rev:?} truncated")))?;
        self.prev = Some(rev);
        self.pos = end;
        Ok(Some((rev, start..end)))
    }
}

/// Every record of a block, in revision order (ends after the first error).
pub(crate) fn records(
    first: i64,
    last: i64,
    block: &[u8],
) -> impl Iterator<Item = Result<(Rev, &[u8])>> + '_ {
    let mut cursor = Cursor::new(first, last);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match cursor.next(block) {
            Ok(Some((rev, at))) => Some(Ok((rev, &block[at]))),
            Ok(None) => None,
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

fn push_header(out: &mut Vec<u8>, rev: Rev, len: usize) -> Result<()> {
    let len = u32::try_from(len)
        .map_err(|_| corrupt(format!("history record {rev:?} of {len} bytes")))?;
    out.extend_from_slice(&(rev.main as u64).to_be_bytes());
    out.extend_from_slice(&(rev.sub as u64).to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

/// The blocks of one commit, built from its records in revision order.
#[derive(Default)]
pub(crate) struct Builder {
    done: Vec<(i64, i64, Vec<u8>)>,
    buf: Vec<u8>,
    first: i64,
    prev: Option<Rev>,
}

impl Builder {
    /// Appends the record at `rev` (after every record pushed before): `len` bytes,
    /// which `write` appends to the buffer it is given.
    pub(crate) fn push(
        &mut self,
        rev: Rev,
        len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<()> {
        if let Some(prev) = self.prev {
            if prev >= rev {
                return Err(corrupt(format!("history record {rev:?} after {prev:?}")));
            }
            if prev.main != rev.main && self.buf.len() >= MAX_BLOCK_BYTES {
                self.seal(prev.main);
            }
        }
        if self.buf.is_empty() {
            self.first = rev.main;
        }
        push_header(&mut self.buf, rev, len)?;
        let start = self.buf.len();
        write(&mut self.buf);
        if self.buf.len() - start != len {
            return Err(corrupt(format!(
                "history record {rev:?} encoded as {} bytes, not {len}",
                self.buf.len() - start
            )));
        }
        self.prev = Some(rev);
        Ok(())
    }

    fn seal(&mut self, last: i64) {
        let buf = std::mem::take(&mut self.buf);
        self.done.push((self.first, last, buf));
    }

    /// Adds the blocks to `batch`; the returned change updates the bounds once
    /// `batch` is applied.
    pub(crate) fn stage(mut self, batch: &mut sled::Batch) -> Change {
        if let Some(prev) = self.prev.filter(|_| !self.buf.is_empty()) {
            self.seal(prev.main);
        }
        let mut change = Change::default();
        for (first, last, value) in self.done {
            batch.insert(&key(first, last)[..], value);
            change.added.push((first, last));
        }
        change
    }
}

/// Bounds to change once the sled batch holding the matching block writes is applied.
#[must_use = "the bounds must follow the tree"]
#[derive(Debug, Default)]
pub(crate) struct Change {
    added: Vec<(i64, i64)>,
    removed: Vec<i64>,
    /// blocks rewritten smaller (compaction), for the logs.
    pub rewritten: usize,
}

impl Change {
    /// How many blocks this change removes.
    pub(crate) fn removed(&self) -> usize {
        self.removed.len()
    }
}

/// The blocks of a state machine's tree and their bounds.
pub(crate) struct Blocks {
    tree: sled::Tree,
    bounds: RwLock<Bounds>,
}

impl Blocks {
    /// Over `tree`, whose blocks have exactly `bounds` (as `State::load` found them).
    pub(crate) fn new(tree: sled::Tree, bounds: Bounds) -> Blocks {
        Blocks {
            tree,
            bounds: RwLock::new(bounds),
        }
    }

    /// Call after applying the sled batch `change` was staged in.
    pub(crate) fn apply(&self, change: Change) {
        if change.added.is_empty() && change.removed.is_empty() {
            return;
        }
        let mut bounds = self.bounds.write();
        for first in change.removed {
            bounds.remove(&first);
        }
        bounds.extend(change.added);
    }

    /// After a restore replaced every block.
    pub(crate) fn replace(&self, bounds: Bounds) {
        *self.bounds.write() = bounds;
    }

    /// The bounds of the block that may hold main revision `main`.
    fn locate(&self, main: i64) -> Option<(i64, i64)> {
        let bounds = self.bounds.read();
        let (&first, &last) = bounds.range(..=main).next_back()?;
        (last >= main).then_some((first, last))
    }

    /// A reader for a run of point lookups (it keeps the last block it fetched).
    pub(crate) fn reader(&self) -> Reader<'_> {
        Reader {
            blocks: self,
            cached: None,
        }
    }

    /// The records with a main revision in `from..=until`, in revision order.
    pub(crate) fn scan(&self, from: i64, until: i64) -> Scan {
        let from = from.max(0);
        let iter = (from <= until).then(|| {
            let start = match self.locate(from) {
                Some((first, last)) => key(first, last),
                None => key(from, 0),
            };
            self.tree.range(start..=raw_key(until as u64, u64::MAX))
        });
        Scan {
            iter,
            from,
            until,
            block: None,
        }
    }

    /// Stages the removal of `dropped` (any order) in `batch`: each block holding
    /// some of them is rewritten without them, or removed when nothing is left.
    /// Revisions no block holds are ignored.
    pub(crate) fn compact(&self, mut dropped: Vec<Rev>, batch: &mut sled::Batch) -> Result<Change> {
        dropped.sort_unstable();
        let mut change = Change::default();
        let mut rest = &dropped[..];
        while let Some(next) = rest.first() {
            let Some((first, last)) = self.locate(next.main) else {
                rest = &rest[1..];
                continue;
            };
            let (doomed, tail) = rest.split_at(rest.partition_point(|r| r.main <= last));
            rest = tail;
            let k = key(first, last);
            let block = self
                .tree
                .get(k)?
                .ok_or_else(|| corrupt(format!("history block {first}..={last} missing")))?;
            let mut kept = Vec::with_capacity(block.len());
            let mut doomed = doomed.iter().peekable();
            for rec in records(first, last, &block) {
                let (rev, bytes) = rec?;
                while doomed.next_if(|d| **d < rev).is_some() {}
                if doomed.next_if(|d| **d == rev).is_some() {
                    continue;
                }
                push_header(&mut kept, rev, bytes.len())?;
                kept.extend_from_slice(bytes);
            }
            if kept.is_empty() {
                batch.remove(&k[..]);
                change.removed.push(first);
            } else if kept.len() < block.len() {
                batch.insert(&k[..], kept);
                change.rewritten += 1;
            }
        }
        Ok(change)
    }

    #[cfg(test)]
    pub(crate) fn bounds(&self) -> Bounds {
        self.bounds.read().clone()
    }

    /// Every record of every block, in revision order.
    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<(Rev, Vec<u8>)> {
        self.scan(0, i64::MAX)
            .map(|r| r.map(|(rev, rec)| (rev, rec.to_vec())))
            .collect::<Result<_>>()
            .unwrap()
    }
}

/// Point lookups that reuse the block fetched last (lookups in a row tend to hit it),
/// decoding each of its record headers at most once.
pub(crate) struct Reader<'a> {
    blocks: &'a Blocks,
    cached: Option<Cached>,
}

struct Cached {
    first: i64,
    last: i64,
    block: IVec,
    cursor: Cursor,
    /// the headers decoded so far, in revision order.
    seen: Vec<(Rev, Range<usize>)>,
}

impl Reader<'_> {
    /// The record at `rev`; `None` when no block holds it (compacted, or removed by a
    /// restore meanwhile).
    pub(crate) fn get(&mut self, rev: Rev) -> Result<Option<IVec>> {
        let hit = self
            .cached
            .as_ref()
            .is_some_and(|c| (c.first..=c.last).contains(&rev.main));
        if !hit {
            self.cached = None;
            let Some((first, last)) = self.blocks.locate(rev.main) else {
                return Ok(None);
            };
            let Some(block) = self.blocks.tree.get(key(first, last))? else {
                return Ok(None);
            };
            self.cached = Some(Cached {
                first,
                last,
                block,
                cursor: Cursor::new(first, last),
                seen: Vec::new(),
            });
        }
        let Some(c) = &mut self.cached else {
            return Ok(None);
        };
        let at = if c.seen.last().is_some_and(|(seen, _)| *seen >= rev) {
            c.seen
                .binary_search_by_key(&rev, |(r, _)| *r)
                .ok()
                .map(|i| c.seen[i].1.clone())
        } else {
            loop {
                let Some((r, at)) = c.cursor.next(&c.block)? else {
                    break None;
                };
                c.seen.push((r, at.clone()));
                if r >= rev {
                    break (r == rev).then_some(at);
                }
            }
        };
        Ok(at.map(|at| c.block.subslice(at.start, at.len())))
    }
}

/// An ordered scan of history records ([`Blocks::scan`]); ends after an error.
pub(crate) struct Scan {
    iter: Option<sled::Iter>,
    from: i64,
    until: i64,
    block: Option<(IVec, Cursor)>,
}

impl Scan {
    fn step(&mut self) -> Result<Option<(Rev, IVec)>> {
        loop {
            if let Some((block, cursor)) = &mut self.block {
                match cursor.next(block)? {
                    Some((rev, _)) if rev.main < self.from => {}
                    Some((rev, _)) if rev.main > self.until => {
                        self.iter = None;
                        self.block = None;
                    }
                    Some((rev, at)) => return Ok(Some((rev, block.subslice(at.start, at.len())))),
                    None => self.block = None,
                }
                continue;
            }
            let Some(next) = self.iter.as_mut().and_then(|it| it.next()) else {
                return Ok(None);
            };
            let (k, v) = next?;
            let (first, last) = parse_key(&k)?;
            self.block = Some((v, Cursor::new(first, last)));
        }
    }
}

impl Iterator for Scan {
    type Item = Result<(Rev, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(found) => found.map(Ok),
            Err(e) => {
                self.iter = None;
                self.block = None;
                Some(Err(e))
            }
        }
    }
}
