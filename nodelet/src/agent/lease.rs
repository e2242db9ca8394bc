//! The node heartbeat: the Lease `kube-node-lease/<node>`, renewed every
//! `--heartbeat-interval`. The node lifecycle controller judges the node alive by it.

use std::sync::Arc;
use std::time::Duration;

use skiff_api::error::ApiError;
use skiff_api::meta::{MicroTime, ObjectMeta, OwnerReference};
use skiff_api::types::{Lease, LeaseSpec, Node};
use skiff_client::Client;
use tokio_util::sync::CancellationToken;

use crate::metrics::NodeMetrics;

pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// How long the lease holds after a renewal (the kubelet's value).
pub const LEASE_DURATION_SECONDS: i32 = 40;

/// A new Lease for `node`, owned by its Node object so it goes when the Node goes.
pub fn new_lease(node: &str, node_uid: Option<&str>) -> Lease {
    let mut metadata = ObjectMeta::named(LEASE_NAMESPACE, node);
    if let Some(uid) = node_uid.filter(|u| !u.is_empty()) {
        metadata.owner_references.push(OwnerReference {
            api_version: "v1".to_string(),
            kind: "Node".to_string(),
            name: node.to_string(),
            uid: uid.to_string(),
            controller: None,
            block_owner_deletion: None,
        });
    }
    Lease {
        metadata,
        spec: LeaseSpec {
            holder_identity: Some(node.to_string()),
            lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
            acquire_time: None,
            renew_time: Some(MicroTime::now()),
            lease_transitions: None,
        },
        ..Lease::default()
    }
}

/// Renews `lease` (fetched or created when unknown); returns the stored Lease.
async fn renew(client: &Client, node: &str, cached: Option<Lease>) -> Result<Lease, ApiError> {
    let mut lease = match cached {
        Some(lease) => lease,
        None => match client.get_opt::<Lease>(LEASE_NAMESPACE, node).await? {
            Some(lease) => lease,
            None => {
                let uid = client
                    .get_opt::<Node>("", node)
                    .await?
                    .map(|n| n.metadata.uid);
                return client.create(&new_lease(node, uid.as_deref())).await;
            }
        },
    };
    lease.spec.holder_identity = Some(node.to_string());
    lease.spec.lease_duration_seconds = Some(LEASE_DURATION_SECONDS);
    lease.spec.renew_time = Some(MicroTime::now());
    client.update(&lease).await
}

/// Renews the Lease every `interval` until cancelled. A failed renewal is retried at once
/// from a fresh read (another writer, a deleted Lease), then at the next tick.
pub async fn heartbeat(
    client: Client,
    node: String,
    interval: Duration,
    metrics: Arc<NodeMetrics>,
    cancel: CancellationToken,
) {
    let mut cached: Option<Lease> = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let mut outcome = renew(&client, &node, cached.take()).await;
        if matches!(&outcome, Err(e) if e.is_conflict() || e.is_not_found()) {
            outcome = renew(&client, &node, None).await;
        }
        match outcome {
            Ok(lease) => {
                cached = Some(lease);
                metrics.heartbeat_ok();
            }
            Err(e) => tracing::warn!(node = %node, error = %e, "renewing the node lease failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_lease_names_its_holder_and_owner() {
        let lease = new_lease("n1", Some("uid-1"));
        assert_eq!(lease.metadata.namespace, "kube-node-lease");
        assert_eq!(lease.metadata.name, "n1");
        assert_eq!(lease.spec.holder_identity.as_deref(), Some("n1"));
        assert_eq!(lease.spec.lease_duration_seconds, Some(40));
        assert!(lease.spec.renew_time.is_some());
        assert_eq!(lease.metadata.owner_references[0].kind, "Node");
        assert!(new_lease("n1", None).metadata.owner_references.is_empty());
    }
}
