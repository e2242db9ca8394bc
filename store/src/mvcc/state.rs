//! The in-memory state of the state machine, rebuilt from the tree's records at open
//! and after a snapshot restore.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message;
use skiff_proto::skiffstore::{ClusterRecord, LeaseRecord, MemberAttributes};

use super::blocks::{self, Bounds};
use super::codec::{self, corrupt, Rev};
use super::index::KeyHistory;
use crate::error::Result;

/// What [`State::load`] found in a tree's records.
pub(crate) struct Loaded {
    pub state: State,
    /// The bounds of every history block.
    pub bounds: Bounds,
    /// Whether any record existed.
    pub any: bool,
}

pub(crate) struct State {
    /// key -> its generations of revisions.
    pub index: BTreeMap<Vec<u8>, KeyHistory>,
    /// key -> the lease its latest version is attached to (only attached keys).
    pub key_lease: HashMap<Vec<u8>, i64>,
    /// lease -> the keys attached to it.
    pub lease_keys: HashMap<i64, BTreeSet<Vec<u8>>>,
    pub leases: BTreeMap<i64, LeaseRecord>,
    pub members: BTreeMap<u64, MemberAttributes>,
    /// The raft membership and the raised alarms.
    pub cluster: ClusterRecord,
    pub applied: u64,
    pub revision: i64,
    /// -1 until the first compaction, as etcd.
    pub compact: i64,
}

impl State {
    pub(crate) fn empty() -> State {
        State {
            index: BTreeMap::new(),
            key_lease: HashMap::new(),
            lease_keys: HashMap::new(),
            leases: BTreeMap::new(),
            members: BTreeMap::new(),
            cluster: ClusterRecord::default(),
            applied: 0,
            revision: 1,
            compact: -1,
        }
    }

    /// Points `key`'s lease attachment at `lease` (0 detaches).
    pub(crate) fn set_lease(&mut self, key: &[u8], lease: i64) {
        let old = if lease == 0 {
            self.key_lease.remove(key)
        } else {
            self.key_lease.insert(key.to_vec(), lease)
        };
        if old == Some(lease) {
            return;
        }
        if let Some(old) = old {
            if let Some(keys) = self.lease_keys.get_mut(&old) {
                keys.remove(key);
                if keys.is_empty() {
                    self.lease_keys.remove(&old);
                }
            }
        }
        if lease != 0 {
            self.lease_keys
                .entry(lease)
                .or_default()
                .insert(key.to_vec());
        }
    }

    /// Rebuilds the state (and the history blocks' bounds) from every record of a
    /// tree, in key order. Refuses anything it cannot decode or that contradicts
    /// itself, so a foreign or damaged tree never serves reads.
    pub(crate) fn load<K, V, I>(records: I) -> Result<Loaded>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = Result<(K, V)>>,
    {
        let mut st = State::empty();
        let mut bounds = Bounds::new();
        let mut any = false;
        let mut format = None;
        let mut applied = None;
        let mut revision = None;
        let mut compact = None;
        let mut last_rev: Option<Rev> = None;
        for rec in records {
            let (k, v) = rec?;
            let (k, v) = (k.as_ref(), v.as_ref());
            any = true;
            match k.first() {
                Some(&blocks::PREFIX) => {
                    let (first, last) = blocks::parse_key(k)?;
                    if bounds.last_key_value().is_some_and(|(_, l)| *l >= first) {
                        return Err(corrupt(format!(
                            "history block {first}..={last} overlaps or is out of order"
                        )));
                    }
                    bounds.insert(first, last);
                    for rec in blocks::records(first, last, v) {
                        let (rev, rec) = rec?;
                        if last_rev.is_some_and(|l| l >= rev) {
                            return Err(corrupt(format!("history record {rev:?} out of order")));
                        }
                        last_rev = Some(rev);
                        st.index_record(rev, rec)?;
                    }
                }
                Some(&codec::HISTORY_V1) => return Err(codec::old_layout()),
                Some(&codec::LEASE) => {
                    let rec = LeaseRecord::decode(v)
                        .map_err(|e| corrupt(format!("lease record: {e}")))?;
                    if codec::lease_key(rec.id).as_slice() != k {
                        return Err(corrupt(format!(
                            "lease record {} under a different key",
                            rec.id
                        )));
                    }
                    st.leases.insert(rec.id, rec);
                }
                Some(&codec::MEMBER) => {
                    let rec = MemberAttributes::decode(v)
                        .map_err(|e| corrupt(format!("member record: {e}")))?;
                    if codec::member_key(rec.member_id).as_slice() != k {
                        return Err(corrupt(format!(
                            "member record {} under a different key",
                            rec.member_id
                        )));
                    }
                    st.members.insert(rec.member_id, rec);
                }
                Some(&codec::META) => match k {
                    codec::META_FORMAT => format = Some(v.to_vec()),
                    codec::META_APPLIED => applied = Some(codec::decode_u64("applied index", v)?),
                    codec::META_REVISION => revision = Some(codec::decode_i64("revision", v)?),
                    codec::META_CLUSTER => {
                        st.cluster = ClusterRecord::decode(v)
                            .map_err(|e| corrupt(format!("cluster record: {e}")))?
                    }
                    codec::META_COMPACT => {
                        compact = Some(codec::decode_i64("compact revision", v)?)
                    }
                    _ => {
                        return Err(corrupt(format!(
                            "unknown meta record {:?}",
                            String::from_utf8_lossy(k)
                        )))
                    }
                },
                _ => {
                    return Err(corrupt(format!(
                        "unknown record {:?}: not a skiff-store state machine",
                        String::from_utf8_lossy(&k[..k.len().min(32)])
                    )))
                }
            }
        }
        if !any {
            return Ok(Loaded {
                state: st,
                bounds,
                any,
            });
        }
        codec::check_format(format.as_deref())?;
        let (Some(applied), Some(revision), Some(compact)) = (applied, revision, compact) else {
            return Err(corrupt(
                "applied index, revision or compact revision missing".to_string(),
            ));
        };
        if revision < 1 || compact > revision || last_rev.is_some_and(|r| r.main > revision) {
            return Err(corrupt(format!(
                "revision {revision}, compact {compact} and history disagree"
            )));
        }
        st.applied = applied;
        st.revision = revision;
        st.compact = compact;
        if let Some(id) = st.lease_keys.keys().find(|id| !st.leases.contains_key(id)) {
            return Err(corrupt(format!("keys attached to missing lease {id}")));
        }
        Ok(Loaded {
            state: st,
            bounds,
            any,
        })
    }

    /// Adds one history record (the next in revision order) to the index.
    fn index_record(&mut self, rev: Rev, rec: &[u8]) -> Result<()> {
        let (h, _) = codec::decode_record(rec)?;
        let hist = self.index.entry(h.key.to_vec()).or_default();
        let res = if h.tombstone {
            hist.tombstone(rev)
        } else {
            hist.put(rev, h.create, h.version)
        };
        res.map_err(|e| corrupt(format!("key {:?}: {e}", String::from_utf8_lossy(h.key))))?;
        let lease = if h.tombstone { 0 } else { h.lease };
        self.set_lease(h.key, lease);
        Ok(())
    }

    /// The meta records of a fresh tree.
    pub(crate) fn initial_records() -> Vec<(&'static [u8], Vec<u8>)> {
        vec![
            (codec::META_FORMAT, codec::FORMAT_V2.to_vec()),
            (codec::META_APPLIED, 0u64.to_be_bytes().to_vec()),
            (codec::META_REVISION, codec::encode_i64(1).to_vec()),
            (codec::META_COMPACT, codec::encode_i64(-1).to_vec()),
        ]
    }
}
