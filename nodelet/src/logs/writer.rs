//! The size-capped log file a supervisor writes its container's output to.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Appends to `log`; when it would grow past half the cap it is renamed to `log.1`
/// (replacing the older half) and a fresh `log` begins, so at most `max_bytes` are kept
/// and the newest output always survives. Segments end at line ends where possible, so a
/// reader of `log.1` + `log` sees whole lines (only a line longer than half the cap is
/// cut).
pub struct LogWriter {
    path: PathBuf,
    segment_max: u64,
    file: File,
    size: u64,
}

/// The older half of a rotated log.
pub fn rotated_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

impl LogWriter {
    /// Creates (or truncates) the log at `path`, keeping at most `max_bytes` of output.
    pub fn create(path: &Path, max_bytes: u64) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(LogWriter {
            path: path.to_path_buf(),
            segment_max: (max_bytes / 2).max(4096),
            file,
            size: 0,
        })
    }

    /// Appends `bytes`, rotating whenever the current segment is full; a large write
    /// may rotate several times, keeping only its newest part.
    pub fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = self.segment_max.saturating_sub(self.size) as usize;
            if bytes.len() <= room {
                return self.append(bytes);
            }
            // Fill the segment up to the last line end that fits, then start a new one.
            match bytes[..room].iter().rposition(|b| *b == b'\n') {
                Some(end) => {
                    self.append(&bytes[..=end])?;
                    bytes = &bytes[end + 1..];
                }
                // A line longer than a whole segment is cut.
                None if self.size == 0 => {
                    self.append(&bytes[..room])?;
                    bytes = &bytes[room..];
                }
                None => {}
            }
            self.rotate()?;
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        fs::rename(&self.path, rotated_path(&self.path))?;
        self.file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_output_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut w = LogWriter::create(&log, 8192).unwrap();
        for i in 0..100 {
            w.write(format!("line {i:04} {}\n", "x".repeat(90)).as_bytes())
                .unwrap();
        }
        let old = fs::read_to_string(rotated_path(&log)).unwrap();
        let new = fs::read_to_string(&log).unwrap();
        assert!(old.len() + new.len() <= 8192);
        assert!(new.ends_with(&format!("line 0099 {}\n", "x".repeat(90))));
        assert!(!old.contains("line 0000"));
        // The two halves join without a gap.
        let all = old + &new;
        let first: usize = all[5..9].parse().unwrap();
        assert_eq!(all.lines().count(), 100 - first);
    }

    #[test]
    fn segments_hold_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut w = LogWriter::create(&log, 8192).unwrap();
        // Chunks that cut lines in two, as pipe reads do.
        let text: String = (0..1000).map(|i| format!("line {i:04}\n")).collect();
        for chunk in text.as_bytes().chunks(37) {
            w.write(chunk).unwrap();
        }
        let old = fs::read_to_string(rotated_path(&log)).unwrap();
        let new = fs::read_to_string(&log).unwrap();
        for file in [&old, &new] {
            assert!(file.starts_with("line "), "{file:.20}");
        }
        assert!(new.ends_with("line 0999\n"));
        assert!(text.ends_with(&(old + &new)));
    }
}
