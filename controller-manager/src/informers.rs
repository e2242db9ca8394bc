//! One informer per kind, shared by every controller (Kubernetes' shared informer factory): one watch per kind instead of one per controller.
//!
//! Controllers register their handlers and take store handles while the informers are being
//! set up; [`Informers::start`] then runs them all, and [`Stores::wait_synced`] waits for
//! their first lists before any worker starts.

use std::time::Duration;

use skiff_api::types::{
    CronJob, DaemonSet, Job, Lease, Node, Pod, ReplicaSet, ReplicationController,
};
use skiff_client::Client;
use skiff_runtime::informer::{Informer, InformerConfig, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Where nodes renew their heartbeat Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// The informers of one leadership term, before they run.
pub struct Informers {
    pub pods: Informer<Pod>,
    pub nodes: Informer<Node>,
    pub node_leases: Informer<Lease>,
    pub replication_controllers: Informer<ReplicationController>,
    pub replica_sets: Informer<ReplicaSet>,
    pub daemon_sets: Informer<DaemonSet>,
    pub jobs: Informer<Job>,
    pub cron_jobs: Informer<CronJob>,
}

/// Handles on every informer's cache.
#[derive(Clone)]
pub struct Stores {
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub node_leases: Store<Lease>,
    pub replication_controllers: Store<ReplicationController>,
    pub replica_sets: Store<ReplicaSet>,
    pub daemon_sets: Store<DaemonSet>,
    pub jobs: Store<Job>,
    pub cron_jobs: Store<CronJob>,
}

impl Informers {
    /// Pods, nodes and node leases are not resynced: controllers resync the objects they
    /// manage, which covers the pods they own; the node lifecycle controller has its own timers.
    pub fn new(client: &Client, resync: Duration) -> Informers {
        let plain = InformerConfig::default();
        let resynced = InformerConfig::default().resync(resync);
        Informers {
            pods: Informer::new(client.clone(), plain.clone()),
            nodes: Informer::new(client.clone(), plain.clone()),
            node_leases: Informer::new(client.clone(), plain.namespace(NODE_LEASE_NAMESPACE)),
            replication_controllers: Informer::new(client.clone(), resynced.clone()),
            replica_sets: Informer::new(client.clone(), resynced.clone()),
            daemon_sets: Informer::new(client.clone(), resynced.clone()),
            jobs: Informer::new(client.clone(), resynced.clone()),
            cron_jobs: Informer::new(client.clone(), resynced),
        }
    }

    pub fn stores(&self) -> Stores {
        Stores {
            pods: self.pods.store(),
            nodes: self.nodes.store(),
            node_leases: self.node_leases.store(),
            replication_controllers: self.replication_controllers.store(),
            replica_sets: self.replica_sets.store(),
            daemon_sets: self.daemon_sets.store(),
            jobs: self.jobs.store(),
            cron_jobs: self.cron_jobs.store(),
        }
    }

    /// Runs every informer on `tracker` until `cancel` fires.
    pub fn start(self, tracker: &TaskTracker, cancel: &CancellationToken) {
        tracker.spawn(self.pods.run(cancel.clone()));
        tracker.spawn(self.nodes.run(cancel.clone()));
        tracker.spawn(self.node_leases.run(cancel.clone()));
        tracker.spawn(self.replication_controllers.run(cancel.clone()));
        tracker.spawn(self.replica_sets.run(cancel.clone()));
        tracker.spawn(self.daemon_sets.run(cancel.clone()));
        tracker.spawn(self.jobs.run(cancel.clone()));
        tracker.spawn(self.cron_jobs.run(cancel.clone()));
    }
}

impl Stores {
    /// Waits until every informer has stored its first list.
    pub async fn wait_synced(&self) {
        self.pods.wait_synced().await;
        self.nodes.wait_synced().await;
        self.node_leases.wait_synced().await;
        self.replication_controllers.wait_synced().await;
        self.replica_sets.wait_synced().await;
        self.daemon_sets.wait_synced().await;
        self.jobs.wait_synced().await;
        self.cron_jobs.wait_synced().await;
    }
}
