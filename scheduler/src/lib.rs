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
//! - [`config`]: flags.
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

pub use config::{Config, ConfigError};
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

/// A client for the apiservers named in `config`.
pub fn client(config: &Config) -> Result<Client, SchedulerError> {
    let mut client_config =
        ClientConfig::new(config.apiserver.iter().map(|a| a.trim().to_string()))
            .with_user_agent(config::COMPONENT);
    if let Some(token) = &config.token {
        client_config = client_config.with_token(token.trim());
    }
    Ok(Client::new(client_config)?)
}

/// Runs the scheduler until `shutdown` fires: informers always, the scheduling loop while
/// this instance holds the lease (or always, without leader election).
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), SchedulerError> {
    config.validate()?;
    let client = client(&config)?;
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
    if config.leader_elect {
        let elector = LeaderElector::new(client, config.leader_config())?;
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
