//! Lists: from the watch cache once it has caught up with the store (consistent reads from cache, Kubernetes' KEP-2340), from the store when it cannot.
//!
//! What a list's `resourceVersion` asks for, and where it is answered:
//!
//! | resourceVersion | answered from |
//! |---|---|
//! | absent or `""` (consistent) | the cache, once it has reached the store's current revision (read with one small linearizable request); the store if it does not within the wait |
//! | `"0"` (any) | the cache as it is, without waiting; the store while the cache is not ready |
//! | `N`, match `NotOlderThan` or none | the cache once it has reached N; the store if it does not within the wait (504 if the store itself is older than N) |
//! | `N`, match `Exact` | the store's MVCC history at N (410 once compacted) |
//!
//! Either way the answer is a [`Listing`] of [`CachedObject`]s (JSON bytes with their
//! selector index), sorted by (namespace, name), so the REST and gRPC faces write the items'
//! bytes as they are instead of decoding and encoding every object.

use std::sync::Arc;
use std::time::Duration;

use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

use super::filter::{Filter, ObjectIndex};
use super::object::{self, Stored};
use super::Registry;
use crate::cache::list::order_key;
use crate::cache::{Behind, CachedObject};

/// Which state of the collection a list asks for (its `resourceVersion` and
/// `resourceVersionMatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFrom {
    /// The current state: at least as new as every write finished before the request.
    Consistent,
    /// Any state the server has (`resourceVersion=0`).
    Any,
    /// A state at least as new as this revision.
    NotOlderThan(i64),
    /// The state at exactly this revision.
    Exact(i64),
}

impl ListFrom {
    /// From a request's `resourceVersion` and `resourceVersionMatch`, refused as Kubernetes
    /// refuses them (400).
    pub fn parse(resource_version: &str, version_match: &str) -> Result<ListFrom, ApiError> {
        let rv = resource_version.trim();
        let revision = match rv {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "resourceVersion: invalid value {s:?}: must be a non-negative integer"
                    )))
                }
            },
        };
        match (version_match, revision) {
            ("", None) => Ok(ListFrom::Consistent),
            ("", Some(0)) | ("NotOlderThan", Some(0)) => Ok(ListFrom::Any),
            ("", Some(n)) | ("NotOlderThan", Some(n)) => Ok(ListFrom::NotOlderThan(n)),
            ("Exact", Some(n)) if n > 0 => Ok(ListFrom::Exact(n)),
            ("Exact", _) => Err(ApiError::bad_request(
                "resourceVersionMatch: Exact needs a resourceVersion greater than 0",
            )),
            ("NotOlderThan", None) => Err(ApiError::bad_request(
                "resourceVersionMatch: NotOlderThan needs a resourceVersion",
            )),
            (other, _) => Err(ApiError::bad_request(format!(
                "resourceVersionMatch: unsupported value {other:?}: supported values are Exact and NotOlderThan"
            ))),
        }
    }
}

/// The objects of a list, sorted by (namespace, name), and the revision they are current at.
#[derive(Debug)]
pub struct Listing {
    pub items: Vec<Arc<CachedObject>>,
    pub revision: i64,
    /// Answered by the watch cache (else by a read of the store).
    pub from_cache: bool,
}

impl Registry {
    /// The objects `filter` selects in the state `from` asks for; see the module's table.
    pub async fn list(
        &self,
        info: &KindInfo,
        filter: &Filter,
        from: ListFrom,
    ) -> Result<Listing, ApiError> {
        if let ListFrom::Exact(revision) = from {
            return self.list_store(info, filter, revision).await;
        }
        let cache = self.cache.kind(info).filter(|_| self.list_from_cache);
        let Some(cache) = cache else {
            return self.list_store(info, filter, 0).await;
        };
        let wanted = match from {
            ListFrom::Exact(_) | ListFrom::Any => 0,
            ListFrom::NotOlderThan(revision) => revision,
            ListFrom::Consistent => {
                let key = object::kind_prefix(info);
                self.store.current_revision(&key).await?
            }
        };
        // Any state will do: a cache still loading is not waited for.
        let wait = if from == ListFrom::Any {
            Duration::ZERO
        } else {
            self.list_wait
        };
        let behind = match cache.wait_for(wanted, wait).await {
            Ok(_) => match cache.list(filter) {
                Some((items, revision)) => {
                    cache.count_list(true);
                    return Ok(Listing {
                        items,
                        revision,
                        from_cache: true,
                    });
                }
                None => Behind::NotReady,
            },
            Err(behind) => behind,
        };
        cache.count_list(false);
        tracing::debug!(
            resource = info.plural,
            wanted,
            ?behind,
            "the watch cache did not catch up; listing from the store"
        );
        let listing = self.list_store(info, filter, 0).await?;
        if listing.revision < wanted {
            return Err(ApiError::timeout(format!(
                "Too large resource version: {wanted}, current: {}",
                listing.revision
            )));
        }
        Ok(listing)
    }

    /// A read of the store (now, or at `revision` when it is not 0), decoded and encoded
    /// again as the cache keeps objects.
    async fn list_store(
        &self,
        info: &KindInfo,
        filter: &Filter,
        revision: i64,
    ) -> Result<Listing, ApiError> {
        let prefix = object::list_prefix(info, &filter.namespace);
        let (kvs, current) = match self.store.list_at(&prefix, revision).await {
            Ok(read) => read,
            Err(e) if e.is_compacted() => {
                return Err(ApiError::expired(format!(
                    "too old resource version: {revision}"
                )))
            }
            Err(e) if e.is_future_revision() => {
                return Err(ApiError::timeout(format!(
                    "Too large resource version: {revision}"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let mut items = Vec::new();
        for kv in &kvs {
            let stored = Stored::from_kv(kv)?;
            let index = ObjectIndex::of(info, &stored.object);
            if filter.matches(&index) {
                let key = String::from_utf8_lossy(&kv.key).into_owned();
                let object = CachedObject::with_index(key, index, &stored.object);
                items.push(Arc::new(object));
            }
        }
        items.sort_unstable_by(|a, b| order_key(a).cmp(&order_key(b)));
        Ok(Listing {
            items,
            revision: if revision > 0 { revision } else { current },
            from_cache: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_versions_of_lists() {
        let ok = [
            ("", "", ListFrom::Consistent),
            ("0", "", ListFrom::Any),
            ("0", "NotOlderThan", ListFrom::Any),
            ("12", "", ListFrom::NotOlderThan(12)),
            ("12", "NotOlderThan", ListFrom::NotOlderThan(12)),
            ("12", "Exact", ListFrom::Exact(12)),
        ];
        for (rv, m, want) in ok {
            assert_eq!(ListFrom::parse(rv, m).unwrap(), want, "{rv:?} {m:?}");
        }
        for (rv, m) in [
            ("x", ""),
            ("-1", ""),
            ("0", "Exact"),
            ("", "Exact"),
            ("", "NotOlderThan"),
            ("5", "Newest"),
        ] {
            assert_eq!(
                ListFrom::parse(rv, m).unwrap_err().code,
                400,
                "{rv:?} {m:?}"
            );
        }
    }
}
