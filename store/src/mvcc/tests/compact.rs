//! Compaction: reads below it fail, latest versions stay, deleted keys go, history
//! records leave the tree.

use skiff_proto::etcdserverpb::RangeRequest;
use skiff_proto::skiffstore::internal_request::Request;

use super::{put_req, range_req, Fixture};
use crate::error::StoreError;
use crate::mvcc::blocks;

/// History records on disk, counted from the blocks in the tree.
fn history_records(f: &Fixture) -> usize {
    f.sm.core
        .tree
        .scan_prefix([blocks::PREFIX])
        .map(|r| {
            let (k, v) = r.unwrap();
            let (first, last) = blocks::parse_key(&k).unwrap();
            blocks::records(first, last, &v)
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .len()
        })
        .sum()
}

#[test]
fn compaction_semantics() {
    let mut f = Fixture::new();
    f.put("a", "1"); // 2
    f.put("a", "2"); // 3
    f.put("b", "1"); // 4
    f.delete("b", ""); // 5
    f.put("c", "1"); // 6
    f.put("a", "3"); // 7
    f.delete("c", ""); // 8
    assert_eq!(history_records(&f), 7);

    assert!(matches!(f.compact(9), Err(StoreError::FutureRevision)));
    f.compact(6).unwrap();
    assert_eq!(f.sm.compact_revision(), 6);
    assert!(matches!(f.compact(6), Err(StoreError::Compacted)));
    assert!(matches!(f.compact(3), Err(StoreError::Compacted)));

    assert!(matches!(f.get_at("a", 5), Err(StoreError::Compacted)));
    // At the compact revision everything still reads as it was.
    let at6 = f
        .range(RangeRequest {
            revision: 6,
            ..range_req("\0", "\0")
        })
        .unwrap();
    let kvs: Vec<_> = at6
        .kvs
        .iter()
        .map(|kv| (super::kv_str(kv), kv.mod_revision, kv.version))
        .collect();
    assert_eq!(
        kvs,
        [
            (("a".into(), "2".into()), 3, 2),
            (("c".into(), "1".into()), 6, 1)
        ]
    );
    assert_eq!(f.get_at("a", 7).unwrap().unwrap().value, b"3");
    // a@2 went (a@3 is the latest at 6); b's whole generation went; c and a@7 stay.
    assert_eq!(history_records(&f), 4);
    assert!(!f.sm.core.state.read().index.contains_key(&b"b"[..]));

    f.compact(8).unwrap();
    // a@3 went; c's tombstone at 8 is kept for a watch starting at 8.
    assert_eq!(history_records(&f), 2);
    f.put("d", "1");
    f.compact(9).unwrap();
    // c is gone entirely now.
    assert_eq!(history_records(&f), 2);
    assert!(!f.sm.core.state.read().index.contains_key(&b"c"[..]));
    let all = f.range(range_req("\0", "\0")).unwrap();
    assert_eq!(
        all.kvs
            .iter()
            .map(|kv| super::kv_str(kv).0)
            .collect::<Vec<_>>(),
        ["a", "d"]
    );
    assert_eq!(f.get("a").unwrap().version, 3);
}

#[test]
fn compaction_inside_a_batch_sees_earlier_entries() {
    let mut f = Fixture::new();
    let out = f.apply_all(vec![
        Request::Put(put_req("a", "1")),
        Request::Put(put_req("a", "2")),
        Request::Compaction(skiff_proto::etcdserverpb::CompactionRequest {
            revision: 3,
            physical: true,
        }),
        Request::Put(put_req("a", "3")),
    ]);
    assert_eq!(out.len(), 4);
    assert!(matches!(
        out[2].outcome,
        crate::mvcc::Outcome::Compaction(_)
    ));
    assert_eq!(f.sm.compact_revision(), 3);
    assert_eq!(f.sm.applied_index(), 4);
    assert_eq!(f.get("a").unwrap().version, 3);
    assert_eq!(history_records(&f), 2);
}

#[test]
fn history_shrinks_on_disk() {
    let mut f = Fixture::new();
    let value = "x".repeat(4096);
    for round in 0..20 {
        let reqs = (0..50)
            .map(|i| Request::Put(put_req(&format!("k{i}"), &format!("{round}{value}"))))
            .collect();
        f.apply_all(reqs);
    }
    assert_eq!(history_records(&f), 1000);
    let rev = f.sm.revision();
    f.compact(rev).unwrap();
    assert_eq!(history_records(&f), 50);
    let bytes: usize =
        f.sm.core
            .tree
            .iter()
            .map(|r| r.map(|(k, v)| k.len() + v.len()).unwrap())
            .sum();
    assert!(bytes < 50 * 4200, "{bytes} bytes left");
    assert_eq!(f.range(range_req("k", "l")).unwrap().count, 50);
}
