//! History blocks: one block per commit, point lookups and scans across block
//! boundaries, compaction rewriting and removing blocks, bounds rebuilt on reopen and
//! restore, garbage refused.

use skiff_proto::etcdserverpb::TxnRequest;
use skiff_proto::skiffstore::internal_request::Request;

use super::persist::assert_same;
use super::{op_put, put_req, range_req, temp_tree, Fixture};
use crate::error::StoreError;
use crate::mvcc::blocks::{self, Blocks, Bounds, Builder, MAX_BLOCK_BYTES};
use crate::mvcc::codec::Rev;
use crate::mvcc::StateMachine;

/// The bytes a test stores for a revision (the block layer never decodes records).
fn body(rev: Rev) -> Vec<u8> {
    format!("record {}.{}", rev.main, rev.sub).into_bytes()
}

/// Writes one commit of `revs` as the state machine does.
fn commit(blocks: &Blocks, tree: &sled::Tree, revs: &[(i64, i64)]) {
    let mut builder = Builder::default();
    for &(main, sub) in revs {
        let rev = Rev::new(main, sub);
        let bytes = body(rev);
        builder
            .push(rev, bytes.len(), |out| out.extend_from_slice(&bytes))
            .unwrap();
    }
    let mut batch = sled::Batch::default();
    let change = builder.stage(&mut batch);
    tree.apply_batch(batch).unwrap();
    blocks.apply(change);
}

/// The bounds as the tree's keys say, read without the in-memory map.
fn bounds_on_disk(tree: &sled::Tree) -> Bounds {
    tree.scan_prefix([blocks::PREFIX])
        .keys()
        .map(|k| blocks::parse_key(&k.unwrap()).unwrap())
        .collect()
}

/// Three commits: revisions 2..=4 (3 with two subs), 5, and 6..=7.
fn three_commits() -> (sled::Db, sled::Tree, Blocks) {
    let (db, tree) = temp_tree();
    let blocks = Blocks::new(tree.clone(), Bounds::new());
    commit(&blocks, &tree, &[(2, 0), (3, 0), (3, 1), (4, 0)]);
    commit(&blocks, &tree, &[(5, 0)]);
    commit(&blocks, &tree, &[(6, 0), (6, 1), (6, 2), (7, 0)]);
    (db, tree, blocks)
}

#[test]
fn point_lookups_across_block_boundaries() {
    let (_db, tree, blocks) = three_commits();
    let expected: Bounds = [(2, 4), (5, 5), (6, 7)].into();
    assert_eq!(blocks.bounds(), expected);
    assert_eq!(bounds_on_disk(&tree), expected);
    let present = [
        (2, 0),
        (3, 0),
        (3, 1),
        (4, 0),
        (5, 0),
        (6, 0),
        (6, 1),
        (6, 2),
        (7, 0),
    ];
    // One reader, jumping back and forth between blocks.
    let mut reader = blocks.reader();
    for &(main, sub) in present.iter().chain(present.iter().rev()) {
        let rev = Rev::new(main, sub);
        let rec = reader.get(rev).unwrap().expect("record");
        assert_eq!(&rec[..], body(rev).as_slice(), "{rev:?}");
    }
    for (main, sub) in [(1, 0), (2, 1), (3, 2), (5, 1), (7, 1), (8, 0), (0, 0)] {
        assert_eq!(
            reader.get(Rev::new(main, sub)).unwrap(),
            None,
            "{main}.{sub}"
        );
        // A fresh reader (no cached block) agrees.
        assert_eq!(blocks.reader().get(Rev::new(main, sub)).unwrap(), None);
    }
}

#[test]
fn range_scans_cross_blocks_in_revision_order() {
    let (_db, _tree, blocks) = three_commits();
    let all = blocks.all();
    assert_eq!(all.len(), 9);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    for from in 0..=9 {
        for until in 0..=9 {
            let got: Vec<Rev> = blocks.scan(from, until).map(|r| r.unwrap().0).collect();
            let want: Vec<Rev> = all
                .iter()
                .map(|(rev, _)| *rev)
                .filter(|rev| rev.main >= from && rev.main <= until)
                .collect();
            assert_eq!(got, want, "scan {from}..={until}");
        }
    }
    let (rev, rec) = blocks.scan(6, 6).nth(1).unwrap().unwrap();
    assert_eq!(
        (rev, &rec[..]),
        (Rev::new(6, 1), body(Rev::new(6, 1)).as_slice())
    );
}

#[test]
fn compaction_rewrites_blocks_and_removes_empty_ones() {
    let (_db, tree, blocks) = three_commits();
    let size = |first: i64, last: i64| tree.get(blocks::key(first, last)).unwrap().map(|v| v.len());
    let before = size(2, 4).unwrap();

    // Part of the first block goes: it is rewritten under the same key.
    let mut batch = sled::Batch::default();
    let dropped = vec![Rev::new(3, 1), Rev::new(2, 0), Rev::new(3, 0)];
    let change = blocks.compact(dropped, &mut batch).unwrap();
    assert_eq!((change.rewritten, change.removed()), (1, 0));
    tree.apply_batch(batch).unwrap();
    blocks.apply(change);
    assert!(size(2, 4).unwrap() < before);
    assert_eq!(blocks.reader().get(Rev::new(3, 0)).unwrap(), None);
    assert!(blocks.reader().get(Rev::new(4, 0)).unwrap().is_some());

    // The rest of the first block and all of the second: both go; revisions no
    // block holds are ignored.
    let mut batch = sled::Batch::default();
    let dropped = vec![
        Rev::new(4, 0),
        Rev::new(5, 0),
        Rev::new(2, 0),
        Rev::new(9, 0),
        Rev::new(6, 1),
    ];
    let change = blocks.compact(dropped, &mut batch).unwrap();
    assert_eq!((change.rewritten, change.removed()), (1, 2));
    tree.apply_batch(batch).unwrap();
    blocks.apply(change);
    let expected: Bounds = [(6, 7)].into();
    assert_eq!(blocks.bounds(), expected);
    assert_eq!(bounds_on_disk(&tree), expected);
    let left: Vec<Rev> = blocks.all().into_iter().map(|(rev, _)| rev).collect();
    assert_eq!(left, [Rev::new(6, 0), Rev::new(6, 2), Rev::new(7, 0)]);
    assert_eq!(blocks.reader().get(Rev::new(4, 0)).unwrap(), None);
    let rec = blocks.reader().get(Rev::new(6, 2)).unwrap().unwrap();
    assert_eq!(&rec[..], body(Rev::new(6, 2)).as_slice());

    // Nothing to drop: no writes at all.
    let mut batch = sled::Batch::default();
    let change = blocks.compact(vec![Rev::new(6, 1)], &mut batch).unwrap();
    assert_eq!((change.rewritten, change.removed()), (0, 0));
}

#[test]
fn the_state_machine_writes_one_block_per_commit() {
    let mut f = Fixture::new();
    f.apply_all(
        (0..5)
            .map(|i| Request::Put(put_req(&format!("k{i}"), "v")))
            .collect(),
    );
    f.txn(TxnRequest {
        compare: vec![],
        success: vec![op_put("t1", "x"), op_put("t2", "y")],
        failure: vec![],
    })
    .unwrap();
    // A batch with no history (a lease grant) writes no block.
    f.grant(9, 60).unwrap();
    f.apply_all(vec![
        Request::Put(put_req("k1", "w")),
        Request::DeleteRange(skiff_proto::etcdserverpb::DeleteRangeRequest {
            key: b"k".to_vec(),
            range_end: b"l".to_vec(),
            prev_kv: false,
        }),
    ]);
    let expected: Bounds = [(2, 6), (7, 7), (8, 9)].into();
    assert_eq!(f.sm.core.blocks.bounds(), expected);
    assert_eq!(bounds_on_disk(&f.sm.core.tree), expected);
    // Every past revision reads back through the blocks.
    assert_eq!(f.get_at("k3", 8).unwrap().unwrap().value, b"v");
    assert_eq!(f.get_at("k1", 8).unwrap().unwrap().value, b"w");
    assert_eq!(f.get_at("t2", 7).unwrap().unwrap().value, b"y");
    assert_eq!(f.range(range_req("k", "l")).unwrap().count, 0);
}

#[test]
fn large_commits_split_at_revision_boundaries() {
    let mut f = Fixture::new();
    let value = "x".repeat(4096);
    // More than three blocks' worth of puts in one batch, then one txn whose writes
    // all share a revision.
    let n = 3 * MAX_BLOCK_BYTES / 4096 + 10;
    f.apply_all(
        (0..n)
            .map(|i| Request::Put(put_req(&format!("k{i}"), &value)))
            .collect(),
    );
    let txn = TxnRequest {
        compare: vec![],
        success: (0..100).map(|i| op_put(&format!("t{i}"), &value)).collect(),
        failure: vec![],
    };
    f.txn(txn).unwrap();
    let bounds = f.sm.core.blocks.bounds();
    assert_eq!(bounds_on_disk(&f.sm.core.tree), bounds);
    let spans: Vec<(i64, i64)> = bounds.into_iter().collect();
    assert!(spans.len() >= 4, "{spans:?}");
    assert_eq!(spans[0].0, 2);
    assert!(spans.windows(2).all(|w| w[0].1 + 1 == w[1].0), "{spans:?}");
    // The txn's revision is one block, however large.
    let last = *spans.last().unwrap();
    assert_eq!(last, (n as i64 + 2, n as i64 + 2));
    for (first, end) in &spans {
        let size =
            f.sm.core
                .tree
                .get(blocks::key(*first, *end))
                .unwrap()
                .unwrap()
                .len();
        assert!(*first == last.0 || size < MAX_BLOCK_BYTES + 4200, "{size}");
    }
    for i in [0, n / 2, n - 1] {
        assert_eq!(f.get(&format!("k{i}")).unwrap().value, value.as_bytes());
    }
    assert_eq!(f.get("t99").unwrap().mod_revision, last.0);
}

#[test]
fn reopen_and_restore_rebuild_the_bounds() {
    let (db, tree) = temp_tree();
    let mut f = Fixture {
        db: db.clone(),
        sm: StateMachine::open(tree).unwrap(),
        index: 0,
    };
    for round in 0..6 {
        f.apply_all(
            (0..7)
                .map(|i| Request::Put(put_req(&format!("k{i}"), &format!("{round}"))))
                .collect(),
        );
    }
    f.compact(20).unwrap();
    f.put("after", "1");
    let bounds = f.sm.core.blocks.bounds();
    assert_eq!(bounds_on_disk(&f.sm.core.tree), bounds);
    assert!(bounds.len() >= 3 && bounds.len() < 7, "{bounds:?}");

    let reopened = StateMachine::open(db.open_tree("state").unwrap()).unwrap();
    assert_eq!(reopened.core.blocks.bounds(), bounds);
    assert_same(&f.sm, &reopened);

    let restored = Fixture::new();
    restored.sm.restore(&f.sm.snapshot().unwrap()).unwrap();
    assert_eq!(restored.sm.core.blocks.bounds(), bounds);
    assert_same(&f.sm, &restored.sm);
}

#[test]
fn garbage_blocks_are_refused() {
    let block = |revs: &[(i64, i64, &[u8])]| {
        let mut out = Vec::new();
        for (main, sub, rec) in revs {
            out.extend_from_slice(&(*main as u64).to_be_bytes());
            out.extend_from_slice(&(*sub as u64).to_be_bytes());
            out.extend_from_slice(&(rec.len() as u32).to_be_bytes());
            out.extend_from_slice(rec);
        }
        out
    };
    let decode = |first: i64, last: i64, bytes: &[u8]| -> Result<Vec<Rev>, StoreError> {
        blocks::records(first, last, bytes)
            .map(|r| r.map(|(rev, _)| rev))
            .collect()
    };
    let good = block(&[(3, 0, b"a"), (3, 1, b"bb"), (5, 0, b"")]);
    assert_eq!(
        decode(3, 5, &good).unwrap(),
        [Rev::new(3, 0), Rev::new(3, 1), Rev::new(5, 0)]
    );
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated header", good[..good.len() - 3].to_vec()),
        ("truncated record", good[..good.len() - 21].to_vec()),
        ("outside the bounds", block(&[(3, 0, b"a"), (6, 0, b"b")])),
        ("before the bounds", block(&[(2, 0, b"a")])),
        ("repeated", block(&[(3, 0, b"a"), (3, 0, b"b")])),
        ("out of order", block(&[(4, 0, b"a"), (3, 5, b"b")])),
        ("impossible revision", block(&[(-1, 0, b"a")])),
    ];
    for (what, bytes) in &bad {
        assert!(
            matches!(decode(3, 5, bytes), Err(StoreError::Corrupt(_))),
            "{what} accepted"
        );
    }
    let mut huge = [0xff; 17];
    huge[0] = blocks::PREFIX;
    for key in [
        &b"H123"[..],
        &blocks::key(5, 3)[..],
        &huge[..],
        &[b'h'; 17][..],
    ] {
        assert!(
            matches!(blocks::parse_key(key), Err(StoreError::Corrupt(_))),
            "{key:?}"
        );
    }

    // Opening a tree: a garbage block, and overlapping blocks.
    let open_with = |records: &[([u8; 17], Vec<u8>)]| {
        let (_db, tree) = temp_tree();
        StateMachine::open(tree.clone()).unwrap();
        for (k, v) in records {
            tree.insert(k, v.as_slice()).unwrap();
        }
        match StateMachine::open(tree) {
            Err(StoreError::Corrupt(msg)) => msg,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("opened a damaged tree"),
        }
    };
    let msg = open_with(&[(blocks::key(2, 2), b"junk".to_vec())]);
    assert!(msg.contains("history block"), "{msg}");
    let rec = crate::mvcc::codec::encode_tombstone(b"k");
    let msg = open_with(&[
        (blocks::key(2, 4), block(&[(2, 0, &rec)])),
        (blocks::key(4, 5), block(&[(5, 0, &rec)])),
    ]);
    assert!(msg.contains("overlaps"), "{msg}");

    // A block damaged under a running state machine fails reads with Corrupt.
    let mut f = Fixture::new();
    f.put("a", "1");
    f.put("a", "2");
    f.sm.core.tree.insert(blocks::key(2, 2), &good[..]).unwrap();
    assert!(matches!(f.get_at("a", 2), Err(StoreError::Corrupt(_))));
    assert!(blocks::key(2, 2) < blocks::key(3, 3));
    let scanned: Result<Vec<_>, _> = f.sm.core.blocks.scan(0, 10).collect();
    assert!(matches!(scanned, Err(StoreError::Corrupt(_))));
    assert_eq!(f.get("a").unwrap().value, b"2");
}

#[test]
fn a_range_over_keys_written_in_scattered_blocks_answers_in_key_order() {
    let mut f = Fixture::new();
    // Each key is written by its own commit (its own block), last key first, then the
    // even keys again: key order and revision order disagree, as with a cluster's pods.
    for i in (0..40).rev() {
        f.put(&format!("k{i:02}"), &format!("first {i}"));
    }
    for i in (0..40).step_by(2) {
        f.put(&format!("k{i:02}"), &format!("second {i}"));
    }
    let got = f.range(range_req("k", "l")).unwrap();
    let pairs: Vec<(String, String)> = got
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = (0..40)
        .map(|i| {
            let round = if i % 2 == 0 { "second" } else { "first" };
            (format!("k{i:02}"), format!("{round} {i}"))
        })
        .collect();
    assert_eq!(pairs, want);
    assert!(got.kvs.windows(2).all(|w| w[0].key < w[1].key));
}
