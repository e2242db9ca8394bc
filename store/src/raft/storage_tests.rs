//! Tests of the raft log: entries in the write-ahead log, the rest in sled.
use super::super::log_batches::KEY_HARD_STATE;
use super::*;
use raft::Storage;

#[test]
fn old_entries_are_read_back_from_the_write_ahead_log() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = open(&tree, &snaps).unwrap();
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
    let reopened = open(&tree, &snaps).unwrap();
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

/// A temporary sled tree and a directory for the snapshot files and the write-ahead log.
fn temp_tree() -> (sled::Db, sled::Tree, Dirs) {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let tree = db.open_tree("raft").unwrap();
    (db, tree, Dirs(tempfile::tempdir().unwrap()))
}

struct Dirs(tempfile::TempDir);

impl Dirs {
    fn path(&self) -> std::path::PathBuf {
        self.0.path().join("snap")
    }

    fn wal(&self) -> std::path::PathBuf {
        self.0.path().join("wal")
    }
}

fn open(tree: &sled::Tree, dirs: &Dirs) -> Result<RaftLogStorage> {
    RaftLogStorage::open(tree.clone(), &dirs.path(), &dirs.wal())
}

#[test]
fn append_truncates_conflicting_suffix_and_survives_reopen() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = open(&tree, &snaps).unwrap();
    assert!(s.is_fresh());
    s.bootstrap(vec![1, 2, 3]).unwrap();
    s.append(&[entry(2, 1), entry(3, 1), entry(4, 1)]).unwrap();
    s.append(&[entry(3, 2)]).unwrap();
    assert_eq!(s.last_index(), 3);
    assert_eq!(s.term(3).unwrap(), 2);
    let reopened = open(&tree, &snaps).unwrap();
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
    let mut s = open(&tree, &snaps).unwrap();
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
    let reopened = open(&tree, &snaps).unwrap();
    assert_eq!(Storage::first_index(&reopened).unwrap(), 6);
    assert_eq!(reopened.term(5).unwrap(), 2);
    assert_eq!(reopened.last_index(), 10);
}

#[test]
fn snapshot_replaces_log_and_is_served() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = open(&tree, &snaps).unwrap();
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
    let reopened = open(&tree, &snaps).unwrap();
    assert_eq!(reopened.last_index(), 50);
    assert_eq!(reopened.conf_state().voters, vec![1, 2]);
}

#[test]
fn entries_respect_max_size_but_return_at_least_one() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = open(&tree, &snaps).unwrap();
    s.append(&(1..=5).map(|i| entry(i, 1)).collect::<Vec<_>>())
        .unwrap();
    let got = s.entries(1, 6, 1, GetEntriesContext::empty(false)).unwrap();
    assert_eq!(got.len(), 1);
}

#[test]
fn snapshot_data_lives_in_a_file_and_sled_keeps_only_metadata() {
    let (_db, tree, snaps) = temp_tree();
    let mut s = open(&tree, &snaps).unwrap();
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
    let reopened = open(&tree, &snaps).unwrap();
    assert_eq!(reopened.snapshot(60, 1).unwrap().data.as_ref(), &data[..]);

    // A missing file is named when the member opens its log, not found later by a follower.
    std::fs::remove_file(snaps.path().join("0000000000000004-0000000000000050.snap")).unwrap();
    let err = open(&tree, &snaps).err().unwrap().to_string();
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
    let s = open(&tree, &snaps).unwrap();
    assert_eq!(s.snapshot(9, 1).unwrap().data.as_ref(), b"old layout");
    let stored = Snapshot::parse_from_bytes(&tree.get(KEY_SNAPSHOT).unwrap().unwrap()).unwrap();
    assert!(stored.data.is_empty());
    assert_eq!(stored.get_metadata().index, 9);
}

/// Writes a log in the layout before the write-ahead log: batch records and `hs` in sled.
fn write_sled_layout(tree: &sled::Tree, batches: &[(u64, u64)], term: u64) {
    for &(first, last) in batches {
        let entries: Vec<_> = (first..=last).map(|i| entry(i, term)).collect();
        tree.insert(
            super::super::log_batches::batch_key(first, last),
            super::super::log_batches::encode(&entries).unwrap(),
        )
        .unwrap();
    }
    let hs = HardState {
        term,
        vote: 2,
        commit: 7,
        ..Default::default()
    };
    tree.insert(KEY_HARD_STATE, hs.write_to_bytes().unwrap())
        .unwrap();
}

#[test]
fn a_log_kept_in_sled_moves_to_the_write_ahead_log() {
    let (_db, tree, dirs) = temp_tree();
    write_sled_layout(&tree, &[(1, 4), (5, 9), (10, 10)], 3);
    tree.insert(KEY_TRUNCATED, truncation_record(2, 3).to_vec())
        .unwrap();
    let s = open(&tree, &dirs).unwrap();
    assert_eq!((Storage::first_index(&s).unwrap(), s.last_index()), (3, 10));
    assert_eq!((s.hard_state().term, s.hard_state().vote), (3, 2));
    assert!(dirs.wal().is_dir() && !dirs.wal().with_extension("tmp").exists());
    // sled holds nothing of the log any more.
    assert!(tree.scan_prefix(b"b").next().is_none());
    assert!(tree.get(KEY_HARD_STATE).unwrap().is_none());
    drop(s);
    let s = open(&tree, &dirs).unwrap();
    let got = s
        .entries(3, 11, None, GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(
        got.iter().map(|e| e.index).collect::<Vec<_>>(),
        (3..=10).collect::<Vec<_>>()
    );
    assert_eq!(s.hard_state().commit, 7);
}

#[test]
fn a_move_cut_short_by_a_crash_is_made_again() {
    let (_db, tree, dirs) = temp_tree();
    write_sled_layout(&tree, &[(1, 6)], 2);
    // A crash during the move left part of it in the temporary directory.
    let mut partial = Wal::open(&dirs.wal().with_extension("tmp")).unwrap();
    partial.append(&[entry(1, 2)]).unwrap();
    partial.sync().unwrap();
    drop(partial);
    let s = open(&tree, &dirs).unwrap();
    assert_eq!(s.last_index(), 6);
    assert_eq!(s.term(6).unwrap(), 2);
}

#[test]
fn compaction_deletes_log_files_and_a_reopened_log_starts_where_sled_says() {
    let (_db, tree, dirs) = temp_tree();
    let mut s = open(&tree, &dirs).unwrap();
    s.log.segment_bytes = 4096;
    for i in 0..50u64 {
        s.append(
            &(i * 20 + 1..=i * 20 + 20)
                .map(|i| entry(i, 1))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }
    s.sync().unwrap();
    let files = || std::fs::read_dir(dirs.wal()).unwrap().count();
    let before = files();
    s.compact(900).unwrap();
    assert!(files() < before, "{} files, {before} before", files());
    drop(s);
    let s = open(&tree, &dirs).unwrap();
    assert_eq!(Storage::first_index(&s).unwrap(), 900);
    assert_eq!(s.last_index(), 1000);
    assert_eq!(
        s.entries(900, 1001, None, GetEntriesContext::empty(false))
            .unwrap()
            .len(),
        101
    );
}

#[test]
fn a_log_that_starts_after_the_state_machine_needs_it_is_refused() {
    let (_db, tree, dirs) = temp_tree();
    let mut s = open(&tree, &dirs).unwrap();
    s.log.reset(20).unwrap();
    s.log.append(&[entry(21, 1), entry(22, 1)]).unwrap();
    s.sync().unwrap();
    drop(s);
    // sled says the log must go on from 11 (the truncation record is at 10).
    tree.insert(KEY_TRUNCATED, truncation_record(10, 1).to_vec())
        .unwrap();
    let err = open(&tree, &dirs).err().unwrap().to_string();
    assert!(
        err.contains("holds entries 21..=22") && err.contains("from 11"),
        "{err}"
    );
}
