//! The time each log line was written: the writer puts it in front of every line, readers
//! drop it unless asked for it (`logs --timestamps`).
//!
//! The stamp is RFC 3339 in UTC with nanoseconds and a space, `2026-12-04T07:01:02.123456789Z `,
//! always the same length, which is what `kubectl logs --timestamps` prints in front of each
//! line. A fixed length lets a reader drop it from a stream split at any byte without parsing.

use chrono::{SecondsFormat, Utc};

/// Bytes of a stamp, its separating space included.
pub const STAMP_LEN: usize = 31;

/// The stamp for a line written now.
pub fn stamp_now() -> Vec<u8> {
    let mut stamp = Utc::now()
        .to_rfc3339_opts(SecondsFormat::Nanos, true)
        .into_bytes();
    stamp.push(b' ');
    debug_assert_eq!(stamp.len(), STAMP_LEN);
    stamp
}

/// Drops the stamp of every line from a stamped log read in pieces; it keeps its place
/// between pieces, so a piece may end inside a stamp.
#[derive(Debug)]
pub struct Unstamp {
    /// Bytes of the current line's stamp still to drop.
    skip: usize,
}

impl Default for Unstamp {
    fn default() -> Self {
        Unstamp { skip: STAMP_LEN }
    }
}

impl Unstamp {
    /// `piece` without the stamps in it. Must start where the previous piece ended (or at
    /// the start of a line, for the first).
    pub fn apply(&mut self, piece: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(piece.len());
        for &byte in piece {
            if self.skip > 0 && byte != b'\n' {
                self.skip -= 1;
                continue;
            }
            out.push(byte);
            if byte == b'\n' {
                self.skip = STAMP_LEN;
            }
        }
        out
    }
}

/// `data` without stamps, or as it is when `timestamps` asks for them.
pub fn unstamp_unless(timestamps: bool, data: Vec<u8>) -> Vec<u8> {
    if timestamps {
        data
    } else {
        Unstamp::default().apply(&data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in lines {
            out.extend(stamp_now());
            out.extend_from_slice(line.as_bytes());
        }
        out
    }

    #[test]
    fn a_stamp_is_rfc3339_nanos_in_utc() {
        let stamp = String::from_utf8(stamp_now()).unwrap();
        assert_eq!(stamp.len(), STAMP_LEN);
        let time = chrono::DateTime::parse_from_rfc3339(stamp.trim_end()).unwrap();
        assert!(
            (Utc::now() - time.to_utc()).num_seconds().abs() < 5,
            "{stamp}"
        );
        assert!(stamp.ends_with("Z "), "{stamp}");
    }

    #[test]
    fn unstamping_whole_or_in_pieces_gives_the_output_back() {
        let data = stamped(&["one\n", "\n", "three and more\n", "no end"]);
        assert_eq!(
            Unstamp::default().apply(&data),
            b"one\n\nthree and more\nno end"
        );
        for size in [1, 2, 7, 31, 32, 40] {
            let mut unstamp = Unstamp::default();
            let out: Vec<u8> = data.chunks(size).flat_map(|p| unstamp.apply(p)).collect();
            assert_eq!(out, b"one\n\nthree and more\nno end", "pieces of {size}");
        }
    }

    #[test]
    fn timestamps_keep_the_stamps() {
        let data = stamped(&["a\n"]);
        assert_eq!(unstamp_unless(true, data.clone()), data);
        assert_eq!(unstamp_unless(false, data), b"a\n");
    }
}
