//! Start-up duties: the built-in namespaces exist, and the store is pinged so /health tells whether it is reachable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use skiff_api::kinds;
use tokio_util::sync::CancellationToken;

use crate::registry::{unguarded, Registry, SYSTEM_NAMESPACES};

/// How often the store is pinged for /health.
const PING_EVERY: Duration = Duration::from_secs(2);

/// Creates the built-in namespaces (retrying until the store answers), then pings the store.
pub async fn run(
    registry: Arc<Registry>,
    bootstrapped: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let Some(namespaces) = kinds::by_plural("namespaces") else {
        return;
    };
    let mut missing: Vec<&str> = SYSTEM_NAMESPACES.to_vec();
    while !missing.is_empty() {
        let mut still = Vec::new();
        for name in missing {
            let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            let body = serde_json::to_vec(&body).unwrap_or_default();
            match registry.create(namespaces, "", &body, &unguarded).await {
                Ok(_) => tracing::info!(namespace = name, "created built-in namespace"),
                Err(e) if e.is_already_exists() => {}
                Err(e) => {
                    tracing::warn!(namespace = name, error = %e, "creating a built-in namespace failed; retrying");
                    still.push(name);
                }
            }
        }
        missing = still;
        if !missing.is_empty() && sleep_or_shutdown(Duration::from_secs(1), &shutdown).await {
            return;
        }
    }
    bootstrapped.store(true, Ordering::Relaxed);
    loop {
        if sleep_or_shutdown(PING_EVERY, &shutdown).await {
            return;
        }
        if let Err(e) = registry.store().ping("/registry/namespaces/default").await {
            tracing::warn!(error = %e, "the store does not answer");
        }
    }
}

async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
