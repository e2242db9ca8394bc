//! The state machine's on-disk records: tree keys, history records and meta values.
//!
//! Every record of the state machine's sled tree starts with a one-byte prefix:
//! - `h` + main revision (u64 BE) + sub revision (u64 BE): one history record (a put or
//!   a tombstone). Big-endian revisions make sled's key order the revision order, so
//!   replaying history is one ordered scan.
//! - `l` + lease id (u64 BE): a `LeaseRecord` protobuf.
//! - `c` + member id (u64 BE): a `MemberAttributes` protobuf.
//! - `m` + name: meta values (format marker, applied index, revision, compact revision).
//!
//! A history record is a fixed header followed by the key and the value, so that
//! rebuilding the index and matching watch ranges never copies values:
//! `kind(1) create(8) version(8) lease(8) key_len(4) key value`.

use skiff_proto::mvccpb::KeyValue;

use crate::error::{Result, StoreError};

pub(crate) const HISTORY: u8 = b'h';
pub(crate) const LEASE: u8 = b'l';
pub(crate) const MEMBER: u8 = b'c';
pub(crate) const META: u8 = b'm';

pub(crate) const META_FORMAT: &[u8] = b"mformat";
pub(crate) const META_APPLIED: &[u8] = b"mapplied";
pub(crate) const META_REVISION: &[u8] = b"mrevision";
pub(crate) const META_COMPACT: &[u8] = b"mcompact";
/// Written once into every state-machine tree; a tree without it is not ours.
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

pub(crate) fn history_key(rev: Rev) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = HISTORY;
    k[1..9].copy_from_slice(&(rev.main as u64).to_be_bytes());
    k[9..17].copy_from_slice(&(rev.sub as u64).to_be_bytes());
    k
}

pub(crate) fn parse_history_key(key: &[u8]) -> Result<Rev> {
    if key.len() != 17 || key[0] != HISTORY {
        return Err(corrupt(format!(
            "history record key of {} bytes",
            key.len()
        )));
    }
    let main = u64::from_be_bytes(fixed8(&key[1..9])) as i64;
    let sub = u64::from_be_bytes(fixed8(&key[9..17])) as i64;
    Ok(Rev { main, sub })
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

pub(crate) fn encode_put(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + kv.key.len() + kv.value.len());
    out.push(KIND_PUT);
    out.extend_from_slice(&kv.create_revision.to_be_bytes());
    out.extend_from_slice(&kv.version.to_be_bytes());
    out.extend_from_slice(&kv.lease.to_be_bytes());
    out.extend_from_slice(&(kv.key.len() as u32).to_be_bytes());
    out.extend_from_slice(&kv.key);
    out.extend_from_slice(&kv.value);
    out
}

pub(crate) fn encode_tombstone(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + key.len());
    out.push(KIND_TOMBSTONE);
    out.extend_from_slice(&[0u8; 24]);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
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

fn fixed8(b: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&b[..8]);
    out
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
        assert_eq!(
            parse_history_key(&history_key(Rev::new(5, 7))).unwrap(),
            Rev::new(5, 7)
        );
        assert!(history_key(Rev::new(1, 9)) < history_key(Rev::new(2, 0)));
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
        assert!(parse_history_key(b"h123").is_err());
    }
}
