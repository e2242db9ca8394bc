//! Following a log as it grows (`logs -f`), until its container has exited.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

use super::reader::{read_if_present, tail_lines};
use super::stamp::Unstamp;
use super::writer::rotated_path;

/// How often a follower looks for new output. Only followers poll, and a poll is one
/// `read` and one `stat` on a cached file, so an idle node pays nothing.
const POLL: Duration = Duration::from_millis(100);
const CHUNK: usize = 32 * 1024;

/// Yields a log's existing content (or its last lines), then every new byte, and ends
/// once the container has exited and everything it wrote has been yielded.
pub struct LogFollower {
    path: PathBuf,
    done_marker: PathBuf,
    file: File,
    inode: u64,
    pending: Option<Vec<u8>>,
    finished: bool,
    /// Drops the lines' stamps, unless `--timestamps` asked for them.
    unstamp: Option<Unstamp>,
}

impl LogFollower {
    /// Follows `log`; the container counts as exited once `done_marker` exists (the
    /// supervisor writes its exit record only after the last output reached the log).
    pub fn open(
        log: &Path,
        done_marker: &Path,
        tail: Option<usize>,
        timestamps: bool,
    ) -> io::Result<Self> {
        let mut file = File::open(log)?;
        let inode = file.metadata()?.ino();
        let end = file.metadata()?.len();
        let mut existing = read_if_present(&rotated_path(log))?;
        let offset = existing.len();
        existing.resize(offset + end as usize, 0);
        file.read_exact_at(&mut existing[offset..], 0)?;
        file.seek(SeekFrom::Start(end))?;
        if let Some(n) = tail {
            let start = existing.len() - tail_lines(&existing, n).len();
            existing.drain(..start);
        }
        Ok(LogFollower {
            path: log.to_path_buf(),
            done_marker: done_marker.to_path_buf(),
            file,
            inode,
            pending: Some(existing),
            finished: false,
            unstamp: (!timestamps).then(Unstamp::default),
        })
    }

    /// The next piece of output; `None` once the container has exited and all its output
    /// was returned.
    pub async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            let chunk = match self.next_stamped().await? {
                Ok(chunk) => chunk,
                Err(e) => return Some(Err(e)),
            };
            let Some(unstamp) = self.unstamp.as_mut() else {
                return Some(Ok(chunk));
            };
            let text = unstamp.apply(&chunk);
            // A piece that was only (part of) a stamp has nothing to send yet.
            if !text.is_empty() {
                return Some(Ok(Bytes::from(text)));
            }
        }
    }

    /// The next piece of the log as stored.
    async fn next_stamped(&mut self) -> Option<io::Result<Bytes>> {
        if let Some(first) = self.pending.take() {
            if !first.is_empty() {
                return Some(Ok(Bytes::from(first)));
            }
        }
        while !self.finished {
            // Check for the exit before reading: output written before the exit record
            // is then certain to be read before the follower ends.
            let exited = self.done_marker.exists();
            let mut buf = vec![0u8; CHUNK];
            match self.file.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => {
                    buf.truncate(n);
                    return Some(Ok(Bytes::from(buf)));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
            // At the end of our file: if the writer rotated, the rest is in a newer file.
            match self.next_file() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
            if exited {
                self.finished = true;
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        None
    }

    /// After our file was drained: switches to the file written after it, if there is
    /// one. Normally that is `log`; if the writer rotated twice since we last looked, our
    /// file is gone and the unread one in between is `log.1`.
    fn next_file(&mut self) -> io::Result<bool> {
        let current = match std::fs::metadata(&self.path) {
            Ok(meta) => meta.ino(),
            // Mid-rotation the new file may not exist for an instant.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if current == self.inode {
            return Ok(false);
        }
        let rotated = rotated_path(&self.path);
        let next = match std::fs::metadata(&rotated) {
            Ok(meta) if meta.ino() != self.inode => rotated,
            _ => self.path.clone(),
        };
        match File::open(&next) {
            Ok(file) => {
                self.inode = file.metadata()?.ino();
                self.file = file;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The follower as a stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        futures::stream::unfold(self, |mut follower| async move {
            follower.next_chunk().await.map(|chunk| (chunk, follower))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogWriter;

    #[tokio::test]
    async fn follows_through_rotation_until_the_exit_marker() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let done = dir.path().join("exit.json");
        let mut writer = LogWriter::create(&log, 8192).unwrap();
        writer.write(b"first\nsecond\n").unwrap();
        let mut follower = LogFollower::open(&log, &done, Some(1), false).unwrap();
        assert_eq!(follower.next_chunk().await.unwrap().unwrap(), "second\n");

        let mut expected = Vec::new();
        for i in 0..200 {
            // With its stamp each line takes 50 bytes: ~2.5 segments of 4096, as a follower that
            // reads only after all was written can keep up with.
            let line = format!("line {i:03} {}\n", "y".repeat(10));
            writer.write(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        std::fs::write(&done, b"{}").unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = follower.next_chunk().await {
            got.extend_from_slice(&chunk.unwrap());
        }
        // Everything written after open, in order, across several rotations.
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }

    #[tokio::test]
    async fn timestamps_keep_each_line_stamped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let done = dir.path().join("exit.json");
        let mut writer = LogWriter::create(&log, 8192).unwrap();
        writer.write(b"one\ntw").unwrap();
        let mut follower = LogFollower::open(&log, &done, None, true).unwrap();
        writer.write(b"o\n").unwrap();
        std::fs::write(&done, b"{}").unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = follower.next_chunk().await {
            got.extend_from_slice(&chunk.unwrap());
        }
        let got = String::from_utf8(got).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.len(), 2, "{got}");
        for (line, want) in lines.iter().zip(["one", "two"]) {
            assert_eq!(&line[crate::logs::STAMP_LEN..], want, "{got}");
        }
    }
}
