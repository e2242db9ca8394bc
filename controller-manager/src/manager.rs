//! The process: metrics endpoint, leader election, and one term of controllers while leading.
//!
//! Each leadership term builds everything afresh (informers, queues, expectations) and tears
//! it all down when the term ends. A new leader therefore starts from a fresh list of the
//! cluster, never from what it believed during an earlier term.

use std::sync::Arc;

use skiff_client::{Client, ClientConfig};
use skiff_runtime::leader::LeaderElector;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::context::Context;
use crate::cronjob::CronJobController;
use crate::daemonset::DaemonSetController;
use crate::error::Error;
use crate::gc::GarbageCollector;
use crate::informers::Informers;
use crate::job::JobController;
use crate::metrics::Metrics;
use crate::nodelifecycle::NodeLifecycleController;
use crate::replicaset::ReplicaSetManager;
use crate::replication::ReplicationManager;
use crate::runner::spawn_workers;

/// The Lease the controller-managers elect their leader through.
pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "skiff-controller-manager";

/// Runs until `shutdown` fires: campaigns for leadership (unless disabled) and runs every
/// controller while leading.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    let client = Client::new(
        ClientConfig::new(config.apiservers.clone())
            .with_token(config.token.clone())
            .with_ca_pem(config.ca_pem.clone())
            .with_user_agent("skiff-controller-manager"),
    )?;
    let metrics = Metrics::new();
    let tracker = TaskTracker::new();
    if let Some(addr) = config.metrics_listen {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen { addr, source })?;
        info!(%addr, "serving /metrics and /health");
        tracker.spawn(skiff_common::http::serve(
            listener,
            metrics.clone(),
            shutdown.clone(),
        ));
    }
    let config = Arc::new(config);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if config.leader.enabled {
        let leader = &config.leader;
        let elector = LeaderElector::new(client.clone(), leader.lease_config())?;
        info!(identity = %leader.identity, "campaigning for leadership");
        elector
            .run(shutdown.clone(), move |leading| {
                run_term(
                    client.clone(),
                    config.clone(),
                    metrics.clone(),
                    clock.clone(),
                    leading,
                )
            })
            .await;
    } else {
        info!("leader election disabled; running the controllers");
        run_term(client, config, metrics, clock, shutdown.clone()).await;
    }
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// One leadership term: every controller runs until `leading` is cancelled.
pub async fn run_term(
    client: Client,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    leading: CancellationToken,
) {
    metrics.set_leader(true);
    let mut informers = Informers::new(&client, config.resync_period);
    let ctx = Context {
        client,
        config: config.clone(),
        metrics: metrics.clone(),
        clock,
        stores: informers.stores(),
    };
    let tracker = TaskTracker::new();
    let workers = config.concurrent_syncs;
    let (rc, rc_queue) = ReplicationManager::new(&ctx, &mut informers);
    let (rs, rs_queue) = ReplicaSetManager::new(&ctx, &mut informers);
    let (ds, ds_queue) = DaemonSetController::new(&ctx, &mut informers);
    let (job, job_queue) = JobController::new(&ctx, &mut informers);
    let (cj, cj_queue) = CronJobController::new(&ctx, &mut informers);
    let (nodes, node_queue) = NodeLifecycleController::new(&ctx, &mut informers);
    let (gc, gc_queue) = GarbageCollector::new(&ctx, &mut informers);
    informers.start(&tracker, &leading);
    info!("waiting for the informers' first lists");
    let synced = tokio::select! {
        _ = leading.cancelled() => false,
        _ = ctx.stores.wait_synced() => true,
    };
    if synced {
        info!("caches synced; starting controllers");
        macro_rules! start {
            ($($name:literal => $controller:expr, $queue:expr, $workers:expr;)*) => {$(
                let q = $queue.clone();
                metrics.register_queue($name, move || q.len());
                spawn_workers($controller, $queue, $workers, &tracker, &leading, metrics.clone());
            )*};
        }
        start! {
            "replicationcontroller" => rc, rc_queue, workers;
            "replicaset" => rs, rs_queue, workers;
            "daemonset" => ds, ds_queue, workers;
            "job" => job, job_queue, workers;
            "cronjob" => cj, cj_queue, workers;
            "nodelifecycle" => nodes, node_queue, workers;
            "garbagecollector" => gc, gc_queue, config.concurrent_gc_syncs;
        }
    }
    leading.cancelled().await;
    info!("stopping controllers");
    tracker.close();
    tracker.wait().await;
    metrics.clear_queues();
    metrics.set_leader(false);
}
