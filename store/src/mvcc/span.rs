//! Key ranges as etcd encodes them: `(key, range_end)` with an empty end for one key,
//! `"\0"` for every key `>= key`, otherwise the half-open interval `[key, range_end)`.

use std::collections::BTreeMap;
use std::ops::Bound;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeySpan {
    /// Exactly one key.
    Single(Vec<u8>),
    /// `[start, end)`; `end: None` means no upper bound.
    Range {
        start: Vec<u8>,
        end: Option<Vec<u8>>,
    },
}

impl KeySpan {
    pub(crate) fn new(key: &[u8], range_end: &[u8]) -> KeySpan {
        if range_end.is_empty() {
            KeySpan::Single(key.to_vec())
        } else if range_end == [0] {
            KeySpan::Range {
                start: key.to_vec(),
                end: None,
            }
        } else {
            KeySpan::Range {
                start: key.to_vec(),
                end: Some(range_end.to_vec()),
            }
        }
    }

    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        match self {
            KeySpan::Single(k) => k.as_slice() == key,
            KeySpan::Range { start, end } => {
                key >= start.as_slice() && end.as_ref().is_none_or(|e| key < e.as_slice())
            }
        }
    }

    /// The entries of `map` inside the span, in key order. An inverted range
    /// (`end <= start`) is empty, as in etcd.
    pub(crate) fn iter<'m, V>(
        &self,
        map: &'m BTreeMap<Vec<u8>, V>,
    ) -> Box<dyn Iterator<Item = (&'m Vec<u8>, &'m V)> + 'm> {
        match self {
            KeySpan::Single(k) => Box::new(map.get_key_value(k.as_slice()).into_iter()),
            KeySpan::Range { start, end: None } => Box::new(
                map.range::<[u8], _>((Bound::Included(start.as_slice()), Bound::Unbounded)),
            ),
            KeySpan::Range {
                start,
                end: Some(end),
            } => {
                if end.as_slice() <= start.as_slice() {
                    Box::new(std::iter::empty())
                } else {
                    Box::new(map.range::<[u8], _>((
                        Bound::Included(start.as_slice()),
                        Bound::Excluded(end.as_slice()),
                    )))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        let mut m = BTreeMap::new();
        for k in ["a", "b", "ba", "c", "d"] {
            m.insert(k.as_bytes().to_vec(), ());
        }
        let keys = |s: KeySpan| {
            s.iter(&m)
                .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(KeySpan::new(b"b", b"")), ["b"]);
        assert_eq!(keys(KeySpan::new(b"b", b"c")), ["b", "ba"]);
        assert_eq!(keys(KeySpan::new(b"b", b"\0")), ["b", "ba", "c", "d"]);
        assert!(keys(KeySpan::new(b"c", b"b")).is_empty());
        assert!(keys(KeySpan::new(b"c", b"c")).is_empty());
        assert!(KeySpan::new(b"b", b"c").contains(b"bzz"));
        assert!(!KeySpan::new(b"b", b"c").contains(b"c"));
        assert!(KeySpan::new(b"b", b"\0").contains(b"zzz"));
        assert!(!KeySpan::new(b"b", b"").contains(b"ba"));
    }
}
