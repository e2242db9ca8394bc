//! The scheduler's cache: every node with the total of what its pods request, including pods assumed bound whose binding the watch has not shown yet.
//!
//! Like kube-scheduler's cache, a pod is *assumed* on its node the moment it is decided, so the
//! next decision already sees the resources taken; the assumption is confirmed when the
//! informer reports the pod bound, and forgotten if the binding fails.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use skiff_api::types::{Node, Pod};
use skiff_runtime::informer::key_of;

use crate::algorithm::info::{occupies_node, NodeInfo, PodInfo};
use crate::algorithm::{place, schedule, Placement, Unschedulable};

#[derive(Debug)]
struct PodEntry {
    uid: String,
    node: String,
    info: PodInfo,
    /// Decided and being bound; not yet seen bound through the watch.
    assumed: bool,
}

/// Nodes by name (sorted, so decisions do not depend on hash order) and the pods counted
/// on them by `namespace/name` key.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: BTreeMap<String, NodeInfo>,
    pods: HashMap<String, PodEntry>,
}

impl Cache {
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Adds or replaces a node; true when the change can make a waiting pod fit.
    pub fn upsert_node(&mut self, node: Arc<Node>) -> bool {
        let name = node.metadata.name.clone();
        self.nodes
            .entry(name.clone())
            .or_insert_with(|| NodeInfo::ghost(&name))
            .set_node(node)
    }

    /// Forgets a node object; the pods still bound to it stay accounted until they go.
    pub fn remove_node(&mut self, name: &str) {
        if let Some(info) = self.nodes.get_mut(name) {
            info.clear_node();
            if info.pod_count() == 0 {
                self.nodes.remove(name);
            }
        }
    }

    /// Applies the informer's view of a pod. Returns true when resources were freed on a
    /// node (the pod finished or moved), which can make a waiting pod fit.
    pub fn upsert_pod(&mut self, pod: &Pod) -> bool {
        let key = key_of(pod);
        let uid = &pod.metadata.uid;
        if occupies_node(pod) {
            if let Some(entry) = self.pods.get_mut(&key) {
                if entry.uid == *uid && entry.node == pod.spec.node_name {
                    entry.assumed = false;
                    return false;
                }
            }
            let freed = self.remove_entry(&key);
            self.add_entry(
                key,
                uid.clone(),
                pod.spec.node_name.clone(),
                PodInfo::new(pod),
                false,
            );
            return freed;
        }
        let keep = self.pods.get(&key).is_some_and(|entry| {
            // The watch has not caught up with our binding yet.
            entry.assumed
                && entry.uid == *uid
                && pod.spec.node_name.is_empty()
                && !pod.metadata.is_being_deleted()
        });
        if keep {
            return false;
        }
        self.remove_entry(&key)
    }

    /// The pod is gone; true when it held resources.
    pub fn remove_pod(&mut self, pod: &Pod) -> bool {
        let key = key_of(pod);
        match self.pods.get(&key) {
            Some(entry) if entry.uid == pod.metadata.uid => self.remove_entry(&key),
            _ => false,
        }
    }

    /// Counts `info` on `node` at once, before the binding is written.
    pub fn assume(&mut self, key: &str, uid: &str, node: &str, info: PodInfo) {
        self.remove_entry(key);
        self.add_entry(
            key.to_string(),
            uid.to_string(),
            node.to_string(),
            info,
            true,
        );
    }

    /// Undoes [`Cache::assume`] after a failed binding; true when something was undone.
    pub fn forget(&mut self, key: &str, uid: &str) -> bool {
        match self.pods.get(key) {
            Some(entry) if entry.assumed && entry.uid == uid => self.remove_entry(key),
            _ => false,
        }
    }

    /// True while `key` is assumed bound (decided, binding not yet seen through the watch).
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|entry| entry.assumed)
    }

    /// Where the pod under `key` is counted, if anywhere.
    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|entry| entry.node.as_str())
    }

    /// Decides for `pod` against the current state.
    pub fn schedule(&self, pod: &PodInfo) -> Result<&str, Unschedulable> {
        schedule(pod, self.nodes.values())
    }

    /// [`Cache::schedule`] with the scores and filtered-out nodes behind the choice.
    pub fn place(&self, pod: &PodInfo) -> Result<Placement<'_>, Unschedulable> {
        place(pod, self.nodes.values())
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.get(name)
    }

    /// Nodes whose object is known.
    pub fn node_count(&self) -> usize {
        self.nodes.values().filter(|n| n.exists()).count()
    }

    /// Pods counted on nodes (bound or assumed).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    fn add_entry(&mut self, key: String, uid: String, node: String, info: PodInfo, assumed: bool) {
        self.nodes
            .entry(node.clone())
            .or_insert_with(|| NodeInfo::ghost(&node))
            .add_pod(&info);
        self.pods.insert(
            key,
            PodEntry {
                uid,
                node,
                info,
                assumed,
            },
        );
    }

    fn remove_entry(&mut self, key: &str) -> bool {
        let Some(entry) = self.pods.remove(key) else {
            return false;
        };
        if let Some(node) = self.nodes.get_mut(&entry.node) {
            node.remove_pod(&entry.info);
            if !node.exists() && node.pod_count() == 0 {
                self.nodes.remove(&entry.node);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::meta::Condition;
    use skiff_api::quantity::Quantity;
    use skiff_api::types::{Container, Resource};

    fn node(name: &str, cpu: &str) -> Arc<Node> {
        let mut n = Node::named("", name);
        for (k, v) in [("cpu", cpu), ("memory", "8Gi"), ("pods", "110")] {
            n.status.allocatable.insert(k.into(), Quantity(v.into()));
        }
        n.status
            .conditions
            .push(Condition::new("Ready", true, "", ""));
        Arc::new(n)
    }

    fn pod(name: &str, cpu: &str, node: &str) -> Pod {
        let mut p = Pod::named("default", name);
        p.metadata.uid = format!("uid-{name}");
        let mut c = Container::default();
        c.resources
            .requests
            .insert("cpu".into(), Quantity(cpu.into()));
        p.spec.containers.push(c);
        p.spec.node_name = node.into();
        p
    }

    fn used(cache: &Cache, node: &str) -> i64 {
        cache.node(node).map_or(0, |n| n.requested().milli_cpu)
    }

    #[test]
    fn assumed_pods_count_until_the_watch_confirms_or_the_bind_fails() {
        let mut cache = Cache::new();
        cache.upsert_node(node("n1", "1"));
        let p = pod("p", "600m", "");
        let info = PodInfo::new(&p);
        assert_eq!(cache.schedule(&info).unwrap(), "n1");
        cache.assume("default/p", "uid-p", "n1", info.clone());
        assert_eq!(used(&cache, "n1"), 600);
        // The next pod already sees the resources taken.
        assert!(cache
            .schedule(&PodInfo::new(&pod("q", "600m", "")))
            .is_err());
        // A stale watch event (still unbound) keeps the assumption.
        assert!(!cache.upsert_pod(&p));
        assert!(cache.is_assumed("default/p"));
        // The watch shows it bound: confirmed, counted once.
        assert!(!cache.upsert_pod(&pod("p", "600m", "n1")));
        assert!(!cache.is_assumed("default/p"));
        assert_eq!(used(&cache, "n1"), 600);
        // Forget does nothing to a confirmed pod.
        assert!(!cache.forget("default/p", "uid-p"));
        assert_eq!(used(&cache, "n1"), 600);

        cache.assume(
            "default/q",
            "uid-q",
            "n1",
            PodInfo::new(&pod("q", "300m", "")),
        );
        assert_eq!(used(&cache, "n1"), 900);
        assert!(cache.forget("default/q", "uid-q"));
        assert_eq!(used(&cache, "n1"), 600);
    }

    #[test]
    fn finished_and_deleted_pods_free_resources() {
        let mut cache = Cache::new();
        cache.upsert_node(node("n1", "2"));
        let mut p = pod("p", "1", "n1");
        assert!(!cache.upsert_pod(&p));
        assert_eq!(used(&cache, "n1"), 1000);
        p.status.phase = "Succeeded".into();
        assert!(cache.upsert_pod(&p), "finishing frees");
        assert_eq!(used(&cache, "n1"), 0);
        let q = pod("q", "1", "n1");
        cache.upsert_pod(&q);
        let mut other_uid = q.clone();
        other_uid.metadata.uid = "new".into();
        assert!(
            !cache.remove_pod(&other_uid),
            "a delete of another pod with the same name"
        );
        assert!(cache.remove_pod(&q));
        assert_eq!(used(&cache, "n1"), 0);
    }

    #[test]
    fn pods_on_unknown_nodes_are_kept_for_when_the_node_appears() {
        let mut cache = Cache::new();
        cache.upsert_pod(&pod("p", "1500m", "n1"));
        assert_eq!(cache.node_count(), 0);
        assert!(cache.upsert_node(node("n1", "2")));
        assert_eq!(used(&cache, "n1"), 1500);
        cache.remove_node("n1");
        assert_eq!(cache.node_count(), 0);
        assert_eq!(
            used(&cache, "n1"),
            1500,
            "accounting outlives the node object"
        );
        cache.remove_pod(&pod("p", "1500m", "n1"));
        assert!(cache.node("n1").is_none());
    }
}
