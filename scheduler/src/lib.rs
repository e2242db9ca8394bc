//! skiff-scheduler: assigns every pod without a node to a Ready node that matches its node
//! selector and has room for its requests, spreading a controller's pods; explains on the
//! pod why when nothing fits.
//!
//! # Layout
//! - [`algorithm`]: the pure decision: filters, scores, the "0/3 nodes are available" message.
//! - [`cache`]: nodes with the resources their pods take, including pods assumed bound.
//! - [`queue`]: pods waiting for a decision, for a back-off, or for the cluster to change.
//! - [`scheduler`]: the loop that owns cache and queue, decides and binds.
//! - [`sources`]: node and pod informers feeding the loop.
//! - [`actions`]: bindings and the PodScheduled=False condition.
//! - [`metrics`]: Prometheus metrics and health.
//! - [`config`]: the command-line flags.
//!
//! The throughput benchmark (`skiff-bench scheduler`) lives in the `skiff-bench` crate and
//! drives [`cache`], [`queue`] and [`scheduler`] through their public API.

pub mod actions;
pub mod algorithm;
pub mod cache;
pub mod config;
pub mod metrics;
pub mod queue;
pub mod scheduler;
pub mod sources;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use skiff_client::{Client, ClientConfig};
use skiff_runtime::events::EventRecorder;
use skiff_runtime::leader::{LeaderElector, LeaderError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

pub use config::{Config, ConfigError, Validated};
use metrics::Metrics;
use scheduler::{Options, Scheduler};

/// Event source of everything the scheduler records.
pub const EVENT_SOURCE: &str = "default-scheduler";

/// Why the scheduler could not start.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("apiserver client: {0}")]
    Client(#[from] skiff_client::ConfigError),
    #[error(transparent)]
    Leader(#[from] LeaderError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A client for the apiservers named in the checked flags.
pub fn client(config: &Validated) -> Result<Client, SchedulerError> {
    let client_config = ClientConfig::new(config.apiservers.clone())
        .with_user_agent(config::COMPONENT)
        .with_token(config.token.clone())
        .with_ca_pem(config.ca_pem.clone());
    Ok(Client::new(client_config)?)
}

/// Runs the scheduler until `shutdown` fires: informers always, the scheduling loop while
/// this instance holds the lease (or always, without leader election).
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), SchedulerError> {
    let checked = config.validate()?;
    let client = client(&checked)?;
    let metrics = Arc::new(Metrics::default());
    let tasks = TaskTracker::new();
    if let Some(addr) = config.metrics_listen {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SchedulerError::Listen { addr, source })?;
        info!(%addr, "serving /metrics and /health");
        tasks.spawn(skiff_common::http::serve(
            listener,
            metrics.clone(),
            shutdown.clone(),
        ));
    }
    let (pod_informer, node_informer, sources) = sources::informers(&client);
    tasks.spawn(pod_informer.run(shutdown.clone()));
    tasks.spawn(node_informer.run(shutdown.clone()));
    let (synced, stop) = ((sources.clone(), metrics.clone()), shutdown.clone());
    tasks.spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = synced.0.wait_synced() => synced.1.synced.store(true, Ordering::Relaxed),
        }
    });
    let scheduler = Scheduler {
        client: client.clone(),
        sources,
        recorder: Some(EventRecorder::new(client.clone(), EVENT_SOURCE, "")),
        metrics,
        options: Options::default(),
    };
    if let Some(lease) = checked.leader {
        let elector = LeaderElector::new(client, lease)?;
        info!(
            identity = elector.identity(),
            "campaigning for the scheduler lease"
        );
        elector
            .run(shutdown.clone(), move |term| scheduler.clone().run(term))
            .await;
    } else {
        scheduler.run(shutdown.clone()).await;
    }
    // The term may also end on its own; the informers stop with it.
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;
    Ok(())
}
