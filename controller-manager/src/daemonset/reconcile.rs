//! The pure decision of the DaemonSet controller: one pod on every node whose labels match the template's nodeSelector, none elsewhere, and the status that results.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use skiff_api::selector::Selector;
use skiff_api::types::{DaemonSetStatus, Node, Pod};

use crate::claim::claim_pods;
use crate::pods::{is_ready, PHASE_FAILED};

/// The label that records which `metadata.generation` of the DaemonSet a pod was made from
/// (`updatedNumberScheduled` counts the pods of the current one).
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

/// What the DaemonSet asks for.
#[derive(Debug)]
pub struct Desired<'a> {
    pub uid: &'a str,
    pub selector: &'a Selector,
    /// `spec.template.spec.nodeSelector`: empty means every node.
    pub node_selector: &'a BTreeMap<String, String>,
    pub generation: i64,
    pub deleting: bool,
    pub status: &'a DaemonSetStatus,
}

/// What the controller sees.
#[derive(Debug)]
pub struct Observed<'a> {
    pub nodes: &'a [Arc<Node>],
    /// Every pod of the DaemonSet's namespace, in any phase.
    pub pods: &'a [Arc<Pod>],
    pub expectations_met: bool,
    pub can_adopt: bool,
}

/// Why a daemon pod is deleted; a failed pod gets a warning event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Its node's labels no longer match the nodeSelector.
    Misscheduled,
    /// A second pod on the same node.
    Duplicate,
    /// It failed; a new one replaces it.
    Failed,
    /// Its node no longer exists.
    NodeGone,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Adopt(Arc<Pod>),
    Release(Arc<Pod>),
    /// Create one pod on each of these nodes.
    CreateOn(Vec<String>),
    DeletePods(Vec<(Arc<Pod>, Why)>),
    UpdateStatus(DaemonSetStatus),
}

/// True when a daemon pod belongs on `node`.
pub fn should_run(node: &Node, node_selector: &BTreeMap<String, String>) -> bool {
    node.metadata.deletion_timestamp.is_none()
        && node_selector
            .iter()
            .all(|(k, v)| node.metadata.labels.get(k) == Some(v))
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

    let mut by_node: HashMap<&str, Vec<&Arc<Pod>>> = HashMap::new();
    for pod in &claims.claimed {
        by_node
            .entry(pod.spec.node_name.as_str())
            .or_default()
            .push(pod);
    }
    let mut nodes: Vec<&Arc<Node>> = observed.nodes.iter().collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));

    let mut create = Vec::new();
    let mut delete: Vec<(Arc<Pod>, Why)> = Vec::new();
    let mut status = DaemonSetStatus {
        observed_generation: desired.generation,
        conditions: desired.status.conditions.clone(),
        ..DaemonSetStatus::default()
    };
    for node in &nodes {
        let name = node.metadata.name.as_str();
        let on_node = by_node.remove(name).unwrap_or_default();
        let live = |p: &&&Arc<Pod>| p.metadata.deletion_timestamp.is_none();
        let mut running: Vec<&Arc<Pod>> = on_node
            .iter()
            .filter(live)
            .filter(|p| p.status.phase != PHASE_FAILED)
            .copied()
            .collect();
        let failed = on_node
            .iter()
            .filter(live)
            .filter(|p| p.status.phase == PHASE_FAILED);
        if should_run(node, desired.node_selector) {
            status.desired_number_scheduled += 1;
            delete.extend(failed.map(|p| ((*p).clone(), Why::Failed)));
            // The oldest pod stays; any other is a duplicate.
            running.sort_by(|a, b| {
                a.metadata
                    .creation_timestamp
                    .cmp(&b.metadata.creation_timestamp)
                    .then_with(|| a.metadata.name.cmp(&b.metadata.name))
            });
            match running.split_first() {
                None => create.push(name.to_string()),
                Some((kept, extra)) => {
                    delete.extend(extra.iter().map(|p| ((*p).clone(), Why::Duplicate)));
                    status.current_number_scheduled += 1;
                    if is_ready(kept) {
                        status.number_ready += 1;
                        status.number_available += 1;
                    }
                    let generation = desired.generation.to_string();
                    if kept.metadata.labels.get(TEMPLATE_GENERATION_LABEL) == Some(&generation) {
                        status.updated_number_scheduled += 1;
                    }
                }
            }
        } else {
            if !running.is_empty() {
                status.number_misscheduled += 1;
            }
            delete.extend(running.iter().map(|p| ((*p).clone(), Why::Misscheduled)));
            delete.extend(failed.map(|p| ((*p).clone(), Why::Failed)));
        }
    }
    // Pods bound to nodes that are gone (or to no node at all).
    let mut stray: Vec<&Arc<Pod>> = by_node
        .into_values()
        .flatten()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    stray.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    delete.extend(stray.into_iter().map(|p| (p.clone(), Why::NodeGone)));
    status.number_unavailable = status.desired_number_scheduled - status.number_available;

    if observed.expectations_met && !desired.deleting {
        if !create.is_empty() {
            actions.push(Action::CreateOn(create));
        }
        if !delete.is_empty() {
            actions.push(Action::DeletePods(delete));
        }
    }
    if status != *desired.status {
        actions.push(Action::UpdateStatus(status));
    }
    actions
}
