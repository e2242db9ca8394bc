//! The fake apiserver's store: JSON objects by (resource, namespace, name), one global resourceVersion, a change history for watches.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};
use skiff_api::error::{ApiError, Cause};
use skiff_api::kinds;
use tokio::sync::broadcast;

/// One change, as watches see it.
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: &'static str,
    pub resource: String,
    pub namespace: String,
    pub object: Value,
}

type Key = (String, String, String);

/// Runs once before the next update of a resource (to simulate a concurrent writer).
pub type Hook = Box<dyn FnOnce(&mut State) + Send>;

pub struct State {
    pub rv: u64,
    pub objects: BTreeMap<Key, Value>,
    /// Changes after `compacted`, in order.
    pub history: Vec<Change>,
    pub compacted: u64,
    /// token -> (user, groups, role); empty: no authentication.
    pub tokens: HashMap<String, (String, Vec<String>, String)>,
    /// Tokens whose requests fail as if the network to them were cut.
    pub blocked_tokens: HashSet<String>,
    /// New watches fail with Unavailable while set.
    pub watches_blocked: bool,
    pub before_update: Option<(String, Hook)>,
    pub lists: u64,
    pub changes: broadcast::Sender<Change>,
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn meta<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn set_meta(object: &mut Value, field: &str, value: Value) {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"][field] = value;
}

pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in fields {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// `a=b,c=d` equality selectors only: enough for the scenarios.
pub fn labels_match(object: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|req| match req.split_once('=') {
            Some((k, v)) => {
                object
                    .pointer(&format!("/metadata/labels/{k}"))
                    .and_then(Value::as_str)
                    == Some(v)
            }
            None => false,
        })
}

/// `metadata.name=x,spec.nodeName=y`.
pub fn fields_match(object: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|req| match req.split_once('=') {
            Some((path, v)) => {
                let pointer = format!("/{}", path.replace('.', "/"));
                object
                    .pointer(&pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    == v
            }
            None => false,
        })
}

fn namespaced(resource: &str) -> bool {
    kinds::by_plural(resource).is_none_or(|k| k.namespaced)
}

fn kind_of(resource: &str) -> &'static str {
    kinds::by_plural(resource).map_or("Object", |k| k.kind)
}

impl State {
    pub fn new() -> State {
        State {
            rv: 1,
            objects: BTreeMap::new(),
            history: Vec::new(),
            compacted: 0,
            tokens: HashMap::new(),
            blocked_tokens: HashSet::new(),
            watches_blocked: false,
            before_update: None,
            lists: 0,
            changes: broadcast::channel(4096).0,
        }
    }

    fn key(resource: &str, namespace: &str, name: &str) -> Key {
        let namespace = if namespaced(resource) { namespace } else { "" };
        (
            resource.to_string(),
            namespace.to_string(),
            name.to_string(),
        )
    }

    fn publish(&mut self, kind: &'static str, resource: &str, object: &Value) {
        let change = Change {
            rv: self.rv,
            kind,
            resource: resource.to_string(),
            namespace: meta(object, "namespace").to_string(),
            object: object.clone(),
        };
        self.history.push(change.clone());
        let _ = self.changes.send(change);
    }

    fn bump(&mut self, object: &mut Value) {
        self.rv += 1;
        set_meta(object, "resourceVersion", json!(self.rv.to_string()));
    }

    /// Forgets the history: watches from an older resourceVersion get Expired.
    pub fn compact(&mut self) {
        self.compacted = self.rv;
        self.history.clear();
    }

    pub fn create(
        &mut self,
        resource: &str,
        namespace: &str,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        let mut name = meta(&object, "name").to_string();
        if name.is_empty() {
            let prefix = meta(&object, "generateName");
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    kind_of(resource),
                    "",
                    vec![Cause::required("metadata.name", "")],
                ));
            }
            name = format!("{prefix}{}", self.rv + 1);
            set_meta(&mut object, "name", json!(name));
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            let cause = Cause::invalid(
                "metadata.name",
                &name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters",
            );
            return Err(ApiError::invalid(kind_of(resource), &name, vec![cause]));
        }
        let namespace = match (namespaced(resource), namespace) {
            (false, _) => "",
            (true, "") => "default",
            (true, ns) => ns,
        };
        if namespaced(resource) {
            set_meta(&mut object, "namespace", json!(namespace));
        }
        let key = State::key(resource, namespace, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(resource, &name));
        }
        self.bump(&mut object);
        set_meta(&mut object, "uid", json!(format!("uid-{}", self.rv)));
        set_meta(&mut object, "creationTimestamp", json!(now()));
        self.objects.insert(key, object.clone());
        self.publish("ADDED", resource, &object);
        Ok(object)
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&State::key(resource, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))
    }

    pub fn list(
        &mut self,
        resource: &str,
        namespace: &str,
        labels: &str,
        fields: &str,
    ) -> Vec<Value> {
        self.lists += 1;
        self.objects
            .iter()
            .filter(|((r, ns, _), o)| {
                r == resource
                    && (namespace.is_empty() || ns == namespace)
                    && labels_match(o, labels)
                    && fields_match(o, fields)
            })
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// Replaces the object (`status_only`: only its status); CAS on resourceVersion.
    pub fn update(
        &mut self,
        resource: &str,
        namespace: &str,
        object: Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        if let Some((hooked, _)) = &self.before_update {
            if hooked == resource {
                if let Some((_, hook)) = self.before_update.take() {
                    hook(self);
                }
            }
        }
        let name = meta(&object, "name").to_string();
        let key = State::key(resource, namespace, &name);
        let stored = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, &name))?;
        let sent_rv = meta(&object, "resourceVersion");
        if !sent_rv.is_empty() && sent_rv != meta(&stored, "resourceVersion") {
            return Err(ApiError::conflict_modified(resource, &name));
        }
        let mut next = if status_only {
            let mut next = stored.clone();
            next["status"] = object.get("status").cloned().unwrap_or(Value::Null);
            next
        } else {
            let mut next = object;
            next["metadata"]["uid"] = stored["metadata"]["uid"].clone();
            next["metadata"]["creationTimestamp"] = stored["metadata"]["creationTimestamp"].clone();
            next["metadata"]["namespace"] = stored["metadata"]["namespace"].clone();
            next
        };
        self.bump(&mut next);
        self.objects.insert(key, next.clone());
        self.publish("MODIFIED", resource, &next);
        Ok(next)
    }

    pub fn patch(
        &mut self,
        resource: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let key = State::key(resource, namespace, name);
        let mut next = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        merge_patch(&mut next, patch);
        self.bump(&mut next);
        self.objects.insert(key, next.clone());
        self.publish("MODIFIED", resource, &next);
        Ok(next)
    }

    pub fn delete(
        &mut self,
        resource: &str,
        namespace: &str,
        name: &str,
        grace: i64,
        uid: &str,
        rv: &str,
    ) -> Result<Value, ApiError> {
        let key = State::key(resource, namespace, name);
        let mut stored = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        if (!uid.is_empty() && uid != meta(&stored, "uid"))
            || (!rv.is_empty() && rv != meta(&stored, "resourceVersion"))
        {
            return Err(ApiError::conflict(
                resource,
                name,
                "the precondition on uid or resourceVersion failed",
            ));
        }
        // Pods go through a grace period, as the nodelet must stop their containers first.
        if resource == "pods" && grace != 0 && meta(&stored, "deletionTimestamp").is_empty() {
            set_meta(&mut stored, "deletionTimestamp", json!(now()));
            set_meta(
                &mut stored,
                "deletionGracePeriodSeconds",
                json!(if grace < 0 { 30 } else { grace }),
            );
            self.bump(&mut stored);
            self.objects.insert(key, stored.clone());
            self.publish("MODIFIED", resource, &stored);
            return Ok(stored);
        }
        self.objects.remove(&key);
        self.bump(&mut stored);
        self.publish("DELETED", resource, &stored);
        Ok(stored)
    }

    pub fn bind(
        &mut self,
        namespace: &str,
        name: &str,
        node: &str,
        uid: &str,
    ) -> Result<Value, ApiError> {
        let key = State::key("pods", namespace, name);
        let mut pod = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found("pods", name))?;
        if !uid.is_empty() && uid != meta(&pod, "uid") {
            return Err(ApiError::conflict("pods", name, "the pod's uid changed"));
        }
        let bound = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !bound.is_empty() {
            return Err(ApiError::conflict(
                "pods",
                name,
                &format!("pod {name} is already assigned to node {bound:?}"),
            ));
        }
        pod["spec"]["nodeName"] = json!(node);
        self.bump(&mut pod);
        self.objects.insert(key, pod.clone());
        self.publish("MODIFIED", "pods", &pod);
        Ok(pod)
    }
}
