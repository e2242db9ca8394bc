//! What the algorithm knows about a pod ([`PodInfo`]) and a node with the pods bound to it ([`NodeInfo`]), precomputed so that checking one node is a few integer comparisons.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use skiff_api::meta::condition_is_true;
use skiff_api::quantity::Quantity;
use skiff_api::types::{Container, Node, Pod};

/// CPU a container without a cpu request is counted with when scoring (not when filtering):
/// Kubernetes' `DefaultMilliCPURequest`, so pods without requests still spread.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory counterpart of [`DEFAULT_MILLI_CPU_REQUEST`] (Kubernetes' `DefaultMemoryRequest`).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// CPU in millicores and memory in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
}

impl Resources {
    pub fn new(milli_cpu: i64, memory: i64) -> Resources {
        Resources { milli_cpu, memory }
    }

    fn add(&mut self, other: Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
    }

    fn sub(&mut self, other: Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
    }
}

// The apiserver validates every quantity before storing it, so a parse failure cannot come
// from a stored object; counting it as zero keeps one bad object from stopping the scheduler.
fn cpu(q: Option<&Quantity>) -> i64 {
    q.and_then(|q| q.parse_cpu_millis().ok()).unwrap_or(0)
}

fn bytes(q: Option<&Quantity>) -> i64 {
    q.and_then(|q| q.parse_bytes().ok()).unwrap_or(0)
}

/// A pod's phase says it will never run again, so it holds no resources.
pub fn is_terminated(pod: &Pod) -> bool {
    matches!(pod.status.phase.as_str(), "Succeeded" | "Failed")
}

/// A pod the scheduler must place: no node yet, not being deleted, not finished.
pub fn needs_scheduling(pod: &Pod) -> bool {
    pod.spec.node_name.is_empty() && !pod.metadata.is_being_deleted() && !is_terminated(pod)
}

/// A pod bound to a node that still holds that node's resources.
pub fn occupies_node(pod: &Pod) -> bool {
    !pod.spec.node_name.is_empty() && !is_terminated(pod)
}

/// What scheduling needs to know about one pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodInfo {
    /// The sum of the containers' requests: what must fit on the node.
    pub requests: Resources,
    /// The same with defaults for containers that request nothing: what scoring counts.
    pub non_zero_requests: Resources,
    /// The uid of the controller that owns the pod (its `controller: true` owner reference).
    pub owner: Option<String>,
    pub node_selector: BTreeMap<String, String>,
}

impl PodInfo {
    pub fn new(pod: &Pod) -> PodInfo {
        let mut requests = Resources::default();
        let mut non_zero_requests = Resources::default();
        for container in &pod.spec.containers {
            let (exact, non_zero) = container_requests(container);
            requests.add(exact);
            non_zero_requests.add(non_zero);
        }
        PodInfo {
            requests,
            non_zero_requests,
            owner: pod.metadata.controller_ref().map(|r| r.uid.clone()),
            node_selector: pod.spec.node_selector.clone(),
        }
    }
}

/// (requests, requests with defaults for absent entries); an explicit 0 stays 0, as in
/// Kubernetes' `GetNonzeroRequests`.
fn container_requests(container: &Container) -> (Resources, Resources) {
    let requests = &container.resources.requests;
    let cpu_q = requests.get("cpu");
    let mem_q = requests.get("memory");
    let exact = Resources::new(cpu(cpu_q), bytes(mem_q));
    let non_zero = Resources::new(
        if cpu_q.is_some() {
            exact.milli_cpu
        } else {
            DEFAULT_MILLI_CPU_REQUEST
        },
        if mem_q.is_some() {
            exact.memory
        } else {
            DEFAULT_MEMORY_REQUEST
        },
    );
    (exact, non_zero)
}

/// The scheduling-relevant view of a Node object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeView {
    pub ready: bool,
    pub unschedulable: bool,
    pub labels: BTreeMap<String, String>,
    pub allocatable: Resources,
    pub allowed_pods: i64,
}

impl NodeView {
    pub fn new(node: &Node) -> NodeView {
        let alloc = &node.status.allocatable;
        NodeView {
            ready: condition_is_true(&node.status.conditions, "Ready"),
            unschedulable: node.spec.unschedulable,
            labels: node.metadata.labels.clone(),
            allocatable: Resources::new(cpu(alloc.get("cpu")), bytes(alloc.get("memory"))),
            allowed_pods: bytes(alloc.get("pods")),
        }
    }
}

/// A node and the total of what the pods bound to it request. A node whose object is not
/// known (pods bound to a node that has not registered yet or was deleted) is kept for its
/// accounting but never offered to pods.
#[derive(Clone, Debug, Default)]
pub struct NodeInfo {
    pub name: String,
    node: Option<Arc<Node>>,
    view: NodeView,
    requested: Resources,
    non_zero_requested: Resources,
    pod_count: i64,
    /// Pods on this node per controller uid, for spreading.
    owners: HashMap<String, u32>,
}

impl NodeInfo {
    /// Accounting for a node whose object is not known.
    pub fn ghost(name: &str) -> NodeInfo {
        NodeInfo {
            name: name.to_string(),
            ..NodeInfo::default()
        }
    }

    pub fn new(node: Arc<Node>) -> NodeInfo {
        let mut info = NodeInfo::ghost(&node.metadata.name);
        info.set_node(node);
        info
    }

    /// A node with `pods` on it; pods bound elsewhere or finished are not counted.
    pub fn with_pods<'a>(node: Node, pods: impl IntoIterator<Item = &'a Pod>) -> NodeInfo {
        let mut info = NodeInfo::new(Arc::new(node));
        for pod in pods {
            if occupies_node(pod) && pod.spec.node_name == info.name {
                info.add_pod(&PodInfo::new(pod));
            }
        }
        info
    }

    /// Replaces the node object; true when anything scheduling looks at changed (labels,
    /// readiness, unschedulable, allocatable) or the node was not known before.
    pub fn set_node(&mut self, node: Arc<Node>) -> bool {
        let view = NodeView::new(&node);
        let changed = self.node.is_none() || view != self.view;
        self.view = view;
        self.node = Some(node);
        changed
    }

    /// Forgets the node object, keeping the accounting of pods still bound to it.
    pub fn clear_node(&mut self) {
        self.node = None;
        self.view = NodeView::default();
    }

    pub fn node(&self) -> Option<&Arc<Node>> {
        self.node.as_ref()
    }

    /// True when the node object is known (the node can be offered to pods).
    pub fn exists(&self) -> bool {
        self.node.is_some()
    }

    pub fn view(&self) -> &NodeView {
        &self.view
    }

    pub fn requested(&self) -> Resources {
        self.requested
    }

    pub fn non_zero_requested(&self) -> Resources {
        self.non_zero_requested
    }

    pub fn pod_count(&self) -> i64 {
        self.pod_count
    }

    /// Pods on this node owned by the controller with uid `owner`.
    pub fn owned_by(&self, owner: &str) -> u32 {
        self.owners.get(owner).copied().unwrap_or(0)
    }

    pub fn add_pod(&mut self, pod: &PodInfo) {
        self.requested.add(pod.requests);
        self.non_zero_requested.add(pod.non_zero_requests);
        self.pod_count += 1;
        if let Some(owner) = &pod.owner {
            *self.owners.entry(owner.clone()).or_insert(0) += 1;
        }
    }

    pub fn remove_pod(&mut self, pod: &PodInfo) {
        self.requested.sub(pod.requests);
        self.non_zero_requested.sub(pod.non_zero_requests);
        self.pod_count -= 1;
        if let Some(owner) = &pod.owner {
            if let Some(count) = self.owners.get_mut(owner) {
                *count -= 1;
                if *count == 0 {
                    self.owners.remove(owner);
                }
            }
        }
    }
}
