//! The state machine's on-disk records: tree keys, history records and meta values.
//!
//! Every record of the state machine's sled tree starts with a one-byte prefix:
//! - `H` + first main revision + last main revision (u64 BE): one block of history
//!   records (puts and tombstones) written by one applied batch; see
//!   [`super::blocks`].
//! - `l` + lease id (u64 BE): a `LeaseRecord` protobuf.
//! - `c` + member id (u64 BE): a `MemberAttributes` protobuf.
//! - `m` + name: meta values (format marker, applied index, revision, compact revision).
//!
//! A history record is a fixed header followed by the key and the value, so that
//! rebuilding the index and matching watch ranges never copies values:
//! `kind(1) create(8) version(8) lease(8) key_len(4) key value`.

use skiff_proto::mvccpb::KeyValue;

use crate::error::{Result, StoreError};

/// The prefix of the `skiff-mvcc-v1` layout's history records (one per revision),
/// known only to refuse such trees clearly.
pub(crate) const HISTORY_V1: u8 = b'h';
pub(crate) const LEASE: u8 = b'l';
pub(crate) const MEMBER: u8 = b'c';
pub(crate) const META: u8 = b'm';

pub(crate) const META_FORMAT: &[u8] = b"mformat";
pub(crate) const META_APPLIED: &[u8] = b"mapplied";
pub(crate) const META_REVISION: &[u8] = b"mrevision";
pub(crate) const META_COMPACT: &[u8] = b"mcompact";
/// The membership and alarms (a `ClusterRecord`).
pub(crate) const META_CLUSTER: &[u8] = b"mcluster";
/// Written once into every state-machine tree; a tree without it is not ours.
/// v2 stores history in blocks (one sled record per applied batch).
pub(crate) const FORMAT_V2: &[u8] = b"skiff-mvcc-v2";
/// The layout with one sled record per history record; refused, never migrated.
pub(crate) const FORMAT_V1: &[u8] = b"skiff-mvcc-v1";

const KIND_PUT: u8 = 0;
const KIND_TOMBSTONE: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8 + 8 + 4;

/// A point in history: the main revision of a write request and the position of one
/// change inside it (a txn's writes share the main revision).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Rev {
    pub main: i64,
    pub sub: i64,
}

impl Rev {
    pub(crate) fn new(main: i64, sub: i64) -> Rev {
        Rev { main, sub }
    }
}

pub(crate) fn lease_key(id: i64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = LEASE;
    k[1..].copy_from_slice(&(id as u64).to_be_bytes());
    k
}

pub(crate) fn member_key(id: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = MEMBER;
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

/// The fixed part of a history record, decoded without touching the value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordHeader<'a> {
    pub tombstone: bool,
    pub create: i64,
    pub version: i64,
    pub lease: i64,
    pub key: &'a [u8],
}

/// The encoded length of a put's record.
pub(crate) fn put_len(kv: &KeyValue) -> usize {
    HEADER_LEN + kv.key.len() + kv.value.len()
}

/// Appends a put's record ([`put_len`] bytes) to `out`.
pub(crate) fn write_put(out: &mut Vec<u8>, kv: &KeyValue) {
    out.push(KIND_PUT);
    out.extend_from_slice(&kv.create_revision.to_be_bytes());
    out.extend_from_slice(&kv.version.to_be_bytes());
    out.extend_from_slice(&kv.lease.to_be_bytes());
    out.extend_from_slice(&(kv.key.len() as u32).to_be_bytes());
    out.extend_from_slice(&kv.key);
    out.extend_from_slice(&kv.value);
}

/// The encoded length of a tombstone's record.
pub(crate) fn tombstone_len(key: &[u8]) -> usize {
    HEADER_LEN + key.len()
}

/// Appends a tombstone's record ([`tombstone_len`] bytes) to `out`.
pub(crate) fn write_tombstone(out: &mut Vec<u8>, key: &[u8]) {
    out.push(KIND_TOMBSTONE);
    out.extend_from_slice(&[0u8; 24]);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
}

#[cfg(test)]
pub(crate) fn encode_put(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(put_len(kv));
    write_put(&mut out, kv);
    out
}

#[cfg(test)]
pub(crate) fn encode_tombstone(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tombstone_len(key));
    write_tombstone(&mut out, key);
    out
}

/// Splits a history record into its header and its value bytes.
pub(crate) fn decode_record(rec: &[u8]) -> Result<(RecordHeader<'_>, &[u8])> {
    if rec.len() < HEADER_LEN {
        return Err(corrupt(format!("history record of {} bytes", rec.len())));
    }
    let tombstone = match rec[0] {
        KIND_PUT => false,
        KIND_TOMBSTONE => true,
        other => return Err(corrupt(format!("history record of unknown kind {other}"))),
    };
    let create = i64::from_be_bytes(fixed8(&rec[1..9]));
    let version = i64::from_be_bytes(fixed8(&rec[9..17]));
    let lease = i64::from_be_bytes(fixed8(&rec[17..25]));
    let key_len = u32::from_be_bytes([rec[25], rec[26], rec[27], rec[28]]) as usize;
    let rest = &rec[HEADER_LEN..];
    if rest.len() < key_len {
        return Err(corrupt(format!(
            "history record key of {key_len} bytes in {} bytes",
            rest.len()
        )));
    }
    let (key, value) = rest.split_at(key_len);
    if tombstone && !value.is_empty() {
        return Err(corrupt("tombstone record with a value".to_string()));
    }
    Ok((
        RecordHeader {
            tombstone,
            create,
            version,
            lease,
            key,
        },
        value,
    ))
}

/// Rebuilds the client-visible KeyValue of a record written at `rev`. A tombstone
/// yields what etcd reports for a delete event: the key and the deletion revision.
pub(crate) fn record_to_kv(rev: Rev, rec: &[u8]) -> Result<(bool, KeyValue)> {
    let (h, value) = decode_record(rec)?;
    let kv = if h.tombstone {
        KeyValue {
            key: h.key.to_vec(),
            mod_revision: rev.main,
            ..Default::default()
        }
    } else {
        KeyValue {
            key: h.key.to_vec(),
            create_revision: h.create,
            mod_revision: rev.main,
            version: h.version,
            value: value.to_vec(),
            lease: h.lease,
        }
    };
    Ok((h.tombstone, kv))
}

pub(crate) fn encode_i64(v: i64) -> [u8; 8] {
    v.to_be_bytes()
}

pub(crate) fn decode_i64(what: &str, bytes: &[u8]) -> Result<i64> {
    if bytes.len() != 8 {
        return Err(corrupt(format!("meta {what} of {} bytes", bytes.len())));
    }
    Ok(i64::from_be_bytes(fixed8(bytes)))
}

pub(crate) fn decode_u64(what: &str, bytes: &[u8]) -> Result<u64> {
    if bytes.len() != 8 {
        return Err(corrupt(format!("meta {what} of {} bytes", bytes.len())));
    }
    Ok(u64::from_be_bytes(fixed8(bytes)))
}

pub(crate) fn fixed8(b: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&b[..8]);
    out
}

/// Accepts only this version's format marker. A tree in the older one-record-per-
/// revision layout is refused with a message saying so: nothing migrates it.
pub(crate) fn check_format(marker: Option<&[u8]>) -> Result<()> {
    match marker {
        Some(FORMAT_V2) => Ok(()),
        Some(FORMAT_V1) => Err(old_layout()),
        Some(other) => Err(corrupt(format!(
            "unsupported format {:?}",
            String::from_utf8_lossy(other)
        ))),
        None => Err(corrupt(
            "no format marker: not a skiff-store state machine".to_string(),
        )),
    }
}

/// The refusal of a `skiff-mvcc-v1` tree.
pub(crate) fn old_layout() -> StoreError {
    corrupt(format!(
        "unsupported format {:?}: this data was written by an older skiff-store that kept \
         one record per history revision; this one reads only {:?} (history in blocks) \
         and does not convert it; start the member with an empty data dir",
        String::from_utf8_lossy(FORMAT_V1),
        String::from_utf8_lossy(FORMAT_V2),
    ))
}

pub(crate) fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(format!("state machine: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let kv = KeyValue {
            key: b"k".to_vec(),
            create_revision: 3,
            mod_revision: 9,
            version: 4,
            value: b"value".to_vec(),
            lease: 77,
        };
        let (tomb, back) = record_to_kv(Rev::new(9, 2), &encode_put(&kv)).unwrap();
        assert!(!tomb);
        assert_eq!(back, kv);
        let (tomb, back) = record_to_kv(Rev::new(10, 0), &encode_tombstone(b"k")).unwrap();
        assert!(tomb);
        assert_eq!(
            back,
            KeyValue {
                key: b"k".to_vec(),
                mod_revision: 10,
                ..Default::default()
            }
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(decode_record(b"short").is_err());
        let mut rec = encode_put(&KeyValue {
            key: b"abc".to_vec(),
            ..Default::default()
        });
        rec[0] = 9;
        assert!(decode_record(&rec).is_err());
        let rec = encode_put(&KeyValue {
            key: b"abc".to_vec(),
            ..Default::default()
        });
        assert!(decode_record(&rec[..rec.len() - 1]).is_err());
    }
}
