//! The informer's local cache: objects by `namespace/name` key, shared through cheap clones.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::watch;

use skiff_api::selector::Selector;
use skiff_api::types::Resource;

/// The cache key of an object: `namespace/name`, or `name` for cluster-scoped kinds
/// (Kubernetes' `MetaNamespaceKeyFunc`). Work queues hold these keys.
pub fn object_key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// The cache key of `object`.
pub fn key_of<T: Resource>(object: &T) -> String {
    object_key(object.namespace(), object.name())
}

/// Splits a key back into (namespace, name); the namespace is empty for cluster-scoped keys.
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

/// A read-only view of an informer's cache. Clones share the same cache; objects are handed
/// out as `Arc`s, so reading never copies an object.
pub struct Store<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    objects: RwLock<HashMap<String, Arc<T>>>,
    /// True once the first list has been stored.
    synced: watch::Sender<bool>,
}

impl<T> Clone for Store<T> {
    fn clone(&self) -> Self {
        Store {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Resource> Default for Store<T> {
    fn default() -> Self {
        Store::new()
    }
}

impl<T: Resource> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &T::KIND)
            .field("len", &self.len())
            .finish()
    }
}

impl<T: Resource> Store<T> {
    /// An empty store that has not synced.
    pub fn new() -> Store<T> {
        Store {
            inner: Arc::new(Inner {
                objects: RwLock::new(HashMap::new()),
                synced: watch::Sender::new(false),
            }),
        }
    }

    /// A synced store holding `objects`: a stand-in for an informer's cache in tests of code
    /// that reads one.
    pub fn from_objects(objects: impl IntoIterator<Item = T>) -> Store<T> {
        let store = Store::new();
        {
            let mut map = store.inner.objects.write();
            for object in objects {
                map.insert(key_of(&object), Arc::new(object));
            }
        }
        store.mark_synced();
        store
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<T>> {
        let namespace = if T::NAMESPACED { namespace } else { "" };
        self.get_by_key(&object_key(namespace, name))
    }

    pub fn get_by_key(&self, key: &str) -> Option<Arc<T>> {
        self.inner.objects.read().get(key).cloned()
    }

    /// Every cached object, in no particular order.
    pub fn list(&self) -> Vec<Arc<T>> {
        self.inner.objects.read().values().cloned().collect()
    }

    /// The cached objects `keep` accepts.
    pub fn list_filtered(&self, mut keep: impl FnMut(&T) -> bool) -> Vec<Arc<T>> {
        self.inner
            .objects
            .read()
            .values()
            .filter(|o| keep(o))
            .cloned()
            .collect()
    }

    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<T>> {
        self.list_filtered(|o| o.namespace() == namespace)
    }

    /// The objects in `namespace` (every namespace with `None`) whose labels match `selector`.
    pub fn list_selected(&self, namespace: Option<&str>, selector: &Selector) -> Vec<Arc<T>> {
        self.list_filtered(|o| {
            namespace.is_none_or(|ns| o.namespace() == ns) && selector.matches(&o.metadata().labels)
        })
    }

    pub fn keys(&self) -> Vec<String> {
        self.inner.objects.read().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.inner.objects.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the informer has stored its first complete list.
    pub fn has_synced(&self) -> bool {
        *self.inner.synced.borrow()
    }

    /// Waits until the informer has stored its first complete list.
    pub async fn wait_synced(&self) {
        let mut synced = self.inner.synced.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = synced.wait_for(|s| *s).await;
    }

    pub(crate) fn mark_synced(&self) {
        self.inner
            .synced
            .send_if_modified(|s| !std::mem::replace(s, true));
    }

    /// Stores `object`; returns what it replaced.
    pub(crate) fn upsert(&self, object: Arc<T>) -> Option<Arc<T>> {
        self.inner
            .objects
            .write()
            .insert(key_of(object.as_ref()), object)
    }

    pub(crate) fn remove(&self, key: &str) -> Option<Arc<T>> {
        self.inner.objects.write().remove(key)
    }

    /// Replaces the whole content; returns the old content.
    pub(crate) fn replace(&self, objects: HashMap<String, Arc<T>>) -> HashMap<String, Arc<T>> {
        std::mem::replace(&mut *self.inner.objects.write(), objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::types::{Node, Pod};

    fn pod(ns: &str, name: &str, app: &str) -> Pod {
        let mut p = Pod::named(ns, name);
        p.metadata.labels.insert("app".to_string(), app.to_string());
        p
    }

    #[test]
    fn keys_follow_kubernetes() {
        assert_eq!(key_of(&pod("default", "a", "x")), "default/a");
        assert_eq!(key_of(&Node::named("", "n1")), "n1");
        assert_eq!(split_key("default/a"), ("default", "a"));
        assert_eq!(split_key("n1"), ("", "n1"));
    }

    #[test]
    fn lookups_and_selections() {
        let store = Store::from_objects([
            pod("a", "p1", "web"),
            pod("a", "p2", "db"),
            pod("b", "p1", "web"),
        ]);
        assert!(store.has_synced());
        assert_eq!(store.len(), 3);
        assert_eq!(store.get("a", "p2").unwrap().name(), "p2");
        assert!(store.get_by_key("b/p2").is_none());
        assert_eq!(store.list_namespace("a").len(), 2);
        let web = Selector::parse("app=web").unwrap();
        assert_eq!(store.list_selected(None, &web).len(), 2);
        assert_eq!(store.list_selected(Some("a"), &web).len(), 1);
        // Cluster-scoped kinds ignore the namespace asked for.
        let nodes = Store::from_objects([Node::named("", "n1")]);
        assert!(nodes.get("whatever", "n1").is_some());
    }
}
