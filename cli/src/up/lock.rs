//! `DIR/state.lock`: an advisory lock (flock) that serializes every read-modify-write of `state.json` between `skiff up`, `skiff down` and the supervisor.

use std::fs::File;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use crate::error::CliError;

pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join("state.lock")
}

/// Held while it lives; the kernel releases it when the file closes, so a process killed
/// while holding it blocks nobody. The file is opened close-on-exec (as every file Rust
/// opens), so the processes started while it is held do not inherit it.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

fn lock_error(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::msg(format!("cannot lock {}: {e}", path.display()))
}

fn open(path: &Path, create: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn lock(file: File, path: &Path, waiting: impl FnOnce()) -> Result<StateLock, CliError> {
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => return Ok(StateLock { _file: file }),
        Err(Errno::WOULDBLOCK) | Err(Errno::INTR) => waiting(),
        Err(e) => return Err(lock_error(path, e)),
    }
    loop {
        match flock(&file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(StateLock { _file: file }),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(lock_error(path, e)),
        }
    }
}

impl StateLock {
    /// Waits until the lock of the cluster in `dir` is ours, creating the lock file;
    /// `waiting` runs once if another process holds it.
    pub fn acquire(dir: &Path, waiting: impl FnOnce()) -> Result<StateLock, CliError> {
        let path = lock_path(dir);
        let file = open(&path, true).map_err(|e| lock_error(&path, e))?;
        lock(file, &path, waiting)
    }

    /// Like [`StateLock::acquire`], but `None` when there is no lock file (the cluster's
    /// files were deleted): the supervisor must not recreate a purged directory.
    pub fn acquire_existing(dir: &Path) -> Result<Option<StateLock>, CliError> {
        let path = lock_path(dir);
        match open(&path, false) {
            Ok(file) => lock(file, &path, || {}).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(lock_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn the_lock_excludes_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(StateLock::acquire_existing(dir.path()).unwrap().is_none());
        let held = StateLock::acquire(dir.path(), || panic!("nobody holds it")).unwrap();
        let (tx, rx) = mpsc::channel();
        let path = dir.path().to_path_buf();
        let other = std::thread::spawn(move || {
            let mut waited = false;
            let lock = StateLock::acquire(&path, || waited = true).unwrap();
            tx.send(()).unwrap();
            drop(lock);
            waited
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "the second holder got the lock while the first held it"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(other.join().unwrap(), "the waiting callback ran");
        assert!(StateLock::acquire_existing(dir.path()).unwrap().is_some());
    }
}
