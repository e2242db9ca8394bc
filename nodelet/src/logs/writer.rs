//! The size-capped log file a supervisor writes its container's output to, each line
//! stamped with the time it was written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::stamp::stamp_now;

/// Appends to `log`; when it would grow past half the cap it is renamed to `log.1`
/// (replacing the older half) and a fresh `log` begins, so at most `max_bytes` are kept
/// and the newest output always survives. Segments end at line ends where possible, so a
/// reader of `log.1` + `log` sees whole lines (only a line longer than half the cap is
/// cut into lines of their own).
pub struct LogWriter {
    path: PathBuf,
    segment_max: u64,
    file: File,
    size: u64,
    /// The next byte starts a line, so it gets a stamp.
    at_line_start: bool,
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
            at_line_start: true,
        })
    }

    /// Appends `bytes`, stamping each line that starts in them, rotating whenever the
    /// current segment is full; a large write may rotate several times, keeping only its
    /// newest part.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut pending = self.stamp(bytes);
        let mut start = 0;
        while start < pending.len() {
            let rest = &pending[start..];
            let room = self.segment_max.saturating_sub(self.size) as usize;
            if rest.len() <= room {
                return self.append(rest);
            }
            // Fill the segment up to the last line end that fits, then start a new one.
            match rest[..room].iter().rposition(|b| *b == b'\n') {
                Some(end) => {
                    self.append(&rest[..=end])?;
                    start += end + 1;
                }
                // A line longer than a whole segment is cut in two lines, the second
                // stamped, so every segment starts with a stamp.
                None if self.size == 0 => {
                    let cut = room - 1;
                    self.append(&rest[..cut])?;
                    self.append(b"\n")?;
                    let mut next = stamp_now();
                    next.extend_from_slice(&rest[cut..]);
                    pending = next;
                    start = 0;
                }
                None => {}
            }
            self.rotate()?;
        }
        Ok(())
    }

    /// `bytes` with a stamp in front of each line that starts in them; one clock read per
    /// write, as the pipe delivered them together.
    fn stamp(&mut self, bytes: &[u8]) -> Vec<u8> {
        let now = stamp_now();
        let mut out = Vec::with_capacity(bytes.len() + now.len());
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            if self.at_line_start {
                out.extend_from_slice(&now);
            }
            out.extend_from_slice(line);
            self.at_line_start = line.ends_with(b"\n");
        }
        out
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
    use crate::logs::stamp::{Unstamp, STAMP_LEN};

    /// A stamped segment's text without its stamps.
    fn text_of(path: &Path) -> String {
        String::from_utf8(Unstamp::default().apply(&fs::read(path).unwrap())).unwrap()
    }

    #[test]
    fn keeps_only_the_newest_output_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut w = LogWriter::create(&log, 8192).unwrap();
        for i in 0..100 {
            w.write(format!("line {i:04} {}\n", "x".repeat(90)).as_bytes())
                .unwrap();
        }
        let stored =
            fs::metadata(rotated_path(&log)).unwrap().len() + fs::metadata(&log).unwrap().len();
        assert!(stored <= 8192);
        let old = text_of(&rotated_path(&log));
        let new = text_of(&log);
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
        for path in [rotated_path(&log), log.clone()] {
            let file = fs::read_to_string(&path).unwrap();
            // One stamp per line, each line whole although the chunks cut them.
            for line in file.lines() {
                assert_eq!(&line[STAMP_LEN..STAMP_LEN + 5], "line ", "{line}");
            }
        }
        let old = text_of(&rotated_path(&log));
        let new = text_of(&log);
        assert!(new.ends_with("line 0999\n"));
        assert!(text.ends_with(&(old + &new)));
    }

    #[test]
    fn a_line_longer_than_a_segment_is_cut_into_stamped_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut w = LogWriter::create(&log, 8192).unwrap();
        w.write(&[b'y'; 5000]).unwrap();
        w.write(b"\nafter\n").unwrap();
        let old = fs::read(rotated_path(&log)).unwrap();
        assert_eq!(old.len(), 4096);
        assert!(old.ends_with(b"y\n"));
        let new = text_of(&log);
        assert!(new.ends_with("y\nafter\n"), "{new:.40}");
        let ys = text_of(&rotated_path(&log)).len() - 1 + new.len() - "\nafter\n".len();
        assert_eq!(ys, 5000);
    }
}
