//! The scheduler's view of the cluster: informers on nodes and pods (every namespace), whose events reach the acting scheduler's loop through an [`EventSink`].
//!
//! The informers run for the whole life of the process, also while this instance is a
//! standby, so a new leader starts from a warm cache. Handlers only forward events; the loop
//! that owns the scheduling state connects to the sink when its term starts.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use skiff_api::types::{Node, Pod};
use skiff_client::Client;
use skiff_runtime::informer::{Event, Informer, InformerConfig, Store};
use tokio::sync::mpsc;

/// How often every cached pod is reported again, so that a pod whose event was lost is
/// still scheduled.
pub const POD_RESYNC: Duration = Duration::from_secs(60);

/// A change the scheduling loop reacts to; each carries the object's latest state, so
/// applying one twice changes nothing.
#[derive(Debug, Clone)]
pub enum ClusterEvent {
    Pod(Arc<Pod>),
    PodGone(Arc<Pod>),
    Node(Arc<Node>),
    NodeGone(Arc<Node>),
}

/// Where informer handlers send events: nowhere while no loop is connected.
#[derive(Clone, Default)]
pub struct EventSink {
    target: Arc<Mutex<Option<mpsc::UnboundedSender<ClusterEvent>>>>,
}

impl EventSink {
    pub fn send(&self, event: ClusterEvent) {
        if let Some(target) = self.target.lock().as_ref() {
            let _ = target.send(event);
        }
    }

    /// Routes every later event to the returned receiver (replacing any earlier one).
    pub fn connect(&self) -> mpsc::UnboundedReceiver<ClusterEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.target.lock() = Some(tx);
        rx
    }

    pub fn disconnect(&self) {
        *self.target.lock() = None;
    }
}

/// The caches the loop reads and the sink it listens to.
#[derive(Clone)]
pub struct Sources {
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub sink: EventSink,
}

impl Sources {
    /// Caches filled by hand and a sink, for tests and the in-process benchmark.
    pub fn detached(pods: Store<Pod>, nodes: Store<Node>) -> Sources {
        Sources {
            pods,
            nodes,
            sink: EventSink::default(),
        }
    }

    pub fn synced(&self) -> bool {
        self.pods.has_synced() && self.nodes.has_synced()
    }

    pub async fn wait_synced(&self) {
        self.pods.wait_synced().await;
        self.nodes.wait_synced().await;
    }
}

/// The two informers, their handlers wired to a new sink; spawn their `run`.
pub fn informers(client: &Client) -> (Informer<Pod>, Informer<Node>, Sources) {
    let sink = EventSink::default();
    let mut pods =
        Informer::<Pod>::new(client.clone(), InformerConfig::default().resync(POD_RESYNC));
    let pod_sink = sink.clone();
    pods.on_event(move |event| {
        pod_sink.send(match event {
            Event::Added(pod) | Event::Updated { new: pod, .. } => ClusterEvent::Pod(pod.clone()),
            Event::Deleted(pod) => ClusterEvent::PodGone(pod.clone()),
        })
    });
    let mut nodes = Informer::<Node>::new(client.clone(), InformerConfig::default());
    let node_sink = sink.clone();
    nodes.on_event(move |event| {
        node_sink.send(match event {
            Event::Added(node) | Event::Updated { new: node, .. } => {
                ClusterEvent::Node(node.clone())
            }
            Event::Deleted(node) => ClusterEvent::NodeGone(node.clone()),
        })
    });
    let sources = Sources {
        pods: pods.store(),
        nodes: nodes.store(),
        sink,
    };
    (pods, nodes, sources)
}
