//! Making the applied state durable: sled's flush, plus the one thing it leaves out.
//!
//! The raft log is durable on its own (the write-ahead log, synced per Ready), so the
//! state machine in sled may lag it: a thread of its own flushes it behind the raft
//! thread (a crash replays what came after from the log), and the raft thread flushes it
//! itself before the log behind a snapshot is dropped. Flushing often matters for memory
//! as well as for replay: in 10 000-pod runs members flushed once a second held 25-35 MB
//! more than members flushed after every batch.
//!
//! sled writes any page too large for its log (over a quarter of a segment,
//! 128 KiB by default: a big value, a big log batch) to a separate blob file,
//! and fsyncs its log but not those files. A SIGKILL loses nothing (the data
//! is in the page cache), but a power cut could leave the log pointing at a
//! blob that never reached the disk. So after every flush, blob files not
//! synced before are synced, and their directory with them.
//!
//! Listing the directory on every flush cost a busy leader a tenth of its raft
//! thread once it held hundreds of blobs, so it is listed only when it may have
//! changed: its modification time differs from the one seen at the last listing,
//! or is too close to that listing for the file system's coarse clock to tell
//! a later change apart.

use std::collections::HashSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use crate::error::{Result, StoreError};

pub struct Durable {
    db: sled::Db,
    blobs: PathBuf,
    synced: HashSet<std::ffi::OsString>,
    /// The directory's modification time before the last listing, and when that
    /// listing started.
    listed: Option<(SystemTime, SystemTime)>,
    /// Listings so far (tests check that an unchanged directory is not listed).
    listings: u64,
}

/// More than a file system timestamp's granularity (a kernel clock tick).
const MTIME_GRANULARITY: Duration = Duration::from_secs(1);

/// The thread that flushes the state machine behind the raft thread: after each batch
/// of applied entries (batches applied during a flush share the next one), or once a
/// second. The raft thread never waits for it.
pub struct Flusher {
    wake: crossbeam_channel::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Flusher {
    pub fn spawn(durable: Arc<Mutex<Durable>>, every: Duration) -> std::io::Result<Flusher> {
        let (wake, woken) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name("sled-flush".into())
            .spawn(move || loop {
                let stopping = matches!(
                    woken.recv_timeout(every),
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected)
                );
                if let Err(err) = durable.lock().flush() {
                    tracing::error!(%err, "flushing the state machine failed");
                }
                if stopping {
                    break;
                }
            })?;
        Ok(Flusher { wake, thread })
    }

    /// A handle that asks for a flush of what was applied so far.
    pub fn waker(&self) -> FlushWaker {
        FlushWaker(self.wake.clone())
    }

    /// Flushes once more and waits for the thread, so the database is closed after: the
    /// thread stops once every waker is gone too.
    pub fn stop(self) {
        let Flusher { wake, thread } = self;
        drop(wake);
        let _ = thread.join();
    }
}

pub struct FlushWaker(crossbeam_channel::Sender<()>);

impl FlushWaker {
    pub fn wake(&self) {
        let _ = self.0.try_send(());
    }
}

impl Durable {
    /// `db_dir` is the directory sled was opened on.
    pub fn new(db: sled::Db, db_dir: PathBuf) -> Durable {
        Durable {
            db,
            blobs: db_dir.join("blobs"),
            synced: HashSet::new(),
            listed: None,
            listings: 0,
        }
    }

    /// Everything written so far is on disk when this returns.
    pub fn flush(&mut self) -> Result<()> {
        self.db.flush()?;
        self.sync_blobs()
    }

    /// The directory's modification time now; `None` when it cannot be read (then it
    /// is listed, which reports the error or its absence).
    fn dir_mtime(&self) -> Option<SystemTime> {
        std::fs::metadata(&self.blobs).ok()?.modified().ok()
    }

    fn sync_blobs(&mut self) -> Result<()> {
        let io = |e: std::io::Error| {
            StoreError::Corrupt(format!("syncing {}: {e}", self.blobs.display()))
        };
        let listing_at = SystemTime::now();
        let mtime = self.dir_mtime();
        if let (Some(current), Some((seen, at))) = (mtime, self.listed) {
            if current == seen && current + MTIME_GRANULARITY < at {
                return Ok(());
            }
        }
        self.listings += 1;
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        let mut present = HashSet::new();
        let mut new_files = false;
        for entry in entries {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            if !self.synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(file) => file.sync_all().map_err(io)?,
                    // Collected by sled meanwhile: nothing left to sync.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(e)),
                }
                new_files = true;
            }
            present.insert(name);
        }
        if new_files {
            File::open(&self.blobs)
                .and_then(|dir| dir.sync_all())
                .map_err(io)?;
        }
        // Forget files sled has removed, so the set does not grow forever.
        self.synced = present;
        self.listed = mtime.map(|m| (m, listing_at));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_values_land_in_blob_files_that_get_synced() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(tmp.path()).open().unwrap();
        let mut durable = Durable::new(db.clone(), tmp.path().to_path_buf());
        durable.flush().unwrap();
        db.insert(b"big", vec![7u8; 600 * 1024]).unwrap();
        durable.flush().unwrap();
        let blobs = std::fs::read_dir(tmp.path().join("blobs")).unwrap().count();
        assert!(blobs >= 1, "a 600 KiB value should be stored as a blob");
        assert_eq!(durable.synced.len(), blobs);
        // Nothing new: nothing synced again, set unchanged.
        durable.flush().unwrap();
        assert_eq!(durable.synced.len(), blobs);
    }

    #[test]
    fn an_unchanged_directory_is_not_listed_again() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(tmp.path()).open().unwrap();
        let mut durable = Durable::new(db.clone(), tmp.path().to_path_buf());
        db.insert(b"big", vec![7u8; 600 * 1024]).unwrap();
        durable.flush().unwrap();
        let first = durable.synced.len();
        assert!(first >= 1);
        // The listing was too recent to trust the directory's time: listed again.
        durable.flush().unwrap();
        assert_eq!(durable.listings, 2);
        // Long after, with the directory unchanged: not listed.
        let (mtime, _) = durable.listed.unwrap();
        durable.listed = Some((mtime, mtime + 2 * MTIME_GRANULARITY));
        durable.flush().unwrap();
        durable.flush().unwrap();
        assert_eq!(durable.listings, 2);
        // A new blob (a clock tick later) changes the directory: listed and synced.
        std::thread::sleep(Duration::from_millis(50));
        db.insert(b"bigger", vec![8u8; 700 * 1024]).unwrap();
        durable.flush().unwrap();
        assert_eq!(durable.listings, 3);
        assert!(durable.synced.len() > first, "{:?}", durable.synced);
    }
}
