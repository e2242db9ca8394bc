//! The registry in the test's own process over one real store member, with a watch cache
//! whose reflectors the test starts and stops itself: a cache held behind the store on
//! purpose, deterministically.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use skiff_api::kinds::by_plural;
use skiff_apiserver::cache::reflector::Reflector;
use skiff_apiserver::cache::{CacheConfig, KindCache, WatchCache};
use skiff_apiserver::events::EventLeases;
use skiff_apiserver::metrics::Metrics;
use skiff_apiserver::registry::{unguarded, Registry};
use skiff_apiserver::store::Store;
use skiff_testkit::store::StoreCluster;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A store client, an empty watch cache (no reflector runs) and a registry over both, once
/// the member answers; the namespace `default` exists.
pub async fn local_registry(members: &StoreCluster) -> (Arc<Store>, Arc<WatchCache>, Registry) {
    let store = Arc::new(Store::new(&members.client_urls(), Duration::from_secs(5)).unwrap());
    while store.ping("/").await.is_err() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cache = Arc::new(WatchCache::new(CacheConfig {
        window: 1000,
        buffer: 100,
        bookmark_interval: Duration::from_secs(1),
        progress_interval: Duration::from_secs(1),
    }));
    let events = EventLeases::new(store.clone(), Duration::from_secs(3600));
    let registry = Registry::new(store.clone(), cache.clone(), events, 1 << 20);
    let namespaces = by_plural("namespaces").unwrap();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
    registry
        .create(namespaces, "", ns.to_string().as_bytes(), &unguarded)
        .await
        .unwrap();
    (store, cache, registry)
}

/// Starts a reflector filling `cache` from the store; cancel the token and await the
/// handle to stop it.
pub fn start_reflector(
    cache: &Arc<KindCache>,
    store: &Arc<Store>,
) -> (CancellationToken, JoinHandle<()>) {
    let stop = CancellationToken::new();
    let reflector = Reflector {
        cache: cache.clone(),
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        progress_interval: Duration::from_secs(1),
        open_timeout: Duration::from_secs(2),
    };
    let running = tokio::spawn(reflector.run(stop.clone()));
    (stop, running)
}
