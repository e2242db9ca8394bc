//! The pure decision of the ReplicationController and ReplicaSet controllers: from the owner and its namespace's pods, what to adopt, release, create, delete and report.

use std::collections::BTreeMap;
use std::sync::Arc;

use skiff_api::meta::{find_condition, set_condition, Condition};
use skiff_api::selector::Selector;
use skiff_api::types::{Pod, ReplicaStatus};

use crate::claim::claim_pods;
use crate::pods::{deletion_order, is_ready};

/// Kubernetes' `BurstReplicas`: at most this many creations or deletions per sync, so one
/// sync cannot flood the apiserver; the next sync does the rest once these are observed.
pub const BURST_REPLICAS: usize = 500;

/// The condition type set while pods cannot be created or deleted.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// What the owner (ReplicationController or ReplicaSet) asks for.
#[derive(Debug)]
pub struct Desired<'a> {
    pub uid: &'a str,
    pub replicas: i32,
    pub selector: &'a Selector,
    pub template_labels: &'a BTreeMap<String, String>,
    pub generation: i64,
    /// The owner has a deletionTimestamp: it neither adopts, releases nor manages pods.
    pub deleting: bool,
    pub status: &'a ReplicaStatus,
}

/// What the controller sees.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The active pods of the owner's namespace (not finished, not being deleted).
    pub pods: &'a [Arc<Pod>],
    /// Every creation and deletion of earlier syncs has been observed (or timed out).
    pub expectations_met: bool,
    /// A fresh read confirmed the owner still exists, so orphans may be adopted.
    pub can_adopt: bool,
}

/// One step, in the order they are to be carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Adopt(Arc<Pod>),
    Release(Arc<Pod>),
    CreatePods(usize),
    /// The pods to delete, first to go first.
    DeletePods(Vec<Arc<Pod>>),
    /// Write this status (only present when it differs from the current one).
    UpdateStatus(ReplicaStatus),
}

/// Decides one sync.
pub fn reconcile(desired: &Desired, observed: &Observed) -> Vec<Action> {
    let claims = claim_pods(
        desired.uid,
        desired.deleting,
        observed.can_adopt,
        desired.selector,
        observed.pods,
    );
    let mut actions: Vec<Action> = claims.adopt.iter().cloned().map(Action::Adopt).collect();
    actions.extend(claims.release.iter().cloned().map(Action::Release));
    if observed.expectations_met && !desired.deleting {
        let have = claims.claimed.len();
        let want = usize::try_from(desired.replicas.max(0)).unwrap_or(0);
        if have < want {
            actions.push(Action::CreatePods((want - have).min(BURST_REPLICAS)));
        } else if have > want {
            let mut surplus = claims.claimed.clone();
            surplus.sort_by(|a, b| deletion_order(a, b));
            surplus.truncate((have - want).min(BURST_REPLICAS));
            actions.push(Action::DeletePods(surplus));
        }
    }
    let status = calculate_status(desired, &claims.claimed);
    if status != *desired.status {
        actions.push(Action::UpdateStatus(status));
    }
    actions
}

/// The status the claimed pods add up to. A `ReplicaFailure` condition from an earlier sync is
/// cleared: it is set again by [`with_failure`] if this sync fails too.
pub fn calculate_status(desired: &Desired, claimed: &[Arc<Pod>]) -> ReplicaStatus {
    let count = |f: &dyn Fn(&Pod) -> bool| claimed.iter().filter(|p| f(p)).count() as i32;
    let fully_labeled = |p: &Pod| {
        desired
            .template_labels
            .iter()
            .all(|(k, v)| p.metadata.labels.get(k) == Some(v))
    };
    let ready = count(&|p| is_ready(p));
    let mut conditions = desired.status.conditions.clone();
    conditions.retain(|c| c.type_ != REPLICA_FAILURE);
    ReplicaStatus {
        replicas: claimed.len() as i32,
        fully_labeled_replicas: count(&fully_labeled),
        ready_replicas: ready,
        // minReadySeconds is not acted on: a ready pod is available at once.
        available_replicas: ready,
        observed_generation: desired.generation,
        conditions,
    }
}

/// `status` with a `ReplicaFailure` condition saying why pods could not be created or deleted
/// (`reason` is `FailedCreate` or `FailedDelete`); a failure that persists keeps the
/// transition time it had in `previous`.
pub fn with_failure(
    mut status: ReplicaStatus,
    previous: &ReplicaStatus,
    reason: &str,
    message: &str,
) -> ReplicaStatus {
    if let Some(old) = find_condition(&previous.conditions, REPLICA_FAILURE) {
        status.conditions.retain(|c| c.type_ != REPLICA_FAILURE);
        status.conditions.push(old.clone());
    }
    set_condition(
        &mut status.conditions,
        Condition::new(REPLICA_FAILURE, true, reason, message),
    );
    status
}
