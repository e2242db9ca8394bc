//! An object's revisions, read from the store's MVCC history, as objects.

use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

use super::object::{decode, key};
use super::{effective_namespace, Registry};

/// One write of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRevision {
    pub revision: i64,
    /// Deleted at this revision; `object` is what it was before.
    pub deleted: bool,
    pub object: Value,
}

/// The revisions of one object still in the store's history, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub revisions: Vec<ObjectRevision>,
    /// History before this store revision is compacted (0: nothing of the object was lost).
    pub compacted: i64,
    /// The store's revision the history runs up to.
    pub revision: i64,
}

impl Registry {
    /// Every revision of the named object the store still has, its deletions included (an
    /// object deleted and created again under the same name shows both lives).
    pub async fn history(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
    ) -> Result<History, ApiError> {
        if name.is_empty() {
            return Err(ApiError::bad_request("a history needs the object's name"));
        }
        let ns = effective_namespace(info, namespace);
        let kept = self.store.key_history(&key(info, ns, name)).await?;
        if kept.revisions.is_empty() {
            let mut e = ApiError::not_found(&info.qualified_resource(), name);
            if kept.compacted > 0 {
                e.message = format!(
                    "{}; the store's history before revision {} is compacted",
                    e.message, kept.compacted
                );
            }
            return Err(e);
        }
        let mut revisions: Vec<ObjectRevision> = Vec::with_capacity(kept.revisions.len());
        for r in kept.revisions {
            // A deletion shows the object as last written, with that write's resourceVersion.
            let version = match (r.deleted, revisions.last()) {
                (true, Some(before)) => before.revision,
                _ => r.revision,
            };
            if r.deleted && r.value.is_empty() {
                // The store sent no previous value: the deletion repeats the last write.
                if let Some(before) = revisions.last() {
                    let object = before.object.clone();
                    revisions.push(ObjectRevision {
                        revision: r.revision,
                        deleted: true,
                        object,
                    });
                    continue;
                }
            }
            let object = decode(&r.value, version).map_err(|e| {
                ApiError::internal(format!(
                    "revision {} of {}/{name} is not valid JSON: {e}",
                    r.revision, info.plural
                ))
            })?;
            revisions.push(ObjectRevision {
                revision: r.revision,
                deleted: r.deleted,
                object,
            });
        }
        Ok(History {
            revisions,
            compacted: kept.compacted,
            revision: kept.revision,
        })
    }
}
