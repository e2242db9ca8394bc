//! The garbage collector: deletes dependents whose owners are gone (Background), removes owner references and then the `orphan` finalizer (Orphan), and deletes dependents before letting a `foregroundDeletion` owner go (Foreground).
//!
//! Work items name an object either as a dependent (are its owners still there?) or as an owner
//! being deleted (what do its finalizers ask for?). The cache decides what exists; an owner the
//! cache does not have is looked up afresh before anything is deleted for its absence.

pub mod absent;
pub mod graph;
pub mod reconcile;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds;
use skiff_api::meta::{ObjectMeta, OwnerReference};
use skiff_api::types::Resource;
use skiff_client::{Client, DeleteOptions, Propagation};
use skiff_runtime::informer::{key_of, Event, Informer};
use skiff_runtime::workqueue::WorkQueue;
use tracing::{debug, info};

use crate::context::Context;
use crate::error::SyncError;
use crate::informers::{Informers, Stores};
use crate::metrics::Metrics;
use crate::runner::{Reconciler, Requeue};
use graph::Kind;
use reconcile::{
    decide_dependent, decide_owner, DependentAction, OwnerAction, OwnerState, FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
};

const CONTROLLER: &str = "garbagecollector";

/// How often an owner whose dependents are still going is looked at again, beyond the events
/// their deletion brings.
const FOREGROUND_RECHECK: Duration = Duration::from_secs(5);

/// One unit of garbage collector work: an object looked at as a dependent or as an owner.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    Dependent(Kind, String),
    Owner(Kind, String),
}

pub struct GarbageCollector {
    client: Client,
    stores: Stores,
    metrics: Arc<Metrics>,
    /// Owners a lookup found gone: their other dependents need no lookup of their own.
    absent: absent::AbsentOwners,
}

fn deleting_with_finalizer(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
        && meta
            .finalizers
            .iter()
            .any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER)
}

fn enqueue_owner(queue: &WorkQueue<Item>, namespace: &str, reference: &OwnerReference) {
    if let Some(kind) = Kind::from_kind(&reference.kind) {
        let key = if kind == Kind::Node {
            reference.name.clone()
        } else {
            format!("{namespace}/{}", reference.name)
        };
        queue.add(Item::Owner(kind, key));
    }
}

/// The garbage collector's handler on the informer of `kind`.
fn watch_kind<R: Resource>(
    informer: &mut Informer<R>,
    kind: Kind,
    queue: WorkQueue<Item>,
    stores: Stores,
) {
    informer.on_event(move |event| {
        let object = event.object();
        let meta = object.metadata();
        let key = key_of(object.as_ref());
        match event {
            Event::Added(_) => {
                if !meta.owner_references.is_empty() {
                    queue.add(Item::Dependent(kind, key.clone()));
                }
            }
            Event::Updated { old, .. } => {
                let old = old.metadata();
                let resync = old.resource_version == meta.resource_version;
                if !meta.owner_references.is_empty()
                    && (resync || old.owner_references != meta.owner_references)
                {
                    queue.add(Item::Dependent(kind, key.clone()));
                }
                // A dependent on its way out may be what a foreground owner waits for.
                if meta.deletion_timestamp.is_some() {
                    meta.owner_references
                        .iter()
                        .for_each(|r| enqueue_owner(&queue, &meta.namespace, r));
                }
            }
            Event::Deleted(_) => {
                meta.owner_references
                    .iter()
                    .for_each(|r| enqueue_owner(&queue, &meta.namespace, r));
                for (dependent_kind, dependent) in graph::dependents_of(&stores, &meta.uid) {
                    queue.add(Item::Dependent(dependent_kind, graph::key(&dependent)));
                }
                return;
            }
        }
        if deleting_with_finalizer(meta) {
            queue.add(Item::Owner(kind, key));
        }
    });
}

impl GarbageCollector {
    pub fn new(ctx: &Context, informers: &mut Informers) -> (Arc<Self>, WorkQueue<Item>) {
        let queue = WorkQueue::new(CONTROLLER);
        let stores = ctx.stores.clone();
        watch_kind(
            &mut informers.pods,
            Kind::Pod,
            queue.clone(),
            stores.clone(),
        );
        watch_kind(
            &mut informers.jobs,
            Kind::Job,
            queue.clone(),
            stores.clone(),
        );
        watch_kind(
            &mut informers.cron_jobs,
            Kind::CronJob,
            queue.clone(),
            stores.clone(),
        );
        watch_kind(
            &mut informers.replica_sets,
            Kind::ReplicaSet,
            queue.clone(),
            stores.clone(),
        );
        watch_kind(
            &mut informers.replication_controllers,
            Kind::ReplicationController,
            queue.clone(),
            stores.clone(),
        );
        watch_kind(
            &mut informers.daemon_sets,
            Kind::DaemonSet,
            queue.clone(),
            stores.clone(),
        );
        watch_kind(
            &mut informers.nodes,
            Kind::Node,
            queue.clone(),
            stores.clone(),
        );
        let controller = Arc::new(GarbageCollector {
            client: ctx.client.clone(),
            stores,
            metrics: ctx.metrics.clone(),
            absent: absent::AbsentOwners::default(),
        });
        (controller, queue)
    }

    /// Whether the owner `reference` (of a dependent in `namespace`) exists: from the cache,
    /// else from the owners already read as gone, else from a fresh read. An owner of a kind
    /// skiff does not know is never taken as gone.
    async fn owner_state(
        &self,
        namespace: &str,
        reference: &OwnerReference,
    ) -> Result<OwnerState, SyncError> {
        let state_of = |meta: &ObjectMeta| OwnerState::Present {
            waiting: meta.deletion_timestamp.is_some()
                && meta.finalizers.iter().any(|f| f == FOREGROUND_FINALIZER),
        };
        if let Some(meta) = graph::cached_owner(&self.stores, namespace, reference) {
            return Ok(state_of(&meta));
        }
        if self.absent.contains(&reference.uid) {
            return Ok(OwnerState::Absent);
        }
        let Some(info) = kinds::by_kind(&reference.kind) else {
            debug!(kind = %reference.kind, "owner of an unknown kind; keeping its dependent");
            return Ok(OwnerState::Present { waiting: false });
        };
        let namespace = if info.namespaced { namespace } else { "" };
        let state = match self
            .client
            .get_json(info.plural, namespace, &reference.name)
            .await
        {
            Ok(object) => {
                let meta: ObjectMeta =
                    serde_json::from_value(object.get("metadata").cloned().unwrap_or(Value::Null))
                        .unwrap_or_default();
                if meta.uid == reference.uid {
                    state_of(&meta)
                } else {
                    OwnerState::Absent
                }
            }
            Err(e) if e.is_not_found() => OwnerState::Absent,
            Err(e) => {
                return Err(SyncError::api(
                    format!("read owner {} {}", reference.kind, reference.name),
                    e,
                ))
            }
        };
        if state == OwnerState::Absent {
            self.absent.insert(&reference.uid);
        }
        Ok(state)
    }

    async fn delete(
        &self,
        kind: Kind,
        meta: &ObjectMeta,
        foreground: bool,
    ) -> Result<(), SyncError> {
        let options = DeleteOptions {
            propagation: Some(if foreground {
                Propagation::Foreground
            } else {
                Propagation::Background
            }),
            precondition_uid: Some(meta.uid.clone()),
            ..DeleteOptions::default()
        };
        match self
            .client
            .delete_json(kind.plural(), &meta.namespace, &meta.name, &options)
            .await
        {
            Ok(_) => {
                info!(kind = kind.kind(), namespace = %meta.namespace, name = %meta.name, foreground, "deleted a dependent whose owners are gone");
                self.metrics.deleted(CONTROLLER, kind.plural(), 1);
                Ok(())
            }
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(e) => Err(SyncError::api(
                format!("delete {} {}", kind.kind(), meta.name),
                e,
            )),
        }
    }

    /// Rewrites one metadata list field (`ownerReferences`, `finalizers`) with a
    /// compare-and-swap, reading the object again after a lost race; `edit` returns the new
    /// value, or `None` when nothing needs changing any more.
    async fn patch_meta(
        &self,
        kind: Kind,
        meta: &ObjectMeta,
        field: &str,
        edit: impl Fn(&ObjectMeta) -> Option<Value>,
    ) -> Result<(), ApiError> {
        let mut current = meta.clone();
        for _ in 0..5 {
            let Some(value) = edit(&current) else {
                return Ok(());
            };
            let patch =
                json!({"metadata": {field: value, "resourceVersion": current.resource_version}});
            match self
                .client
                .patch_json(kind.plural(), &meta.namespace, &meta.name, &patch)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) if e.is_conflict() => {
                    let fresh = match self
                        .client
                        .get_json(kind.plural(), &meta.namespace, &meta.name)
                        .await
                    {
                        Ok(object) => object,
                        Err(e) if e.is_not_found() => return Ok(()),
                        Err(e) => return Err(e),
                    };
                    current = serde_json::from_value(
                        fresh.get("metadata").cloned().unwrap_or(Value::Null),
                    )
                    .map_err(|e| {
                        ApiError::internal(format!("cannot read metadata of {}: {e}", meta.name))
                    })?;
                    if current.uid != meta.uid {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::conflict(
            kind.plural(),
            &meta.name,
            "the object kept changing while the garbage collector updated it",
        ))
    }

    /// Removes the references to `uids` from a dependent's owner references.
    async fn remove_refs(
        &self,
        kind: Kind,
        meta: &ObjectMeta,
        uids: &[String],
    ) -> Result<(), SyncError> {
        self.patch_meta(kind, meta, "ownerReferences", |m| {
            if !m.owner_references.iter().any(|r| uids.contains(&r.uid)) {
                return None;
            }
            let kept: Vec<&OwnerReference> = m
                .owner_references
                .iter()
                .filter(|r| !uids.contains(&r.uid))
                .collect();
            Some(if kept.is_empty() {
                Value::Null
            } else {
                json!(kept)
            })
        })
        .await
        .map_err(|e| {
            SyncError::api(
                format!("remove owner references from {} {}", kind.kind(), meta.name),
                e,
            )
        })
    }

    async fn remove_finalizer(
        &self,
        kind: Kind,
        meta: &ObjectMeta,
        finalizer: &str,
    ) -> Result<(), SyncError> {
        self.patch_meta(kind, meta, "finalizers", |m| {
            if !m.finalizers.iter().any(|f| f == finalizer) {
                return None;
            }
            let kept: Vec<&String> = m.finalizers.iter().filter(|f| *f != finalizer).collect();
            Some(if kept.is_empty() {
                Value::Null
            } else {
                json!(kept)
            })
        })
        .await
        .map_err(|e| {
            SyncError::api(
                format!(
                    "remove finalizer {finalizer} from {} {}",
                    kind.kind(),
                    meta.name
                ),
                e,
            )
        })
    }

    async fn sync_dependent(&self, kind: Kind, key: &str) -> Result<Requeue, SyncError> {
        let Some(meta) = graph::meta(&self.stores, kind, key) else {
            return Ok(None);
        };
        let mut refs = Vec::with_capacity(meta.owner_references.len());
        for reference in &meta.owner_references {
            refs.push((
                reference.clone(),
                self.owner_state(&meta.namespace, reference).await?,
            ));
        }
        match decide_dependent(kind, &refs) {
            DependentAction::Keep => {}
            DependentAction::Delete { foreground } => self.delete(kind, &meta, foreground).await?,
            DependentAction::RemoveRefs(uids) => self.remove_refs(kind, &meta, &uids).await?,
        }
        Ok(None)
    }

    async fn sync_owner(&self, kind: Kind, key: &str) -> Result<Requeue, SyncError> {
        let Some(owner) = graph::meta(&self.stores, kind, key) else {
            return Ok(None);
        };
        let dependents = graph::dependents_of(&self.stores, &owner.uid);
        let mut first_error = None;
        let mut requeue = None;
        for action in decide_owner(&owner, &dependents) {
            let result = match action {
                OwnerAction::Orphan(dependent_kind, dependent) => {
                    self.remove_refs(dependent_kind, &dependent, std::slice::from_ref(&owner.uid))
                        .await
                }
                OwnerAction::DeleteDependent {
                    kind,
                    meta,
                    foreground,
                } => self.delete(kind, &meta, foreground).await,
                // Only once every dependent has been dealt with.
                OwnerAction::RemoveFinalizer(finalizer) if first_error.is_none() => {
                    let result = self.remove_finalizer(kind, &owner, finalizer).await;
                    if result.is_ok() {
                        info!(
                            kind = kind.kind(),
                            key, finalizer, "dependents handled; finalizer removed"
                        );
                    }
                    result
                }
                OwnerAction::RemoveFinalizer(_) => Ok(()),
                OwnerAction::Wait => {
                    requeue = Some(FOREGROUND_RECHECK);
                    Ok(())
                }
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(requeue), Err)
    }
}

impl Reconciler<Item> for GarbageCollector {
    fn name(&self) -> &'static str {
        CONTROLLER
    }

    async fn sync(&self, item: &Item) -> Result<Requeue, SyncError> {
        match item {
            Item::Dependent(kind, key) => self.sync_dependent(*kind, key).await,
            Item::Owner(kind, key) => self.sync_owner(*kind, key).await,
        }
    }
}
