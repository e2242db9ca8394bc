//! The in-memory history of one key: its generations of revisions, as etcd's keyIndex.
//!
//! A generation runs from the put that creates a key to the delete (tombstone) that
//! ends it. Only revisions live here; values stay in sled and are read by revision.
//! The index always lists exactly the history records that exist on disk, so a
//! compaction deletes precisely the revisions it drops from the index.

use super::codec::Rev;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Generation {
    /// create_revision of the key in this generation.
    pub create: i64,
    /// version of `revs[0]`; later puts count up by one each.
    pub first_version: i64,
    /// the puts of this generation that survive compaction, in order.
    pub revs: Vec<Rev>,
    /// the delete that ended this generation.
    pub tombstone: Option<Rev>,
}

impl Generation {
    fn first(&self) -> Rev {
        // A generation always holds a put or a tombstone; `Rev::default()` is never
        // reached but keeps this total.
        self.revs
            .first()
            .copied()
            .or(self.tombstone)
            .unwrap_or_default()
    }

    fn last(&self) -> Rev {
        self.tombstone
            .or(self.revs.last().copied())
            .unwrap_or_default()
    }
}

/// One visible version of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub rev: Rev,
    pub create: i64,
    pub version: i64,
}

/// One history entry of a key, for watch replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub rev: Rev,
    pub tombstone: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyHistory {
    pub gens: Vec<Generation>,
}

impl KeyHistory {
    /// The version visible at main revision `at`, if the key exists then.
    pub(crate) fn get(&self, at: i64) -> Option<Found> {
        let g = self.gens.iter().rev().find(|g| g.first().main <= at)?;
        if g.tombstone.is_some_and(|t| t.main <= at) {
            return None;
        }
        let n = g.revs.partition_point(|r| r.main <= at);
        let i = n.checked_sub(1)?;
        Some(Found {
            rev: g.revs[i],
            create: g.create,
            version: g.first_version + i as i64,
        })
    }

    /// The put just before `rev` (the previous value of an event at `rev`), if the
    /// entry before it is a put that still exists.
    pub(crate) fn prev_put(&self, rev: Rev) -> Option<Found> {
        let g = self.gens.iter().rev().find(|g| g.first() < rev)?;
        if g.tombstone.is_some_and(|t| t < rev) {
            return None;
        }
        let n = g.revs.partition_point(|r| *r < rev);
        let i = n.checked_sub(1)?;
        Some(Found {
            rev: g.revs[i],
            create: g.create,
            version: g.first_version + i as i64,
        })
    }

    /// The entries with a main revision in `from..=to`, in revision order, stopping at
    /// the first revision boundary after `limit` entries. Returns the first revision
    /// left out, or `None` when everything up to `to` was taken.
    pub(crate) fn entries_between(
        &self,
        from: i64,
        to: i64,
        limit: usize,
        out: &mut Vec<Entry>,
    ) -> Option<i64> {
        let all = self.gens.iter().flat_map(|g| {
            let start = g.revs.partition_point(|r| r.main < from);
            let puts = g.revs[start..].iter().map(|r| Entry {
                rev: *r,
                tombstone: false,
            });
            puts.chain(g.tombstone.filter(|t| t.main >= from).map(|t| Entry {
                rev: t,
                tombstone: true,
            }))
        });
        let taken = out.len();
        for e in all {
            if e.rev.main > to {
                break;
            }
            if out.len() - taken >= limit && out.last().is_some_and(|l| l.rev.main != e.rev.main) {
                return Some(e.rev.main);
            }
            out.push(e);
        }
        None
    }

    /// Appends a put. `create`/`version` must continue the open generation or start a
    /// new one; anything else means the history on disk is inconsistent.
    pub(crate) fn put(&mut self, rev: Rev, create: i64, version: i64) -> Result<(), String> {
        if let Some(g) = self.gens.last_mut() {
            if g.last() >= rev {
                return Err(format!("revision {rev:?} is not after {:?}", g.last()));
            }
            if g.tombstone.is_none() {
                if g.create != create {
                    return Err(format!(
                        "put at {rev:?} with create {create} inside a generation created at {}",
                        g.create
                    ));
                }
                let expected = g.first_version + g.revs.len() as i64;
                if version != expected {
                    return Err(format!(
                        "put at {rev:?} with version {version}, expected {expected}"
                    ));
                }
                g.revs.push(rev);
                return Ok(());
            }
        }
        if version < 1 || create > rev.main {
            return Err(format!(
                "put at {rev:?} starts a generation with version {version}, create {create}"
            ));
        }
        self.push(Generation {
            create,
            first_version: version,
            revs: vec![rev],
            tombstone: None,
        });
        Ok(())
    }

    /// Ends the open generation. A tombstone without an open generation is one kept
    /// by compaction at exactly its revision (its puts were compacted away).
    pub(crate) fn tombstone(&mut self, rev: Rev) -> Result<(), String> {
        match self.gens.last_mut() {
            Some(g) if g.tombstone.is_none() => {
                if g.revs.last().is_some_and(|r| *r >= rev) {
                    return Err(format!("tombstone at {rev:?} before the last put"));
                }
                g.tombstone = Some(rev);
            }
            last => {
                if last.is_some_and(|g| g.tombstone.is_some_and(|t| t >= rev)) {
                    return Err(format!("tombstone at {rev:?} out of order"));
                }
                self.push(Generation {
                    create: 0,
                    first_version: 0,
                    revs: Vec::new(),
                    tombstone: Some(rev),
                });
            }
        }
        Ok(())
    }

    /// Adds a generation with room for it alone: nearly every key has one generation, and a
    /// vector's first growth makes room for four (256 bytes for every key in the store).
    fn push(&mut self, generation: Generation) {
        self.gens.reserve_exact(1);
        self.gens.push(generation);
    }

    /// Compacts at main revision `at`, pushing the revisions it drops into `dropped`;
    /// returns true when nothing of the key remains. Keeps the latest version at or
    /// before `at` unless that is a tombstone; a tombstone at exactly `at` stays too,
    /// so a watch starting at the compact revision still sees that delete.
    pub(crate) fn compact(&mut self, at: i64, dropped: &mut Vec<Rev>) -> bool {
        let Some(gi) = self.gens.iter().rposition(|g| g.first().main <= at) else {
            return false;
        };
        for g in self.gens.drain(..gi) {
            dropped.extend(g.revs);
            dropped.extend(g.tombstone);
        }
        let g = &mut self.gens[0];
        match g.tombstone {
            Some(t) if t.main <= at => {
                dropped.append(&mut g.revs);
                if t.main < at {
                    dropped.push(t);
                    self.gens.remove(0);
                }
            }
            _ => {
                let n = g.revs.partition_point(|r| r.main <= at);
                if n > 1 {
                    dropped.extend(g.revs.drain(..n - 1));
                    g.first_version += (n - 1) as i64;
                }
            }
        }
        self.gens.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Rev {
        Rev::new(main, 0)
    }

    /// puts at 2,3 (gen 1, deleted at 4), puts at 6,8 (gen 2, open)
    fn sample() -> KeyHistory {
        let mut h = KeyHistory::default();
        h.put(r(2), 2, 1).unwrap();
        h.put(r(3), 2, 2).unwrap();
        h.tombstone(r(4)).unwrap();
        h.put(r(6), 6, 1).unwrap();
        h.put(r(8), 6, 2).unwrap();
        h
    }

    #[test]
    fn a_generation_takes_room_for_itself_alone() {
        let mut h = KeyHistory::default();
        h.put(r(2), 2, 1).unwrap();
        h.put(r(3), 2, 2).unwrap();
        assert_eq!(h.gens.capacity(), 1);
        h.tombstone(r(4)).unwrap();
        h.put(r(5), 5, 1).unwrap();
        assert_eq!(h.gens.capacity(), 2);
    }

    #[test]
    fn lookups_follow_generations() {
        let h = sample();
        assert_eq!(h.get(1), None);
        assert_eq!(
            h.get(2),
            Some(Found {
                rev: r(2),
                create: 2,
                version: 1
            })
        );
        assert_eq!(
            h.get(3),
            Some(Found {
                rev: r(3),
                create: 2,
                version: 2
            })
        );
        assert_eq!(h.get(4), None);
        assert_eq!(h.get(5), None);
        assert_eq!(
            h.get(7),
            Some(Found {
                rev: r(6),
                create: 6,
                version: 1
            })
        );
        assert_eq!(
            h.get(i64::MAX),
            Some(Found {
                rev: r(8),
                create: 6,
                version: 2
            })
        );
        assert_eq!(h.prev_put(r(3)).map(|f| f.rev), Some(r(2)));
        assert_eq!(h.prev_put(r(4)).map(|f| f.rev), Some(r(3)));
        assert_eq!(h.prev_put(r(6)), None);
        assert_eq!(h.prev_put(r(2)), None);
        let mut out = Vec::new();
        assert_eq!(h.entries_between(3, 6, 10, &mut out), None);
        let revs: Vec<_> = out.iter().map(|e| (e.rev.main, e.tombstone)).collect();
        assert_eq!(revs, [(3, false), (4, true), (6, false)]);
        out.clear();
        assert_eq!(h.entries_between(3, 8, 2, &mut out), Some(6));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn inconsistent_history_is_refused() {
        let mut h = sample();
        assert!(h.put(r(9), 6, 5).is_err());
        assert!(h.put(r(9), 9, 1).is_err());
        assert!(h.put(r(7), 6, 3).is_err());
    }

    #[test]
    fn compaction_keeps_latest_before_and_drops_ended_generations() {
        let mut h = sample();
        let mut dropped = Vec::new();
        assert!(!h.compact(3, &mut dropped));
        assert_eq!(dropped, [r(2)]);
        assert_eq!(
            h.get(3),
            Some(Found {
                rev: r(3),
                create: 2,
                version: 2
            })
        );
        dropped.clear();
        assert!(!h.compact(5, &mut dropped));
        assert_eq!(dropped, [r(3), r(4)]);
        assert_eq!(h.gens.len(), 1);
        dropped.clear();
        assert!(!h.compact(8, &mut dropped));
        assert_eq!(dropped, [r(6)]);
        assert_eq!(
            h.get(8),
            Some(Found {
                rev: r(8),
                create: 6,
                version: 2
            })
        );
    }

    #[test]
    fn tombstone_at_compact_revision_is_kept_once() {
        let mut h = KeyHistory::default();
        h.put(r(2), 2, 1).unwrap();
        h.tombstone(r(5)).unwrap();
        let mut dropped = Vec::new();
        assert!(!h.compact(5, &mut dropped));
        assert_eq!(dropped, [r(2)]);
        assert_eq!(h.get(5), None);
        let mut out = Vec::new();
        assert_eq!(h.entries_between(5, 5, 10, &mut out), None);
        assert_eq!(
            out,
            [Entry {
                rev: r(5),
                tombstone: true
            }]
        );
        dropped.clear();
        assert!(h.compact(6, &mut dropped));
        assert_eq!(dropped, [r(5)]);
    }
}
