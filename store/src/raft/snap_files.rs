//! The latest raft snapshot's data, in a file of its own: `DATA/snap/<term>-<index>.snap`
//! (16 hex digits each, as etcd names its `.snap` files).
//!
//! A snapshot holds the whole state machine, history included: hundreds of MB once a
//! cluster has run a while. Kept as one sled value it stayed resident twice over (sled's
//! cache and the storage's copy) and sled's log rewrote it, so a member went from 120 MB
//! to over 1.3 GB resident and 8 GB on disk at its first snapshot of a 210 MB state, and
//! stalled clients for seconds. Now sled keeps only the metadata, memory holds no data at
//! all, and the file is read when a follower needs it.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

pub struct SnapFiles {
    dir: PathBuf,
}

impl SnapFiles {
    /// Creates `dir` if missing.
    pub fn open(dir: &Path) -> Result<SnapFiles> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, "creating", e))?;
        Ok(SnapFiles {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self, term: u64, index: u64) -> PathBuf {
        self.dir.join(format!("{term:016x}-{index:016x}.snap"))
    }

    /// Writes the data `write` produces durably: a temporary file, fsynced, renamed into
    /// place, and the directory fsynced, so a crash leaves the old file or the whole new
    /// one. The data goes out as it is produced, so a snapshot of the whole state is never
    /// in memory at once. Returns its size.
    pub fn save_with(
        &self,
        term: u64,
        index: u64,
        write: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<u64> {
        let path = self.path(term, index);
        let tmp = path.with_extension("snap.tmp");
        let file = File::create(&tmp).map_err(|e| io_error(&tmp, "creating", e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| io_error(&tmp, "writing", e.into_error()))?;
        let size = file
            .sync_all()
            .and_then(|()| file.metadata())
            .map_err(|e| io_error(&tmp, "writing", e))?
            .len();
        fs::rename(&tmp, &path).map_err(|e| io_error(&path, "renaming into", e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&self.dir, "syncing", e))?;
        Ok(size)
    }

    pub fn load(&self, term: u64, index: u64) -> Result<Vec<u8>> {
        let path = self.path(term, index);
        fs::read(&path).map_err(|e| io_error(&path, "reading", e))
    }

    /// Removes every snapshot file (and leftover temporary) but the one named; called
    /// once the metadata naming it is durable.
    pub fn keep_only(&self, term: u64, index: u64) -> Result<()> {
        let keep = self.path(term, index);
        let entries = fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "listing", e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path != keep && (name.ends_with(".snap") || name.ends_with(".snap.tmp")) {
                fs::remove_file(&path).map_err(|e| io_error(&path, "removing", e))?;
            }
        }
        Ok(())
    }
}

/// A writer for [`SnapFiles::save_with`] of data already in memory.
pub fn write_data(data: &[u8]) -> impl FnOnce(&mut dyn Write) -> Result<()> + '_ {
    move |out| {
        out.write_all(data)
            .map_err(|e| StoreError::Corrupt(format!("writing a raft snapshot: {e}")))
    }
}

fn io_error(path: &Path, doing: &str, e: std::io::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "raft snapshot file {}: {doing}: {e}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_data_reads_back_and_only_the_named_file_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let files = SnapFiles::open(&tmp.path().join("snap")).unwrap();
        files.save_with(2, 100, write_data(b"old")).unwrap();
        let written = files
            .save_with(3, 200, |out| {
                out.write_all(b"ne").unwrap();
                out.write_all(b"w").unwrap();
                Ok(())
            })
            .unwrap();
        assert_eq!(written, 3);
        fs::write(
            tmp.path()
                .join("snap/0000000000000003-0000000000000300.snap.tmp"),
            b"x",
        )
        .unwrap();
        assert_eq!(files.load(2, 100).unwrap(), b"old");
        files.keep_only(3, 200).unwrap();
        let left: Vec<String> = fs::read_dir(tmp.path().join("snap"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["0000000000000003-00000000000000c8.snap"]);
        assert_eq!(files.load(3, 200).unwrap(), b"new");
        let missing = files.load(2, 100).unwrap_err().to_string();
        assert!(
            missing.contains("0000000000000002-0000000000000064.snap"),
            "{missing}"
        );
    }
}
