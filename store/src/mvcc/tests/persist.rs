//! Re-open, replay after restart, snapshot and restore, refusing damaged trees.

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, LeaseGrantRequest, LeaseRevokeRequest, PutRequest,
    RangeRequest, TxnRequest,
};
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::{InternalRequest, MemberAttributes};

use super::{cmp, op_del, op_put, put_req, temp_tree, Fixture};
use crate::error::StoreError;
use crate::mvcc::{blocks, codec, Committed, StateMachine};

/// A mixed history: puts, deletes, txns, leases, members and a compaction.
fn workload() -> Vec<Request> {
    let mut reqs = vec![Request::LeaseGrant(LeaseGrantRequest { ttl: 30, id: 7 })];
    for i in 0..40 {
        let lease = if i % 3 == 0 { 7 } else { 0 };
        reqs.push(Request::Put(PutRequest {
            lease,
            ..put_req(&format!("k/{}", i % 13), &format!("v{i}"))
        }));
        if i % 7 == 0 {
            reqs.push(Request::DeleteRange(DeleteRangeRequest {
                key: format!("k/{}", i % 5).into(),
                ..Default::default()
            }));
        }
    }
    reqs.push(Request::Txn(TxnRequest {
        compare: vec![cmp(
            "k/1",
            CompareTarget::Version,
            CompareResult::Greater,
            TargetUnion::Version(0),
        )],
        success: vec![op_put("t/1", "yes"), op_del("k/2", "k/4")],
        failure: vec![op_put("t/1", "no")],
    }));
    reqs.push(Request::Compaction(CompactionRequest {
        revision: 20,
        physical: false,
    }));
    reqs.push(Request::MemberAttributes(MemberAttributes {
        member_id: 2,
        name: "s2".into(),
        client_urls: vec!["http://x".into()],
    }));
    reqs.push(Request::LeaseGrant(LeaseGrantRequest { ttl: 5, id: 8 }));
    reqs.push(Request::Put(PutRequest {
        lease: 8,
        ..put_req("l/1", "x")
    }));
    reqs.push(Request::LeaseRevoke(LeaseRevokeRequest { id: 7 }));
    reqs
}

fn entries(reqs: Vec<Request>, first_index: u64) -> Vec<Committed> {
    reqs.into_iter()
        .enumerate()
        .map(|(i, r)| Committed {
            index: first_index + i as u64,
            request: Some(InternalRequest {
                proposer: 1,
                id: i as u64,
                request: Some(r),
            }),
        })
        .collect()
}

/// Asserts two state machines hold the same state: index, leases, members, meta and
/// every read at every readable revision.
pub(crate) fn assert_same(a: &StateMachine, b: &StateMachine) {
    {
        let (sa, sb) = (a.core.state.read(), b.core.state.read());
        assert_eq!(sa.index, sb.index);
        assert_eq!(sa.key_lease, sb.key_lease);
        assert_eq!(sa.lease_keys, sb.lease_keys);
        assert_eq!(sa.leases, sb.leases);
        assert_eq!(sa.members, sb.members);
        assert_eq!(
            (sa.applied, sa.revision, sa.compact),
            (sb.applied, sb.revision, sb.compact)
        );
    }
    for rev in a.compact_revision().max(1)..=a.revision() {
        let req = RangeRequest {
            key: vec![0],
            range_end: vec![0],
            revision: rev,
            ..Default::default()
        };
        assert_eq!(
            a.range(&req).unwrap(),
            b.range(&req).unwrap(),
            "at revision {rev}"
        );
    }
}

#[test]
fn reopening_rebuilds_the_same_state() {
    let (db, tree) = temp_tree();
    let sm = StateMachine::open(tree).unwrap();
    sm.apply(entries(workload(), 1)).unwrap();
    assert!(sm.compact_revision() == 20 && sm.revision() > 20);
    let again = StateMachine::open(db.open_tree("state").unwrap()).unwrap();
    assert_same(&sm, &again);
    assert!(!sm.lease_keys(8).is_empty());
}

#[test]
fn replay_after_restart_applies_nothing_twice() {
    let (db, tree) = temp_tree();
    let all = entries(workload(), 1);
    let cut = 25;
    {
        let sm = StateMachine::open(tree).unwrap();
        sm.apply(all[..cut].to_vec()).unwrap();
    }
    // Restart: raft hands every entry again (from its log), plus new ones.
    let sm = StateMachine::open(db.open_tree("state").unwrap()).unwrap();
    assert_eq!(sm.applied_index(), cut as u64);
    let out = sm.apply(all.clone()).unwrap();
    assert_eq!(out.len(), all.len() - cut);
    assert_eq!(out[0].index, cut as u64 + 1);
    let out = sm.apply(all.clone()).unwrap();
    assert!(out.is_empty());

    let reference = Fixture::new();
    reference.sm.apply(all).unwrap();
    assert_same(&reference.sm, &sm);
}

#[test]
fn snapshot_restores_into_a_fresh_tree() {
    let source = Fixture::new();
    source.sm.apply(entries(workload(), 1)).unwrap();
    let data = source.sm.snapshot().unwrap();

    // Into an empty tree, and over a tree that held something else.
    let fresh = Fixture::new();
    fresh.sm.restore(&data).unwrap();
    assert_same(&source.sm, &fresh.sm);
    let mut other = Fixture::new();
    other.put("zzz", "gone");
    other.put("k/1", "different");
    other.sm.restore(&data).unwrap();
    assert_same(&source.sm, &other.sm);
    assert_eq!(other.get("zzz"), None);

    // The restored member keeps applying where the snapshot left off.
    let next = entries(
        vec![Request::Put(put_req("after", "1"))],
        source.sm.applied_index() + 1,
    );
    source.sm.apply(next.clone()).unwrap();
    other.sm.apply(next).unwrap();
    assert_same(&source.sm, &other.sm);
    // And it persists: re-opening the restored tree gives the same state.
    let reopened = StateMachine::open(other.db.open_tree("state").unwrap()).unwrap();
    assert_same(&source.sm, &reopened);
}

#[test]
fn garbage_snapshots_change_nothing() {
    let mut f = Fixture::new();
    f.put("a", "1");
    assert!(matches!(
        f.sm.restore(b"\xff\xff\xff garbage"),
        Err(StoreError::Corrupt(_))
    ));
    let foreign = skiff_proto::skiffstore::SnapshotData {
        pairs: vec![skiff_proto::skiffstore::SnapshotPair {
            key: b"xyz".to_vec(),
            value: b"1".to_vec(),
        }],
    };
    assert!(matches!(
        f.sm.restore(&prost::Message::encode_to_vec(&foreign)),
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(f.get("a").unwrap().value, b"1");
    assert_eq!(f.sm.revision(), 2);
}

#[test]
fn damaged_or_foreign_trees_are_refused() {
    let corrupt_open = |prepare: &dyn Fn(&sled::Tree)| {
        let (_db, tree) = temp_tree();
        StateMachine::open(tree.clone())
            .unwrap()
            .apply(entries(vec![Request::Put(put_req("a", "1"))], 1))
            .unwrap();
        prepare(&tree);
        match StateMachine::open(tree) {
            Err(StoreError::Corrupt(msg)) => msg,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("opened a damaged tree"),
        }
    };
    let msg = corrupt_open(&|t| {
        t.insert(b"foreign-key", &b"x"[..]).unwrap();
    });
    assert!(msg.contains("not a skiff-store state machine"), "{msg}");
    let msg = corrupt_open(&|t| {
        t.insert(blocks::key(5, 6), &b"\x00trunc"[..]).unwrap();
    });
    assert!(msg.contains("history block"), "{msg}");
    let msg = corrupt_open(&|t| {
        t.insert(codec::META_FORMAT, &b"other-v9"[..]).unwrap();
    });
    assert!(msg.contains("unsupported format"), "{msg}");
    let msg = corrupt_open(&|t| {
        t.remove(codec::META_FORMAT).unwrap();
    });
    assert!(msg.contains("no format marker"), "{msg}");
    let msg = corrupt_open(&|t| {
        t.insert(&codec::lease_key(3)[..], &b"\xff\xff"[..])
            .unwrap();
    });
    assert!(msg.contains("lease record"), "{msg}");

    // A tree of some other program altogether.
    let (_db, tree) = temp_tree();
    tree.insert(b"config", &b"{}"[..]).unwrap();
    assert!(matches!(
        StateMachine::open(tree),
        Err(StoreError::Corrupt(_))
    ));
}

/// A tree in the `skiff-mvcc-v1` layout (one sled record per history revision).
fn v1_tree(with_history: bool) -> (sled::Db, sled::Tree) {
    let (db, tree) = temp_tree();
    tree.insert(codec::META_FORMAT, codec::FORMAT_V1).unwrap();
    tree.insert(codec::META_APPLIED, &1u64.to_be_bytes()[..])
        .unwrap();
    tree.insert(codec::META_REVISION, &2i64.to_be_bytes()[..])
        .unwrap();
    tree.insert(codec::META_COMPACT, &(-1i64).to_be_bytes()[..])
        .unwrap();
    if with_history {
        let mut key = vec![b'h'];
        key.extend_from_slice(&2u64.to_be_bytes());
        key.extend_from_slice(&0u64.to_be_bytes());
        let rec = codec::encode_put(&skiff_proto::mvccpb::KeyValue {
            key: b"a".to_vec(),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            value: b"1".to_vec(),
            lease: 0,
        });
        tree.insert(key, rec).unwrap();
    }
    (db, tree)
}

#[test]
fn trees_of_the_older_layout_are_refused_clearly() {
    for with_history in [true, false] {
        let (_db, tree) = v1_tree(with_history);
        let pairs: Vec<_> = tree
            .iter()
            .map(|r| {
                let (key, value) = r.unwrap();
                skiff_proto::skiffstore::SnapshotPair {
                    key: key.to_vec(),
                    value: value.to_vec(),
                }
            })
            .collect();
        let msg = match StateMachine::open(tree) {
            Err(StoreError::Corrupt(msg)) => msg,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("opened a v1 tree"),
        };
        assert!(msg.contains("skiff-mvcc-v1"), "{msg}");
        assert!(msg.contains("empty data dir"), "{msg}");
        // The same refusal for a snapshot in that layout, which leaves state alone.
        let mut f = Fixture::new();
        f.put("kept", "1");
        let snap = skiff_proto::skiffstore::SnapshotData { pairs };
        match f.sm.restore(&prost::Message::encode_to_vec(&snap)) {
            Err(StoreError::Corrupt(msg)) => assert!(msg.contains("skiff-mvcc-v1"), "{msg}"),
            other => panic!("restored a v1 snapshot: {other:?}"),
        }
        assert_eq!(f.get("kept").unwrap().value, b"1");
    }
    // A fresh tree gets the current marker.
    let f = Fixture::new();
    let marker = f.sm.core.tree.get(codec::META_FORMAT).unwrap().unwrap();
    assert_eq!(&marker[..], codec::FORMAT_V2);
}

#[test]
fn every_batch_writes_state_and_applied_index_together() {
    let mut f = Fixture::new();
    f.apply_all(vec![
        Request::Put(put_req("a", "1")),
        Request::Put(put_req("b", "1")),
    ]);
    let applied = f.sm.core.tree.get(codec::META_APPLIED).unwrap().unwrap();
    let revision = f.sm.core.tree.get(codec::META_REVISION).unwrap().unwrap();
    assert_eq!(codec::decode_u64("applied", &applied).unwrap(), 2);
    assert_eq!(codec::decode_i64("revision", &revision).unwrap(), 3);
}
