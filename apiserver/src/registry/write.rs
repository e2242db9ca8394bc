//! Update, status update and patch: read the stored object, compute the new one, compare-and-swap on its mod_revision, retry when another writer won.

use serde_json::Value;
use skiff_api::admit::{admit_status_update, admit_update};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

use super::object::{
    self, encode, finalizers, key, meta_str, set_meta, set_resource_version, Stored,
};
use super::{
    effective_namespace, merge_patch, request_namespace, writer, Cas, Cond, Guard, Registry,
    MAX_ATTEMPTS,
};

/// Which write an update is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// The whole object (status ignored for kinds with a status subresource).
    Object,
    /// The status subresource: only `.status` changes.
    Status,
}

/// An object whose deletion was requested goes once nothing holds it any more: no finalizers
/// left and no grace period running (Kubernetes' rule for deleting during an update).
fn ready_to_go(obj: &Value) -> bool {
    let meta = obj.get("metadata");
    let deleting = meta
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null());
    let grace = meta
        .and_then(|m| m.get("deletionGracePeriodSeconds"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    deleting && grace == 0 && finalizers(obj).is_empty()
}

/// `metadata.resourceVersion` as a precondition, when set.
fn precondition(obj: &Value) -> Result<Option<i64>, ApiError> {
    match meta_str(obj, "resourceVersion") {
        "" => Ok(None),
        rv => rv.parse::<i64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {rv:?}: must be an integer"
            ))
        }),
    }
}

impl Registry {
    /// Replaces an object (or its status). With `metadata.resourceVersion` set, the update
    /// applies only to that version (else Conflict); without, it applies to the latest.
    pub async fn update(
        &self,
        info: &KindInfo,
        namespace: &str,
        body: &[u8],
        kind: UpdateKind,
        guard: Guard<'_>,
    ) -> Result<Value, ApiError> {
        let mut obj = object::parse_body(body, self.max_object_bytes)?;
        let ns = request_namespace(info, namespace, &obj)?;
        if info.namespaced {
            set_meta(&mut obj, "namespace", Value::String(ns.clone()));
        }
        let name = meta_str(&obj, "name").to_string();
        if name.is_empty() {
            return Err(ApiError::bad_request(
                "metadata.name is required on an update",
            ));
        }
        let expected = precondition(&obj)?;
        self.guaranteed_update(info, &ns, &name, expected, |current| {
            guard(&current.object)?;
            match kind {
                UpdateKind::Object => admit_update(info, obj.clone(), &current.object),
                UpdateKind::Status => admit_status_update(info, obj.clone(), &current.object),
            }
        })
        .await
    }

    /// Applies a JSON merge patch to the latest version (or to the version named by the
    /// patch's `metadata.resourceVersion`), then admits the result like an update.
    pub async fn patch(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
        patch: &[u8],
        guard: Guard<'_>,
    ) -> Result<Value, ApiError> {
        let patch = object::parse_body(patch, self.max_object_bytes)?;
        let expected = precondition(&patch)?;
        let ns = effective_namespace(info, namespace).to_string();
        self.guaranteed_update(info, &ns, name, expected, |current| {
            guard(&current.object)?;
            let mut patched = current.object.clone();
            merge_patch::apply(&mut patched, &patch);
            admit_update(info, patched, &current.object)
        })
        .await
    }

    /// Applies `apply` (a patch of any type, computed from the stored object) to the latest
    /// version, then admits the result like an update (or a status update). A patched
    /// `metadata.resourceVersion` that is not the stored one is a Conflict, as in Kubernetes.
    pub async fn patch_with(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
        kind: UpdateKind,
        guard: Guard<'_>,
        apply: &(dyn Fn(&Value) -> Result<Value, ApiError> + Send + Sync),
    ) -> Result<Value, ApiError> {
        let ns = effective_namespace(info, namespace).to_string();
        let resource = info.qualified_resource();
        self.guaranteed_update(info, &ns, name, None, |current| {
            guard(&current.object)?;
            let patched = apply(&current.object)?;
            let rv = meta_str(&patched, "resourceVersion");
            if !rv.is_empty() && rv != current.mod_revision.to_string() {
                return Err(ApiError::conflict_modified(&resource, name));
            }
            match kind {
                UpdateKind::Object => admit_update(info, patched, &current.object),
                UpdateKind::Status => admit_status_update(info, patched, &current.object),
            }
        })
        .await
    }

    /// The read-modify-write loop every update goes through. `mutate` computes the new object
    /// from the stored one; an unchanged object is not written; a conflicting write by someone
    /// else is retried with the new stored object unless `expected` pins a version.
    pub(super) async fn guaranteed_update<F>(
        &self,
        info: &KindInfo,
        ns: &str,
        name: &str,
        expected: Option<i64>,
        mut mutate: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(&Stored) -> Result<Value, ApiError>,
    {
        let resource = info.qualified_resource();
        let key = key(info, ns, name);
        // The watch cache's copy saves a store read; it may be stale, so every decision taken
        // on it is either checked by the compare-and-swap or taken again on a fresh read.
        let (mut current, mut fresh) = match self.cached(info, &key) {
            Some(cached) => (cached, false),
            None => (self.read(info, ns, name).await?, true),
        };
        for _ in 0..MAX_ATTEMPTS {
            if expected.is_some_and(|rv| rv != current.mod_revision) {
                if !fresh {
                    (current, fresh) = (self.read(info, ns, name).await?, true);
                    continue;
                }
                return Err(ApiError::conflict_modified(&resource, name));
            }
            let mut new = match mutate(&current) {
                Ok(new) => new,
                Err(_) if !fresh => {
                    (current, fresh) = (self.read(info, ns, name).await?, true);
                    continue;
                }
                Err(e) => return Err(e),
            };
            // What the client sent as managedFields is not trusted: the stored ones carry over.
            writer::carry(&mut new, Some(&current.object));
            let mut bytes = encode(&new)?;
            object::check_size(bytes.len(), self.max_object_bytes)?;
            let outcome = if ready_to_go(&new) {
                self.delete_if(info, &key, current.mod_revision).await?
            } else {
                if bytes == current.raw {
                    if fresh {
                        return Ok(current.object);
                    }
                    // Unchanged relative to a possibly stale copy: decide on the stored one.
                    (current, fresh) = (self.read(info, ns, name).await?, true);
                    continue;
                }
                // Only a write that changes something records its writer (as in Kubernetes).
                if self.record_writers {
                    writer::stamp(&mut new);
                    bytes = encode(&new)?;
                }
                self.put_if(
                    info,
                    &key,
                    Cond::ModRevision(current.mod_revision),
                    bytes.clone(),
                )
                .await?
            };
            match outcome {
                (Cas::Done { revision }, _) => {
                    let mut out = new;
                    set_resource_version(&mut out, revision);
                    return Ok(out);
                }
                (Cas::Lost { current: Some(kv) }, retried) => {
                    if retried && kv.value == bytes {
                        return Stored::from_kv(&kv).map(|s| s.object);
                    }
                    // Our first attempt may have been applied and overwritten since: a
                    // Conflict now would tell the client a written change was not.
                    if retried && !ready_to_go(&new) {
                        let after = current.mod_revision;
                        if let Some(out) =
                            self.settle_retried_write(&key, after, &new, &bytes).await?
                        {
                            return Ok(out);
                        }
                    }
                    (current, fresh) = (Stored::from_kv(&kv)?, true);
                }
                // Gone: deleted by someone else, or by our own earlier attempt of a delete.
                (Cas::Lost { current: None }, retried) => {
                    if retried && ready_to_go(&new) {
                        return Ok(new);
                    }
                    return Err(ApiError::not_found(&resource, name));
                }
            }
        }
        Err(ApiError::conflict_modified(&resource, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_go_when_nothing_holds_them() {
        let table = [
            (json!({"metadata": {}}), false),
            (
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z", "deletionGracePeriodSeconds": 0}}),
                true,
            ),
            (
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
                true,
            ),
            (
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["orphan"]}}),
                false,
            ),
            (
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z", "deletionGracePeriodSeconds": 30}}),
                false,
            ),
        ];
        for (obj, want) in table {
            assert_eq!(ready_to_go(&obj), want, "{obj}");
        }
    }

    #[test]
    fn preconditions_parse() {
        assert_eq!(
            precondition(&json!({"metadata": {"resourceVersion": "12"}})).unwrap(),
            Some(12)
        );
        assert_eq!(precondition(&json!({"metadata": {}})).unwrap(), None);
        assert!(precondition(&json!({"metadata": {"resourceVersion": "x"}})).is_err());
    }
}
