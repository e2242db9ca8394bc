//! Tests of the write-ahead log's files: replay, torn tails, corruption, segments.
use super::*;

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: vec![index as u8; 100].into(),
        ..Default::default()
    }
}

fn entries(from: u64, to: u64, term: u64) -> Vec<Entry> {
    (from..=to).map(|i| entry(i, term)).collect()
}

fn indexes_and_terms(wal: &Wal) -> Vec<(u64, u64)> {
    let Some(last) = wal.last_index() else {
        return Vec::new();
    };
    wal.read(wal.first_index(), last + 1)
        .unwrap()
        .iter()
        .map(|e| (e.index, e.term))
        .collect()
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn entries_and_hard_state_come_back_after_reopening() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.append(&entries(1, 5, 1)).unwrap();
    // A conflicting suffix replaces the log from its first entry on.
    wal.append(&entries(4, 6, 2)).unwrap();
    wal.set_hard_state(&HardState {
        term: 2,
        vote: 3,
        commit: 4,
        ..Default::default()
    })
    .unwrap();
    wal.sync().unwrap();
    drop(wal);
    let wal = Wal::open(tmp.path()).unwrap();
    assert_eq!(
        indexes_and_terms(&wal),
        vec![(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2)]
    );
    assert_eq!((wal.hard_state().term, wal.hard_state().vote), (2, 3));
    assert_eq!(wal.read(5, 6).unwrap()[0].data, vec![5u8; 100]);
}

#[test]
fn a_torn_last_write_is_cut_off_and_the_log_goes_on_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.append(&entries(1, 3, 1)).unwrap();
    wal.sync().unwrap();
    let synced = wal.size;
    wal.append(&entries(4, 6, 1)).unwrap();
    drop(wal);
    // The second record reached the disk only in part.
    let path = segment_path(tmp.path(), 1);
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(synced + 20).unwrap();
    drop(file);

    let mut wal = Wal::open(tmp.path()).unwrap();
    assert_eq!(indexes_and_terms(&wal), vec![(1, 1), (2, 1), (3, 1)]);
    assert_eq!(fs::metadata(&path).unwrap().len(), synced);
    wal.append(&entries(4, 4, 2)).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let wal = Wal::open(tmp.path()).unwrap();
    assert_eq!(
        indexes_and_terms(&wal),
        vec![(1, 1), (2, 1), (3, 1), (4, 2)]
    );
}

#[test]
fn a_last_record_whose_checksum_fails_is_cut_off() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.append(&entries(1, 2, 1)).unwrap();
    let first_record = wal.size;
    wal.append(&entries(3, 3, 1)).unwrap();
    drop(wal);
    let path = segment_path(tmp.path(), 1);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let wal = Wal::open(tmp.path()).unwrap();
    assert_eq!(wal.last_index(), Some(2));
    assert_eq!(fs::metadata(&path).unwrap().len(), first_record);
}

#[test]
fn damage_before_the_last_segment_is_refused_naming_the_file_and_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.segment_bytes = 1000;
    for i in 0..10 {
        wal.append(&entries(i * 5 + 1, i * 5 + 5, 1)).unwrap();
    }
    wal.sync().unwrap();
    drop(wal);
    let files = segment_files(tmp.path());
    assert!(files.len() >= 3, "{files:?}");
    let path = tmp.path().join(&files[0]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[HEADER as usize + 20] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let err = Wal::open(tmp.path()).err().unwrap().to_string();
    assert!(
        err.contains(&files[0]) && err.contains("checksum") && err.contains("at byte 0"),
        "{err}"
    );
}

#[test]
fn a_whole_record_that_leaves_a_gap_is_corruption_not_a_torn_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.append(&entries(1, 2, 1)).unwrap();
    // Written behind the index's back, as a bug or a bad disk might.
    wal.write_record(KIND_ENTRIES, |buf| {
        buf.extend_from_slice(&9u64.to_le_bytes());
        Ok(())
    })
    .unwrap();
    drop(wal);
    let err = Wal::open(tmp.path()).err().unwrap().to_string();
    assert!(err.contains("entry 9 appended after 2"), "{err}");
}

#[test]
fn full_segments_roll_over_and_compaction_deletes_the_ones_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.segment_bytes = 1000;
    wal.set_hard_state(&HardState {
        term: 7,
        ..Default::default()
    })
    .unwrap();
    for i in 0..20 {
        wal.append(&entries(i * 5 + 1, i * 5 + 5, 1)).unwrap();
    }
    wal.sync().unwrap();
    let before = segment_files(tmp.path()).len();
    assert!(before >= 5, "{before}");
    wal.compact(61).unwrap();
    let after = segment_files(tmp.path());
    assert!(after.len() < before, "{after:?}");
    assert_eq!(wal.first_index(), 61);
    assert_eq!(wal.read(61, 101).unwrap().len(), 40);
    drop(wal);
    // The hard state written before the deleted segments is still known: every segment
    // starts with it.
    let wal = Wal::open(tmp.path()).unwrap();
    assert_eq!(wal.hard_state().term, 7);
    assert_eq!(wal.last_index(), Some(100));
    assert!(wal.first_index() <= 61);
    assert_eq!(wal.read(61, 101).unwrap().len(), 40);
}

#[test]
fn a_reset_drops_every_entry_and_the_log_goes_on_after_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path()).unwrap();
    wal.segment_bytes = 1000;
    for i in 0..10 {
        wal.append(&entries(i * 5 + 1, i * 5 + 5, 1)).unwrap();
    }
    wal.reset(200).unwrap();
    assert_eq!(wal.last_index(), None);
    assert_eq!(segment_files(tmp.path()).len(), 1);
    wal.append(&entries(201, 202, 3)).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let wal = Wal::open(tmp.path()).unwrap();
    assert_eq!(indexes_and_terms(&wal), vec![(201, 3), (202, 3)]);
}

#[test]
fn a_file_that_is_not_a_segment_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("oops.wal"), b"").unwrap();
    let err = Wal::open(tmp.path()).err().unwrap().to_string();
    assert!(err.contains("oops.wal is not a segment name"), "{err}");
}
