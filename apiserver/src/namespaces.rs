//! Namespace deletion: the content of a terminating namespace is deleted, then the namespace itself.
//!
//! Deleting a namespace marks it Terminating (held by the `kubernetes` finalizer). This loop,
//! run by every apiserver (the deletes are idempotent, so several at once do no harm), deletes
//! every object in it with Kubernetes semantics (pods bound to a node gracefully, objects with
//! finalizers when those are removed) and releases the namespace once nothing is left.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_api::kinds::{self, KINDS};
use tokio_util::sync::CancellationToken;

use crate::cache::WatchCache;
use crate::registry::filter::Filter;
use crate::registry::{unguarded, DeleteOptions, Registry};

const EVERY: Duration = Duration::from_secs(1);

pub async fn run(registry: Arc<Registry>, cache: Arc<WatchCache>, shutdown: CancellationToken) {
    let Some(info) = kinds::by_plural("namespaces") else {
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        let Some(namespaces) = cache.kind(info) else {
            return;
        };
        for name in namespaces.names_being_deleted() {
            if let Err(err) = empty_namespace(&registry, &name).await {
                tracing::warn!(namespace = %name, %err, "deleting the content of a terminating namespace failed; retrying");
            }
        }
    }
}

/// Deletes what is left in `ns`; releases it when nothing is.
async fn empty_namespace(registry: &Registry, ns: &str) -> Result<(), ApiError> {
    let mut remaining = 0;
    for info in KINDS.iter().filter(|k| k.namespaced) {
        let (items, _) = registry
            .list_from_store(info, &Filter::new(info, ns, "", "")?)
            .await?;
        for item in items {
            remaining += 1;
            // Already terminating: waiting for its node agent or its finalizers.
            if item.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match registry
                .delete(info, ns, name, &DeleteOptions::default(), &unguarded)
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
    }
    if remaining == 0 {
        tracing::info!(namespace = ns, "namespace empty; removing it");
        match registry.release_namespace(ns).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
