//! From a pod event to the controller objects to sync: its owner by controller reference, or for an orphan every owner whose selector matches it; plus the expectation bookkeeping those events carry.

use skiff_api::error::ApiError;
use skiff_api::meta::OwnerReference;
use skiff_api::selector::Selector;
use skiff_api::types::{Pod, Resource};
use skiff_client::Client;
use skiff_runtime::informer::{key_of, Event, Store};
use skiff_runtime::workqueue::WorkQueue;

use crate::claim::selects;
use crate::expectations::Expectations;

/// The key of the `K` that `reference` names, if the cache holds it with that uid.
pub fn resolve<K: Resource>(
    owners: &Store<K>,
    namespace: &str,
    reference: &OwnerReference,
) -> Option<String> {
    if reference.kind != K::KIND {
        return None;
    }
    let owner = owners.get(namespace, &reference.name)?;
    (owner.metadata().uid == reference.uid).then(|| key_of(owner.as_ref()))
}

/// The keys of the owners in the pod's namespace whose selector matches `pod`.
pub fn matching_owners<K: Resource>(
    owners: &Store<K>,
    pod: &Pod,
    selector: fn(&K) -> Option<Selector>,
) -> Vec<String> {
    owners
        .list_namespace(pod.namespace())
        .iter()
        .filter(|o| selector(o).is_some_and(|s| selects(&s, pod)))
        .map(|o| key_of(o.as_ref()))
        .collect()
}

/// The pod handler of a pod-owning controller of kind `K` (Kubernetes' addPod, updatePod and
/// deletePod): counts observed creations and deletions against the owner's expectations and
/// enqueues every owner the change may concern.
pub fn on_pod_event<K: Resource>(
    owners: &Store<K>,
    queue: &WorkQueue<String>,
    expectations: &Expectations,
    selector: fn(&K) -> Option<Selector>,
    event: &Event<Pod>,
) {
    match event {
        Event::Added(pod) => {
            if let Some(reference) = pod.metadata.controller_ref() {
                if let Some(key) = resolve(owners, pod.namespace(), reference) {
                    if pod.metadata.deletion_timestamp.is_some() {
                        expectations.deletion_observed(&key, &pod.metadata.uid);
                    } else {
                        expectations.creation_observed(&key);
                    }
                    queue.add(key);
                }
            } else {
                matching_owners(owners, pod, selector)
                    .into_iter()
                    .for_each(|k| queue.add(k));
            }
        }
        Event::Updated { old, new } => {
            // A resync of an unchanged pod: the owners' own resync covers it.
            if old.metadata.resource_version == new.metadata.resource_version {
                return;
            }
            let old_ref = old.metadata.controller_ref();
            let new_ref = new.metadata.controller_ref();
            if old_ref != new_ref {
                if let Some(key) = old_ref.and_then(|r| resolve(owners, old.namespace(), r)) {
                    queue.add(key);
                }
            }
            match new_ref {
                Some(reference) => {
                    if let Some(key) = resolve(owners, new.namespace(), reference) {
                        if new.metadata.deletion_timestamp.is_some() {
                            expectations.deletion_observed(&key, &new.metadata.uid);
                        }
                        queue.add(key);
                    }
                }
                // An orphan whose labels changed, or that was just released, may be someone
                // else's to adopt.
                None if old.metadata.labels != new.metadata.labels || old_ref.is_some() => {
                    matching_owners(owners, new, selector)
                        .into_iter()
                        .for_each(|k| queue.add(k));
                }
                None => {}
            }
        }
        Event::Deleted(pod) => {
            if let Some(key) = pod
                .metadata
                .controller_ref()
                .and_then(|r| resolve(owners, pod.namespace(), r))
            {
                expectations.deletion_observed(&key, &pod.metadata.uid);
                queue.add(key);
            }
        }
    }
}

/// A fresh read of `owner`: orphans are adopted only by an owner that still exists under the
/// same uid and is not being deleted (Kubernetes' `RecheckDeletionTimestamp`), since the cache
/// may not have seen its deletion yet.
pub async fn can_adopt<K: Resource>(client: &Client, owner: &K) -> Result<bool, ApiError> {
    let fresh = client.get_opt::<K>(owner.namespace(), owner.name()).await?;
    Ok(fresh.is_some_and(|f| {
        f.metadata().uid == owner.metadata().uid && f.metadata().deletion_timestamp.is_none()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::types::ReplicaSet;
    use std::sync::Arc;

    fn rs(name: &str, uid: &str, app: &str) -> ReplicaSet {
        let mut r = ReplicaSet::named("default", name);
        r.metadata.uid = uid.into();
        r.spec.selector = Some(skiff_api::selector::LabelSelector {
            match_labels: [("app".to_string(), app.to_string())].into(),
            match_expressions: vec![],
        });
        r
    }

    fn selector(r: &ReplicaSet) -> Option<Selector> {
        Selector::from_label_selector(r.spec.selector.as_ref()?).ok()
    }

    fn pod(app: &str, owner: Option<(&str, &str)>, rv: &str) -> Arc<Pod> {
        let mut p = Pod::named("default", "p");
        p.metadata.uid = "pod-uid".into();
        p.metadata.resource_version = rv.into();
        p.metadata.labels.insert("app".into(), app.into());
        if let Some((name, uid)) = owner {
            p.metadata.owner_references.push(OwnerReference {
                kind: "ReplicaSet".into(),
                name: name.into(),
                uid: uid.into(),
                controller: Some(true),
                ..OwnerReference::default()
            });
        }
        Arc::new(p)
    }

    async fn drain(queue: &WorkQueue<String>) -> Vec<String> {
        let mut keys = Vec::new();
        while !queue.is_empty() {
            let key = queue.get().await.unwrap();
            queue.done(&key);
            keys.push(key);
        }
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn pod_events_reach_the_right_owners() {
        let owners =
            Store::from_objects([rs("a", "ua", "x"), rs("b", "ub", "y"), rs("c", "uc", "y")]);
        let queue = WorkQueue::new("t");
        let exp = Expectations::default();
        exp.expect("default/a", 1, []);
        let handle = |e: Event<Pod>| on_pod_event(&owners, &queue, &exp, selector, &e);

        handle(Event::Added(pod("x", Some(("a", "ua")), "1")));
        assert!(exp.satisfied("default/a"), "the creation was observed");
        assert_eq!(drain(&queue).await, ["default/a"]);

        handle(Event::Added(pod("y", None, "1")));
        assert_eq!(
            drain(&queue).await,
            ["default/b", "default/c"],
            "an orphan goes to every matching owner"
        );

        handle(Event::Added(pod("x", Some(("a", "stale-uid")), "1")));
        assert!(
            drain(&queue).await.is_empty(),
            "a reference to a replaced owner resolves to nothing"
        );

        // Released by a (relabelled out of its selector), now matching b and c.
        handle(Event::Updated {
            old: pod("x", Some(("a", "ua")), "1"),
            new: pod("y", None, "2"),
        });
        assert_eq!(drain(&queue).await, ["default/a", "default/b", "default/c"]);

        handle(Event::Updated {
            old: pod("x", Some(("a", "ua")), "2"),
            new: pod("x", Some(("a", "ua")), "2"),
        });
        assert!(
            drain(&queue).await.is_empty(),
            "resyncs of unchanged pods are ignored"
        );

        exp.expect("default/a", 0, ["pod-uid".to_string()]);
        handle(Event::Deleted(pod("x", Some(("a", "ua")), "3")));
        assert!(exp.satisfied("default/a"), "the deletion was observed");
        assert_eq!(drain(&queue).await, ["default/a"]);
    }
}
