//! Filters: can this pod run on this node, and if not, why (the reasons Kubernetes reports).

use super::info::{NodeInfo, PodInfo};

/// Why a node cannot take a pod, with Kubernetes' wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Unschedulable,
    NotReady,
    NodeSelectorMismatch,
    TooManyPods,
    InsufficientCpu,
    InsufficientMemory,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Unschedulable,
        Reason::NotReady,
        Reason::NodeSelectorMismatch,
        Reason::TooManyPods,
        Reason::InsufficientCpu,
        Reason::InsufficientMemory,
    ];

    /// The text after the count in `0/3 nodes are available: 2 <text>`.
    pub fn message(self) -> &'static str {
        match self {
            Reason::Unschedulable => "node(s) were unschedulable",
            Reason::NotReady => "node(s) were not ready",
            Reason::NodeSelectorMismatch => "node(s) didn't match Pod's node selector",
            Reason::TooManyPods => "Too many pods",
            Reason::InsufficientCpu => "Insufficient cpu",
            Reason::InsufficientMemory => "Insufficient memory",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The reasons one node failed for, as a set; empty means the pod fits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reasons(u8);

impl Reasons {
    pub fn fits(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, reason: Reason) -> bool {
        self.0 & reason.bit() != 0
    }

    fn insert(&mut self, reason: Reason) {
        self.0 |= reason.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Reason> {
        Reason::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Reason> for Reasons {
    fn from_iter<I: IntoIterator<Item = Reason>>(iter: I) -> Reasons {
        let mut reasons = Reasons::default();
        for reason in iter {
            reasons.insert(reason);
        }
        reasons
    }
}

/// Runs the filters in Kubernetes' plugin order (NodeUnschedulable, the not-ready taint,
/// NodeAffinity, NodeResourcesFit) and stops at the first that fails, as kube-scheduler does;
/// the resource filter reports every resource that is short.
pub fn filter(pod: &PodInfo, node: &NodeInfo) -> Reasons {
    let mut reasons = Reasons::default();
    let view = node.view();
    if view.unschedulable {
        reasons.insert(Reason::Unschedulable);
        return reasons;
    }
    if !view.ready {
        reasons.insert(Reason::NotReady);
        return reasons;
    }
    let selector_matches = pod
        .node_selector
        .iter()
        .all(|(key, value)| view.labels.get(key) == Some(value));
    if !selector_matches {
        reasons.insert(Reason::NodeSelectorMismatch);
        return reasons;
    }
    if node.pod_count() + 1 > view.allowed_pods {
        reasons.insert(Reason::TooManyPods);
    }
    // A resource the pod does not request never makes it not fit, even on an overcommitted
    // node (NodeResourcesFit's `fitsRequest`).
    let free_cpu = view.allocatable.milli_cpu - node.requested().milli_cpu;
    if pod.requests.milli_cpu > 0 && pod.requests.milli_cpu > free_cpu {
        reasons.insert(Reason::InsufficientCpu);
    }
    let free_memory = view.allocatable.memory - node.requested().memory;
    if pod.requests.memory > 0 && pod.requests.memory > free_memory {
        reasons.insert(Reason::InsufficientMemory);
    }
    reasons
}
