//! Deletion with Kubernetes semantics: graceful pod deletion, finalizers, propagation policies, preconditions.
//!
//! - A pod bound to a node with a grace period > 0 only gets `deletionTimestamp` (now + grace)
//!   and `deletionGracePeriodSeconds`; its node agent stops the containers and confirms with a
//!   delete of grace 0. Unbound and finished pods, and grace 0, go at once.
//! - An object with finalizers only gets `deletionTimestamp`; the update that removes the last
//!   finalizer removes it.
//! - Background (the default) deletes now and leaves dependents to the garbage collector;
//!   Orphan adds the `orphan` finalizer and Foreground `foregroundDeletion`, which the garbage
//!   collector removes when it is done.
//! - Deleting an object that is already terminating returns it (or shortens its grace period).

use chrono::Utc;
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;
use skiff_api::meta::Time;

use super::object::{finalizers, key, set_meta, set_resource_version, Stored};
use super::{effective_namespace, Cas, Cond, Guard, Registry, MAX_ATTEMPTS, SYSTEM_NAMESPACES};

/// Kubernetes' default `terminationGracePeriodSeconds`.
const DEFAULT_GRACE_SECONDS: i64 = 30;

/// The finalizer that holds a terminating namespace until its content is gone.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    /// Empty means Background.
    pub fn parse(s: &str) -> Result<Propagation, ApiError> {
        match s {
            "" | "Background" => Ok(Propagation::Background),
            "Foreground" => Ok(Propagation::Foreground),
            "Orphan" => Ok(Propagation::Orphan),
            other => Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }

    fn finalizer(self) -> Option<&'static str> {
        match self {
            Propagation::Background => None,
            Propagation::Foreground => Some("foregroundDeletion"),
            Propagation::Orphan => Some("orphan"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeleteOptions {
    pub propagation: Propagation,
    /// `None`: the object's own grace period; `Some(0)`: immediately.
    pub grace_period: Option<i64>,
    pub precondition_uid: String,
    pub precondition_resource_version: String,
}

impl Default for DeleteOptions {
    fn default() -> DeleteOptions {
        DeleteOptions {
            propagation: Propagation::Background,
            grace_period: None,
            precondition_uid: String::new(),
            precondition_resource_version: String::new(),
        }
    }
}

/// What a delete request does to the stored object.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletePlan {
    /// Already terminating as requested: return it as it is.
    Unchanged,
    /// Keep it, marked for deletion (finalizers or a grace period hold it).
    Mark(Value),
    /// Remove it from the store now.
    Remove,
}

/// The grace period a pod's deletion gets; 0 for other kinds, unbound and finished pods.
fn grace_seconds(info: &KindInfo, obj: &Value, opts: &DeleteOptions) -> i64 {
    if info.plural != "pods" {
        return 0;
    }
    let bound = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let phase = obj
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !bound || phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    match opts.grace_period {
        Some(g) if g >= 0 => g,
        _ => obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .or_else(|| {
                obj.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(DEFAULT_GRACE_SECONDS)
            .max(0),
    }
}

/// Decides what deleting `obj` does (a pure function, so the rules are tested by tables).
pub fn plan_delete(
    info: &KindInfo,
    obj: &Value,
    opts: &DeleteOptions,
    now: chrono::DateTime<Utc>,
) -> DeletePlan {
    let terminating = obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    if info.plural == "namespaces" {
        return plan_namespace_delete(obj, terminating, now);
    }
    let current_grace = obj
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64);
    let mut fins = finalizers(obj);
    if let Some(f) = opts.propagation.finalizer() {
        if !fins.iter().any(|x| x == f) {
            fins.push(f.to_string());
        }
    }
    let grace = grace_seconds(info, obj, opts);
    if fins.is_empty() && grace == 0 {
        return DeletePlan::Remove;
    }
    let mut new = obj.clone();
    if !fins.is_empty() {
        set_meta(&mut new, "finalizers", json!(fins));
    }
    // The deadline is set once, and only ever moved earlier (a shorter grace period, or the
    // node agent's confirmation with grace 0 while finalizers still hold the object).
    if !terminating || current_grace.is_none_or(|g| grace < g) {
        let deadline = now + chrono::Duration::seconds(grace);
        set_meta(&mut new, "deletionTimestamp", json!(Time::from(deadline)));
        set_meta(&mut new, "deletionGracePeriodSeconds", json!(grace));
    }
    if new == *obj {
        DeletePlan::Unchanged
    } else {
        DeletePlan::Mark(new)
    }
}

/// A namespace turns Terminating and is held by a finalizer while the apiserver deletes its
/// content (see `crate::namespaces`); the last object gone, the finalizer goes and so does it.
fn plan_namespace_delete(obj: &Value, terminating: bool, now: chrono::DateTime<Utc>) -> DeletePlan {
    if terminating {
        return DeletePlan::Unchanged;
    }
    let mut new = obj.clone();
    let mut fins = finalizers(obj);
    if !fins.iter().any(|f| f == NAMESPACE_FINALIZER) {
        fins.push(NAMESPACE_FINALIZER.to_string());
    }
    set_meta(&mut new, "finalizers", json!(fins));
    set_meta(&mut new, "deletionTimestamp", json!(Time::from(now)));
    set_meta(&mut new, "deletionGracePeriodSeconds", json!(0));
    if let Some(map) = new.as_object_mut() {
        map.insert("status".to_string(), json!({"phase": "Terminating"}));
    }
    DeletePlan::Mark(new)
}

fn check_preconditions(
    resource: &str,
    name: &str,
    current: &Stored,
    opts: &DeleteOptions,
) -> Result<(), ApiError> {
    let uid = current.meta("uid");
    if !opts.precondition_uid.is_empty() && opts.precondition_uid != uid {
        let why = format!(
            "Precondition failed: UID in precondition: {}, UID in object meta: {uid}",
            opts.precondition_uid
        );
        return Err(ApiError::conflict(resource, name, &why));
    }
    let rv = current.mod_revision.to_string();
    if !opts.precondition_resource_version.is_empty() && opts.precondition_resource_version != rv {
        let why = format!(
            "Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {rv}",
            opts.precondition_resource_version
        );
        return Err(ApiError::conflict(resource, name, &why));
    }
    Ok(())
}

impl Registry {
    /// Deletes (or marks for deletion) an object; returns it as it was at the deletion, or as
    /// it is now marked.
    pub async fn delete(
        &self,
        info: &KindInfo,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        guard: Guard<'_>,
    ) -> Result<Value, ApiError> {
        let resource = info.qualified_resource();
        if info.plural == "namespaces" && SYSTEM_NAMESPACES.contains(&name) {
            return Err(forbidden_namespace(name));
        }
        let ns = effective_namespace(info, namespace);
        let key = key(info, ns, name);
        // As in an update, the watch cache's copy saves a linearizable store read (which
        // waits behind every write the store has yet to apply: under the garbage collector's
        // load that read was most of a delete's time). The copy may be stale, so a refusal or
        // an "unchanged" decided on it is decided again on a fresh read, and every write is a
        // compare-and-swap against the revision it was decided on.
        let (mut current, mut fresh) = match self.cached(info, &key) {
            Some(cached) => (cached, false),
            None => (self.read(info, ns, name).await?, true),
        };
        for _ in 0..MAX_ATTEMPTS {
            let checked = check_preconditions(&resource, name, &current, opts)
                .and_then(|()| guard(&current.object));
            let plan = checked.map(|()| plan_delete(info, &current.object, opts, Utc::now()));
            let plan = match plan {
                Err(_) | Ok(DeletePlan::Unchanged) if !fresh => {
                    (current, fresh) = (self.read(info, ns, name).await?, true);
                    continue;
                }
                plan => plan?,
            };
            let outcome = match plan {
                DeletePlan::Unchanged => return Ok(current.object),
                DeletePlan::Mark(mut new) => {
                    self.record_writer(&mut new, Some(&current.object));
                    let bytes = super::object::encode(&new)?;
                    match self
                        .put_if(
                            info,
                            &key,
                            Cond::ModRevision(current.mod_revision),
                            bytes.clone(),
                        )
                        .await?
                    {
                        (Cas::Done { revision }, _) => {
                            let mut out = new;
                            set_resource_version(&mut out, revision);
                            return Ok(out);
                        }
                        (Cas::Lost { current: Some(kv) }, true) if kv.value == bytes => {
                            return Stored::from_kv(&kv).map(|s| s.object)
                        }
                        (lost, _) => lost,
                    }
                }
                DeletePlan::Remove => match self.delete_if(info, &key, current.mod_revision).await?
                {
                    (Cas::Done { revision }, _) => {
                        let mut out = current.object;
                        set_resource_version(&mut out, revision);
                        return Ok(out);
                    }
                    (Cas::Lost { current: None }, true) => return Ok(current.object),
                    (lost, _) => lost,
                },
            };
            match outcome {
                Cas::Lost { current: Some(kv) } => {
                    (current, fresh) = (Stored::from_kv(&kv)?, true);
                }
                _ => return Err(ApiError::not_found(&resource, name)),
            }
        }
        Err(ApiError::conflict_modified(&resource, name))
    }
}

/// Kubernetes' answer to deleting a built-in namespace.
fn forbidden_namespace(name: &str) -> ApiError {
    let mut e = ApiError::new(
        skiff_api::error::Reason::Forbidden,
        format!("namespaces {name:?} is forbidden: this namespace may not be deleted"),
    );
    e.details.name = name.to_string();
    e.details.kind = "namespaces".to_string();
    e
}

impl Registry {
    /// Lets a terminating namespace go once nothing is left in it: removes the namespace
    /// finalizer, which removes the namespace when no other finalizer holds it.
    pub async fn release_namespace(&self, name: &str) -> Result<(), ApiError> {
        let namespaces = skiff_api::kinds::by_plural("namespaces")
            .ok_or_else(|| ApiError::internal("namespaces are not registered"))?;
        self.guaranteed_update(namespaces, "", name, None, |current| {
            let mut out = current.object.clone();
            let fins: Vec<String> = finalizers(&out)
                .into_iter()
                .filter(|f| f != NAMESPACE_FINALIZER)
                .collect();
            set_meta(&mut out, "finalizers", json!(fins));
            Ok(out)
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::kinds::by_plural;

    fn opts(propagation: Propagation, grace: Option<i64>) -> DeleteOptions {
        DeleteOptions {
            propagation,
            grace_period: grace,
            ..DeleteOptions::default()
        }
    }

    fn marked(plan: DeletePlan) -> Value {
        match plan {
            DeletePlan::Mark(v) => v,
            other => panic!("expected Mark, got {other:?}"),
        }
    }

    #[test]
    fn pods_bound_to_a_node_are_deleted_gracefully() {
        let pods = by_plural("pods").unwrap();
        let now = Utc::now();
        let bound = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 30},
                           "status": {"phase": "Running"}});
        let m = marked(plan_delete(
            pods,
            &bound,
            &opts(Propagation::Background, None),
            now,
        ));
        assert_eq!(m["metadata"]["deletionGracePeriodSeconds"], 30);
        let deadline = Time::from(now + chrono::Duration::seconds(30));
        assert_eq!(m["metadata"]["deletionTimestamp"], json!(deadline));
        // Deleting again changes nothing; a shorter grace period moves the deadline earlier;
        // grace 0 (the node agent's confirmation, or --now) removes it.
        assert_eq!(
            plan_delete(pods, &m, &opts(Propagation::Background, None), now),
            DeletePlan::Unchanged
        );
        let shorter = marked(plan_delete(
            pods,
            &m,
            &opts(Propagation::Background, Some(5)),
            now,
        ));
        assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 5);
        assert_eq!(
            plan_delete(pods, &m, &opts(Propagation::Background, Some(0)), now),
            DeletePlan::Remove
        );
        // Unbound and finished pods go at once.
        let unbound = json!({"metadata": {"name": "p"}, "spec": {}});
        assert_eq!(
            plan_delete(pods, &unbound, &opts(Propagation::Background, None), now),
            DeletePlan::Remove
        );
        let done = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
        assert_eq!(
            plan_delete(pods, &done, &opts(Propagation::Background, None), now),
            DeletePlan::Remove
        );
    }

    #[test]
    fn finalizers_and_propagation() {
        let rs = by_plural("replicasets").unwrap();
        let now = Utc::now();
        let plain = json!({"metadata": {"name": "r"}});
        assert_eq!(
            plan_delete(rs, &plain, &opts(Propagation::Background, None), now),
            DeletePlan::Remove
        );
        let orphan = marked(plan_delete(
            rs,
            &plain,
            &opts(Propagation::Orphan, None),
            now,
        ));
        assert_eq!(orphan["metadata"]["finalizers"], json!(["orphan"]));
        assert_eq!(orphan["metadata"]["deletionGracePeriodSeconds"], 0);
        let fg = marked(plan_delete(
            rs,
            &plain,
            &opts(Propagation::Foreground, None),
            now,
        ));
        assert_eq!(fg["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        let held = json!({"metadata": {"name": "r", "finalizers": ["example.com/hold"]}});
        let m = marked(plan_delete(
            rs,
            &held,
            &opts(Propagation::Background, None),
            now,
        ));
        assert!(m["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(
            plan_delete(rs, &m, &opts(Propagation::Background, None), now),
            DeletePlan::Unchanged
        );
        assert!(Propagation::parse("Sideways").is_err());
        let namespaces = by_plural("namespaces").unwrap();
        let ns = json!({"metadata": {"name": "team"}, "status": {"phase": "Active"}});
        let t = marked(plan_delete(
            namespaces,
            &ns,
            &opts(Propagation::Background, Some(0)),
            now,
        ));
        assert_eq!(
            (
                t["status"]["phase"].as_str(),
                t["metadata"]["finalizers"].clone()
            ),
            (Some("Terminating"), json!(["kubernetes"]))
        );
        assert_eq!(
            plan_delete(namespaces, &t, &opts(Propagation::Background, Some(0)), now),
            DeletePlan::Unchanged
        );
        assert_eq!(Propagation::parse("").unwrap(), Propagation::Background);
    }
}
