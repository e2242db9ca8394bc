//! Tests of the sled-backed raft log.
use super::*;
use raft::Storage;

#[test]
fn old_entries_are_read_back_from_batch_records() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    let total = CACHE_ENTRIES as u64 + 500;
    let mut next = 1;
    while next <= total {
        let batch: Vec<_> = (next..(next + 37).min(total + 1))
            .map(|i| entry(i, 1))
            .collect();
        next += batch.len() as u64;
        s.append(&batch).unwrap();
    }
    // Overwrite a suffix that starts inside a batch.
    s.append(&[entry(total - 5, 2)]).unwrap();
    let reopened = RaftLogStorage::open(tree, snaps.path()).unwrap();
    assert_eq!(reopened.last_index(), total - 5);
    let all = reopened
        .entries(1, total - 4, None, GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(all.len() as u64, total - 5);
    assert!(all.iter().enumerate().all(|(i, e)| e.index == i as u64 + 1));
    assert_eq!(reopened.term(total - 5).unwrap(), 2);
    assert_eq!(reopened.term(total - 6).unwrap(), 1);
    assert_eq!(
        reopened
            .entries(3, 5, None, GetEntriesContext::empty(false))
            .unwrap()[0]
            .data[0],
        3
    );
}

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: vec![index as u8; 10].into(),
        ..Default::default()
    }
}

fn temp_tree() -> (sled::Db, sled::Tree, tempfile::TempDir) {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let tree = db.open_tree("raft").unwrap();
    (db, tree, tempfile::tempdir().unwrap())
}

#[test]
fn append_truncates_conflicting_suffix_and_survives_reopen() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    assert!(s.is_fresh());
    s.bootstrap(vec![1, 2, 3]).unwrap();
    s.append(&[entry(2, 1), entry(3, 1), entry(4, 1)]).unwrap();
    s.append(&[entry(3, 2)]).unwrap();
    assert_eq!(s.last_index(), 3);
    assert_eq!(s.term(3).unwrap(), 2);
    let reopened = RaftLogStorage::open(tree, snaps.path()).unwrap();
    assert_eq!(reopened.last_index(), 3);
    assert_eq!(reopened.term(1).unwrap(), 1);
    assert_eq!(reopened.hard_state().commit, 1);
    assert_eq!(reopened.conf_state().voters, vec![1, 2, 3]);
    let got = reopened
        .entries(2, 4, None, GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(
        got.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(),
        vec![(2, 1), (3, 2)]
    );
}

#[test]
fn compaction_keeps_term_of_truncated_entry() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    let entries: Vec<_> = (1..=10).map(|i| entry(i, 1 + i / 5)).collect();
    s.append(&entries).unwrap();
    s.compact(6).unwrap();
    assert_eq!(Storage::first_index(&s).unwrap(), 6);
    assert_eq!(s.term(5).unwrap(), 2);
    assert!(matches!(
        s.term(4),
        Err(raft::Error::Store(StorageError::Compacted))
    ));
    assert!(matches!(
        s.entries(4, 7, None, GetEntriesContext::empty(false)),
        Err(raft::Error::Store(StorageError::Compacted))
    ));
    let reopened = RaftLogStorage::open(tree, snaps.path()).unwrap();
    assert_eq!(Storage::first_index(&reopened).unwrap(), 6);
    assert_eq!(reopened.term(5).unwrap(), 2);
    assert_eq!(reopened.last_index(), 10);
}

#[test]
fn snapshot_replaces_log_and_is_served() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    s.append(&[entry(1, 1), entry(2, 1)]).unwrap();
    assert!(s.snapshot(0, 2).is_err());
    assert!(s.snapshot_wanted());
    let mut snap = Snapshot::default();
    snap.mut_metadata().index = 50;
    snap.mut_metadata().term = 4;
    snap.mut_metadata().mut_conf_state().voters = vec![1, 2];
    snap.data = b"state".to_vec().into();
    s.apply_snapshot(snap).unwrap();
    assert_eq!(s.last_index(), 50);
    assert_eq!(Storage::first_index(&s).unwrap(), 51);
    assert_eq!(s.term(50).unwrap(), 4);
    assert_eq!(s.hard_state().commit, 50);
    assert_eq!(s.snapshot(10, 2).unwrap().data.as_ref(), b"state");
    let reopened = RaftLogStorage::open(tree, snaps.path()).unwrap();
    assert_eq!(reopened.last_index(), 50);
    assert_eq!(reopened.conf_state().voters, vec![1, 2]);
}

#[test]
fn entries_respect_max_size_but_return_at_least_one() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = RaftLogStorage::open(tree, snaps.path()).unwrap();
    s.append(&(1..=5).map(|i| entry(i, 1)).collect::<Vec<_>>())
        .unwrap();
    let got = s.entries(1, 6, 1, GetEntriesContext::empty(false)).unwrap();
    assert_eq!(got.len(), 1);
}

#[test]
fn snapshot_data_lives_in_a_file_and_sled_keeps_only_metadata() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    let data = vec![7u8; 1 << 20];
    for index in [50, 80] {
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = index;
        snap.mut_metadata().term = 4;
        snap.mut_metadata().mut_conf_state().voters = vec![1, 2];
        snap.data = data.clone().into();
        s.apply_snapshot(snap).unwrap();
    }
    // sled holds a few bytes of metadata, not the MB of data; one file, the latest.
    assert!(tree.get(KEY_SNAPSHOT).unwrap().unwrap().len() < 100);
    let files: Vec<_> = std::fs::read_dir(snaps.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(s.snapshot(60, 2).unwrap().data.as_ref(), &data[..]);
    let reopened = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    assert_eq!(reopened.snapshot(60, 1).unwrap().data.as_ref(), &data[..]);

    // A missing file is named when the member opens its log, not found later by a follower.
    std::fs::remove_file(snaps.path().join("0000000000000004-0000000000000050.snap")).unwrap();
    let err = RaftLogStorage::open(tree, snaps.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("0000000000000004-0000000000000050.snap"),
        "{err}"
    );
}

#[test]
fn a_snapshot_stored_whole_in_sled_is_moved_to_its_file() {
    let (_db, tree, snaps) = temp_tree();
    let mut snap = Snapshot::default();
    snap.mut_metadata().index = 9;
    snap.mut_metadata().term = 2;
    snap.mut_metadata().mut_conf_state().voters = vec![1];
    snap.data = b"old layout".to_vec().into();
    tree.insert(KEY_SNAPSHOT, snap.write_to_bytes().unwrap())
        .unwrap();
    let s = RaftLogStorage::open(tree.clone(), snaps.path()).unwrap();
    assert_eq!(s.snapshot(9, 1).unwrap().data.as_ref(), b"old layout");
    let stored = Snapshot::parse_from_bytes(&tree.get(KEY_SNAPSHOT).unwrap().unwrap()).unwrap();
    assert!(stored.data.is_empty());
    assert_eq!(stored.get_metadata().index, 9);
}
