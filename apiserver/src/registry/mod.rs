//! The generic resource registry: every verb on every kind, as JSON objects under `/registry/<plural>/...` in the store.
//!
//! Per-kind behaviour (decoding, defaults, validation, status handling, generation) comes from
//! `skiff_api::admit`; this module owns storage: keys, compare-and-swap writes through store
//! transactions, resourceVersion = the key's mod_revision, deletion semantics, subresources.
//! Nothing here is local state, so any number of apiservers can serve one store.
//!
//! # Layout
//! - this file: the [`Registry`], create, get and the compare-and-swap writes (over
//!   [`crate::store`]'s typed interface);
//! - [`list`]: lists, from the watch cache once it has caught up with the store, or from
//!   the store;
//! - `write`: update, status update, patch (the read-modify-write loop);
//! - `delete`: graceful deletion, finalizers, propagation policies, preconditions;
//! - `subresources`: pods/binding and the scale subresource;
//! - [`dry_run`]: `?dryRun=All`, every decision taken and no write made;
//! - `ambiguous`: a retried write that lost: applied or not, read from the key's history;
//! - [`history`]: an object's revisions from the store's MVCC history;
//! - [`writer`]: who writes (the request's manager) and the managedFields each write records;
//! - [`object`], [`filter`], `merge_patch`: stored form, selectors, RFC 7386.

mod ambiguous;
mod delete;
pub mod dry_run;
pub mod filter;
pub mod history;
pub mod list;
mod merge_patch;
pub mod object;
mod object_index;
mod subresources;
mod watch;
mod write;
pub mod writer;

pub use delete::{plan_delete, DeleteOptions, DeletePlan, Propagation};
pub use list::{ListFrom, Listing};
pub use subresources::Scale;
pub use write::UpdateKind;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::admit::admit_create;
use skiff_api::error::{ApiError, Reason};
use skiff_api::kinds::{self, KindInfo};
use skiff_api::meta::Time;

use crate::cache::WatchCache;
use crate::events::EventLeases;
use crate::store::{Cas, Store};
use filter::Filter;
use object::{encode, key, meta_str, set_meta, set_resource_version, Stored};

/// A check on each object a request touches (the stored object for updates and deletes, the
/// new one for creates); node agents may only touch their own objects.
pub type Guard<'a> = &'a (dyn Fn(&Value) -> Result<(), ApiError> + Send + Sync);

/// The guard of callers whose rights do not depend on the object.
pub fn unguarded(_: &Value) -> Result<(), ApiError> {
    Ok(())
}

/// Namespaces that always exist and cannot be deleted.
pub const SYSTEM_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-node-lease"];

/// How many times a write is retried when another writer got there first.
const MAX_ATTEMPTS: usize = 16;

#[derive(Clone)]
pub struct Registry {
    store: Arc<Store>,
    cache: Arc<WatchCache>,
    events: Arc<EventLeases>,
    max_object_bytes: usize,
    /// TLS towards the nodelets' log service (`--kubelet-*` flags); `None`: plain.
    kubelet_tls: Option<tonic::transport::ClientTlsConfig>,
    /// Record each write's writer in `metadata.managedFields` (off only to measure its cost).
    record_writers: bool,
    /// Take every decision of a write but store nothing (`?dryRun=All`).
    dry_run: bool,
    /// Answer lists from the watch cache once it has caught up (`--consistent-list-from-cache`).
    list_from_cache: bool,
    /// How long a list waits for the cache to catch up before it reads the store.
    list_wait: Duration,
    /// The store revision of this apiserver's latest namespace write: a create waits for
    /// the cache to have it before asking the cache about its namespace, so a client that
    /// has just seen its namespace turn Terminating (or go) is refused, not let in by a
    /// cache one event behind.
    namespaces_written: Arc<AtomicI64>,
}

/// The condition of a compare-and-swap write.
#[derive(Clone, Copy)]
enum Cond {
    /// The key does not exist.
    Absent,
    /// The key was last modified at this revision.
    ModRevision(i64),
}

impl Registry {
    pub fn new(
        store: Arc<Store>,
        cache: Arc<WatchCache>,
        events: EventLeases,
        max_object_bytes: usize,
    ) -> Registry {
        Registry {
            store,
            cache,
            events: Arc::new(events),
            max_object_bytes,
            kubelet_tls: None,
            record_writers: true,
            dry_run: false,
            list_from_cache: true,
            list_wait: crate::cache::CATCH_UP,
            namespaces_written: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Lists from the watch cache (`true`, the default) or always from the store; `wait` is
    /// how long a list waits for the cache to reach the revision it needs.
    pub fn with_list_from_cache(mut self, on: bool, wait: Duration) -> Registry {
        self.list_from_cache = on;
        self.list_wait = wait;
        self
    }

    /// This registry in a dry run: writes are decided, answered and not stored.
    pub fn dry_run(&self) -> Registry {
        Registry {
            dry_run: true,
            ..self.clone()
        }
    }

    /// Turns the recording of writers in `metadata.managedFields` on or off.
    pub fn with_record_writers(mut self, record: bool) -> Registry {
        self.record_writers = record;
        self
    }

    /// Gives an object about to be stored the managedFields it keeps from `previous` plus,
    /// when writers are recorded, the entry of the current writer.
    fn record_writer(&self, obj: &mut Value, previous: Option<&Value>) {
        writer::carry(obj, previous);
        if self.record_writers {
            writer::stamp(obj);
        }
    }

    /// Calls the nodelets' log service over `tls`.
    pub fn with_kubelet_tls(mut self, tls: Option<tonic::transport::ClientTlsConfig>) -> Registry {
        self.kubelet_tls = tls;
        self
    }

    pub fn kubelet_tls(&self) -> Option<&tonic::transport::ClientTlsConfig> {
        self.kubelet_tls.as_ref()
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Creates an object: server-set metadata, generateName, admission, namespace check, then
    /// a transaction that succeeds only if the key does not exist.
    pub async fn create(
        &self,
        info: &KindInfo,
        namespace: &str,
        body: &[u8],
        guard: Guard<'_>,
    ) -> Result<Value, ApiError> {
        let mut obj = object::parse_body(body, self.max_object_bytes)?;
        let ns = request_namespace(info, namespace, &obj)?;
        if info.namespaced {
            set_meta(&mut obj, "namespace", json!(ns));
        }
        let generate =
            meta_str(&obj, "name").is_empty() && !meta_str(&obj, "generateName").is_empty();
        let mut last = ApiError::internal("create was not attempted");
        // A generated name that is already taken is generated again, a few times.
        for _ in 0..(if generate { 5 } else { 1 }) {
            let mut candidate = obj.clone();
            if generate {
                let name = object::generate_name(meta_str(&obj, "generateName"));
                set_meta(&mut candidate, "name", json!(name));
            }
            set_meta(&mut candidate, "uid", json!(object::new_uid()));
            set_meta(&mut candidate, "creationTimestamp", json!(Time::now()));
            let mut admitted = admit_create(info, candidate)?;
            guard(&admitted)?;
            self.record_writer(&mut admitted, None);
            let name = meta_str(&admitted, "name").to_string();
            if info.namespaced {
                self.check_namespace(info, &ns, &name).await?;
            }
            let bytes = encode(&admitted)?;
            object::check_size(bytes.len(), self.max_object_bytes)?;
            let key = key(info, &ns, &name);
            match self.put_if(info, &key, Cond::Absent, bytes.clone()).await? {
                (Cas::Done { revision }, _) => {
                    let mut out = admitted;
                    // A dry run stored nothing, so there is no version (revision 0).
                    if revision > 0 {
                        set_resource_version(&mut out, revision);
                    }
                    return Ok(out);
                }
                // An earlier attempt on a member that then failed did write it.
                (Cas::Lost { current: Some(kv) }, true) if kv.value == bytes => {
                    return Ok(Stored::from_kv(&kv)?.object)
                }
                // ... or wrote it, and it has changed since.
                (Cas::Lost { current: Some(_) }, true) => {
                    if let Some(out) = self
                        .settle_retried_write(&key, 0, &admitted, &bytes)
                        .await?
                    {
                        return Ok(out);
                    }
                    last = ApiError::already_exists(&info.qualified_resource(), &name)
                }
                (Cas::Lost { .. }, _) => {
                    last = ApiError::already_exists(&info.qualified_resource(), &name)
                }
            }
        }
        Err(last)
    }

    pub async fn get(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        Ok(self.read(info, namespace, name).await?.object)
    }

    /// The stored object with its revisions.
    pub async fn read(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
    ) -> Result<Stored, ApiError> {
        if name.is_empty() {
            return Err(ApiError::bad_request("resource name may not be empty"));
        }
        let ns = effective_namespace(info, namespace);
        match self.store.get(&key(info, ns, name)).await? {
            Some(kv) => Stored::from_kv(&kv),
            None => Err(ApiError::not_found(&info.qualified_resource(), name)),
        }
    }

    /// The watch cache's copy of the object at `key`, if it has one (possibly stale).
    fn cached(&self, info: &KindInfo, key: &str) -> Option<Stored> {
        let cached = self.cache.kind(info)?.get(key)?;
        let object: Value = serde_json::from_slice(&cached.json).ok()?;
        let mod_revision = object::meta_str(&object, "resourceVersion").parse().ok()?;
        let raw = encode(&object).ok()?;
        Some(Stored {
            object,
            mod_revision,
            raw,
        })
    }

    /// A consistent list from the store, filtered, as values; the revision is the store's at
    /// that read. For the apiserver's own housekeeping; requests go through [`Registry::list`].
    pub async fn list_from_store(
        &self,
        info: &KindInfo,
        filter: &Filter,
    ) -> Result<(Vec<Value>, i64), ApiError> {
        let prefix = object::list_prefix(info, &filter.namespace);
        let (kvs, revision) = self.store.list(&prefix).await?;
        let mut items = Vec::new();
        for kv in &kvs {
            let stored = Stored::from_kv(kv)?;
            if filter.matches(&filter::ObjectIndex::of(info, &stored.object)) {
                items.push(stored.object);
            }
        }
        Ok((items, revision))
    }

    /// Creating in a namespace needs the namespace to exist and not be terminating. The cache
    /// answers most of the time; the store decides when the cache does not know it (yet).
    async fn check_namespace(&self, info: &KindInfo, ns: &str, name: &str) -> Result<(), ApiError> {
        let namespaces = kinds::by_plural("namespaces")
            .ok_or_else(|| ApiError::internal("namespaces are not registered"))?;
        let key = key(namespaces, "", ns);
        let cache = self.cache.kind(namespaces);
        let written = self.namespaces_written.load(Ordering::Acquire);
        let caught_up = match cache {
            Some(cache) if written > 0 => cache.wait_for(written, self.list_wait).await.is_ok(),
            _ => true,
        };
        let cached = cache.filter(|_| caught_up).and_then(|c| c.get(&key));
        let deleting = match cached {
            Some(cached) => cached.deleting,
            None => match self.read(namespaces, "", ns).await {
                Ok(stored) => stored
                    .object
                    .pointer("/metadata/deletionTimestamp")
                    .is_some(),
                Err(e) if e.is_not_found() => return Err(ApiError::not_found("namespaces", ns)),
                Err(e) => return Err(e),
            },
        };
        if deleting {
            let mut e = ApiError::new(
                Reason::Forbidden,
                format!(
                    "{} {name:?} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    info.qualified_resource()
                ),
            );
            e.details.name = name.to_string();
            e.details.kind = info.plural.to_string();
            return Err(e);
        }
        Ok(())
    }

    /// Writes `value` at `key` if `cond` holds; on failure returns what the key holds now.
    /// The boolean says the store client retried (an earlier attempt may have been applied).
    async fn put_if(
        &self,
        info: &KindInfo,
        key: &str,
        cond: Cond,
        value: Vec<u8>,
    ) -> Result<(Cas, bool), ApiError> {
        if self.dry_run {
            return Ok((dry_run::simulate(&self.store, key, cond).await?, false));
        }
        let events = info.plural == "events";
        for _ in 0..2 {
            let lease = if events {
                self.events.lease().await?
            } else {
                0
            };
            let written = match cond {
                Cond::Absent => self.store.create_if_absent(key, value.clone(), lease).await,
                Cond::ModRevision(revision) => {
                    self.store
                        .update_if_revision(key, revision, value.clone(), lease)
                        .await
                }
            };
            match written {
                Err(e) if e.is_lease_not_found() => self.events.forget(lease).await,
                other => {
                    self.note_namespace_write(info, &other);
                    return other.map_err(ApiError::from);
                }
            }
        }
        Err(ApiError::internal(
            "the store keeps refusing the event lease",
        ))
    }

    async fn delete_if(
        &self,
        info: &KindInfo,
        key: &str,
        mod_revision: i64,
    ) -> Result<(Cas, bool), ApiError> {
        if self.dry_run {
            let cond = Cond::ModRevision(mod_revision);
            return Ok((dry_run::simulate(&self.store, key, cond).await?, false));
        }
        let deleted = self.store.delete_if(key, mod_revision).await;
        self.note_namespace_write(info, &deleted);
        Ok(deleted?)
    }

    /// Remembers the revision of a namespace written here (see `namespaces_written`).
    fn note_namespace_write<E>(&self, info: &KindInfo, written: &Result<(Cas, bool), E>) {
        if let (true, Ok((Cas::Done { revision }, _))) = (info.plural == "namespaces", written) {
            self.namespaces_written
                .fetch_max(*revision, Ordering::AcqRel);
        }
    }
}

/// The namespace a namespaced request works in (`default` when none is given); empty for
/// cluster-scoped kinds.
pub fn effective_namespace<'a>(info: &KindInfo, namespace: &'a str) -> &'a str {
    match (info.namespaced, namespace.is_empty()) {
        (false, _) => "",
        (true, true) => "default",
        (true, false) => namespace,
    }
}

/// Reconciles the request's namespace with the object's, as Kubernetes does.
fn request_namespace(info: &KindInfo, namespace: &str, obj: &Value) -> Result<String, ApiError> {
    if !info.namespaced {
        return Ok(String::new());
    }
    let in_object = meta_str(obj, "namespace");
    match (namespace.is_empty(), in_object.is_empty()) {
        (true, true) => Ok("default".to_string()),
        (false, true) => Ok(namespace.to_string()),
        (true, false) => Ok(in_object.to_string()),
        (false, false) if namespace == in_object => Ok(namespace.to_string()),
        (false, false) => Err(ApiError::bad_request(format!(
            "the namespace of the provided object ({in_object}) does not match the namespace sent on the request ({namespace})"
        ))),
    }
}
