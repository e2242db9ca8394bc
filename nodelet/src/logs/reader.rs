//! Reading a whole log, or its last lines, across the rotated and current files.

use std::fs;
use std::io;
use std::path::Path;

use super::stamp::unstamp_unless;
use super::writer::rotated_path;

/// The log's content, oldest first (`log.1` then `log`), optionally only its last lines,
/// with each line's stamp when `timestamps` asks for it.
pub fn read_log(log: &Path, tail: Option<usize>, timestamps: bool) -> io::Result<Vec<u8>> {
    let mut data = read_if_present(&rotated_path(log))?;
    data.extend(read_if_present(log)?);
    let data = match tail {
        Some(n) => {
            let start = data.len() - tail_lines(&data, n).len();
            data.split_off(start)
        }
        None => data,
    };
    Ok(unstamp_unless(timestamps, data))
}

pub(crate) fn read_if_present(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Ok(data) => Ok(data),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The last `n` lines of `data`. A final newline ends the last line rather than starting
/// an empty one, and an unterminated last line counts as a line.
pub fn tail_lines(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &data[data.len()..];
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, byte) in body.iter().enumerate().rev() {
        if *byte == b'\n' {
            seen += 1;
            if seen == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{LogWriter, STAMP_LEN};

    #[test]
    fn tail_counts_lines_like_kubectl() {
        assert_eq!(tail_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail_lines(b"a\nb\nc\n", 5), b"a\nb\nc\n");
        assert_eq!(tail_lines(b"a\nb\nc\n", 0), b"");
        assert_eq!(tail_lines(b"", 3), b"");
        assert_eq!(tail_lines(b"a\n\n", 1), b"\n");
    }

    #[test]
    fn reads_rotated_then_current() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        assert_eq!(read_log(&log, None, false).unwrap(), b"");
        let mut w = LogWriter::create(&log, 1 << 20).unwrap();
        w.write(b"1\n2\n").unwrap();
        fs::rename(&log, rotated_path(&log)).unwrap();
        let mut w = LogWriter::create(&log, 1 << 20).unwrap();
        w.write(b"3\n4\n").unwrap();
        assert_eq!(read_log(&log, None, false).unwrap(), b"1\n2\n3\n4\n");
        assert_eq!(read_log(&log, Some(3), false).unwrap(), b"2\n3\n4\n");
        let stamped = String::from_utf8(read_log(&log, Some(3), true).unwrap()).unwrap();
        let lines: Vec<&str> = stamped.lines().collect();
        assert_eq!(lines.len(), 3, "{stamped}");
        for (line, want) in lines.iter().zip(["2", "3", "4"]) {
            assert_eq!(&line[STAMP_LEN..], want, "{stamped}");
            assert!(chrono::DateTime::parse_from_rfc3339(&line[..STAMP_LEN - 1]).is_ok());
        }
    }
}
