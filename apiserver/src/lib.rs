//! skiff-apiserver: the only door into the cluster's state.
//!
//! It authenticates and authorizes every request, admits objects (strict decoding, defaults,
//! validation from `skiff_api::admit`), stores them as JSON in an etcd-compatible store with
//! compare-and-swap on their resourceVersion, and serves watches from an in-memory cache fed
//! by one store watch per kind. It keeps no state of its own: several apiservers can serve
//! one store.
//!
//! # Layout
//! - [`config`]: command-line flags.
//! - [`store`]: the only code that speaks etcd: a typed interface (get, list, create-if-absent,
//!   update-if-revision, delete-if, leases, watch) with failover across store members.
//! - [`registry`]: every verb on every kind over the store (create, get, list, update,
//!   status, patch, delete, bind, scale); lists are answered from the watch cache once it
//!   has caught up with the store.
//! - [`cache`]: the watch cache and the client watches it serves.
//! - [`auth`]: token authentication and role-based authorization.
//! - [`events`]: store leases that make events expire.
//! - [`logs`]: the log proxy to the node agent running a pod.
//! - [`namespaces`]: deleting the content of terminating namespaces.
//! - [`retention`]: the history window: time marks in the store and compaction.
//! - [`service`]: the gRPC service tying it together; [`metrics`]: /metrics and /health.
//! - [`http`]: the Kubernetes REST API over HTTPS, calling the same registry, cache and auth.
//!
//! Its load benchmark (`skiff-bench apiserver`) lives in the `skiff-bench` crate.

pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod config;
pub mod events;
pub mod exec;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod namespaces;
pub mod pod_node;
pub mod registry;
pub mod retention;
pub mod service;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use skiff_proto::skiffapi::api_server::ApiServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::server::TcpIncoming;

use crate::auth::Authenticator;
use crate::cache::reflector::Reflector;
use crate::cache::{CacheConfig, WatchCache};
use crate::config::Config;
use crate::events::EventLeases;
use crate::metrics::{Metrics, Observer};
use crate::registry::Registry;
use crate::service::ApiService;
use crate::store::Store;

/// Largest gRPC message accepted; above the object limit so that an oversized object gets
/// the apiserver's RequestEntityTooLarge rather than a transport error.
const MAX_GRPC_MESSAGE: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Tokens(#[from] auth::tokens::TokenFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    HttpsTls(#[from] http::serve::TlsError),
    #[error(transparent)]
    Tls(#[from] skiff_common::tls::TlsError),
    #[error("the gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Validates the flags, reads the token file, binds the listeners and serves until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), ServerError> {
    config.validate()?;
    let auth = Authenticator::load(&config.token_file)?;
    // Certificates are checked before any port opens.
    config.tls.load()?;
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })
    };
    let listener = bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let https = match (
        config.http_listen,
        &config.tls.tls_cert_file,
        &config.tls.tls_private_key_file,
    ) {
        (Some(addr), Some(cert), Some(key)) => Some(HttpsListener {
            listener: bind(addr).await?,
            tls: http::serve::tls_config(cert, key)?,
        }),
        _ => None,
    };
    tracing::info!(listen = %config.listen, http_listen = ?config.http_listen, users = auth.len(), store = ?config.store_endpoints, "skiff-apiserver starting");
    serve(config, auth, listener, metrics_listener, https, shutdown).await
}

/// The bound HTTPS listener of the REST API and its TLS configuration.
pub struct HttpsListener {
    pub listener: TcpListener,
    pub tls: Arc<rustls::ServerConfig>,
}

/// Serves on already bound listeners until `shutdown` is cancelled; then ends every watch and
/// waits for the background tasks.
pub async fn serve(
    config: Config,
    auth: Authenticator,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    https: Option<HttpsListener>,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let auth = Arc::new(auth);
    let tls = config.tls.load()?;
    let store = Arc::new(Store::with_tls(
        &config.store_endpoints,
        config.store_request_timeout,
        tls.store.as_ref(),
    )?);
    let metrics = Arc::new(Metrics::default());
    let cache = Arc::new(WatchCache::new(CacheConfig {
        window: config.watch_cache_size,
        buffer: config.watch_buffer,
        bookmark_interval: config.watch_bookmark_interval,
        progress_interval: config.watch_progress_interval,
    }));
    let tracker = TaskTracker::new();
    for kind in cache.all() {
        let reflector = Reflector {
            cache: kind.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
            progress_interval: config.watch_progress_interval,
            open_timeout: (config.store_request_timeout / 3).max(Duration::from_millis(500)),
        };
        tracker.spawn(reflector.run(shutdown.child_token()));
    }
    let events = EventLeases::new(store.clone(), config.event_ttl);
    let registry = Arc::new(
        Registry::new(
            store.clone(),
            cache.clone(),
            events,
            config.max_object_bytes,
        )
        .with_kubelet_tls(tls.kubelet.clone())
        .with_record_writers(config.record_managed_fields)
        .with_list_from_cache(
            config.consistent_list_from_cache,
            config.consistent_list_wait,
        ),
    );
    let bootstrapped = Arc::new(AtomicBool::new(false));
    tracker.spawn(bootstrap::run(
        registry.clone(),
        bootstrapped.clone(),
        shutdown.child_token(),
    ));
    tracker.spawn(retention::run(
        store.clone(),
        config.history_retention,
        shutdown.child_token(),
    ));
    tracker.spawn(namespaces::run(
        registry.clone(),
        cache.clone(),
        shutdown.child_token(),
    ));
    if let Some(l) = metrics_listener {
        let observer = Observer {
            metrics: metrics.clone(),
            cache: cache.clone(),
            store: store.clone(),
            bootstrapped,
        };
        tracker.spawn(skiff_common::http::serve(
            l,
            Arc::new(observer),
            shutdown.child_token(),
        ));
    }
    if let Some(https) = https {
        let advertise = https
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let state = Arc::new(http::Http {
            registry: registry.clone(),
            cache: cache.clone(),
            auth: auth.clone(),
            metrics: metrics.clone(),
            shutdown: shutdown.child_token(),
            advertise,
        });
        // Room for the largest object plus the JSON around it.
        let router = http::router(state, config.max_object_bytes * 2 + 64 * 1024);
        tracker.spawn(http::serve::serve(
            https.listener,
            https.tls,
            router,
            shutdown.child_token(),
        ));
    }
    let service = ApiService::new(registry, auth, metrics, shutdown.child_token());
    let router = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .add_service(
            ApiServer::new(service)
                .max_decoding_message_size(MAX_GRPC_MESSAGE)
                .max_encoding_message_size(usize::MAX),
        );
    let stopped = shutdown.clone().cancelled_owned();
    let result = match tls.server {
        Some(server_tls) => {
            let incoming = skiff_common::tls::accept(listener, server_tls, "api", shutdown.clone());
            router.serve_with_incoming_shutdown(incoming, stopped).await
        }
        None => {
            // Without TCP_NODELAY a reply's frames wait for the client's delayed ACK (~40 ms).
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            router.serve_with_incoming_shutdown(incoming, stopped).await
        }
    };
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
    tracing::info!("skiff-apiserver stopped");
    Ok(result?)
}
