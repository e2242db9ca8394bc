//! The garbage collector's view of the object graph: the kinds it follows, their metadata in the informers' caches, and who refers to whom.

use skiff_api::meta::{ObjectMeta, OwnerReference};
use skiff_api::types::{
    CronJob, DaemonSet, Job, Node, Pod, ReplicaSet, ReplicationController, Resource,
};
use skiff_runtime::informer::{object_key, Store};

use crate::informers::Stores;

/// The kinds whose objects the garbage collector follows, as owners and as dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Pod,
    Job,
    CronJob,
    ReplicaSet,
    ReplicationController,
    DaemonSet,
    Node,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Pod,
        Kind::Job,
        Kind::CronJob,
        Kind::ReplicaSet,
        Kind::ReplicationController,
        Kind::DaemonSet,
        Kind::Node,
    ];

    /// The kind named `kind` in an owner reference.
    pub fn from_kind(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.kind() == kind)
    }

    pub fn kind(self) -> &'static str {
        match self {
            Kind::Pod => Pod::KIND,
            Kind::Job => Job::KIND,
            Kind::CronJob => CronJob::KIND,
            Kind::ReplicaSet => ReplicaSet::KIND,
            Kind::ReplicationController => ReplicationController::KIND,
            Kind::DaemonSet => DaemonSet::KIND,
            Kind::Node => Node::KIND,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => Pod::PLURAL,
            Kind::Job => Job::PLURAL,
            Kind::CronJob => CronJob::PLURAL,
            Kind::ReplicaSet => ReplicaSet::PLURAL,
            Kind::ReplicationController => ReplicationController::PLURAL,
            Kind::DaemonSet => DaemonSet::PLURAL,
            Kind::Node => Node::PLURAL,
        }
    }
}

/// Runs `$body` with `$store` bound to the typed store of `$kind`.
macro_rules! with_store {
    ($stores:expr, $kind:expr, |$store:ident| $body:expr) => {
        match $kind {
            Kind::Pod => {
                let $store = &$stores.pods;
                $body
            }
            Kind::Job => {
                let $store = &$stores.jobs;
                $body
            }
            Kind::CronJob => {
                let $store = &$stores.cron_jobs;
                $body
            }
            Kind::ReplicaSet => {
                let $store = &$stores.replica_sets;
                $body
            }
            Kind::ReplicationController => {
                let $store = &$stores.replication_controllers;
                $body
            }
            Kind::DaemonSet => {
                let $store = &$stores.daemon_sets;
                $body
            }
            Kind::Node => {
                let $store = &$stores.nodes;
                $body
            }
        }
    };
}

fn cached_meta<R: Resource>(store: &Store<R>, key: &str) -> Option<ObjectMeta> {
    store.get_by_key(key).map(|o| o.metadata().clone())
}

fn referring<R: Resource>(store: &Store<R>, kind: Kind, uid: &str) -> Vec<(Kind, ObjectMeta)> {
    store
        .list_filtered(|o| o.metadata().owner_references.iter().any(|r| r.uid == uid))
        .into_iter()
        .map(|o| (kind, o.metadata().clone()))
        .collect()
}

/// The cached metadata of the object `key` of `kind`.
pub fn meta(stores: &Stores, kind: Kind, key: &str) -> Option<ObjectMeta> {
    with_store!(stores, kind, |store| cached_meta(store, key))
}

/// The cached metadata of the owner `reference` names, when the cache holds it with that uid.
/// A dependent's owner lives in the dependent's namespace, unless it is cluster-scoped.
pub fn cached_owner(
    stores: &Stores,
    namespace: &str,
    reference: &OwnerReference,
) -> Option<ObjectMeta> {
    let kind = Kind::from_kind(&reference.kind)?;
    let key = if kind == Kind::Node {
        reference.name.clone()
    } else {
        object_key(namespace, &reference.name)
    };
    meta(stores, kind, &key).filter(|m| m.uid == reference.uid)
}

/// Every cached object that has an owner reference to `uid`.
pub fn dependents_of(stores: &Stores, uid: &str) -> Vec<(Kind, ObjectMeta)> {
    Kind::ALL
        .into_iter()
        .flat_map(|kind| with_store!(stores, kind, |store| referring(store, kind, uid)))
        .collect()
}

/// The cache key of `meta`.
pub fn key(meta: &ObjectMeta) -> String {
    object_key(&meta.namespace, &meta.name)
}
