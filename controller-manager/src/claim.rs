//! Ownership of pods (Kubernetes' `ControllerRefManager`): which pods a controller manages, which orphans it adopts, which pods it releases; and the owner-reference patches that carry those decisions out.

use std::sync::Arc;

use serde_json::json;
use skiff_api::error::ApiError;
use skiff_api::meta::OwnerReference;
use skiff_api::selector::Selector;
use skiff_api::types::{Pod, Resource};
use skiff_client::Client;

/// How the pods of a namespace relate to one controller object.
#[derive(Debug, Default)]
pub struct Claims {
    /// Pods it manages after this sync: its own that still match, plus the adopted.
    pub claimed: Vec<Arc<Pod>>,
    /// Orphans that match its selector: it takes them (an owner reference is added).
    pub adopt: Vec<Arc<Pod>>,
    /// Its own pods whose labels stopped matching: it lets them go (its reference is removed);
    /// they keep running, unmanaged.
    pub release: Vec<Arc<Pod>>,
}

/// An empty selector selects nothing here (Kubernetes' guard): a controller must never claim
/// every pod of its namespace.
pub fn selects(selector: &Selector, pod: &Pod) -> bool {
    !selector.is_empty() && selector.matches(&pod.metadata.labels)
}

/// Sorts `pods` into claimed, to adopt and to release for the owner with `owner_uid`.
/// An owner being deleted neither adopts nor releases; `can_adopt` is false when a fresh read
/// of the owner showed it gone or replaced.
pub fn claim_pods(
    owner_uid: &str,
    owner_deleting: bool,
    can_adopt: bool,
    selector: &Selector,
    pods: &[Arc<Pod>],
) -> Claims {
    let mut claims = Claims::default();
    for pod in pods {
        let matches = selects(selector, pod);
        match pod.metadata.controller_ref() {
            Some(owner) if owner.uid == owner_uid => {
                if matches {
                    claims.claimed.push(pod.clone());
                } else if !owner_deleting {
                    claims.release.push(pod.clone());
                }
            }
            Some(_) => {}
            None => {
                if matches
                    && can_adopt
                    && !owner_deleting
                    && pod.metadata.deletion_timestamp.is_none()
                {
                    claims.adopt.push(pod.clone());
                    claims.claimed.push(pod.clone());
                }
            }
        }
    }
    claims
}

/// Rewrites an object's owner references with a compare-and-swap on its resourceVersion,
/// reading it again after a lost race. `edit` returns the new references, or `None` when the
/// (fresh) object no longer needs the change. A vanished object needs nothing either.
pub async fn patch_owner_refs<R: Resource>(
    client: &Client,
    object: &R,
    edit: impl Fn(&R) -> Option<Vec<OwnerReference>>,
) -> Result<(), ApiError> {
    let (namespace, name) = (object.namespace().to_string(), object.name().to_string());
    let mut current = object.clone();
    for _ in 0..5 {
        let Some(refs) = edit(&current) else {
            return Ok(());
        };
        let refs = if refs.is_empty() {
            serde_json::Value::Null
        } else {
            json!(refs)
        };
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "resourceVersion": current.metadata().resource_version,
        }});
        match client.patch::<R>(&namespace, &name, &patch).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.is_conflict() => match client.get_opt::<R>(&namespace, &name).await? {
                Some(fresh) if fresh.metadata().uid == object.metadata().uid => current = fresh,
                _ => return Ok(()),
            },
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(
        R::PLURAL,
        &name,
        "the object kept changing while its owner references were updated",
    ))
}

/// Adds `owner` as the controller of `pod`, if it is still an orphan that `selector` matches.
pub async fn adopt(
    client: &Client,
    pod: &Pod,
    owner: OwnerReference,
    selector: &Selector,
) -> Result<(), ApiError> {
    patch_owner_refs(client, pod, |p: &Pod| {
        if p.metadata.controller_ref().is_some()
            || p.metadata.deletion_timestamp.is_some()
            || !selects(selector, p)
        {
            return None;
        }
        let mut refs = p.metadata.owner_references.clone();
        refs.retain(|r| r.uid != owner.uid);
        refs.push(owner.clone());
        Some(refs)
    })
    .await
}

/// Removes every reference to `owner_uid` from `object`.
pub async fn release<R: Resource>(
    client: &Client,
    object: &R,
    owner_uid: &str,
) -> Result<(), ApiError> {
    patch_owner_refs(client, object, |o: &R| {
        let refs = &o.metadata().owner_references;
        if !refs.iter().any(|r| r.uid == owner_uid) {
            return None;
        }
        Some(
            refs.iter()
                .filter(|r| r.uid != owner_uid)
                .cloned()
                .collect(),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner_ref(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "v1".into(),
            kind: "ReplicationController".into(),
            name: format!("rc-{uid}"),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn pod(name: &str, app: &str, owner: Option<&str>) -> Arc<Pod> {
        let mut p = Pod::named("default", name);
        p.metadata.labels.insert("app".into(), app.into());
        if let Some(uid) = owner {
            p.metadata.owner_references.push(owner_ref(uid));
        }
        Arc::new(p)
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<&str> {
        pods.iter().map(|p| p.metadata.name.as_str()).collect()
    }

    #[test]
    fn claims_table() {
        let sel = Selector::parse("app=crane").unwrap();
        let mut terminating_orphan = (*pod("terminating-orphan", "crane", None)).clone();
        terminating_orphan.metadata.deletion_timestamp = Some(skiff_api::meta::Time::now());
        let pods = vec![
            pod("mine", "crane", Some("u1")),
            pod("mine-relabelled", "other", Some("u1")),
            pod("orphan", "crane", None),
            pod("orphan-other", "other", None),
            pod("theirs", "crane", Some("u2")),
            Arc::new(terminating_orphan),
        ];
        // (deleting, can_adopt) -> (claimed, adopt, release)
        type Row<'a> = (bool, bool, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
        let cases: [Row<'_>; 3] = [
            (
                false,
                true,
                &["mine", "orphan"],
                &["orphan"],
                &["mine-relabelled"],
            ),
            (false, false, &["mine"], &[], &["mine-relabelled"]),
            (true, true, &["mine"], &[], &[]),
        ];
        for (deleting, can_adopt, claimed, adopt, release) in cases {
            let c = claim_pods("u1", deleting, can_adopt, &sel, &pods);
            assert_eq!(
                names(&c.claimed),
                claimed,
                "deleting={deleting} can_adopt={can_adopt}"
            );
            assert_eq!(
                names(&c.adopt),
                adopt,
                "deleting={deleting} can_adopt={can_adopt}"
            );
            assert_eq!(
                names(&c.release),
                release,
                "deleting={deleting} can_adopt={can_adopt}"
            );
        }
    }

    #[test]
    fn an_empty_selector_claims_nothing() {
        let pods = vec![
            pod("orphan", "crane", None),
            pod("mine", "crane", Some("u1")),
        ];
        let c = claim_pods("u1", false, true, &Selector::everything(), &pods);
        assert!(c.claimed.is_empty() && c.adopt.is_empty());
        assert_eq!(names(&c.release), ["mine"]);
    }
}
