//! A compare-and-swap whose first attempt got no answer and whose retry lost: was the first
//! attempt applied (and the key changed again since), or did someone else win? The answer
//! decides between "done" and "Conflict", so it is read from the key's history rather than
//! guessed: a client told Conflict must be able to trust that its write was not applied.
//!
//! A write is recognised by its bytes: they hold the object's uid, its resourceVersion-free
//! content and the writer's managedFields entry with a millisecond time, so another writer
//! producing the very same bytes would have written the same object.

use serde_json::Value;
use skiff_api::error::ApiError;

use super::object::set_resource_version;
use super::Registry;
use crate::store::KeyHistory;

/// What the history says of our write.
#[derive(Debug, PartialEq, Eq)]
pub enum OwnWrite {
    /// Applied at this revision.
    Applied(i64),
    /// Not in the history after `after`: someone else changed the key first.
    NotApplied,
    /// The history after `after` is compacted away: nobody can tell.
    Unknown,
}

/// Looks for a put of `bytes` to the key after revision `after` in its `history`.
pub fn find(history: &KeyHistory, after: i64, bytes: &[u8]) -> OwnWrite {
    let applied = history
        .revisions
        .iter()
        .find(|r| r.revision > after && !r.deleted && r.value == bytes);
    match applied {
        Some(r) => OwnWrite::Applied(r.revision),
        None if history.compacted > after + 1 => OwnWrite::Unknown,
        None => OwnWrite::NotApplied,
    }
}

impl Registry {
    /// After a compare-and-swap of `written` (encoded as `bytes`) that was retried and lost:
    /// `written` at the revision its first attempt was applied at, `None` when it was not
    /// applied, or a Timeout error (outcome unknown) when the history no longer tells.
    pub(super) async fn settle_retried_write(
        &self,
        key: &str,
        after: i64,
        written: &Value,
        bytes: &[u8],
    ) -> Result<Option<Value>, ApiError> {
        let history = self.store.key_history(key).await?;
        match find(&history, after, bytes) {
            OwnWrite::Applied(revision) => {
                let mut out = written.clone();
                set_resource_version(&mut out, revision);
                Ok(Some(out))
            }
            OwnWrite::NotApplied => Ok(None),
            OwnWrite::Unknown => Err(ApiError::timeout(format!(
                "the store did not answer the write of {key} in time, and whether it was \
                 applied can no longer be told (its history is compacted); read the object \
                 again"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyRevision;

    fn put(revision: i64, value: &[u8]) -> KeyRevision {
        KeyRevision {
            revision,
            version: 1,
            deleted: false,
            value: value.to_vec(),
        }
    }

    #[test]
    fn our_write_overwritten_since_is_found() {
        let history = KeyHistory {
            revisions: vec![put(5, b"base"), put(7, b"ours"), put(9, b"theirs")],
            compacted: 0,
            revision: 9,
        };
        assert_eq!(find(&history, 5, b"ours"), OwnWrite::Applied(7));
        assert_eq!(find(&history, 5, b"never"), OwnWrite::NotApplied);
        // Only writes after the version we compared against count.
        assert_eq!(find(&history, 7, b"ours"), OwnWrite::NotApplied);
    }

    #[test]
    fn a_compacted_history_cannot_tell() {
        let history = KeyHistory {
            revisions: vec![put(9, b"theirs")],
            compacted: 8,
            revision: 9,
        };
        assert_eq!(find(&history, 5, b"ours"), OwnWrite::Unknown);
        assert_eq!(find(&history, 7, b"ours"), OwnWrite::NotApplied);
    }
}
